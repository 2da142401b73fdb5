"""Who may see a meeting, invite, and join by link."""

from __future__ import annotations

from meetings.models import Meeting, Membership


def test_it_lets_only_participants_into_the_room(client, cast):
    # anonymous → login page; outsider → 403; participant and host → the room
    assert client.get("/m/weekly-sync/")["Location"].startswith("/accounts/login/")
    client.force_login(cast.charlie)
    assert client.get("/m/weekly-sync/").status_code == 403
    assert client.get("/m/weekly-sync/transcript/").status_code == 403
    client.force_login(cast.dave)
    assert client.get("/m/weekly-sync/").status_code == 200
    client.force_login(cast.alice)
    assert client.get("/m/weekly-sync/").status_code == 200
    assert client.get("/m/no-such-room/").status_code == 404


def test_it_lists_my_meetings_only(client, cast):
    other = cast.factory.make_meeting(cast.charlie, title="Charlie's private chat")
    client.force_login(cast.bob)
    page = client.get("/").content.decode()
    assert "Weekly sync" in page and other.title not in page


def test_it_creates_a_meeting_with_its_owner_as_host(client, cast):
    client.force_login(cast.bob)
    response = client.post(
        "/meetings/new/", {"title": "Design review", "language": "en", "glossary": "Kubernetes"}
    )
    meeting = Meeting.objects.get(title="Design review")
    assert response["Location"] == f"/m/{meeting.slug}/"
    assert meeting.owner == cast.bob and meeting.glossary == "Kubernetes"
    assert meeting.role_of(cast.bob) == Membership.Role.HOST


def test_it_lets_only_hosts_invite(client, cast):
    client.force_login(cast.bob)
    assert (
        client.post(
            "/m/weekly-sync/invite/", {"username": "charlie", "role": "speaker"}
        ).status_code
        == 403
    )
    assert cast.meeting.role_of(cast.charlie) is None
    client.force_login(cast.alice)
    client.post("/m/weekly-sync/invite/", {"username": "charlie", "role": "listener"})
    assert cast.meeting.role_of(cast.charlie) == Membership.Role.LISTENER


def test_it_explains_an_unknown_invitee(client, cast):
    client.force_login(cast.alice)
    response = client.post(
        "/m/weekly-sync/invite/", {"username": "nobody", "role": "speaker"}, follow=True
    )
    assert "There is no user called &#x27;nobody&#x27;." in response.content.decode()


def test_it_joins_by_link_with_the_secret_code(client, cast):
    client.force_login(cast.charlie)
    client.get("/m/weekly-sync/join/wrong-code/")
    assert cast.meeting.role_of(cast.charlie) is None
    client.get(f"/m/weekly-sync/join/{cast.meeting.join_code}/")
    assert cast.meeting.role_of(cast.charlie) == Membership.Role.SPEAKER


def test_it_invalidates_old_join_links(client, cast):
    old = cast.meeting.join_code
    client.force_login(cast.alice)
    client.post("/m/weekly-sync/join-link/")
    cast.meeting.refresh_from_db()
    assert cast.meeting.join_code != old
    client.force_login(cast.charlie)
    client.get(f"/m/weekly-sync/join/{old}/")
    assert cast.meeting.role_of(cast.charlie) is None

"""Every change that takes rights away reaches the user's open sockets.

Before the fix, removing a member, demoting a speaker, deactivating a user or revoking a token
(in the room page or the admin) changed the database and told nobody, so open sockets kept
working. Each path here must end in an ``access_changed`` message to the user's group on the
real Redis channel layer, which is what their consumers listen to.
"""

from __future__ import annotations

from collections import defaultdict

import lxml.html
import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from meetings.events import ACCESS_CHANGED, user_group
from meetings.models import ApiToken, Meeting, Membership, User

pytestmark = pytest.mark.django_db

MARKER = "test.marker"


class Inbox:
    """One channel in a user's group on the real Redis layer, as each open socket of theirs."""

    def __init__(self, user: User) -> None:
        self.layer = get_channel_layer()
        self.channel = async_to_sync(self.layer.new_channel)()
        async_to_sync(self.layer.group_add)(user_group(user.pk), self.channel)

    def received(self) -> list[str]:
        """The types of the messages received so far (a marker sent last shows where it ends)."""

        async def drain() -> list[str]:
            await self.layer.send(self.channel, {"type": MARKER})
            types = []
            while (message := await self.layer.receive(self.channel))["type"] != MARKER:
                types.append(message["type"])
            return types

        return async_to_sync(drain)()


@pytest.fixture
def inboxes(cast):
    return {user.username: Inbox(user) for user in (cast.alice, cast.bob, cast.dave)}


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what the request deferred to the commit, as production would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def browser_form(client, url: str, index: int = -1) -> dict[str, list[str]]:
    """What a browser would send for the page's form as it is: every field, unchanged."""
    page = lxml.html.fromstring(client.get(url).content)
    data: dict[str, list[str]] = defaultdict(list)
    for name, value in page.forms[index].form_values():
        data[name].append(value)
    return data


# --- The room page ---------------------------------------------------------------------


def test_a_host_demotes_a_speaker_and_their_sockets_hear_of_it(client, cast, inboxes, committed):
    client.force_login(cast.alice)
    with committed():
        response = client.post(
            f"/m/weekly-sync/participants/{cast.bob.pk}/role/", {"role": "listener"}
        )
    assert response.status_code == 302
    assert cast.meeting.role_of(cast.bob) == "listener"
    assert inboxes["bob"].received() == [ACCESS_CHANGED]
    assert inboxes["dave"].received() == []


def test_a_host_removes_a_participant_and_their_sockets_hear_of_it(
    client, cast, inboxes, committed
):
    client.force_login(cast.alice)
    with committed():
        client.post(f"/m/weekly-sync/participants/{cast.dave.pk}/remove/")
    assert cast.meeting.role_of(cast.dave) is None
    assert inboxes["dave"].received() == [ACCESS_CHANGED]
    # the room page no longer lets them in
    client.force_login(cast.dave)
    assert client.get("/m/weekly-sync/").status_code == 403


def test_inviting_a_member_again_changes_their_role_through_the_action(
    client, cast, inboxes, committed
):
    client.force_login(cast.alice)
    with committed():
        client.post("/m/weekly-sync/invite/", {"username": "bob", "role": "listener"})
    assert cast.meeting.role_of(cast.bob) == "listener"
    assert inboxes["bob"].received() == [ACCESS_CHANGED]


def test_nobody_removes_or_demotes_the_owner(client, cast, inboxes, committed):
    cast.meeting.memberships.filter(user=cast.bob).update(role=Membership.Role.HOST)
    client.force_login(cast.bob)
    with committed():
        removed = client.post(f"/m/weekly-sync/participants/{cast.alice.pk}/remove/", follow=True)
        demoted = client.post(
            f"/m/weekly-sync/participants/{cast.alice.pk}/role/",
            {"role": "listener"},
            follow=True,
        )
        invited = client.post(
            "/m/weekly-sync/invite/", {"username": "alice", "role": "listener"}, follow=True
        )
    for response in (removed, demoted, invited):
        assert "The owner of a meeting" in response.content.decode()
    membership = cast.meeting.memberships.get(user=cast.alice)
    assert membership.role == "host"
    assert inboxes["alice"].received() == []


def test_a_bad_role_is_explained_and_changes_nothing(client, cast, inboxes, committed):
    client.force_login(cast.alice)
    with committed():
        response = client.post(
            f"/m/weekly-sync/participants/{cast.bob.pk}/role/", {"role": "owner"}, follow=True
        )
    assert "Choose a valid role" in response.content.decode()
    assert cast.meeting.role_of(cast.bob) == "speaker"
    assert inboxes["bob"].received() == []


# --- The admin ---------------------------------------------------------------------------


def test_revoking_or_deleting_a_token_in_the_admin_notifies(admin_client, cast, inboxes, committed):
    token, _ = ApiToken.issue(cast.bob)
    with committed():
        admin_client.post(
            "/admin/meetings/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}
        )
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert inboxes["bob"].received() == [ACCESS_CHANGED]

    token, _ = ApiToken.issue(cast.dave)
    with committed():
        admin_client.post(f"/admin/meetings/apitoken/{token.pk}/delete/", {"post": "yes"})
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    assert inboxes["dave"].received() == [ACCESS_CHANGED]


def test_deactivating_a_user_in_the_admin_notifies(admin_client, cast, inboxes, committed):
    url = f"/admin/meetings/user/{cast.bob.pk}/change/"
    data = browser_form(admin_client, url)
    data.pop("is_active")
    with committed():
        response = admin_client.post(url, data)
    assert response.status_code == 302
    cast.bob.refresh_from_db()
    assert not cast.bob.is_active
    assert inboxes["bob"].received() == [ACCESS_CHANGED]

    # saving the form again with nothing changed tells nobody
    data = browser_form(admin_client, url)
    with committed():
        admin_client.post(url, data)
    assert inboxes["bob"].received() == []

    with committed():
        admin_client.post(
            "/admin/meetings/user/",
            {"action": "deactivate_users", "_selected_action": [cast.dave.pk]},
        )
    cast.dave.refresh_from_db()
    assert not cast.dave.is_active
    assert inboxes["dave"].received() == [ACCESS_CHANGED]


def test_deleting_a_user_in_the_admin_notifies(admin_client, cast, inboxes, committed):
    with committed():
        admin_client.post(f"/admin/meetings/user/{cast.bob.pk}/delete/", {"post": "yes"})
        admin_client.post(
            "/admin/meetings/user/",
            {"action": "delete_selected", "_selected_action": [cast.dave.pk], "post": "yes"},
        )
    assert not User.objects.filter(pk__in=[cast.bob.pk, cast.dave.pk]).exists()
    assert inboxes["bob"].received() == [ACCESS_CHANGED]
    assert inboxes["dave"].received() == [ACCESS_CHANGED]


def test_membership_changes_in_the_admin_notify_the_members(admin_client, cast, inboxes, committed):
    url = f"/admin/meetings/meeting/{cast.meeting.pk}/change/"
    data = browser_form(admin_client, url)
    rows = {data[f"memberships-{i}-user"][0]: i for i in range(3)}
    data[f"memberships-{rows[str(cast.bob.pk)]}-role"] = ["listener"]
    data[f"memberships-{rows[str(cast.dave.pk)]}-DELETE"] = ["on"]
    with committed():
        response = admin_client.post(url, data)
    assert response.status_code == 302
    assert cast.meeting.role_of(cast.bob) == "listener"
    assert cast.meeting.role_of(cast.dave) is None
    assert inboxes["bob"].received() == [ACCESS_CHANGED]
    assert inboxes["dave"].received() == [ACCESS_CHANGED]
    assert inboxes["alice"].received() == []


def test_handing_a_meeting_to_another_owner_notifies_the_old_one(
    admin_client, cast, inboxes, committed
):
    url = f"/admin/meetings/meeting/{cast.meeting.pk}/change/"
    data = browser_form(admin_client, url)
    data["owner"] = [str(cast.bob.pk)]
    with committed():
        admin_client.post(url, data)
    assert Meeting.objects.get(pk=cast.meeting.pk).owner == cast.bob
    assert inboxes["alice"].received() == [ACCESS_CHANGED]


def test_deleting_a_meeting_in_the_admin_notifies_its_participants(
    admin_client, cast, inboxes, committed
):
    with committed():
        admin_client.post(f"/admin/meetings/meeting/{cast.meeting.pk}/delete/", {"post": "yes"})
    assert not Meeting.objects.filter(pk=cast.meeting.pk).exists()
    for name in ("alice", "bob", "dave"):
        assert inboxes[name].received() == [ACCESS_CHANGED], name

"""A personal transcript belongs to its owner: no room can take its place.

Before the fix, `Meeting.personal_for` found a personal meeting by the slug `personal-<user id>`
alone, and a room's slug came from its title: anyone who created a room titled "Personal 7"
received user 7's `/ws/realtime/transcribe` captions and recordings in a room they hosted.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from meetings.models import Meeting

BEFORE = [("meetings", "0003_segment_search_index")]


def test_it_keeps_a_room_titled_personal_n_out_of_the_namespace(client, cast):
    client.force_login(cast.charlie)
    for title in (f"Personal {cast.alice.pk}", "personal", "PERSONAL-"):
        client.post("/meetings/new/", {"title": title, "language": "en", "glossary": ""})
        client.post("/meetings/new/", {"title": title, "language": "en", "glossary": ""})
    rooms = Meeting.objects.filter(owner=cast.charlie)
    assert rooms.count() == 6
    assert not any(room.slug.startswith("personal-") for room in rooms)

    personal = Meeting.personal_for(cast.alice)
    assert personal.owner == cast.alice and personal.kind == Meeting.Kind.PERSONAL
    assert Meeting.personal_for(cast.alice) == personal


def test_it_finds_the_personal_meeting_by_its_owner_not_its_slug(cast):
    bob_personal = Meeting.personal_for(cast.bob)
    # even if a slug were free for the taking, the lookup goes by (kind, owner)
    Meeting.objects.filter(pk=bob_personal.pk).update(slug="personal-renamed")
    assert Meeting.personal_for(cast.bob) == bob_personal
    assert Meeting.objects.filter(owner=cast.bob, kind=Meeting.Kind.PERSONAL).count() == 1


def test_the_database_refuses_a_room_in_the_namespace(cast):
    with pytest.raises(IntegrityError), transaction.atomic():
        Meeting.objects.create(title="Trap", slug=f"personal-{cast.alice.pk}", owner=cast.charlie)
    with pytest.raises(IntegrityError), transaction.atomic():
        Meeting.objects.create(title="Trap", slug="Personal-x", owner=cast.charlie)


def test_the_database_keeps_one_personal_meeting_per_user(cast):
    Meeting.personal_for(cast.alice)
    with pytest.raises(IntegrityError), transaction.atomic():
        Meeting.objects.create(
            title="Second", slug="personal-second", owner=cast.alice, kind=Meeting.Kind.PERSONAL
        )


def test_the_command_refuses_a_personal_slug(cast):
    with pytest.raises(CommandError, match="reserved for personal transcripts"):
        call_command("create_meeting", f"personal-{cast.alice.pk}", owner="charlie")
    assert not Meeting.objects.filter(slug=f"personal-{cast.alice.pk}").exists()
    call_command("create_meeting", "personal", owner="charlie", stdout=StringIO())


def test_the_admin_refuses_a_personal_slug_with_a_clear_error(admin_client, cast):
    response = admin_client.post(
        "/admin/meetings/meeting/add/",
        {
            "title": "Trap",
            "slug": f"personal-{cast.alice.pk}",
            "owner": cast.charlie.pk,
            "language": "en",
            "glossary": "",
            "created_at_0": "2025-01-01",
            "created_at_1": "10:00:00",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "reserved for personal transcripts" in response.content.decode()
    assert not Meeting.objects.filter(slug=f"personal-{cast.alice.pk}").exists()


@pytest.mark.django_db(transaction=True)
def test_the_migration_renames_rooms_that_took_a_personal_slug():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    User = old.get_model("meetings", "User")
    OldMeeting = old.get_model("meetings", "Meeting")
    victim = User.objects.create(username="victim")
    attacker = User.objects.create(username="attacker")
    trap = OldMeeting.objects.create(title="Trap", slug=f"personal-{victim.pk}", owner=attacker)
    own = OldMeeting.objects.create(
        title="Mine", slug=f"personal-{attacker.pk}", owner=attacker, kind="personal"
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    trap = Meeting.objects.get(pk=trap.pk)
    assert trap.kind == Meeting.Kind.ROOM and not trap.slug.startswith("personal-")
    assert Meeting.objects.get(pk=own.pk).slug == f"personal-{attacker.pk}"

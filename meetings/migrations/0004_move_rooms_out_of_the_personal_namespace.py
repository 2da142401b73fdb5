"""Before the constraints of 0005: no room may keep a slug of the personal namespace.

A room titled "Personal 7" used to get the slug personal-7 and with it user 7's personal
transcript. Such rooms are renamed (their transcripts stay where they are: sorting out what
was captured there is for the operator), and a user with more than one personal meeting keeps
the one the old lookup found; the others become rooms.
"""

import secrets

from django.db import migrations

PREFIX = "personal-"


def free_slug(base, taken):
    slug = base[:80]
    while slug in taken:
        slug = f"{base[:70]}-{secrets.token_hex(3)}"
    taken.add(slug)
    return slug


def move_rooms_out(apps, schema_editor):
    Meeting = apps.get_model("meetings", "Meeting")
    taken = set(Meeting.objects.values_list("slug", flat=True))
    personal = Meeting.objects.filter(kind="personal").order_by("created_at", "pk")
    kept = {}
    for meeting in personal:
        current = kept.get(meeting.owner_id)
        if current is None or meeting.slug == f"{PREFIX}{meeting.owner_id}":
            kept[meeting.owner_id] = meeting
    extra = personal.exclude(pk__in=[m.pk for m in kept.values()])
    extra.update(kind="room")
    for room in Meeting.objects.exclude(kind="personal").filter(slug__istartswith=PREFIX):
        room.slug = free_slug(f"room-{room.slug}", taken)
        room.save(update_fields=["slug"])


class Migration(migrations.Migration):
    dependencies = [("meetings", "0003_segment_search_index")]

    operations = [migrations.RunPython(move_rooms_out, migrations.RunPython.noop)]

"""The home page lists my meetings in three groups: live, upcoming and ended."""

from __future__ import annotations

from datetime import timedelta

import lxml.html
from django.utils import timezone

from meetings.models import Meeting


def groups(client) -> dict[str, list[str]]:
    """Each group's meeting titles, in the order shown (the first link of each item)."""
    page = lxml.html.fromstring(client.get("/").content)
    return {
        name: [item.xpath("./a")[0].text_content() for item in page.xpath(f"//ul[@id='{name}']/li")]
        for name in ("live-meetings", "upcoming-meetings", "ended-meetings")
    }


def test_it_groups_live_upcoming_and_ended_meetings(client, cast):
    now = timezone.now()
    make = cast.factory.make_meeting
    make(cast.alice, title="Stand-up", started_at=now - timedelta(minutes=5))
    make(cast.alice, title="Later", scheduled_for=now + timedelta(days=2))
    make(cast.alice, title="Soon", scheduled_for=now + timedelta(hours=1))
    make(cast.alice, title="Whenever")
    make(
        cast.alice,
        title="Retro",
        started_at=now - timedelta(days=2),
        ended_at=now - timedelta(days=2),
    )
    make(
        cast.alice,
        title="Review",
        started_at=now - timedelta(hours=3),
        ended_at=now - timedelta(hours=2),
    )
    # the fixture's Weekly sync: started long ago, never ended (live, as nothing ended it yet)
    Meeting.objects.filter(pk=cast.meeting.pk).update(started_at=now - timedelta(hours=1))
    client.force_login(cast.alice)

    assert groups(client) == {
        "live-meetings": ["Stand-up", "Weekly sync"],
        "upcoming-meetings": ["Soon", "Later", "Whenever"],
        "ended-meetings": ["Review", "Retro"],
    }
    page = client.get("/").content.decode()
    assert "not scheduled: it starts when someone first speaks" in page
    review = Meeting.objects.get(title="Review")
    assert f'href="/m/{review.slug}/transcript/"' in page


def test_it_shows_only_my_meetings_and_says_when_a_group_is_empty(client, cast):
    cast.factory.make_meeting(cast.charlie, title="Charlie's chat", started_at=timezone.now())
    client.force_login(cast.bob)
    assert groups(client) == {
        "live-meetings": [],
        "upcoming-meetings": ["Weekly sync"],
        "ended-meetings": [],
    }
    page = client.get("/").content.decode()
    assert "No meeting is live right now." in page and "No meeting has ended yet." in page


def test_a_meeting_can_be_scheduled_when_it_is_created(client, cast):
    client.force_login(cast.bob)
    when = (timezone.now() + timedelta(days=1)).replace(second=0, microsecond=0)
    response = client.post(
        "/meetings/new/",
        {
            "title": "Design review",
            "language": "en",
            "scheduled_for": when.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    assert Meeting.objects.get(title="Design review").scheduled_for == when

    # optional
    client.post("/meetings/new/", {"title": "Any time", "language": "en", "scheduled_for": ""})
    assert Meeting.objects.get(title="Any time").scheduled_for is None


def test_it_refuses_a_schedule_in_the_past_or_not_a_date(client, cast):
    client.force_login(cast.bob)
    past = (timezone.now() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    for value, error in [(past, "in the future"), ("next tuesday", "valid date/time")]:
        response = client.post(
            "/meetings/new/", {"title": "Design review", "language": "en", "scheduled_for": value}
        )
        assert response.status_code == 200
        assert error in response.content.decode()
    assert not Meeting.objects.filter(title="Design review").exists()


def test_the_form_offers_a_date_and_time_picker_in_the_site_time_zone(client, cast):
    client.force_login(cast.bob)
    page = lxml.html.fromstring(client.get("/meetings/new/").content)
    field = page.get_element_by_id("id_scheduled_for")
    assert field.get("type") == "datetime-local" and field.get("required") is None
    label = page.xpath("//label[@for='id_scheduled_for']")[0].text_content()
    assert "Scheduled start" in label
    assert "In UTC time" in page.text_content()

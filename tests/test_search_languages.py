"""Search reads each meeting in its own language: Thai words inside a sentence, French stems."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from meetings.models import Segment
from meetings.search import search_config, transcript_search

pytestmark = pytest.mark.django_db

# "In today's meeting we will talk about next year's budget" (ours), and one of the sentences
# Common Voice Thai's speakers read (CC0): "ASEAN's full dialogue partner is China"
BUDGET = "ประชุมวันนี้เราจะคุยเรื่องงบประมาณของปีหน้า"
ASEAN = "คู่เจรจาอย่างเต็มรูปแบบของอาเซียน คือประเทศจีน"


@pytest.fixture
def meetings(cast):
    make = cast.factory.make_meeting
    cast.thai = make(cast.alice, title="ประชุมทีม", slug="thai", language="th")
    cast.french = make(cast.alice, title="Réunion", slug="french", language="fr")
    segment = cast.factory.make_segment
    segment(cast.thai, cast.alice, text=BUDGET)
    segment(cast.thai, cast.alice, text=ASEAN)
    segment(cast.french, cast.alice, text="Les chevaux décidèrent de rester.")
    segment(cast.meeting, cast.alice, text="The budgets were approved yesterday.")
    return cast


def texts(user, query: str) -> list[str]:
    return [segment.text for segment in transcript_search(user, query)]


def test_it_finds_a_thai_word_inside_a_sentence_and_marks_it(client, meetings):
    assert texts(meetings.alice, "งบประมาณ") == [BUDGET]  # budget
    assert texts(meetings.alice, "อาเซียน") == [ASEAN]  # ASEAN, before a space
    assert texts(meetings.alice, "ประเทศจีน") == [ASEAN]  # China, at the end
    assert texts(meetings.alice, "ปีหน้า งบประมาณ") == [BUDGET]  # every word must be there
    assert texts(meetings.alice, "ปีหน้า อาเซียน") == []
    assert texts(meetings.alice, "ช้าง") == []  # elephant: said nowhere
    client.force_login(meetings.alice)
    page = client.get("/search/", {"q": "งบประมาณ"}).content.decode()
    assert "เรื่อง<mark>งบประมาณ</mark>ของ" in page


def test_each_meeting_is_stemmed_in_its_own_language(meetings):
    # French stems "chevaux" to "cheval" and "décidèrent" to "décid"; English stems neither
    assert texts(meetings.alice, "cheval") == ["Les chevaux décidèrent de rester."]
    assert texts(meetings.alice, "décider") == ["Les chevaux décidèrent de rester."]
    # the English meeting keeps English stemming
    assert texts(meetings.alice, "budget") == ["The budgets were approved yesterday."]
    assert texts(meetings.alice, "approve") == ["The budgets were approved yesterday."]


def test_a_meeting_that_detects_its_language_searches_each_segment_in_its_own(meetings):
    mixed = meetings.factory.make_meeting(meetings.alice, title="Mixed", language="auto")
    meetings.factory.make_segment(mixed, meetings.bob, text="We hired engineers.", language="en")
    meetings.factory.make_segment(mixed, meetings.bob, text="จ้างวิศวกรแล้ว", language="th")
    assert texts(meetings.alice, "hire") == ["We hired engineers."]
    assert texts(meetings.alice, "วิศวกร") == ["จ้างวิศวกรแล้ว"]  # engineer


def test_a_language_changed_in_the_admin_is_searched_from_then_on(admin_client, meetings):
    french = meetings.french
    admin_client.post(
        f"/admin/meetings/meeting/{french.pk}/change/",
        {
            "title": french.title,
            "slug": french.slug,
            "owner": french.owner_id,
            "language": "en",
            "memberships-TOTAL_FORMS": 0,
            "memberships-INITIAL_FORMS": 0,
        },
    )
    assert french.segments.get().search_config == "english"


def test_it_searches_only_my_meetings_whatever_their_language(meetings):
    assert texts(meetings.charlie, "งบประมาณ") == []
    assert texts(meetings.charlie, "cheval") == []
    assert texts(meetings.dave, "budget") == ["The budgets were approved yesterday."]


def test_the_configuration_follows_the_language():
    assert search_config("en") == "english"
    assert search_config("fr") == "french"
    assert search_config("de") == "german"
    assert search_config("th") == "substring"
    assert search_config("ja") == "substring"
    assert search_config("ko") == "simple"  # PostgreSQL stems no Korean
    assert search_config("auto") == "simple"


@pytest.mark.django_db(transaction=True)
def test_the_migration_indexes_existing_rows(cast):
    executor = MigrationExecutor(connection)
    before = [("meetings", "0009_removal")]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    OldMeeting, OldSegment = (
        old.get_model("meetings", "Meeting"),
        old.get_model("meetings", "Segment"),
    )
    said = {"th": BUDGET, "fr": "Les chevaux décidèrent de rester.", "auto": ASEAN}
    for n, (language, text) in enumerate(said.items()):
        meeting = OldMeeting.objects.create(
            owner_id=cast.alice.pk, title=language, slug=f"old-{language}", language=language
        )
        meeting.memberships.create(user_id=cast.alice.pk, role="host")
        # the detecting meeting's engine heard Thai
        OldSegment.objects.create(
            meeting=meeting, item_id=f"i{n}", text=text, start_ms=0, end_ms=1, language="th"
        )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'meetings_segment'")
        indexes = " ".join(row[0] for row in cursor.fetchall())
    assert "gin_trgm_ops" in indexes
    assert "to_tsvector(search_config" in indexes
    configs = dict(Segment.objects.values_list("meeting__language", "search_config"))
    assert configs == {"th": "simple", "fr": "french", "auto": "simple"}
    assert texts(cast.alice, "งบประมาณ") == [BUDGET]
    assert texts(cast.alice, "อาเซียน") == [ASEAN]  # Thai, as detected
    assert texts(cast.alice, "cheval") == [said["fr"]]

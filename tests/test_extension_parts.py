"""The core's pages show what the apps above it add, at named places, without naming them.

alice hosts, dave listens (tests/base.py). The room's and the transcript's parts come from
caption_views, summaries and translations through ``meetings.extensions``.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from meetings.extensions import extensions

pytestmark = pytest.mark.django_db


def page(client, user, url: str) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_the_room_shows_each_apps_part_at_its_place(client, cast):
    room = page(client, cast.alice, "/m/weekly-sync/")
    settings_panel = room.index('<details class="caption-settings" id="caption-settings"')
    picker = room.index('<details class="translation-controls" id="translation"')
    end_button = room.index('id="meeting-end"')
    links = room.index('<a href="/m/weekly-sync/caption-links/">Caption links')
    # in the order the apps are installed, each under the core's own markup of its place
    assert settings_panel < picker < end_button < links
    # the part's own queries: the person's saved settings, the languages offered
    assert 'id="caption-settings-data"' in room
    assert '<option value="fr">French</option>' in room

    # the host controls are the core's to show: a listener has none, nor the link
    listener_room = page(client, cast.dave, "/m/weekly-sync/")
    assert 'id="caption-settings"' in listener_room
    assert "Caption links" not in listener_room


def test_the_transcript_shows_the_summary_and_the_translated_exports(client, cast):
    segment = cast.factory.make_segment(cast.meeting, cast.alice, text="Welcome.")
    segment.translations.create(language="de", text="Willkommen.", source_text="Welcome.")
    transcript = page(client, cast.dave, "/m/weekly-sync/transcript/")
    exports = transcript.index("With the German translation:")
    summary = transcript.index('<section class="card summary" id="summary"')
    assert exports < summary < transcript.index('class="legend"')


def test_a_place_no_page_has_is_refused_where_it_is_written():
    with pytest.raises(ImproperlyConfigured, match=r"no page has a place 'room\.setings'"):
        extensions.add_template_part("room.setings", "translations/_room_picker.html")
    with pytest.raises(ImproperlyConfigured):
        extensions.parts("transcript.export")

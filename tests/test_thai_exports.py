"""Thai in exports: subtitle lines break between words, every format keeps the text intact."""

from __future__ import annotations

import io
import json

import docx
import pytest
import srt
import webvtt

from subtitles.lines import width, wrap

pytestmark = pytest.mark.django_db

# a Thai reader's cut of the caption into words (not the segmenter's: it is what is tested)
WORDS = [
    *["ประชุม", "วันนี้", "เรา", "จะ", "คุย", "เรื่อง", "งบประมาณ", "ของ", "ปี", "หน้า"],
    *["กับ", "ทีม", "ขาย", "และ", "การตลาด"],
]
CAPTION = "".join(WORDS)
BOUNDARIES = {sum(len(word) for word in WORDS[:n]) for n in range(len(WORDS) + 1)}


@pytest.fixture
def thai(cast):
    cast.thai = cast.factory.make_meeting(cast.alice, title="ประชุมทีม", slug="thai", language="th")
    cast.factory.make_segment(cast.thai, cast.alice, text=CAPTION, start_ms=0, end_ms=6000)
    return cast


def export(client, user, fmt, **params):
    client.force_login(user)
    response = client.get(f"/m/thai/transcript/export.{fmt}", params)
    assert response.status_code == 200, response.content
    return response.content


def assert_broken_between_words(lines: list[str], line_length: int) -> None:
    assert len(lines) > 1
    assert "".join(lines) == CAPTION  # nothing lost, nothing added
    ends = {sum(len(line) for line in lines[:n]) for n in range(len(lines) + 1)}
    assert ends <= BOUNDARIES, [line for line in lines]
    assert all(width(line) <= line_length for line in lines)


def test_srt_lines_of_a_thai_caption_break_between_words(client, thai):
    [cue] = srt.parse(export(client, thai.alice, "srt", line_length=20).decode())
    speaker, first = cue.content.split("\n")[0].split(": ")
    assert speaker == "Alice"
    assert_broken_between_words([first, *cue.content.split("\n")[1:]], 20)


def test_webvtt_lines_of_a_thai_caption_break_between_words(client, thai, tmp_path):
    path = tmp_path / "thai.vtt"
    path.write_bytes(export(client, thai.alice, "vtt", line_length=16))
    [caption] = webvtt.read(str(path))
    assert caption.voice == "Alice"
    first, *rest = caption.lines  # webvtt-py leaves the voice tag on the first line
    assert_broken_between_words([first.removeprefix("<v Alice>"), *rest], 16)


def test_without_a_line_length_a_cue_is_one_line(client, thai):
    [cue] = srt.parse(export(client, thai.alice, "srt").decode())
    assert cue.content == f"Alice: {CAPTION}"


def test_the_transcript_page_offers_subtitles_in_lines(client, thai):
    client.force_login(thai.alice)
    page = client.get("/m/thai/transcript/").content.decode()
    assert "/m/thai/transcript/export.srt?line_length=42" in page
    assert "/m/thai/transcript/export.vtt?line_length=42" in page
    assert 'export.txt"' in page
    response = client.get("/m/thai/transcript/export.srt", {"line_length": "²²"})
    assert response.status_code == 400


def test_other_scripts_break_at_spaces_and_keep_long_words_whole():
    text = "The budgets were approved yesterday after a long discussion"
    lines = ["The budgets were", "approved yesterday", "after a long", "discussion"]
    assert wrap(text, 20) == lines
    assert wrap("Donaudampfschifffahrtsgesellschaft ok", 10) == [
        "Donaudampfschifffahrtsgesellschaft",
        "ok",
    ]
    # marks above and below a Thai letter take no room of their own
    assert width("เรื่อง") == 4


def test_txt_json_and_docx_keep_thai_intact(client, thai):
    txt = export(client, thai.alice, "txt").decode()
    assert "ประชุมทีม" in txt and f"Alice: {CAPTION}" in txt
    data = json.loads(export(client, thai.alice, "json"))
    assert data["title"] == "ประชุมทีม"
    assert data["segments"][0]["text"] == CAPTION
    document = docx.Document(io.BytesIO(export(client, thai.alice, "docx")))
    assert document.paragraphs[0].text == "ประชุมทีม"
    assert document.paragraphs[1].text.endswith(CAPTION)

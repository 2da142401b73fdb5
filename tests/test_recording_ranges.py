"""The recording view answers HTTP Range requests as browsers' players send them.

The range arithmetic is property-tested; the view is tested with real WAV files.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meetings.recordings import ByteRange, Unsatisfiable, parse_range
from tests.recordings import audio_url, body, make_recording

sizes = st.integers(min_value=0, max_value=10**9)
offsets = st.integers(min_value=0, max_value=2 * 10**9)


def served(header: str, size: int) -> ByteRange | None:
    result = parse_range(header, size)
    if result is not None:  # every range served lies in the file and is not empty
        assert 0 <= result.start <= result.end < size
        assert result.length == result.end - result.start + 1
    return result


@given(sizes, offsets, offsets)
def test_a_closed_range_is_cut_to_the_file(size, first, last):
    header = f"bytes={first}-{last}"
    if last < first:
        assert served(header, size) is None  # invalid: ignored, the whole file is sent
    elif first >= size:
        with pytest.raises(Unsatisfiable):
            parse_range(header, size)
    else:
        assert served(header, size) == ByteRange(first, min(last, size - 1))


@given(sizes, offsets)
def test_an_open_range_runs_to_the_end(size, first):
    if first >= size:
        with pytest.raises(Unsatisfiable):
            parse_range(f"bytes={first}-", size)
    else:
        assert served(f"bytes={first}-", size) == ByteRange(first, size - 1)


@given(sizes, offsets)
def test_a_suffix_range_is_the_last_bytes(size, suffix):
    if suffix == 0 or size == 0:
        with pytest.raises(Unsatisfiable):
            parse_range(f"bytes=-{suffix}", size)
    else:
        assert served(f"bytes=-{suffix}", size) == ByteRange(max(size - suffix, 0), size - 1)


@given(st.text(max_size=30), sizes)
def test_anything_else_is_ignored_or_refused(header, size):
    try:
        served(header, size)
    except Unsatisfiable:
        assert header.strip().startswith("bytes=")


@pytest.mark.parametrize(
    "header", [None, "", "bytes=-", "bytes=0-1,4-5", "items=0-5", "bytes=5-2", "bytes=a-b"]
)
def test_it_sends_the_whole_file_for_no_usable_range(header):
    assert parse_range(header, 100) is None


@pytest.fixture
def recording(cast):
    # 3 s of a ramp, so that nearby byte offsets differ
    pcm = bytes(i % 251 for i in range(96000))
    return make_recording(cast.meeting, cast.bob, pcm, offset_ms=2000)


@pytest.fixture
def member(client, cast):
    client.force_login(cast.dave)
    return client


def test_it_sends_the_whole_file_and_says_it_takes_ranges(member, recording):
    data = Path(recording.file.path).read_bytes()
    response = member.get(audio_url(recording))
    assert response.status_code == 200
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "audio/wav"
    assert response["Cache-Control"] == "private"
    assert response["Content-Length"] == str(len(data))
    assert "Content-Range" not in response
    # an async iterator: Django's ASGI handler (Daphne) would read a sync one whole into memory
    assert response.is_async
    assert body(response) == data


@pytest.mark.parametrize(
    "header, start, end",
    [
        ("bytes=0-0", 0, 0),
        ("bytes=0-43", 0, 43),  # the WAV header
        ("bytes=1000-70999", 1000, 70999),  # more than one chunk of the stream
        ("bytes=95000-", 95000, None),
        ("bytes=-10", -10, None),
        ("bytes=90000-999999", 90000, None),  # cut to the file
        ("bytes=-999999", 0, None),  # the whole file, as a range
    ],
)
def test_it_sends_exactly_the_bytes_asked_for(member, recording, header, start, end):
    data = Path(recording.file.path).read_bytes()
    first = start % len(data)
    last = len(data) - 1 if end is None else end
    response = member.get(audio_url(recording), headers={"Range": header})
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {first}-{last}/{len(data)}"
    assert response["Content-Length"] == str(last - first + 1)
    assert response["Content-Type"] == "audio/wav"
    assert response["Cache-Control"] == "private"
    assert body(response) == data[first : last + 1]


def test_it_refuses_a_range_past_the_end(member, recording):
    size = Path(recording.file.path).stat().st_size
    for header in (f"bytes={size}-", f"bytes={size + 5}-{size + 10}", "bytes=-0"):
        response = member.get(audio_url(recording), headers={"Range": header})
        assert response.status_code == 416
        assert response["Content-Range"] == f"bytes */{size}"


def test_a_range_with_if_range_gets_the_whole_file(member, recording):
    # the view sends no validators, so no If-Range can match the file
    headers = {"Range": "bytes=0-9", "If-Range": '"abc"'}
    response = member.get(audio_url(recording), headers=headers)
    assert response.status_code == 200
    assert len(body(response)) == Path(recording.file.path).stat().st_size


def test_head_answers_the_headers_alone(member, recording):
    size = Path(recording.file.path).stat().st_size
    response = member.head(audio_url(recording), headers={"Range": "bytes=10-19"})
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 10-19/{size}"
    assert response["Content-Length"] == "10"
    assert response.content == b""

"""The real-recordings dev set's tools (bench/devset.py, bench/devset/fetch.py) on real files."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import wave
from pathlib import Path

import pytest

from bench.devset import back_to_back_repeats, fill_gaps

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "devset"

# bench/devset.py shadows the bench/devset/ folder as a package, so the script is loaded by path
_FETCH = ROOT / "bench" / "devset" / "fetch.py"
_spec = importlib.util.spec_from_file_location("devset_fetch", _FETCH)
_fetch_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fetch_module)
fetch = _fetch_module.fetch


def test_it_finds_a_phrase_said_twice_in_a_row_that_the_reference_says_once():
    reference = "we will meet on monday at the office"
    hypothesis = "We will meet on Monday, on Monday at the office."
    assert back_to_back_repeats(reference, hypothesis) == ["on monday"]


def test_it_does_not_count_a_repeat_the_reference_has():
    reference = "thank you thank you all for coming"
    assert back_to_back_repeats(reference, "Thank you, thank you all for coming.") == []


def test_it_spreads_unaligned_words_between_the_found_ones():
    times = [(0, 100), None, None, (400, 500), None]
    assert fill_gaps(times, 700) == [(0, 100), (100, 250), (250, 400), (400, 500), (500, 700)]


@pytest.fixture
def mirror(tmp_path: Path) -> tuple[Path, str]:
    """A bare git repository holding one real recording, and the commit that holds it."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "speech.wav").write_bytes((FIXTURES / "cards-002.wav").read_bytes())
    git = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "speech.wav"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "speech"], check=True)
    commit = subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    bare = tmp_path / "owner+name" / "repo"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    return tmp_path, commit


def clip(commit: str, **fields) -> dict:
    data = (FIXTURES / "cards-002.wav").read_bytes()
    entry = {
        "id": "cards",
        "repo": "owner/name",
        "commit": commit,
        "path": "speech.wav",
        "sha256": hashlib.sha256(data).hexdigest(),
        "condition": "short utterance",
        "reference": "four queen of clubs",
    }
    return {**entry, **fields}


def test_it_writes_the_clip_and_its_reference_from_a_bare_mirror(mirror, tmp_path):
    mirrors, commit = mirror
    out = tmp_path / "out"
    seconds = fetch([clip(commit, start_s=0.5, end_s=1.5)], {}, mirrors, out)
    with wave.open(str(out / "cards.wav"), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        assert wav.getnframes() == 16000
    assert seconds == 1.0
    assert (out / "cards.txt").read_text() == "four queen of clubs\n"


def test_it_refuses_a_file_that_is_not_the_one_the_manifest_names(mirror, tmp_path):
    mirrors, commit = mirror
    with pytest.raises(SystemExit, match="sha256"):
        fetch([clip(commit, sha256="0" * 64)], {}, mirrors, tmp_path / "out")
    assert not (tmp_path / "out" / "cards.wav").exists()


MANIFEST_FIELDS = {"id", "sha256", "licence", "speakers", "condition", "reference"}


def test_every_clip_of_the_manifest_says_where_it_is_from_and_under_what_licence():
    clips = json.loads((ROOT / "bench" / "devset" / "manifest.json").read_text())["clips"]
    ids = [c["id"] for c in clips]
    assert len(ids) == len(set(ids)), "clip ids must be unique: they name the files"
    for c in clips:
        assert c.keys() >= MANIFEST_FIELDS, c["id"]
        assert c.get("url") or c.keys() >= {"repo", "commit", "path", "reference_source"}, c["id"]
        assert len(c.get("commit", "0" * 40)) == 40 and len(c["sha256"]) == 64, c["id"]
        assert c["reference"].strip() and c["licence"].strip(), c["id"]

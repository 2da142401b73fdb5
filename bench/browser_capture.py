"""What the browser's microphone processing does to the captions, through the real room page.

Chromium's fake microphone plays one WAV: a second of silence, then the 13 shared/audio clips,
each followed by 1.5 s of silence (95.6 s of speech, about 2 minutes in all). For each
combination of echo cancellation (EC), noise suppression (NS) and automatic gain control (AGC),
a fresh Chromium logs in as a speaker, sets the combination with the room page's own
"Microphone processing" checkboxes, starts the microphone, lets the whole file play, and reads
the finals the page shows. It prints the WER of the finals against the joined references, the
words it got wrong, and what Chromium reports it applied (``track.getSettings()``).

Everything is real and runs here: Daphne serving this checkout (``tests/servers.py``) with the
local engine, on a throwaway database (``test_meetings_bench<pid>``, created and dropped by this
script, as the test suite does) and Redis keys of its own. So it needs what the tests need:
PostgreSQL and Redis running with the settings' defaults (or DATABASE_URL / REDIS_URL set),
Debian's /usr/bin/chromium and the Playwright package. Run the combinations one after another
on an otherwise idle machine (about 2.5 minutes each; all eight take 20 minutes):

    .venv/bin/python bench/browser_capture.py
    .venv/bin/python bench/browser_capture.py --only all,none,ec
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# A database and Redis prefix of this run's own, which the server it starts inherits.
os.environ.setdefault("CAPTIONS_TEST_RUN_ID", f"bench{os.getpid()}")
os.environ["DJANGO_SETTINGS_MODULE"] = "config.test_settings"

import django  # noqa: E402

django.setup()

import jiwer  # noqa: E402
from django.db import connections  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright  # noqa: E402

from meetings.models import Meeting, Membership, User  # noqa: E402
from tests.browser.pages import CONSOLE, logged_in_page  # noqa: E402
from tests.servers import daphne_server  # noqa: E402
from tests.speech import clips, normalise  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
# The page builds its audio graph after the device opens (and the file starts): no word there.
LEAD_IN_SECONDS = 1.0
GAP_SECONDS = 1.5  # after each clip, so the 500 ms end-of-speech rule fires
SPEAKER = "bench"
#: the page's checkboxes, by the getUserMedia constraint each one sets
OPTIONS = {
    "echoCancellation": ("EC", "Echo cancellation"),
    "noiseSuppression": ("NS", "Noise suppression"),
    "autoGainControl": ("AGC", "Automatic gain"),
}
#: name → the options it turns on; shipped and raw first, then each one alone
COMBINATIONS = {
    "all": {"echoCancellation", "noiseSuppression", "autoGainControl"},
    "none": set(),
    "ec": {"echoCancellation"},
    "ns": {"noiseSuppression"},
    "agc": {"autoGainControl"},
    "ec+ns": {"echoCancellation", "noiseSuppression"},
    "ec+agc": {"echoCancellation", "autoGainControl"},
    "ns+agc": {"noiseSuppression", "autoGainControl"},
}

# Runs before the page's scripts: keeps what the page asked getUserMedia for and what the
# browser says it applied, without the page knowing.
RECORD_CAPTURE = """
window.captureRequests = [];
if (navigator.mediaDevices) {
  const open = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const stream = await open(constraints);
    const settings = stream.getAudioTracks()[0].getSettings();
    window.captureRequests.push({ constraints, settings });
    return stream;
  };
}
"""


def write_programme(path: Path) -> tuple[str, float]:
    """Write the WAV the fake microphone plays; return its reference text and duration."""
    parts, references = [], []
    for item in clips():
        pcm, rate = item.pcm16()
        if rate != 16000:
            raise SystemExit(f"{item.name}: expected 16 kHz audio")
        parts += [pcm, b"\x00" * int(16000 * 2 * GAP_SECONDS)]
        references.append(item.reference)
    audio = b"\x00" * int(16000 * 2 * LEAD_IN_SECONDS) + b"".join(parts)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(audio)
    return " ".join(references), len(audio) / 32000


def slug_for(name: str) -> str:
    return "capture-" + re.sub(r"[^a-z]+", "-", name)


def set_up_meetings(names: list[str]) -> None:
    """The speaker, and one meeting per combination, so no page shows another's history."""
    speaker = User.objects.create_user(SPEAKER, password=f"pw-{SPEAKER}", display_name="Bench")
    for name in names:
        meeting = Meeting.objects.create(owner=speaker, slug=slug_for(name), title=name)
        meeting.add_member(speaker, Membership.Role.HOST)


def open_room(browser: Browser, base: str, slug: str) -> Page:
    """The room page, logged in as the speaker, its capture recorded (RECORD_CAPTURE)."""
    return logged_in_page(
        browser, base, SPEAKER, microphone=True, init_script=RECORD_CAPTURE, room=f"/m/{slug}/"
    )


def choose(page: Page, enabled: set[str]) -> None:
    """Set the combination as a person would: open the control, tick or untick each box."""
    page.get_by_text("Microphone processing", exact=True).click()
    for constraint, (_, label) in OPTIONS.items():
        page.get_by_label(label).set_checked(constraint in enabled)


def finals(page: Page) -> list[str]:
    return page.locator("#captions .caption.final .text").all_inner_texts()


def wait_until_settled(page: Page, quiet_seconds: float = 3.0, limit_seconds: float = 60) -> None:
    """Until no partial shows and no final has arrived for `quiet_seconds`."""
    deadline = time.monotonic() + limit_seconds
    seen, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = len(finals(page))
        if count != seen:
            seen, since = count, time.monotonic()
        partials = page.locator("#captions .caption.partial").count()
        if partials == 0 and time.monotonic() - since >= quiet_seconds:
            return
        time.sleep(0.25)
    print(f"  still captioning after {limit_seconds} s; reading what is there", file=sys.stderr)


def run_combination(
    playwright: Playwright, base: str, wav: Path, seconds: float, name: str
) -> tuple[str, dict]:
    """Play the whole file into the room page with this combination; the finals and settings."""
    # A new browser per combination: the fake microphone plays its file once per process.
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}%noloop",
            "--autoplay-policy=no-user-gesture-required",
        ],
    )
    try:
        page = open_room(browser, base, slug_for(name))
        choose(page, COMBINATIONS[name])
        page.get_by_role("button", name="Start microphone").click()
        expect(page.get_by_role("button", name="Stop microphone")).to_be_visible()
        time.sleep(seconds)
        wait_until_settled(page)
        page.get_by_role("button", name="Stop microphone").click()
        wait_until_settled(page)
        requests = page.evaluate("window.captureRequests")
        return " ".join(finals(page)), requests[-1]
    finally:
        for line in CONSOLE:  # the page's console, where its errors show
            if " error: " in line:
                print(f"  page {line}", file=sys.stderr)
        CONSOLE.clear()
        browser.close()


def describe_errors(reference: str, hypothesis: str) -> str:
    """The wrong words, as `ref→hyp`, `-deleted` and `+inserted`."""
    output = jiwer.process_words(normalise(reference), normalise(hypothesis) or "<empty>")
    substituted, inserted, deleted = jiwer.collect_error_counts(output)
    words = [f"{ref}→{hyp}" for (ref, hyp), n in substituted.items() for _ in range(n)]
    words += [f"-{word}" for word, n in deleted.items() for _ in range(n)]
    words += [f"+{word}" for word, n in inserted.items() for _ in range(n)]
    return ", ".join(words) or "none"


def label(name: str) -> str:
    short = [OPTIONS[c][0] for c in OPTIONS if c in COMBINATIONS[name]]
    return " + ".join(short) or "none (raw)"


def applied(settings: dict) -> str:
    """What Chromium says it applied, in the table's terms."""
    states = {c: "on" if settings.get(c) else "off" for c in OPTIONS}
    return " ".join(f"{short}={states[c]}" for c, (short, _) in OPTIONS.items())


def measure(names: list[str], wav: Path, reference: str, seconds: float) -> None:
    words = len(normalise(reference).split())
    print(f"| EC / NS / AGC | WER | wrong words (of {words}) | Chromium applied |")
    print("|---|---:|---:|---|")
    details = []
    with daphne_server() as base, sync_playwright() as playwright:
        for name in names:
            text, request = run_combination(playwright, base, wav, seconds, name)
            output = jiwer.process_words(normalise(reference), normalise(text) or "<empty>")
            wrong = output.substitutions + output.deletions + output.insertions
            print(
                f"| {label(name)} | {output.wer * 100:.2f} % | {wrong} | "
                f"{applied(request['settings'])} |",
                flush=True,
            )
            details.append(f"{label(name)}: {describe_errors(reference, text)}")
    print("\nwrong words (reference→heard, -left out, +added):")
    print("\n".join(f"  {line}" for line in details))


def machine() -> str:
    """The host and what decides the model's speed here (docs/BENCHMARKS.md: A or B)."""
    cpu = Path("/proc/cpuinfo").read_text()
    flag = "AVX-512" if "avx512f" in cpu else "AVX2" if "avx2" in cpu else "no AVX2"
    return f"{platform.node()} · {os.cpu_count()} cores, {flag}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only",
        default=",".join(COMBINATIONS),
        help=f"combinations to measure, in order, from: {', '.join(COMBINATIONS)}",
    )
    args = parser.parse_args()
    names = args.only.split(",")
    unknown = set(names) - set(COMBINATIONS)
    if unknown:
        parser.error(f"unknown combinations: {', '.join(sorted(unknown))}")

    print(f"{machine()} · {time.strftime('%Y-%m-%d %H:%M')}")
    old_databases = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    try:
        set_up_meetings(names)
        connections.close_all()  # the server owns the database from here
        with tempfile.TemporaryDirectory() as folder:
            wav = Path(folder) / "programme.wav"
            reference, seconds = write_programme(wav)
            print(f"{len(clips())} clips with pauses, {seconds:.1f} s per combination\n")
            measure(names, wav, reference, seconds)
    finally:
        connections.close_all()
        teardown_databases(old_databases, verbosity=0)


if __name__ == "__main__":
    main()

"""Bring the real-recordings dev set again from its sources, as 16 kHz mono PCM16 WAV.

Every clip of ``bench/devset/manifest.json`` names a public git repository, a commit and a path
(or a plain URL, for a file a package registry serves). This reads each one out of an already
fetched bare repository, checks its SHA-256 against the manifest, decodes it with the project's
own decoder (``transcription.audio.decode_file``: FFmpeg, audio demuxers only), cuts the
manifest's offsets if it has them, and writes ``<id>.wav`` with its reference in ``<id>.txt``.

Nothing here downloads a repository: give the bare git directories, either one by one
(``--repo owner/name=/path/to/git-dir``) or as a folder that holds them as
``owner+name/repo`` (``--mirrors``, or the ``DEVSET_MIRRORS`` environment variable).

    .venv/bin/python bench/devset/fetch.py --mirrors /work/.mirror
    .venv/bin/python bench/devset/fetch.py --repo cmusphinx/pocketsphinx=/tmp/ps.git
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import urllib.request
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from transcription.audio import decode_file, float_to_pcm16  # noqa: E402

MANIFEST = Path(__file__).resolve().with_name("manifest.json")
OUT = ROOT / "var" / "devset"
RATE = 16000


def load_manifest(path: Path = MANIFEST) -> list[dict]:
    return json.loads(path.read_text())["clips"]


def git_dir(repo: str, given: dict[str, Path], mirrors: Path | None) -> Path:
    """The bare git directory that holds ``repo`` ("owner/name")."""
    if repo in given:
        return given[repo]
    if mirrors is not None:
        for candidate in (mirrors / repo.replace("/", "+") / "repo", mirrors / repo):
            if (candidate / "HEAD").exists() or (candidate / ".git").exists():
                return candidate / ".git" if (candidate / ".git").is_dir() else candidate
    raise SystemExit(f"{repo}: no git directory given (--repo {repo}=PATH or --mirrors DIR)")


def source_bytes(clip: dict, given: dict[str, Path], mirrors: Path | None) -> bytes:
    """The source file's bytes, exactly as stored at the manifest's commit."""
    if clip.get("url"):
        with urllib.request.urlopen(clip["url"], timeout=60) as response:
            return response.read()
    directory = git_dir(clip["repo"], given, mirrors)
    spec = f"{clip['commit']}:{clip['path']}"
    result = subprocess.run(
        ["git", "--git-dir", str(directory), "show", spec], capture_output=True, check=False
    )
    if result.returncode:
        raise SystemExit(f"{clip['id']}: git show {spec}: {result.stderr.decode().strip()}")
    return result.stdout


def convert(clip: dict, data: bytes) -> bytes:
    """PCM16 at 16 kHz of the clip (its offsets cut, if any), decoded as uploads are."""
    suffix = Path(clip.get("path") or clip.get("url", "")).suffix
    with tempfile.NamedTemporaryFile(suffix=suffix) as file:
        file.write(data)
        file.flush()
        samples = decode_file(file.name)
    start = round(clip.get("start_s", 0) * RATE)
    end = round(clip["end_s"] * RATE) if clip.get("end_s") else samples.size
    return float_to_pcm16(samples[start:end])


def write_clip(clip: dict, pcm: bytes, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{clip['id']}.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(pcm)
    path.with_suffix(".txt").write_text(clip["reference"] + "\n")
    return path


def fetch(clips: list[dict], given: dict[str, Path], mirrors: Path | None, out: Path) -> float:
    """Write every clip; returns the seconds of audio written."""
    seconds = 0.0
    for clip in clips:
        data = source_bytes(clip, given, mirrors)
        digest = hashlib.sha256(data).hexdigest()
        if digest != clip["sha256"]:
            raise SystemExit(f"{clip['id']}: sha256 {digest} is not the manifest's")
        pcm = convert(clip, data)
        write_clip(clip, pcm, out)
        seconds += len(pcm) / 2 / RATE
        print(f"{clip['id']:28s} {len(pcm) / 2 / RATE:6.1f} s  {clip['condition']}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repo", action="append", default=[], help="owner/name=GIT_DIR")
    parser.add_argument("--mirrors", default=os.environ.get("DEVSET_MIRRORS"))
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--only", help="clip ids, comma-separated")
    parser.add_argument("--manifest", default=str(MANIFEST), help="another manifest (fixtures)")
    args = parser.parse_args()
    given = {}
    for item in args.repo:
        name, _, path = item.partition("=")
        given[name] = Path(path)
    clips = load_manifest(Path(args.manifest))
    if args.only:
        wanted = set(args.only.split(","))
        clips = [c for c in clips if c["id"] in wanted]
    mirrors = Path(args.mirrors) if args.mirrors else None
    seconds = fetch(clips, given, mirrors, Path(args.out))
    print(f"{len(clips)} clips, {seconds / 60:.1f} min, in {args.out}")


if __name__ == "__main__":
    main()

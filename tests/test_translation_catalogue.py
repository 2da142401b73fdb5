"""The Thai catalogue is complete and compiled: every message the site marks has a translation,
and the committed .mo files are the .po files compiled."""

from __future__ import annotations

import gettext
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import ROOT

DOMAINS = ("django", "djangojs")
LANGUAGES = [path.name for path in (ROOT / "locale").iterdir() if path.is_dir()]
#: what scripts/messages.sh does not read: a copy without them is the site's source
NOT_THE_SITE = {".git", ".venv", "tests", "bench", "var", "test-artifacts", "docs", "deploy"}


@pytest.fixture(scope="module")
def gathered_again(tmp_path_factory) -> Path:
    """A copy of the source with scripts/messages.sh run in it: the catalogues as they would
    be if someone gathered the messages now, with the committed translations merged in."""
    copy = tmp_path_factory.mktemp("site")
    for entry in ROOT.iterdir():
        if entry.name in NOT_THE_SITE or entry.name.endswith(".egg-info"):
            continue
        if entry.is_dir():
            shutil.copytree(entry, copy / entry.name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(entry, copy / entry.name)
    env = {**os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(copy)}
    subprocess.run(
        ["bash", "scripts/messages.sh"], cwd=copy, env=env, check=True, capture_output=True
    )
    return copy


def messages(po: Path, *which: str) -> str:
    """The entries msgattrib picks (--untranslated, --only-fuzzy), as it prints them."""
    found = subprocess.run(
        ["msgattrib", *which, "--no-obsolete", str(po)], check=True, capture_output=True, text=True
    )
    return found.stdout


def test_there_is_a_thai_catalogue():
    assert "th" in LANGUAGES


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("domain", DOMAINS)
def test_every_message_is_translated(gathered_again, language, domain):
    po = gathered_again / "locale" / language / "LC_MESSAGES" / f"{domain}.po"
    assert po.exists(), f"scripts/messages.sh made no {domain}.po for {language}"
    untranslated = messages(po, "--untranslated")
    assert untranslated == "", f"messages without a translation:\n{untranslated}"
    # msgmerge marks a message whose English changed as fuzzy: its old translation is a guess
    fuzzy = messages(po, "--only-fuzzy")
    assert fuzzy == "", f"translations to check again (their English changed):\n{fuzzy}"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("domain", DOMAINS)
def test_the_committed_mo_is_the_po_compiled(tmp_path, language, domain):
    folder = ROOT / "locale" / language / "LC_MESSAGES"
    compiled = tmp_path / f"{domain}.mo"
    subprocess.run(
        ["msgfmt", "--check", "-o", str(compiled), str(folder / f"{domain}.po")], check=True
    )
    # compared as catalogues, not bytes: another msgfmt may lay out the same messages otherwise
    # (GNUTranslations lists them only in its _catalog)
    with (folder / f"{domain}.mo").open("rb") as committed, compiled.open("rb") as fresh:
        assert catalogue(committed) == catalogue(fresh)


def catalogue(mo) -> dict:
    return gettext.GNUTranslations(mo)._catalog

#!/usr/bin/env bash
# Install everything the tests need and run the whole suite (ruff included)
# against the real PostgreSQL and Redis on this machine.
#
#   ./scripts/test.sh                everything: every tier, on two pytest-xdist workers
#   ./scripts/test.sh --fast         the tests that start no server, browser or model
#   ./scripts/test.sh [--fast] ARGS  ARGS go to pytest (a path, -k, -n 0 to run in one process)
set -euo pipefail
cd "$(dirname "$0")/.."

tiers=()
if [ "${1:-}" = "--fast" ]; then
  shift
  # the tiers follow from the fixtures a test uses (tests/conftest.py)
  tiers=(-m "not (model or server or browser or chaos)")
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]"

# Debian's Chromium drives the browser tests (Playwright never downloads a browser here), with
# Debian's Thai fonts for the pages in Thai; GNU gettext checks the interface's translations.
packages=()
[ -x /usr/bin/chromium ] || packages+=(chromium)
[ -n "$(fc-list :lang=th 2>/dev/null)" ] || packages+=(fonts-thai-tlwg-otf)
command -v xgettext >/dev/null && command -v msgattrib >/dev/null || packages+=(gettext)
if [ ${#packages[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
fi

.venv/bin/ruff check .
.venv/bin/ruff format --check .
# The apps' layers, and no Django in the engines, the speech server and the subtitles
# (pyproject.toml, [tool.importlinter]; docs/ARCHITECTURE.md, "Structural rules").
.venv/bin/lint-imports
# Models and migrations agree. The test settings need no .env and no SECRET_KEY (a clean clone
# has neither). Its history check wants the dev database, which the tests do not need: on a
# fresh machine that database does not exist yet, so that warning is silenced.
DJANGO_SETTINGS_MODULE=config.test_settings \
  .venv/bin/python -W ignore::RuntimeWarning manage.py makemigrations --check --dry-run
# A module's tests stay on one worker, so a server or model it starts for all of them starts once.
# The fast tier keeps both cores busy: two workers, one per core.
if [ ${#tiers[@]} -gt 0 ]; then
  exec .venv/bin/python -m pytest -n 2 --dist loadfile "${tiers[@]}" "$@"
fi
# The chaos tier restarts PostgreSQL or Redis, which would fail the other worker's tests, and
# times what happens during the outage (a partial while a final waits for the database): it
# runs alone after the rest.
# Exit status 5 is pytest's "no test was asked for" (a path without such tests).
# The other tiers mostly wait (speech at its real pace, pages, servers starting): two workers used
# about one core of the two (docs/BENCHMARKS.md, "The test suite's time"), so three run them.
status=0
.venv/bin/python -m pytest -n 3 --dist loadfile -m "not chaos" "$@" || status=$?
if [ "$status" != 0 ] && [ "$status" != 5 ]; then exit "$status"; fi
chaos=0
.venv/bin/python -m pytest -m chaos "$@" || chaos=$?
if [ "$chaos" = 5 ]; then chaos=$status; fi
exit "$chaos"

#!/usr/bin/env bash
# Set up and run the service on a fresh machine: virtualenv, install, database, demo admin, Daphne.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
exec .venv/bin/python scripts/serve.py "$@"

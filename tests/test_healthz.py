"""/healthz tells whether the database and the channel layer answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import django, json
django.setup()
from django.test import Client
response = Client().get("/healthz")
print(json.dumps({"status": response.status_code, "body": response.json()}))
"""


def probe_with(**env: str) -> dict:
    """Ask /healthz in a fresh process whose settings point where `env` says."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "1",
            "ALLOWED_HOSTS": "testserver",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_it_answers_200_when_everything_is_up(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": {"ok": True},
        "channel_layer": {"ok": True},
    }


def test_it_answers_503_when_the_database_is_down():
    result = probe_with(DATABASE_URL="postgres://postgres@127.0.0.1:1/meetings")
    assert result["status"] == 503
    assert result["body"]["database"]["ok"] is False
    assert result["body"]["channel_layer"] == {"ok": True}


def test_it_answers_503_when_redis_is_down():
    result = probe_with(
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres",
        REDIS_URL="redis://127.0.0.1:1/0",
    )
    assert result["status"] == 503
    assert result["body"]["channel_layer"]["ok"] is False
    assert result["body"]["database"] == {"ok": True}

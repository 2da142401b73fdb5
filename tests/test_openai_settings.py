"""OPENAI_REALTIME_DELAY: one of the streaming models' delays, checked when the settings load."""

from __future__ import annotations

import secrets
import subprocess
import sys

from .servers import ROOT, production_env

PRINT_DELAY = "from django.conf import settings; print(settings.OPENAI_REALTIME_DELAY)"


def shell(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PRINT_DELAY],
        cwd=ROOT,
        env=production_env(SECRET_KEY=secrets.token_urlsafe(50), **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_defaults_to_medium_and_takes_each_delay():
    # the shell announces its automatic imports first: the value is the last line
    assert shell().stdout.splitlines()[-1] == "medium"
    assert shell(OPENAI_REALTIME_DELAY="low").stdout.splitlines()[-1] == "low"


def test_it_refuses_a_delay_openai_does_not_know():
    result = shell(OPENAI_REALTIME_DELAY="fast")
    assert result.returncode != 0
    assert (
        "OPENAI_REALTIME_DELAY must be one of minimal, low, medium, high, xhigh, not 'fast'"
        in result.stderr
    )

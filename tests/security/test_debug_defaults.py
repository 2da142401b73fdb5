"""DEBUG is off unless switched on, no key is ever a public constant, errors get friendly pages.

Before the fix, DEBUG defaulted to on (an unknown URL showed Django's technical 404 page,
with the site's URL patterns) and SECRET_KEY fell back to a constant published in the code.
"""

from __future__ import annotations

import subprocess
import sys

from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory
from django.views import defaults

from tests.servers import ROOT, production_env


def settings_of(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run `code` after loading config.settings from `env` alone (and no .env file)."""
    return subprocess.run(
        [sys.executable, "-c", f"from django.conf import settings; {code}"],
        cwd=ROOT,
        env=production_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_is_off_unless_switched_on():
    result = settings_of(
        "print(settings.DEBUG, settings.SESSION_COOKIE_SECURE)", SECRET_KEY="k" * 50
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


def test_it_never_falls_back_to_a_known_key():
    runs = [settings_of("print(settings.SECRET_KEY)", DEBUG="1") for _ in range(2)]
    keys = [run.stdout.strip() for run in runs]
    assert all(run.returncode == 0 for run in runs), runs[0].stderr
    assert len(keys[0]) >= 50
    assert keys[0] != keys[1]
    assert "SECRET_KEY is not set: using a random key" in runs[0].stderr


def test_an_unknown_url_gets_the_friendly_page(db):
    response = Client().get("/no-such-page/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in page
    assert 'class="site-header"' in page  # the site's own layout
    assert "URLconf" not in page


def test_errors_get_friendly_pages(db):
    request = RequestFactory().get("/somewhere/")
    request.user = None
    cases = [
        (defaults.bad_request(request, ValueError("detail")), 400, "Bad request"),
        (defaults.permission_denied(request, PermissionDenied("detail")), 403, "Not allowed"),
        (defaults.server_error(request), 500, "Something went wrong"),
    ]
    for response, status, heading in cases:
        page = response.content.decode()
        assert response.status_code == status
        assert f"<h1>{heading}</h1>" in page
        assert 'class="site-header"' in page
        assert "detail" not in page

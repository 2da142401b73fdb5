"""Every page's module entry loads in Chromium as production serves it: collected and hashed.

Production's storage (config/storage.py) writes the modules' hashed names into their imports.
An entry that reached an unhashed module instead could meet the last release's copy of it, so
the browser must ask for hashed names only, and every module must be some page's.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.servers import ROOT, production_env

# what a template names as its page's entry: <script type="module" src="{% static '…' %}">
ENTRY = re.compile(r"""<script type="module" src="\{% static '([^']+)' %\}"></script>""")
# what a feature's template part names as its module, which the page's entry imports
# (static/js/features.js): data-feature-module="{% static '…' %}"
FEATURE_ENTRY = re.compile(r"data-feature-module=\"\{% static '([^']+)' %\}\"")
SCRIPT = re.compile(r"<script\b[^>]*>(?:</script>)?")
# loaded by audioWorklet.addModule (room.html's data-worklet-url), not imported
WORKLET = "js/capture-worklet.js"


def page_entries() -> set[str]:
    """The entries the templates name, as static paths (js/room.js, …), and the modules the
    features' template parts name."""
    texts = [path.read_text() for path in (ROOT / "templates").rglob("*.html")]
    patterns = (ENTRY, FEATURE_ENTRY)
    return {name for text in texts for pattern in patterns for name in pattern.findall(text)}


def collect(static_root: Path) -> dict[str, str]:
    """`collectstatic` as the Dockerfile runs it (DEBUG off); its manifest: name → hashed name."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=production_env(SECRET_KEY="collectstatic-only", STATIC_ROOT=str(static_root)),
        check=True,
    )
    return json.loads((static_root / "staticfiles.json").read_text())["paths"]


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serving(directory: Path) -> Iterator[str]:
    """The collected files over HTTP, as WhiteNoise serves them under /static/."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=directory))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_template_names_one_module_entry_at_most_and_no_other_script():
    for path in (ROOT / "templates").rglob("*.html"):
        scripts = SCRIPT.findall(path.read_text())
        assert len(scripts) <= 1, path
        assert all(ENTRY.fullmatch(script) for script in scripts), path


def test_the_entries_load_every_module_by_its_hashed_name(browser, tmp_path):
    entries = page_entries()
    assert {"js/room.js", "js/caption-view.js", "js/transcript.js", "js/profile.js"} <= entries
    manifest = collect(tmp_path)
    with serving(tmp_path) as base:
        page = browser.new_page()
        fetched: list[str] = []
        page.on("request", lambda request: fetched.append(request.url))
        page.goto(base + "/")
        for entry in sorted(entries):
            # an entry starts nothing on a page without its elements; a missing module rejects
            page.evaluate("(url) => import(url)", f"/{manifest[entry]}")
        page.close()
    modules = {url.removeprefix(base + "/") for url in fetched if url.endswith(".js")}
    assert modules <= set(manifest.values()), "a module was asked for by its unhashed name"
    ours = {f"js/{path.name}" for path in (ROOT / "static" / "js").glob("*.js")} - {WORKLET}
    assert modules == {manifest[name] for name in ours}, "a module no page loads"

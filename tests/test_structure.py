"""The rules of docs/ARCHITECTURE.md that import-linter cannot check, read from the source."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ["meetings", "transcription", "caption_views", "summaries", "translations", "subtitles"]
#: the apps on top, which the core and transcription hear of only through extension points
FEATURES = ["caption_views", "summaries", "translations"]
TEMPLATES = ROOT / "templates"
#: the modules of the WebSocket consumers and the mixins that make them up
CONSUMER_MODULES = {
    "transcription/live/consumers.py",
    "transcription/live/endpoints.py",
    "transcription/live/rights.py",
    "transcription/live/speaker.py",
    "caption_views/consumers.py",
    "translations/consumers.py",
}


def sources() -> dict[str, ast.Module]:
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                found[str(path.relative_to(ROOT))] = ast.parse(path.read_text())
    return found


def attributes(tree: ast.Module, name: str) -> list[int]:
    """Lines where ``<anything>.name`` is used."""
    return [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == name]


def calls_of(tree: ast.Module, names: set[str]) -> list[int]:
    """Lines that call a function of one of ``names``, plainly or as an attribute."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in names:
                lines.append(node.lineno)
    return lines


def test_only_the_core_actions_call_group_send():
    sending = {path for path, tree in sources().items() if attributes(tree, "group_send")}
    assert sending == {"meetings/actions.py"}


def test_only_actions_modules_send_to_groups():
    # the core's helpers (meetings.actions.send_on_commit, send_now) are the apps' one way
    senders = {
        path for path, tree in sources().items() if calls_of(tree, {"send_on_commit", "send_now"})
    }
    assert senders == {"meetings/actions.py", "caption_views/actions.py", "translations/actions.py"}


def test_consumers_touch_no_orm():
    trees = sources()
    consumers = {path for path, tree in trees.items() if _imports_channels_consumer(tree)}
    # every module that defines a consumer is in the list, and the list names real files
    assert consumers <= CONSUMER_MODULES <= set(trees)
    reaching = {path: attributes(trees[path], "objects") for path in CONSUMER_MODULES}
    assert {path: lines for path, lines in reaching.items() if lines} == {}


def _imports_channels_consumer(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.ImportFrom) and (node.module or "").startswith("channels.generic")
        for node in ast.walk(tree)
    )


def test_no_core_template_names_a_features_template():
    # the core's pages show what the features add through {% extension_parts "<place>" %}
    # (meetings.extensions): no include of theirs, no tag library or URL name of theirs
    features = "|".join(FEATURES)
    libraries = "|".join(
        path.stem
        for feature in FEATURES
        for path in (ROOT / feature).glob("templatetags/*.py")
        if path.stem != "__init__"
    )
    url_prefixes = "|".join(feature.replace("_", "-") for feature in FEATURES)
    naming = [
        rf"[\"'](?:{features})/",  # a template of theirs, by its path
        rf"{{%\s*url\s+[\"'](?:{url_prefixes})-",  # a page of theirs, by its URL's name
    ]
    if libraries:
        naming.append(rf"{{%\s*load\b[^%]*\b(?:{libraries})\b")  # a tag library of theirs
    core_templates = [
        path
        for path in TEMPLATES.rglob("*.html")
        if path.relative_to(TEMPLATES).parts[0] not in FEATURES
    ]
    assert len(core_templates) > 10  # the room, the transcript, ... were found
    found = {
        str(path.relative_to(TEMPLATES)): match.group(0)
        for path in core_templates
        for pattern in naming
        if (match := re.search(pattern, path.read_text()))
    }
    assert found == {}


JS = ROOT / "static" / "js"
IMPORT = re.compile(r"""^import\b[^"']*["']\./([\w.-]+\.js)["']""", re.MULTILINE)
FEATURE_MODULE = re.compile(r"""data-feature-module="\{%\s*static\s+'js/([\w.-]+\.js)'""")


def test_no_core_page_module_imports_a_features_module():
    # a feature's template part names its module (data-feature-module) and the page's entry
    # imports it through features.js: the core's entries and what they import name none
    feature_modules = {
        match
        for feature in FEATURES
        for path in (TEMPLATES / feature).rglob("*.html")
        for match in FEATURE_MODULE.findall(path.read_text())
    }
    assert {"translation.js", "caption-settings.js", "summary.js"} <= feature_modules

    def imported_by(entry: str) -> set[str]:
        found, todo = set(), [entry]
        while todo:
            for name in IMPORT.findall((JS / todo.pop()).read_text()):
                if name not in found:
                    found.add(name)
                    todo.append(name)
        return found

    core_entries = ["room.js", "transcript.js"]
    assert {
        entry: imported_by(entry) & feature_modules
        for entry in core_entries
        if imported_by(entry) & feature_modules
    } == {}

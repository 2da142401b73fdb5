"""Production's static files: WhiteNoise's hashed, compressed files, modules' imports included."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class CompressedManifestModulesStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's storage, with the hashed names written into the JS modules' imports too.

    A page names its one module entry by its hashed name (``{% static %}``); the modules that
    entry imports by relative path are rewritten to their hashed names as well. Without that,
    a new release's entry could meet the last release's module: unhashed files are cached for
    a minute, hashed ones for good.
    """

    support_js_module_import_aggregation = True

from __future__ import annotations

import json

from django import template
from django.http import HttpRequest
from django.utils.html import json_script
from django.utils.safestring import SafeString
from django.views.i18n import JSONCatalog

register = template.Library()

# The project's own catalogue (LOCALE_PATHS, which Django adds to any package's), not every
# installed app's: the admin's calendar strings have no place in the room page.
PACKAGES = ["meetings"]


@register.simple_tag(takes_context=True)
def js_catalog(context: template.Context) -> SafeString:
    """The page language's JavaScript strings (djangojs) as the page's JSON, for static/js/i18n.js.

    Django's JSONCatalog view, rendered into the page rather than fetched: the modules get their
    strings with the page, and read them from it rather than from a global (window.django).
    """
    request: HttpRequest | None = context.get("request")
    if request is None:  # an error page rendered without its request: English
        return json_script({"catalog": {}, "plural": None}, "js-catalog")
    # its GET, whatever the page's method (a refused form is a POST); a view per call, as
    # get() keeps the catalogue on the view
    served = json.loads(JSONCatalog(packages=PACKAGES).get(request).content)
    return json_script({"catalog": served["catalog"], "plural": served["plural"]}, "js-catalog")

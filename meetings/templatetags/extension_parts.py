"""``{% extension_parts "<place>" %}``: what the apps above the core add at a place of a page.

The core's templates name none of the apps' templates: the apps register template parts for
named places (:mod:`meetings.extensions`), and this renders them in order, each with the page's
context and what the part adds to it, as ``{% include %}`` would.
"""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from ..extensions import extensions

register = template.Library()


@register.simple_tag(takes_context=True)
def extension_parts(context: template.Context, place: str) -> SafeString:
    rendered = []
    for part in extensions.parts(place):
        part_template = context.template.engine.get_template(part.template)
        added = part.context(context) if part.context else {}
        with context.push(added):
            rendered.append(part_template.render(context))
    # each part is a template's output, escaped by its own autoescaping
    return mark_safe("".join(rendered))

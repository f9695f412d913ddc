"""The local agents' pages: one jinja2 environment over hub/templates/ for every agent (the
inbox's pages under inbox/, the follow-up's under followup/), escaping everything it is given
and refusing an undefined name rather than rendering it empty."""

from __future__ import annotations

from typing import Final

import jinja2
from aiohttp import web

TEMPLATES: Final = web.AppKey("templates", jinja2.Environment)  # the app's environment


def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("hub", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )

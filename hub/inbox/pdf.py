"""The PDF export of one case, for the municipality's case file: rendered here, on the contact
person's own machine (never on the hub), from hub/templates/inbox/pdf.html by the local agents'
renderer (hub.localagent.pdf), which fetches nothing but the inbox's own stylesheet from
hub/inbox/static/. Rendering is CPU-bound and blocking: call render_case_pdf through
asyncio.to_thread."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.localagent.pdf import css_string, html_to_pdf
from hub.localagent.templates import environment

if TYPE_CHECKING:
    from datetime import datetime

STATIC = Path(__file__).with_name("static").resolve()  # the one folder the renderer reads
_TEMPLATES = environment()


def _page_header(municipality_name: str, generated: str) -> str:
    """The top margin of every page: who printed the case, and when."""
    return f"""
@page {{
  @top-left {{
    content: {css_string(municipality_name)};
    font-family: Arial, "Liberation Sans", "DejaVu Sans", sans-serif;
    font-size: 9pt;
    color: #000000;
  }}
  @top-right {{
    content: {css_string("Utskriven " + generated)};
    font-family: Arial, "Liberation Sans", "DejaVu Sans", sans-serif;
    font-size: 9pt;
    color: #000000;
  }}
}}
"""


def render_case_pdf(
    context: dict[str, Any], *, municipality_name: str, generated_at: datetime
) -> bytes:
    """The case (the context case_page builds, hub.inbox.pages.case_view.case_context) as a
    PDF/A file."""
    local = generated_at.astimezone()
    generated = local.strftime("%Y-%m-%d %H:%M")
    html = _TEMPLATES.get_template("inbox/pdf.html").render(
        **context, municipality_name=municipality_name, generated_at=generated
    )
    return html_to_pdf(
        html,
        title=f"Förfrågan {context['case']['case_id'][:8]}",
        created=local.isoformat(timespec="seconds"),
        extra_css=_page_header(municipality_name, generated),
        static=STATIC,
    )

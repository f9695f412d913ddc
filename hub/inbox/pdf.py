"""The PDF export of one case, for the municipality's case file: rendered here, on the contact
person's own machine (never on the hub), from hub/templates/inbox/pdf.html with weasyprint.

The document holds text written by another municipality. Jinja escapes it, and as a second wall
the renderer fetches nothing but the inbox's own stylesheet: no network, no file outside
hub/inbox/static/, whatever URL ends up in the HTML. The PDF is returned as bytes and written
nowhere. Rendering is CPU-bound and blocking: call render_case_pdf through asyncio.to_thread."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

if TYPE_CHECKING:
    from datetime import datetime

STATIC = Path(__file__).with_name("static").resolve()
# Relative URLs in the export resolve against this origin, which never reaches the network
# (.invalid is reserved): the fetcher serves /static/ from STATIC and refuses everything else.
BASE_URL = "https://inbox.invalid/"
STATIC_URL = BASE_URL + "static/"
PDF_VARIANT = "pdf/a-3b"  # archivable: fonts embedded, sRGB output intent, XMP metadata
MEDIA_TYPES = {".css": "text/css"}

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("hub", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
# weasyprint notes every screen-only CSS rule it skips; the person's terminal needs none of it.
logging.getLogger("weasyprint").setLevel(logging.ERROR)
# weasyprint does not promise thread safety (pango, fontconfig): one export at a time.
_RENDER_LOCK = threading.Lock()


class FetchRefusedError(ValueError):
    pass


def css_string(text: str) -> str:
    """`text` as a quoted CSS string, every character escaped: safe whatever the name holds."""
    return '"' + "".join(f"\\{ord(c):06x}" for c in text) + '"'


def _fetcher() -> Any:  # noqa: ANN401 - weasyprint ships no type hints
    from weasyprint.urls import (  # type: ignore[import-untyped]  # noqa: PLC0415 - needs pango
        URLFetcher,
        URLFetcherResponse,
    )

    class StaticOnlyFetcher(URLFetcher):  # type: ignore[misc]
        """Serves the inbox's own static files; refuses every other URL without opening it."""

        def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:  # noqa: ARG002
            return URLFetcherResponse(url, body=static_file(url), headers=_headers_of(url))

    return StaticOnlyFetcher(allowed_protocols=())


def static_file(url: str) -> bytes:
    """The bytes of a file under hub/inbox/static/ that `url` names, or FetchRefusedError."""
    if not url.startswith(STATIC_URL) or any(c in url for c in "?#\\%"):
        raise FetchRefusedError(f"not fetched: {url[:80]}")
    name = url.removeprefix(STATIC_URL)
    path = (STATIC / name).resolve()
    if not name or path.parent != STATIC or not path.is_file():
        raise FetchRefusedError(f"not fetched: {url[:80]}")
    return path.read_bytes()


def _headers_of(url: str) -> dict[str, str]:
    return {"Content-Type": MEDIA_TYPES.get(Path(url).suffix, "application/octet-stream")}


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


def html_to_pdf(html: str, *, title: str, created: str | None = None, extra_css: str = "") -> bytes:
    """weasyprint on `html` with the static-only fetcher; the PDF as bytes, in memory only."""
    from weasyprint import CSS, HTML  # type: ignore[import-untyped]  # noqa: PLC0415 - needs pango

    fetcher = _fetcher()
    with _RENDER_LOCK:
        document = HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher).render(
            stylesheets=[CSS(string=extra_css, base_url=BASE_URL, url_fetcher=fetcher)],
            pdf_variant=PDF_VARIANT,
        )
        document.metadata.title = title
        document.metadata.authors = []  # the municipality exports it, not a named person
        document.metadata.created = document.metadata.modified = created  # W3C date
        pdf: bytes = document.write_pdf(pdf_variant=PDF_VARIANT)
    return pdf


def render_case_pdf(
    context: dict[str, Any], *, municipality_name: str, generated_at: datetime
) -> bytes:
    """The case (the context case_page builds, hub.inbox.views.case_context) as a PDF/A file."""
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
    )

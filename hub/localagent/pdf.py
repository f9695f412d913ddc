"""PDF on the person's own machine: HTML to PDF/A with weasyprint, for both local agents (the
inbox's case export, hub/inbox/pdf.py; the follow-up's annual report, hub/followup/document.py).

The HTML may hold text written by another municipality. Jinja escapes it, and as a second wall
the renderer fetches nothing but files in the one static folder the caller names: no network, no
file outside that folder, whatever URL ends up in the HTML (with no folder, nothing at all). The
PDF is returned as bytes and written nowhere. Rendering is CPU-bound and blocking: call it
through asyncio.to_thread."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

# Relative URLs in the export resolve against this origin, which never reaches the network
# (.invalid is reserved): the fetcher serves /static/ from the caller's folder and refuses
# everything else.
BASE_URL = "https://inbox.invalid/"
STATIC_URL = BASE_URL + "static/"
PDF_VARIANT = "pdf/a-3b"  # archivable: fonts embedded, sRGB output intent, XMP metadata
MEDIA_TYPES = {".css": "text/css"}

# weasyprint notes every screen-only CSS rule it skips; the person's terminal needs none of it.
logging.getLogger("weasyprint").setLevel(logging.ERROR)
# weasyprint does not promise thread safety (pango, fontconfig): one export at a time.
_RENDER_LOCK = threading.Lock()


class FetchRefusedError(ValueError):
    pass


def css_string(text: str) -> str:
    """`text` as a quoted CSS string, every character escaped: safe whatever the name holds."""
    return '"' + "".join(f"\\{ord(c):06x}" for c in text) + '"'


def _fetcher(static: Path | None) -> Any:  # noqa: ANN401 - weasyprint ships no type hints
    from weasyprint.urls import (  # type: ignore[import-untyped]  # noqa: PLC0415 - needs pango
        URLFetcher,
        URLFetcherResponse,
    )

    class StaticOnlyFetcher(URLFetcher):  # type: ignore[misc]
        """Serves the agent's own static files; refuses every other URL without opening it."""

        def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:  # noqa: ARG002
            if static is None:
                raise FetchRefusedError(f"not fetched: {url[:80]}")
            body = static_file(url, static)
            return URLFetcherResponse(url, body=body, headers=_headers_of(url))

    return StaticOnlyFetcher(allowed_protocols=())


def static_file(url: str, static: Path) -> bytes:
    """The bytes of the file directly in the folder `static` that `url` names (under
    STATIC_URL), or FetchRefusedError."""
    if not url.startswith(STATIC_URL) or any(c in url for c in "?#\\%"):
        raise FetchRefusedError(f"not fetched: {url[:80]}")
    name = url.removeprefix(STATIC_URL)
    folder = static.resolve()
    path = (folder / name).resolve()
    if not name or path.parent != folder or not path.is_file():
        raise FetchRefusedError(f"not fetched: {url[:80]}")
    return path.read_bytes()


def _headers_of(url: str) -> dict[str, str]:
    return {"Content-Type": MEDIA_TYPES.get(Path(url).suffix, "application/octet-stream")}


def html_to_pdf(
    html: str,
    *,
    title: str,
    created: str | None = None,
    extra_css: str = "",
    static: Path | None = None,
) -> bytes:
    """weasyprint on `html` with a fetcher that serves only the files in `static` (nothing when
    None); the PDF as bytes, in memory only."""
    from weasyprint import CSS, HTML  # type: ignore[import-untyped]  # noqa: PLC0415 - needs pango

    fetcher = _fetcher(static)
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

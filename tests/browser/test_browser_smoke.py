"""The browser harness itself: real Chromium, axe-core and CSP, against a tiny local aiohttp site."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio
from aiohttp import web

from tests.browser.conftest import VIEWPORT, assert_accessible, axe_violations, screenshot

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from playwright.async_api import Page

CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
TITLE = "Inkorg: prov"

ACCESSIBLE = f"""<!doctype html>
<html lang="sv">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{TITLE}</title>
<link rel="stylesheet" href="/stil.css">
<script src="/app.js"></script>
</head>
<body>
<main>
<h1>Meddelanden</h1>
<form method="post" action="/sok">
<label for="sok">Sök bland ärenden</label>
<input id="sok" name="q" type="search">
<button type="submit">Sök</button>
</form>
</main>
<script>document.title = "Skriptet körde";</script>
</body>
</html>
"""

INACCESSIBLE = """<!doctype html>
<html lang="sv">
<head><meta charset="utf-8"><title>Otillgänglig</title></head>
<body>
<main>
<h1>Ärende</h1>
<input type="text" name="namn">
<img src="/bild.svg">
</main>
</body>
</html>
"""

STYLE = "body { font-family: sans-serif; margin: 2rem; color: #111; background: #fff; }\n"
# Loaded from 'self', so it runs; it records what the CSP refuses.
APP_JS = """document.documentElement.dataset.externalScript = "ran";
document.addEventListener("securitypolicyviolation", (event) => {
  document.documentElement.dataset.cspViolation = event.effectiveDirective;
});
"""
IMAGE = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect width="40" height="40"/></svg>'


@web.middleware
async def _csp(request: web.Request, handler):
    response = await handler(request)
    if request.path != "/utan-csp":
        response.headers["Content-Security-Policy"] = CSP
    return response


def _static(body: str, content_type: str):
    async def handler(_request: web.Request) -> web.Response:
        return web.Response(text=body, content_type=content_type, charset="utf-8")

    return handler


@pytest_asyncio.fixture(loop_scope="session")
async def site() -> AsyncIterator[str]:
    app = web.Application(middlewares=[_csp])
    app.router.add_get("/", _static(ACCESSIBLE, "text/html"))
    app.router.add_get("/utan-csp", _static(ACCESSIBLE, "text/html"))
    app.router.add_get("/otillganglig", _static(INACCESSIBLE, "text/html"))
    app.router.add_get("/stil.css", _static(STYLE, "text/css"))
    app.router.add_get("/app.js", _static(APP_JS, "text/javascript"))
    app.router.add_get("/bild.svg", _static(IMAGE, "image/svg+xml"))
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()  # port 0: a free one
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


async def test_accessible_page_passes_axe_and_is_screenshotted(page: Page, site: str) -> None:
    response = await page.goto(f"{site}/")
    assert response is not None
    assert response.ok
    assert response.headers["content-security-policy"] == CSP
    assert await page.evaluate("navigator.language") == "sv-SE"
    await assert_accessible(page)

    path = await screenshot(page, "browser-smoke-accessible")
    png = path.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    assert width == VIEWPORT["width"]
    assert height >= VIEWPORT["height"]


async def test_inaccessible_page_fails_axe(page: Page, site: str) -> None:
    await page.goto(f"{site}/otillganglig")
    violations = await axe_violations(page)
    assert {v["id"] for v in violations} == {"label", "image-alt"}

    with pytest.raises(AssertionError) as failure:
        await assert_accessible(page)
    report = str(failure.value)
    assert "label (critical): input" in report
    assert "image-alt (critical): img" in report


async def test_csp_blocks_the_inline_script(page: Page, site: str) -> None:
    # Control: without the header the same inline script runs and retitles the page.
    await page.goto(f"{site}/utan-csp")
    assert await page.title() == "Skriptet körde"

    await page.goto(f"{site}/")
    await page.wait_for_function("document.documentElement.dataset.cspViolation")
    assert await page.title() == TITLE
    state = await page.evaluate("({...document.documentElement.dataset})")
    assert state["externalScript"] == "ran"  # scripts from 'self' do run: only inline is refused
    assert state["cspViolation"].startswith("script-src")

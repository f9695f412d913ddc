"""Real Chromium for the web-page tests: Debian's /usr/bin/chromium driven by Playwright.

Fixtures:
    browser  session-scoped playwright.async_api.Browser (headless, no background networking)
    page     a fresh BrowserContext per test (sv-SE, Europe/Stockholm, 1280x800, CSP enforced)
Helpers (import from tests.browser.conftest):
    await assert_accessible(page)      axe-core, WCAG 2.1 A and AA; fails listing each violation
    await axe_violations(page)         the raw axe violations, for tests that expect some
    await screenshot(page, "name")     PNG under test-output/screenshots/, returns the path

The event loop: Playwright's connection belongs to the loop that started it, so one browser for the
whole session needs one loop for the whole session. Every async test that uses `browser` (or
`page`) is therefore moved onto pytest-asyncio's session loop here; the rest of the suite keeps its
function loops. Async fixtures such a test uses must run on that loop too: declare them with
`@pytest_asyncio.fixture(loop_scope="session")` (any scope). A test that forgets is failed at once
with that advice, instead of hanging on a server whose loop is not running.
"""

from __future__ import annotations

import inspect
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import async_playwright
from pytest_asyncio import is_async_test

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from playwright.async_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
# Headless, and nothing in the background: this machine reaches no network but the package
# registries, and Chromium's own update, sync and first-run calls would only be refused.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 10_000  # a local page that needs longer is a failure, not something to wait for
WCAG21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"

_HERE = Path(__file__).resolve().parent
_SCREENSHOT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_LOOP_PROBLEM = pytest.StashKey[str]()
_AXE = Axe()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        uses_browser = "browser" in getattr(item, "fixturenames", ())
        if uses_browser or _HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)
        if uses_browser and is_async_test(item):
            item.add_marker(pytest.mark.asyncio(loop_scope="session"), append=False)
            elsewhere = _fixtures_on_other_loops(item, config)
            if elsewhere:
                item.stash[_LOOP_PROBLEM] = (
                    f"async fixture(s) {', '.join(elsewhere)} would run on another event loop than "
                    "the browser; declare them @pytest_asyncio.fixture(loop_scope='session') "
                    "(see tests/browser/conftest.py)"
                )


def _fixtures_on_other_loops(item: pytest.Item, config: pytest.Config) -> list[str]:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:  # pytest internals moved: skip the guard rather than break the suite
        return []
    default = config.getini("asyncio_default_fixture_loop_scope")
    found = []
    for name, defs in info.name2fixturedefs.items():
        fixturedef = defs[-1]
        func = fixturedef.func
        if not (inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func)):
            continue
        loop_scope = getattr(func, "_loop_scope", None) or default or fixturedef.scope
        if loop_scope == "fixture-scope":
            loop_scope = fixturedef.scope
        if loop_scope != "session":
            found.append(name)
    return found


@pytest.fixture(autouse=True)
def _same_loop_as_browser(request: pytest.FixtureRequest) -> None:
    problem = request.node.stash.get(_LOOP_PROBLEM, None)
    if problem:
        pytest.fail(problem, pytrace=False)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's Chromium. "
            "scripts/test installs it when run as root; otherwise: sudo apt-get install chromium",
            pytrace=False,
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser: Browser) -> AsyncIterator[Page]:
    # A new context per test: no cookies, storage or cache carried over. bypass_csp stays False,
    # so the page's Content-Security-Policy is enforced as in a person's browser.
    context = await browser.new_context(
        locale="sv-SE",
        timezone_id="Europe/Stockholm",
        viewport=VIEWPORT,
        bypass_csp=False,
    )
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations of WCAG 2.1 A and AA on the page as it is now."""
    options = {"runOnly": {"type": "tag", "values": WCAG21_AA}, "resultTypes": ["violations"]}
    results = await _AXE.run(page, options=options)
    return list(results.response["violations"])


def _target(target: str | list[str]) -> str:
    return target if isinstance(target, str) else " >>> ".join(target)  # inside frames / shadows


async def assert_accessible(page: Page) -> None:
    violations = await axe_violations(page)
    if violations:
        lines = [f"{len(violations)} WCAG 2.1 AA violation(s) on {page.url}:"]
        for violation in violations:
            targets = "; ".join(_target(t) for node in violation["nodes"] for t in node["target"])
            lines.append(
                f"  {violation['id']} ({violation['impact']}): {targets}  - {violation['help']}"
            )
        raise AssertionError("\n".join(lines))


async def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Write test-output/screenshots/NAME.png (the file tool shows it) and return its path."""
    stem = name.removesuffix(".png")
    if not _SCREENSHOT_NAME.fullmatch(stem):
        raise ValueError(f"screenshot name {name!r}: use letters, digits, '.', '_' and '-'")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{stem}.png"
    await page.screenshot(path=path, full_page=full_page)
    return path

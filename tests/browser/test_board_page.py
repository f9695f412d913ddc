"""The county board's own inbox in real Chromium: the outcome notes sealed to its key, readable
and accessible (axe), behind the same guard as every inbox page."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest_asyncio

from tests.browser.conftest import assert_accessible, screenshot
from tests.hubnet import running_hub
from tests.inboxnet import running_agent
from tests.test_inbox_outcome_note import CHOSEN, _closed_case

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from playwright.async_api import Browser

    from tests.hubnet import HubNet

WORDS = "Bostaden blev inte klar i tid <script>alert(1)</script>"


@pytest_asyncio.fixture(loop_scope="session")
async def net(tmp_path: Path) -> AsyncIterator[HubNet]:
    async with running_hub(tmp_path, network_settings={"outcome_free_text": True}) as hubnet:
        await hubnet.enrol("gun", "lansstyrelsen", role="county_board")
        yield hubnet


async def test_the_board_reads_the_reasons_in_words_on_an_accessible_page(
    net: HubNet, browser: Browser, tmp_path: Path
) -> None:
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        path = await _closed_case(anna)
        status, _ = await anna.post(f"{path}/utfall/skicka", {**CHOSEN, "outcome_note": WORDS})
        assert status == 200

    async with running_agent(net, "gun", tmp_path, board=True) as gun:
        context = await browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm")
        try:
            page = await context.new_page()
            dialogs: list[str] = []
            page.on("dialog", lambda d: dialogs.append(d.message))
            response = await page.goto(gun.auth.launch_url)
            assert response is not None
            assert response.status == 200
            body = await page.locator("body").inner_text()
            assert "Utfallsbeskrivningar" in body
            assert WORDS in body  # the text as written, markup shown as text
            assert dialogs == []
            csp = (await response.all_headers())["content-security-policy"]
            assert "script-src 'self'" in csp
            await assert_accessible(page)
            await screenshot(page, "inbox-board-outcome-notes")
        finally:
            await context.close()

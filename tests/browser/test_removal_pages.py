"""Removing an ended case from the inbox by hand, in Chromium (issue 16, "Gallra"): the case
page offers it, the confirmation says what goes and what stays, and the list of ended cases
says it is gone. Every page passes axe (WCAG 2.1 AA); screenshots are kept."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest_asyncio
from playwright.async_api import expect

from hub.protocol.case_reference import case_reference
from tests.browser.conftest import assert_accessible, screenshot
from tests.hubnet import running_hub
from tests.inboxnet import running_agent
from tests.test_inbox_retention import _declined_by_b

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from playwright.async_api import Page

    from tests.hubnet import HubNet


@pytest_asyncio.fixture(loop_scope="session")
async def net(tmp_path) -> AsyncIterator[HubNet]:
    async with running_hub(tmp_path) as running:
        yield running


async def test_an_ended_case_is_removed_through_its_confirmation(net, tmp_path, page: Page) -> None:
    async with (
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        case_id = await anna.core.send_inquiry({"bakgrund_till_placering": "x"}, [], ["kommun-b"])
        await _declined_by_b(anna, bertil, case_id)
        reference = case_reference(case_id)
        await page.goto(bertil.auth.launch_url)
        await page.goto(f"{bertil.url}/arende/{case_id.hex()}")
        await page.get_by_role("link", name="Ta bort ärendet från inkorgen").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            f"Ta bort ärende {reference} från inkorgen?"
        )
        await assert_accessible(page)
        await screenshot(page, "inbox-remove-confirm")
        await page.get_by_role("button", name="Ja, ta bort ärendet från inkorgen").click()
        await page.wait_for_load_state()
        await expect(page.get_by_role("status").first).to_contain_text(
            f"Ärende {reference} är borttaget från inkorgen"
        )
        await expect(page.locator("main")).not_to_contain_text(reference)
        await assert_accessible(page)
        await screenshot(page, "inbox-remove-done")
        assert await bertil.core.cache.get_case(case_id) is None

"""A moved case in Chromium (issue 16, "every date says what it is"): before the day the page
says when the person moves, "Att göra nu" asks for the follow-up meeting with its deadline, the
meeting is recorded through the page's own date field, and afterwards the page says when it was
held. Every page passes axe (WCAG 2.1 AA); screenshots are kept."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest_asyncio
from playwright.async_api import expect

from tests.browser.conftest import assert_accessible, screenshot
from tests.hubnet import running_hub
from tests.inboxnet import running_agent
from tests.test_case_names_and_dates import MOVING_DATE, _moved_case

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from playwright.async_api import Page

    from tests.hubnet import HubNet


@pytest_asyncio.fixture(loop_scope="session")
async def net(tmp_path) -> AsyncIterator[HubNet]:
    async with running_hub(tmp_path) as running:
        yield running


async def test_the_moving_date_and_the_follow_up_say_what_they_are(net, tmp_path, page: Page):
    async with (
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        case_id = (await _moved_case(anna, bertil)).hex()
        await page.goto(anna.auth.launch_url)
        await page.goto(f"{anna.url}/arende/{case_id}")
        main = page.locator("main")
        await expect(main).to_contain_text(f"Flyttar {MOVING_DATE}")
        await expect(main).to_contain_text("Uppföljningsmötet ska hållas senast 2027-01-15")
        await expect(main).not_to_contain_text("Flyttat")
        await assert_accessible(page)
        await screenshot(page, "inbox-moved-before-the-day")

        net.clock.now += 60 * 86_400  # 2027-01-17: the meeting was held on the 12th
        await page.reload()
        await page.get_by_label("Datum för uppföljningsmötet").fill("2027-01-12")
        await page.get_by_role("button", name="Registrera uppföljningen").click()
        await page.wait_for_load_state()
        await expect(main).to_contain_text(f"Flyttade {MOVING_DATE}")
        await expect(main).to_contain_text("Mötet hölls 2027-01-12")
        await assert_accessible(page)
        await screenshot(page, "inbox-moved-followed-up")

"""Bo, Kommun B's successor after Bertil's laptop was stolen, reads in Chromium the whole case
Kommun A handed over under the administrator's handover record, and answers it; Anna sees the
answer (issue 17). The page passes axe (WCAG 2.1 AA); a screenshot is kept."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest_asyncio
from playwright.async_api import expect

from tests.browser.conftest import assert_accessible, screenshot
from tests.hubnet import running_hub
from tests.inboxnet import running_agent
from tests.test_handover_across import (
    BERTILS_WORDS,
    INQUIRY,
    bertil_is_lost,
    only_bertil_holds_b,
    open_case_with_a_thread,
    sign_handover,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from playwright.async_api import Page

    from tests.hubnet import HubNet

CONSENT = "Alla beslutsfattande arbetsledare"


@pytest_asyncio.fixture(loop_scope="session")
async def net(tmp_path) -> AsyncIterator[HubNet]:
    async with running_hub(tmp_path) as running:
        yield running


async def test_the_successor_reads_the_handed_case_and_answers(net, tmp_path, page: Page) -> None:
    await only_bertil_holds_b(net)
    case_id = (await open_case_with_a_thread(net, tmp_path)).hex()
    await bertil_is_lost(net)
    await sign_handover(net, "kommun-b")
    async with running_agent(net, "anna", tmp_path):
        pass  # Anna's inbox hands over at the sync it starts with
    async with running_agent(net, "bo", tmp_path) as bo:
        await page.goto(bo.auth.launch_url)
        await page.goto(f"{bo.url}/arende/{case_id}")
        main = page.locator("main")
        await expect(main).to_contain_text(INQUIRY["bakgrund_till_placering"])
        await expect(main).to_contain_text(BERTILS_WORDS)
        await expect(main).not_to_contain_text("Kommun C")
        await assert_accessible(page)
        await screenshot(page, "handover-successor-reads")

        accept = page.locator("form.action-accept")
        await accept.get_by_role("checkbox", name=re.compile(rf"^{CONSENT}")).check()
        await accept.get_by_role("button", name="Tacka ja till förfrågan").click()
        await page.wait_for_load_state()
        await expect(main).to_contain_text("Läge: Accepterad")
        await assert_accessible(page)
        await screenshot(page, "handover-successor-answered")
    async with running_agent(net, "anna", tmp_path) as anna:
        kept = await anna.core.cache.get_case(bytes.fromhex(case_id))
        assert kept is not None
        states = {r["municipality"]: r["state"] for r in kept["requests"]}
        assert states == {"kommun-b": "accepted", "kommun-c": "accepted"}

"""Issue 15 in real Chromium: the inbox starts locked; the one-time link leads to "Lås upp
inkorgen"; a wrong passphrase is refused and the page says when to try again; the right one
opens the inbox; "Lås nu" locks it again. axe-core (WCAG 2.1 AA) on the unlock page in each
state, the CSP on every page, screenshots under test-output/screenshots/."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from playwright.async_api import expect

from hub.inbox.sync import AgentCore
from hub.localagent.security import CSP
from tests.browser.conftest import assert_accessible, screenshot
from tests.hubnet import running_hub
from tests.inboxnet import PASSPHRASE, locked_agent

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.async_api import Page, Response


async def test_unlocking_in_the_page_and_locking_again(page: Page, tmp_path: Path) -> None:
    responses: list[Response] = []
    page.on("response", lambda r: responses.append(r))  # noqa: PLW0108 - not a builtin: Playwright sets an attribute on it
    async with running_hub(tmp_path) as net, locked_agent(net, "bertil", tmp_path) as agent:
        await page.goto(agent.auth.launch_url)
        assert page.url == agent.url + "/las-upp"
        await expect(page.get_by_role("heading", level=1)).to_have_text("Lås upp inkorgen")
        field = page.get_by_label("Lösenfras")
        assert await field.get_attribute("type") == "password"
        assert await field.get_attribute("autocomplete") == "off"
        await expect(page.locator("#locked-since")).to_contain_text("ingenting tagits emot")
        await assert_accessible(page)
        await screenshot(page, "unlock-locked")

        await field.fill("inte min fras")
        await page.get_by_role("button", name="Lås upp inkorgen").click()
        await expect(page.get_by_role("alert")).to_contain_text("Fel lösenfras")
        await expect(page.get_by_role("alert")).to_contain_text("försöka igen om 1 sekund")
        assert agent.keeper.held is None
        await assert_accessible(page)
        await screenshot(page, "unlock-wrong-passphrase")

        await asyncio.sleep(1.1)
        await page.get_by_label("Lösenfras").fill(PASSPHRASE)
        await page.get_by_role("button", name="Lås upp inkorgen").click()
        await expect(page.get_by_role("button", name="Lås nu")).to_be_visible()
        assert page.url == agent.url + "/"
        assert isinstance(agent.keeper.held, AgentCore)
        await assert_accessible(page)
        await screenshot(page, "unlock-opened-inbox")

        await page.get_by_role("button", name="Lås nu").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Lås upp inkorgen")
        assert agent.keeper.held is None
        await assert_accessible(page)
    documents = [r for r in responses if r.request.resource_type == "document"]
    assert documents
    for response in documents:
        assert await response.header_value("content-security-policy") == CSP, response.url

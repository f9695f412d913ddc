"""The worst of the lying hub's lies, as a person sees them in Chromium: a message the hub
lists under a false sender and time, and a document of a hostile shape from another
municipality's agent. The case page shows what was signed, says that the hub disagreed, labels
the hub's state as the hub's, and passes axe (WCAG 2.1 AA); screenshots are kept."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pytest_asyncio
from playwright.async_api import expect

from hub.crypto.format import MessageKind
from tests.browser.conftest import assert_accessible, screenshot
from tests.inboxnet import running_agent
from tests.lyinghub import in_listing, lying_hub

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from playwright.async_api import Page


@pytest_asyncio.fixture(loop_scope="session")
async def liar(tmp_path) -> AsyncIterator[Any]:
    async with lying_hub(tmp_path) as (net, proxy):
        yield net, proxy


async def _open(page: Page, agent: Any, path: str) -> None:
    await page.goto(agent.auth.launch_url)
    await page.goto(agent.url + path)


async def test_a_lie_in_the_listing_is_shown_as_signed_and_flagged(liar, tmp_path, page) -> None:
    net, proxy = liar
    async with (
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        proxy.quiet = True
        case_id = (
            await anna.core.send_inquiry({"bakgrund_till_placering": "Bakgrund"}, [], ["kommun-b"])
        ).hex()

        def lie(entry: dict[str, Any]) -> list[dict[str, Any]]:
            if entry["kind"] == MessageKind.MESSAGE:
                return [{**entry, "from": "kommun-c", "created_at": entry["created_at"] + 86_400}]
            return [entry]

        proxy.lie(in_listing(lie))
        await anna.core.send_message(
            bytes.fromhex(case_id), "kommun-b", {"message": "Vi har en lägenhet i mars."}, []
        )
        await bertil.core.sync()
        await _open(page, bertil, f"/arende/{case_id}")
        main = page.locator("main")
        await expect(main).to_contain_text("Hubbens uppgifter om ärendet stämde inte")
        await expect(main).to_contain_text("Vi har en lägenhet i mars.")
        await expect(main).to_contain_text("Läge: Läst")
        await expect(page.locator("article.message .message-from")).to_have_text("Kommun A")
        await expect(main).not_to_contain_text("Kommun C")
        await assert_accessible(page)
        await screenshot(page, "lying-hub-01-listing-flagged")


async def test_a_hostile_document_leaves_a_readable_accessible_page(liar, tmp_path, page) -> None:
    net, _ = liar
    async with running_agent(net, "bertil", tmp_path) as bertil:
        case_id = os.urandom(16)
        hub = await net.client("anna")
        await hub.create_case(case_id)
        data = net.seal_to(
            "anna", ["kommun-b"], {"bakgrund_till_placering": ["inte", "text"]}, case_id=case_id
        )
        ack = await hub.upload(data, ["kommun-b"])
        await net.step(
            "anna", case_id, "kommun-b", "send_inquiry", message_id=bytes.fromhex(ack.message_id)
        )
        await bertil.core.sync()
        await _open(page, bertil, f"/arende/{case_id.hex()}")
        await expect(page.locator("main")).to_contain_text("innehåller en lista i stället för text")
        await assert_accessible(page)
        await screenshot(page, "lying-hub-02-hostile-document")

"""The worst of the lying hub's lies, as a person sees them in Chromium: a message the hub
lists under a false sender and time, and a document of a hostile shape from another
municipality's agent; a state the signed steps deny, and two histories of one request. The case
page shows what was signed, says that the hub disagreed or what could not be proved, offers no
step on the hub's word, and passes axe (WCAG 2.1 AA); screenshots are kept."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pytest_asyncio
from playwright.async_api import expect

from hub.crypto.format import MessageKind
from tests.browser.conftest import assert_accessible, screenshot
from tests.inboxnet import running_agent
from tests.lyinghub import in_case_views, in_listing, in_steps, lying_hub

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


async def test_a_false_accept_and_a_fork_are_shown_as_what_was_signed(liar, tmp_path, page) -> None:
    """B's signed answer is no, the hub says accepted and offers A the confirm: A's page says
    "Nekad" and offers no confirm. Then the hub relays a second history of C's request: A's
    page says "Motstridig historik" and offers nothing there."""
    net, proxy = liar
    async with (
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
        running_agent(net, "cecilia", tmp_path) as cecilia,
    ):
        case_id = await anna.core.send_inquiry(
            {"bakgrund_till_placering": "Bakgrund"}, [], ["kommun-b", "kommun-c"]
        )
        await bertil.core.sync()
        await cecilia.core.sync()
        await bertil.core.answer(
            case_id,
            "decline",
            target="kommun-b",
            document={"reason": "quota_reached", "motivation": "Kvoten är fylld i år."},
            details={"reason": "quota_reached"},
        )
        withdraw = await net.sign_steps("anna", case_id, "kommun-c", "withdraw")
        await cecilia.core.answer(case_id, "accept", target="kommun-c", document={"ja": "ja"})

        def accepted(view: dict[str, Any]) -> dict[str, Any]:
            requests = [
                {**r, "state": "accepted", "allowed_events": ["confirm", "withdraw"]}
                for r in view["requests"]
            ]
            return {**view, "requests": requests}

        proxy.lie(in_case_views(accepted))
        await anna.core.sync()
        await _open(page, anna, f"/arende/{case_id.hex()}")
        b_box = page.locator("section.request", has_text="Kommun B")
        await expect(b_box).to_contain_text("Läge: Nekad")
        await expect(page.locator("main")).to_contain_text(
            "Hubbens uppgifter om ärendet stämde inte"
        )
        await expect(page.locator("form.action-confirm")).to_have_count(1)  # C's, signed
        await expect(b_box.locator("form")).to_have_count(0)
        await assert_accessible(page)
        await screenshot(page, "lying-hub-03-false-accept")

        extra = {"step": withdraw[0], "received_at": int(net.clock.now)}
        proxy.lie(in_steps(lambda steps: [*steps, extra]))
        await anna.core.refresh_case(case_id)
        await page.reload()
        c_box = page.locator("section.request", has_text="Kommun C")
        await expect(c_box).to_contain_text("Läge: Motstridig historik")
        await expect(c_box.locator("form")).to_have_count(0)
        await expect(page.locator("main")).to_contain_text("hubben har visat två olika förlopp")
        await assert_accessible(page)
        await screenshot(page, "lying-hub-04-fork")

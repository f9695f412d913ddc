"""The follow-up pages (`hub uppfoljning`) in real Chromium, against a real hub with a year of
cases: the coordinator's overview (tables and SVG charts), a municipality, the annual PDF; the
county administrator's members, keys, enrolments and notices; a contact person's key refused
with a Swedish 403 page; the guard without the launch link. axe-core (WCAG 2.1 AA) on every
page, the CSP header on every page response, a screenshot of each page and of the PDF's first
page (pdftoppm) under test-output/screenshots/, and the canary absent from everything shown."""

from __future__ import annotations

import asyncio
import shutil
import time
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio
from playwright.async_api import expect

from hub.client.api import API
from hub.localagent.security import CSP
from tests.browser.conftest import SCREENSHOTS, TIMEOUT_MS, VIEWPORT, assert_accessible, screenshot
from tests.followupnet import follow_up_network, running_followup
from tests.hubnet import running_hub
from tests.test_statistics_api import CANARY, MOVED, YEAR, _three_cases

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from playwright.async_api import Browser, Page, Response

    from tests.hubnet import HubNet


@pytest_asyncio.fixture(loop_scope="session")
async def net(tmp_path: Path) -> AsyncIterator[HubNet]:
    async with running_hub(tmp_path) as hubnet:
        await follow_up_network(hubnet)
        await _three_cases(hubnet)
        yield hubnet


async def _browser_page(browser: Browser) -> tuple[Page, list[Response]]:
    context = await browser.new_context(
        locale="sv-SE", timezone_id="Europe/Stockholm", viewport=VIEWPORT, bypass_csp=False
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    documents: list[Response] = []

    def on_response(response: Response) -> None:
        if response.request.resource_type == "document":
            documents.append(response)

    page.on("response", on_response)
    return page, documents


async def _check(page: Page, name: str) -> None:
    await assert_accessible(page)
    await screenshot(page, name)
    assert CANARY not in await page.content()


def _all_protected(documents: list[Response]) -> None:
    assert documents
    for response in documents:
        assert response.headers.get("content-security-policy") == CSP, response.url


async def test_the_coordinators_pages_and_the_annual_pdf(net, browser, tmp_path):
    async with running_followup(net, "signe") as agent:
        page, documents = await _browser_page(browser)
        await page.goto(agent.auth.launch_url)
        await page.goto(f"{agent.url}/oversikt?ar={YEAR}")
        await expect(page.get_by_role("heading", level=1)).to_have_text(f"Översikt {YEAR}")
        await expect(
            page.get_by_role("table", name="Förfrågningar och svar", exact=True)
        ).to_be_visible()
        chart = page.locator('svg[role="img"]').first
        await expect(chart).to_be_visible()
        assert await page.locator('svg[role="img"] title').count() == 4
        await _check(page, "followup-oversikt")

        await page.get_by_label("Välj år").select_option(str(YEAR - 1))
        await page.get_by_role("button", name="Visa året").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(f"Översikt {YEAR - 1}")
        await page.goto(f"{agent.url}/oversikt?ar={YEAR}")

        await page.get_by_role("link", name="Kommun B", exact=True).click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(f"Kommun B {YEAR}")
        await _check(page, "followup-kommun")
        _all_protected(documents)

        # The PDF, through the browser's own session (its cookie), written only here.
        started = time.monotonic()
        response = await page.context.request.get(f"{agent.url}/oversikt.pdf?ar={YEAR}")
        seconds = time.monotonic() - started
        print(f"PDF rendered and fetched in {seconds:.1f} s")
        assert response.status == 200
        assert response.headers["content-security-policy"] == CSP
        pdf = await response.body()
        assert pdf.startswith(b"%PDF-")
        assert CANARY.encode() not in pdf
        await _first_page_png(pdf, tmp_path)
        await page.context.close()


async def _first_page_png(pdf: bytes, tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm is not installed: the PDF's first page is not photographed")
    source = tmp_path / "arsrapport.pdf"
    source.write_bytes(pdf)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / "followup-arsrapport-sida1"
    process = await asyncio.create_subprocess_exec(
        "pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", source, target
    )
    assert await process.wait() == 0
    assert target.with_suffix(".png").stat().st_size > 0


async def test_the_county_administrators_pages(net, browser):
    async with running_followup(net, None) as admin:
        page, documents = await _browser_page(browser)
        await page.goto(admin.auth.launch_url)
        for link, heading, name in (
            ("Medlemmar", "Medlemmar", "followup-medlemmar"),
            ("Kontaktpersoner", "Kontaktpersoner och deras nycklar", "followup-kontaktpersoner"),
            ("Väntande registreringar", "Väntande registreringar", "followup-registreringar"),
            ("Aviseringar", "Aviseringar som inte kunde skickas", "followup-aviseringar"),
        ):
            await page.get_by_role("navigation").get_by_role("link", name=link).click()
            await expect(page.get_by_role("heading", level=1)).to_have_text(heading)
            await _check(page, name)
        await expect(page.get_by_role("link", name="Aviseringar")).to_have_attribute(
            "aria-current", "page"
        )
        await page.goto(f"{admin.url}/kontaktpersoner")
        await expect(page.get_by_text("går ut inom 30 dagar")).to_be_visible()
        await expect(page.get_by_text("återkallad", exact=False).first).to_be_visible()
        _all_protected(documents)
        await page.context.close()


async def test_a_contact_persons_key_and_a_browser_without_the_link_are_refused(net, browser):
    async with running_followup(net, "bertil") as agent:
        page, documents = await _browser_page(browser)
        response = await page.goto(agent.auth.launch_url)
        assert response is not None
        assert response.status == 403
        await expect(page.get_by_role("heading", level=1)).to_have_text("Du har inte behörighet")
        await expect(page.get_by_text("hör inte till en samordnare")).to_be_visible()
        await _check(page, "followup-403-kontaktperson")
        _all_protected(documents)
        await page.context.close()

    async with running_followup(net, "signe") as agent:
        page, documents = await _browser_page(browser)
        response = await page.goto(f"{agent.url}/oversikt")  # no launch link opened
        assert response is not None
        assert response.status == 403
        await expect(page.get_by_text("Du är inte inloggad")).to_be_visible()
        _all_protected(documents)
        await page.context.close()


async def test_a_coordinator_opens_no_case_no_envelope_and_no_thread(net, browser):
    """In the coordinator's browser: the follow-up has no case page (a Swedish 404), and the
    hub refuses the coordinator's session every case, envelope and thread route (404, as for
    something that does not exist)."""
    async with running_followup(net, "signe") as agent:
        page, documents = await _browser_page(browser)
        await page.goto(agent.auth.launch_url)
        for path in (f"/arende/{MOVED.hex()}", f"/arende/{MOVED.hex()}/pdf", "/ny"):
            response = await page.goto(f"{agent.url}{path}")
            assert response is not None
            assert response.status == 404, path
            await expect(page.get_by_role("heading", level=1)).to_have_text("Sidan finns inte")
        await _check(page, "followup-404")
        _all_protected(documents)

        token = (await net.client("signe")).signed_in.token
        anna = await net.client("anna")
        sent = next(e for e in await anna.envelopes("sent") if e.case_id == MOVED.hex())
        api = f"{net.url}{API}"
        for path in (
            "/cases",
            f"/cases/{MOVED.hex()}",
            f"/envelopes/{sent.message_id}",
            f"/envelopes/{sent.message_id}/blob",
            f"/envelopes/{sent.message_id}/receipts",
            "/envelopes?box=inbox",
        ):
            response = await page.context.request.get(
                f"{api}{path}", headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status == 404, path
            assert CANARY not in await response.text()
        await page.context.close()

"""The web inbox end to end in real Chromium: a real hub, and three real inbox agents (anna in
Kommun A, bertil in Kommun B, cecilia in Kommun C), each driven through its own pages in its own
browser context, signed in with its one-time launch link.

A composes an inquiry with a PDF attachment to B and C, reviews it and sends it; B opens it (A sees
the signed read receipt) and declines with a reason and a motivation; C accepts with the managers'
consent; A confirms C. A second case shows the other end of a confirmation: B, still asked, is told
that the case closed because of an agreement elsewhere. On the way: axe-core (WCAG 2.1 AA) on every
distinct page, a screenshot of each under test-output/screenshots/, the CSP header on every page
response, and a message containing <script> shown as text. The guard is driven from the browser
too: no launch token, another origin, no CSRF token.

Between steps the agents' background sync follows the hub's live channel; a step that needs the
other side's news calls `core.sync()` before reloading, except where the live channel itself is
what is tested (B being told of the agreement elsewhere).
"""

from __future__ import annotations

import asyncio
import re
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import pytest_asyncio
from playwright.async_api import expect

from hub.inbox import forms
from hub.localagent.security import CSP
from tests.browser.conftest import TIMEOUT_MS, VIEWPORT, assert_accessible, screenshot
from tests.hubnet import running_hub
from tests.inboxnet import running_agent

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable
    from pathlib import Path

    from playwright.async_api import Browser, BrowserContext, Locator, Page, Response

    from tests.hubnet import HubNet
    from tests.inboxnet import Agent

CANARY = "KANARIE-webbsidan-41d9"
PDF = b"%PDF-1.4\n% anonymiserad utredning\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
MOTIVATION = "Vi har redan tagit emot det överenskomna antalet ärenden i år."
SCRIPT_MESSAGE = (
    "Hej! <script>window.__pwned = 1; document.title = 'pwned';</script>"
    '<img src="x" onerror="window.__pwned = 2">'
)
QUOTA_REASON = dict(forms.DECLINE_REASONS)["quota_reached"]
CONSENT = "Alla beslutsfattande arbetsledare"
CLOSED_ELSEWHERE = "Avslutad: överenskommelse med annan kommun"
EXPECT_MS = 5_000


@dataclass
class Inbox:
    """One contact person: their agent, and their own browser context signed in to it."""

    agent: Agent
    context: BrowserContext
    page: Page
    launch_url: str  # the one-time link this browser opened
    documents: list[Response] = field(default_factory=list)  # every page response, redirects too
    console_errors: list[str] = field(default_factory=list)  # console errors and page errors
    failed: list[tuple[int, str]] = field(default_factory=list)  # subresources that failed

    @property
    def url(self) -> str:
        return self.agent.url

    async def goto(self, path: str) -> Response:
        response = await self.page.goto(self.url + path)
        assert response is not None
        return response

    async def refresh(self, *, sync: bool = True) -> None:
        """The other side's news: fetch it now (sync), then reload the page."""
        if sync:
            await self.agent.core.sync()
        await self.page.reload()


if TYPE_CHECKING:

    class OpenInbox(Protocol):
        def __call__(
            self, person: str, *, max_attachment_mb: int | None = None
        ) -> Awaitable[Inbox]: ...


async def _new_context(browser: Browser) -> BrowserContext:
    # As the conftest's `page` fixture: a person's browser, CSP enforced.
    context = await browser.new_context(
        locale="sv-SE",
        timezone_id="Europe/Stockholm",
        viewport={"width": VIEWPORT["width"], "height": VIEWPORT["height"]},
        bypass_csp=False,
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context


def _watch(inbox: Inbox) -> None:
    def on_response(response: Response) -> None:
        if response.request.resource_type == "document":
            inbox.documents.append(response)
        elif response.status >= 400:
            inbox.failed.append((response.status, response.url))

    inbox.page.on("response", on_response)
    inbox.page.on(
        "console", lambda m: inbox.console_errors.append(m.text) if m.type == "error" else None
    )
    inbox.page.on("pageerror", lambda e: inbox.console_errors.append(f"pageerror: {e}"))


@pytest_asyncio.fixture(loop_scope="session")
async def net(tmp_path: Path) -> AsyncIterator[HubNet]:
    async with running_hub(tmp_path) as hubnet:
        yield hubnet


@pytest_asyncio.fixture(loop_scope="session")
async def open_inbox(net: HubNet, browser: Browser, tmp_path: Path) -> AsyncIterator[OpenInbox]:
    """open_inbox(person): start the person's agent and sign in to it with the launch link;
    max_attachment_mb= lowers the agent's attachment limit."""
    async with AsyncExitStack() as stack:

        async def open_(person: str, *, max_attachment_mb: int | None = None) -> Inbox:
            agent = await stack.enter_async_context(
                running_agent(net, person, tmp_path, max_attachment_mb=max_attachment_mb)
            )
            context = await _new_context(browser)
            stack.push_async_callback(context.close)  # before the agent stops
            inbox = Inbox(agent, context, await context.new_page(), agent.auth.launch_url)
            _watch(inbox)
            response = await inbox.page.goto(inbox.launch_url)
            assert response is not None
            assert response.status == 200
            assert inbox.page.url == agent.url + "/"  # the 303 from /start, token out of sight
            return inbox

        yield open_


async def _check_page(inbox: Inbox, name: str) -> Path:
    """axe-core finds nothing (WCAG 2.1 AA); then a full-page screenshot."""
    await assert_accessible(inbox.page)
    return await screenshot(inbox.page, f"inbox-{name}")


async def _submit(page: Page, button: Locator) -> None:
    """Press a form's submit button; the inbox's guard must not refuse the inbox's own form."""
    await button.click()
    await page.wait_for_load_state()
    body = await page.locator("body").inner_text()
    assert "Begäran kom från en annan webbplats" not in body, (
        f"the inbox refused its own form (same origin, with its CSRF token): {body!r}"
    )


def _case_id_of(page: Page) -> str:
    match = re.search(r"/arende/([0-9a-f]{32})$", page.url)
    assert match, page.url
    return match.group(1)


def _request_box(page: Page, municipality_name: str) -> Locator:
    """On a case page, the box of the request to one asked municipality."""
    return page.locator("section.request").filter(
        has=page.get_by_role("heading", name=municipality_name, exact=True)
    )


async def _compose_and_send(anna: Inbox, *, canary: str, attach: bool, shoot: bool) -> str:
    """A fills the inquiry form by its labels, chooses B and C, reviews and sends; the case id."""
    page = anna.page
    await (
        page.get_by_role("navigation", name="Huvudmeny")
        .get_by_role("link", name="Ny förfrågan")
        .click()
    )
    await expect(page.get_by_role("heading", level=1)).to_have_text("Ny förfrågan")
    if shoot:
        await _check_page(anna, "02-anna-compose")
    for f in forms.INQUIRY_FIELDS:
        box = page.get_by_label(re.compile(rf"^{re.escape(f.label_sv)} \("))
        if f.kind == "date":
            await box.fill("2026-11-24")
        elif f.id == "bakgrund_till_placering":
            await box.fill(f"Hotbild beskriven, risk bedömd med Patriark. {canary}")
        else:
            await box.fill(f"{f.label_sv}: avidentifierad uppgift.")
    await page.get_by_role("checkbox", name="Kommun B").check()
    await page.get_by_role("checkbox", name="Kommun C").check()
    if attach:
        await page.get_by_label(
            "Bilagor, till exempel den avidentifierade utredningen"
        ).set_input_files({"name": "utredning.pdf", "mimeType": "application/pdf", "buffer": PDF})
    if shoot:
        await screenshot(page, "inbox-03-anna-compose-filled")
    await _submit(page, page.get_by_role("button", name="Granska förfrågan"))

    await expect(page.get_by_role("heading", level=1)).to_have_text("Granska förfrågan")
    main = page.locator("main")
    await expect(main).to_contain_text("Kontrollera att förfrågan är avidentifierad")
    await expect(main).to_contain_text(canary)
    await expect(main.get_by_role("listitem").filter(has_text="Kommun B")).to_have_count(1)
    await expect(main.get_by_role("listitem").filter(has_text="Kommun C")).to_have_count(1)
    if attach:
        await expect(main).to_contain_text("utredning.pdf")
    if shoot:
        await _check_page(anna, "04-anna-review")
    await _submit(page, page.get_by_role("button", name="Skicka", exact=True))

    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Förfrågan till Kommun B, Kommun C"
    )
    return _case_id_of(page)


async def _open_from_inbox(inbox: Inbox, case_id: str) -> None:
    """Fetch what is new, open the inbox, and open the case from Kommun A by its row's link."""
    await inbox.agent.core.sync()
    await inbox.goto("/")
    link = inbox.page.locator(f'a[href="/arende/{case_id}"]')
    await expect(link).to_have_text("Förfrågan från Kommun A")
    await link.click()
    await expect(inbox.page.get_by_role("heading", level=1)).to_have_text("Förfrågan från Kommun A")
    assert _case_id_of(inbox.page) == case_id


async def test_inquiry_goes_to_b_and_c_and_ends_with_c_through_the_pages(
    open_inbox: OpenInbox,
) -> None:
    anna = await open_inbox("anna")
    bertil = await open_inbox("bertil")
    cecilia = await open_inbox("cecilia")

    # --- A: the empty inbox, then compose, review and send with a PDF attachment --------------
    await expect(anna.page.get_by_role("heading", level=1)).to_have_text("Inkorg")
    await expect(anna.page.locator("main")).to_contain_text("Det finns inga ärenden här.")
    await _check_page(anna, "01-anna-inbox-empty")
    case_id = await _compose_and_send(anna, canary=CANARY, attach=True, shoot=True)
    await expect(_request_box(anna.page, "Kommun B")).to_contain_text("Läge:")
    await _check_page(anna, "05-anna-case-sent")

    # --- B: the inquiry arrives unread; B opens it, reads the document, fetches the PDF -------
    await bertil.agent.core.sync()
    await bertil.goto("/")
    row = bertil.page.get_by_role("row").filter(has_text="Förfrågan från Kommun A")
    await expect(row).to_contain_text("Oläst")
    await _check_page(bertil, "06-bertil-inbox")
    await row.get_by_role("link", name="Förfrågan från Kommun A").click()
    await expect(bertil.page.get_by_role("heading", level=1)).to_have_text(
        "Förfrågan från Kommun A"
    )
    assert _case_id_of(bertil.page) == case_id
    await expect(bertil.page.locator("section.document")).to_contain_text(CANARY)
    async with bertil.page.expect_download() as download_info:
        await bertil.page.get_by_role("link", name="utredning.pdf").click()
    download = await download_info.value
    assert download.suggested_filename == "utredning.pdf"
    assert (await download.path()).read_bytes() == PDF
    await _check_page(bertil, "07-bertil-case-received")

    # --- A sees B's signed read receipt, and writes to B with a <script> in the text ----------
    await anna.refresh()
    document = anna.page.locator("section.document")
    await expect(document.get_by_text(re.compile(r"^Förfrågan läst av Kommun B "))).to_be_visible()
    message_form = anna.page.locator("form.action-message")
    await message_form.get_by_role("radio", name="Kommun B").check()
    await message_form.get_by_label(re.compile(r"^Meddelande")).fill(SCRIPT_MESSAGE)
    await _submit(anna.page, message_form.get_by_role("button", name="Skicka meddelandet"))
    await expect(anna.page.locator("article.message")).to_contain_text("<script>")

    # --- B: the message shows as text and runs nothing ------------------------------------------
    await bertil.refresh()
    message = bertil.page.locator("article.message").filter(has_text="Hej!")
    await expect(message).to_contain_text(SCRIPT_MESSAGE)
    assert await message.locator("script, img").count() == 0
    assert await bertil.page.evaluate("window.__pwned") is None
    assert await bertil.page.title() != "pwned"
    await screenshot(bertil.page, "inbox-08-bertil-script-as-text")

    # --- B declines with a reason and a written motivation --------------------------------------
    decline = bertil.page.locator("form.action-decline")
    await decline.get_by_role("radio", name=QUOTA_REASON).check()
    await decline.get_by_label(re.compile(r"^Skriftlig motivering")).fill(MOTIVATION)
    # The confirmation is in the form: a box saying who is told and that it cannot be undone.
    await _submit(bertil.page, decline.get_by_role("button", name="Neka förfrågan"))
    assert bertil.page.url.endswith(f"/arende/{case_id}")  # the browser's own check stopped it
    await decline.get_by_role(
        "checkbox", name=re.compile(r"^Jag förstår att Kommun A får besked direkt")
    ).check()
    await _submit(bertil.page, decline.get_by_role("button", name="Neka förfrågan"))
    await expect(bertil.page.get_by_role("status").filter(has_text="är nekad")).to_have_text(
        "Information: Förfrågan från Kommun A är nekad. Kommun A har fått besked."
    )
    await expect(_request_box(bertil.page, "Kommun B")).to_contain_text("Läge: Nekad")
    await expect(bertil.page.locator("form.action-decline")).to_have_count(0)

    # --- C accepts, with the managers' consent ---------------------------------------------------
    await _open_from_inbox(cecilia, case_id)
    await expect(cecilia.page.locator("section.document")).to_contain_text(CANARY)
    accept = cecilia.page.locator("form.action-accept")
    await accept.get_by_role("checkbox", name=re.compile(rf"^{CONSENT}")).check()
    await accept.get_by_label(re.compile(r"^Meddelande till Kommun A")).fill(
        "Vi kan ta emot ärendet från månadsskiftet."
    )
    await _submit(cecilia.page, accept.get_by_role("button", name="Tacka ja till förfrågan"))
    await expect(_request_box(cecilia.page, "Kommun C")).to_contain_text("Läge: Accepterad")
    await _check_page(cecilia, "09-cecilia-case-accepted")

    # --- A: B said no (with its motivation), C said yes; A confirms C -------------------------
    await anna.refresh()
    await expect(_request_box(anna.page, "Kommun B")).to_contain_text("Läge: Nekad")
    await expect(_request_box(anna.page, "Kommun C")).to_contain_text("Läge: Accepterad")
    await expect(anna.page.locator("section.thread")).to_contain_text(MOTIVATION)
    # B read A's message when it opened the case again: the receipt sits under that message.
    to_b = anna.page.locator("article.message").filter(has_text="Hej!")
    await expect(to_b.get_by_role("listitem")).to_have_text(re.compile(r"^Läst av Kommun B "))
    await _check_page(anna, "10-anna-case-answered")
    await _submit(
        anna.page,
        # The offer is the next step: drawn under "Att göra nu", not in C's box again.
        anna.page.locator("section.next-step").get_by_role(
            "button", name="Bekräfta erbjudandet från Kommun C"
        ),
    )
    await expect(_request_box(anna.page, "Kommun C")).to_contain_text("Läge: Bekräftad")
    await expect(_request_box(anna.page, "Kommun B")).to_contain_text("Läge: Nekad")
    await _check_page(anna, "11-anna-case-confirmed")

    await cecilia.refresh()
    await expect(_request_box(cecilia.page, "Kommun C")).to_contain_text("Läge: Bekräftad")

    # --- A second case, which B has not answered: confirming C closes B's request -------------
    second = await _compose_and_send(anna, canary="ANDRA-ARENDET", attach=False, shoot=False)
    assert second != case_id
    await _open_from_inbox(bertil, second)
    await _open_from_inbox(cecilia, second)
    accept = cecilia.page.locator("form.action-accept")
    await accept.get_by_role("checkbox", name=re.compile(rf"^{CONSENT}")).check()
    await _submit(cecilia.page, accept.get_by_role("button", name="Tacka ja till förfrågan"))
    await expect(_request_box(cecilia.page, "Kommun C")).to_contain_text("Läge: Accepterad")
    await anna.refresh()
    await _submit(
        anna.page,
        # The offer is the next step: drawn under "Att göra nu", not in C's box again.
        anna.page.locator("section.next-step").get_by_role(
            "button", name="Bekräfta erbjudandet från Kommun C"
        ),
    )
    await expect(_request_box(anna.page, "Kommun B")).to_contain_text(f"Läge: {CLOSED_ELSEWHERE}")
    # B is told through the hub's live channel alone: its agent syncs in the background.
    deadline = time.monotonic() + EXPECT_MS / 1000
    b_box = _request_box(bertil.page, "Kommun B")
    while True:
        await bertil.refresh(sync=False)
        if CLOSED_ELSEWHERE in await b_box.inner_text() or time.monotonic() > deadline:
            break
        await bertil.page.wait_for_timeout(100)
    await expect(b_box).to_contain_text(f"Läge: {CLOSED_ELSEWHERE}")
    await expect(bertil.page.locator("form.action-decline, form.action-accept")).to_have_count(0)
    await _check_page(bertil, "12-bertil-case-closed-elsewhere")
    # An ended request leaves B's inbox for its closed cases.
    await bertil.goto("/?box=closed")
    await expect(bertil.page.get_by_role("row").filter(has_text=CLOSED_ELSEWHERE)).to_have_count(1)
    await screenshot(bertil.page, "inbox-13-bertil-inbox-after")

    # --- The remaining pages: lists, keys, an error page ------------------------------------------
    await anna.goto("/?box=sent")
    await expect(anna.page.get_by_role("heading", level=1)).to_have_text("Skickat")
    await _check_page(anna, "14-anna-sent")
    await (
        anna.page.get_by_role("navigation", name="Huvudmeny")
        .get_by_role("link", name="Kontakt och nycklar")
        .click()
    )
    await expect(anna.page.get_by_role("heading", level=1)).to_have_text("Kontakt och nycklar")
    await expect(anna.page.locator("main")).to_contain_text(anna.agent.core.identity.key_id.hex())
    await expect(anna.page.get_by_role("row").filter(has_text="cecilia")).to_have_count(1)
    await _check_page(anna, "15-anna-keys")
    response = await anna.goto("/arende/" + "0" * 32)
    assert response.status == 404
    await expect(anna.page.get_by_role("heading", level=1)).to_have_text("Ärendet finns inte")
    await _check_page(anna, "16-anna-error-404")
    response = await anna.goto("/finns-inte")
    assert response.status == 404
    await expect(anna.page.get_by_role("heading", level=1)).to_have_text("Sidan finns inte")
    await expect(anna.page.get_by_role("link", name="Tillbaka till inkorgen")).to_have_attribute(
        "href", "/"
    )
    await _check_page(anna, "16b-anna-error-no-such-page")

    # --- Every page response, redirects included, carried the strict CSP ----------------------
    for inbox in (anna, bertil, cecilia):
        assert len(inbox.documents) >= 5
        for response in inbox.documents:
            headers = await response.all_headers()
            assert headers.get("content-security-policy") == CSP, (response.status, response.url)
            assert headers.get("x-frame-options") == "DENY", response.url
        # Nothing the pages do is refused by their own CSP, and no script fails.
        assert not [
            e for e in inbox.console_errors if "Content Security Policy" in e or "pageerror" in e
        ], inbox.console_errors
        # Every stylesheet and script loads (live.js included).
        assert not inbox.failed, inbox.failed


async def test_without_the_launch_link_the_inbox_refuses(
    open_inbox: OpenInbox, browser: Browser
) -> None:
    """A browser that never opened the launch link gets the refusal, with the strict headers;
    the link itself, once used, opens nothing a second time."""
    anna = await open_inbox("anna")
    context = await _new_context(browser)
    try:
        page = await context.new_page()
        for path in ("/", "/ny", "/nycklar", "/arende/" + "0" * 32):
            response = await page.goto(anna.url + path)
            assert response is not None
            assert response.status == 403, path
            assert (await response.all_headers())["content-security-policy"] == CSP
            await expect(page.locator("body")).to_contain_text("Du är inte inloggad i inkorgen")
        await screenshot(page, "inbox-17-refused-without-token")

        response = await page.goto(anna.launch_url)  # the very link anna's browser opened
        assert response is not None
        assert response.status == 403
        await expect(page.locator("body")).to_contain_text("Länken är redan använd")
        assert not await context.cookies()
    finally:
        await context.close()


async def test_the_refusal_page_is_accessible(open_inbox: OpenInbox, browser: Browser) -> None:
    """The refusal a browser without the launch link sees is a page like the others for axe."""
    anna = await open_inbox("anna")
    context = await _new_context(browser)
    try:
        page = await context.new_page()
        response = await page.goto(anna.url + "/")
        assert response is not None
        assert response.status == 403
        await assert_accessible(page)
    finally:
        await context.close()


async def test_another_origin_and_a_missing_csrf_token_are_refused(open_inbox: OpenInbox) -> None:
    """A page on another web site posts a form to the inbox in the signed-in browser; a request
    from the inbox's own page without the CSRF token: both refused, and nothing changes."""
    anna = await open_inbox("anna")
    case_id = (
        await anna.agent.core.send_inquiry({"bakgrund_till_placering": "x"}, [], ["kommun-b"])
    ).hex()
    target = f"{anna.url}/arende/{case_id}/message"
    evil = "http://annan-webbplats.test"
    html = (
        '<!doctype html><html lang="sv"><head><title>Annan webbplats</title></head><body>'
        f'<form method="post" action="{target}" enctype="multipart/form-data">'
        '<input type="hidden" name="target" value="kommun-b">'
        '<input type="hidden" name="message" value="Från en annan webbplats">'
        '<button type="submit">Vinn en resa</button></form></body></html>'
    )
    await anna.context.route(
        f"{evil}/**", lambda route: route.fulfill(status=200, content_type="text/html", body=html)
    )
    await anna.page.goto(f"{evil}/")
    await anna.page.get_by_role("button", name="Vinn en resa").click()
    await expect(anna.page.locator("body")).to_contain_text("kom från en annan webbplats")
    assert anna.page.url == target
    await screenshot(anna.page, "inbox-18-refused-other-origin")

    # From the inbox's own page (same origin, with the session cookie), but no CSRF token.
    await anna.goto(f"/arende/{case_id}")
    status, text = await anna.page.evaluate(
        """async (url) => {
            const body = new FormData();
            body.append("target", "kommun-b");
            body.append("message", "Utan säkerhetskod");
            const response = await fetch(url, {method: "POST", body});
            return [response.status, await response.text()];
        }""",
        target,
    )
    assert status == 403
    assert "saknar en giltig säkerhetskod" in text

    await anna.page.reload()
    thread = anna.page.locator("section.thread")
    await expect(thread).to_contain_text("Inga meddelanden ännu.")
    await expect(thread).not_to_contain_text("Från en annan webbplats")
    await expect(thread).not_to_contain_text("Utan säkerhetskod")


async def test_deadline_banner_leads_to_the_late_cases(open_inbox: OpenInbox, net: HubNet) -> None:
    """When B's answer time has passed (the clock moved on, no waiting), B's inbox says so in
    a status banner in words; its link lists just those cases. axe finds nothing."""
    bertil = await open_inbox("bertil")
    anna = await open_inbox("anna")
    case_id = (
        await anna.agent.core.send_inquiry({"bakgrund_till_placering": "x"}, [], ["kommun-b"])
    ).hex()
    await bertil.agent.core.sync()
    await bertil.agent.core.sync()
    due = bertil.agent.core.next_due((await bertil.agent.core.cache.list_cases("inbox"))[0])
    assert due is not None
    net.clock.now = due.due_at.timestamp() + 1
    await bertil.goto("/")
    banner = bertil.page.get_by_role("status").filter(has_text="Tidsfrister")
    link = banner.get_by_role("link", name="1 ärende har en tidsfrist som har passerat")
    await expect(link).to_be_visible()
    await _check_page(bertil, "19-bertil-deadline-banner")
    await link.click()
    await expect(bertil.page.locator("main")).to_contain_text(
        "Visar bara ärenden där tidsfristen har passerat"
    )
    rows = bertil.page.locator("table.cases tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first.locator(f'a[href="/arende/{case_id}"]')).to_contain_text(
        "Förfrågan från Kommun A"
    )
    await expect(rows.first).to_contain_text("Försenad")
    await _check_page(bertil, "20-bertil-deadline-list")


async def test_what_is_typed_is_saved_as_a_draft_while_typing(open_inbox: OpenInbox) -> None:
    """A types into the inquiry form and stops: a moment later the page says the draft was
    saved; a reload, and the draft list, bring the text back. Typing and leaving at once
    saves too (when the page is hidden)."""
    anna = await open_inbox("anna")
    page = anna.page
    await anna.goto("/ny")
    background = page.get_by_label(re.compile(r"^Bakgrundsinformation om sökande \("))
    await background.fill("Påbörjad förfrågan, autosparad.")
    status = page.get_by_role("status").filter(has_text="Utkastet sparades")
    await expect(status).to_have_text(re.compile(r"^Utkastet sparades \d\d:\d\d$"))
    assert re.search(r"/ny\?utkast=[0-9a-f]{32}$", page.url), page.url
    await _check_page(anna, "21-anna-compose-autosaved")

    await page.reload()
    await expect(background).to_have_value("Påbörjad förfrågan, autosparad.")
    await anna.goto("/ny")
    drafts = page.get_by_role("region", name="Sparade utkast")
    await drafts.get_by_role("link", name="Påbörjad förfrågan, autosparad.").click()
    await expect(background).to_have_value("Påbörjad förfrågan, autosparad.")

    # Typed, and away at once (no pause): saved as the page goes.
    await background.fill("Ändrad precis innan sidan lämnades.")
    await (
        page.get_by_role("navigation", name="Huvudmeny").get_by_role("link", name="Inkorg").click()
    )
    await expect(page.get_by_role("heading", level=1)).to_have_text("Inkorg")
    texts: list[str] = []
    for _ in range(100):  # the request outlives the page; the agent may take a moment
        texts = [d["values"].get("sokandes_bakgrund", "") for _, _, d in await _drafts(anna)]
        if "Ändrad precis innan sidan lämnades." in texts:
            break
        await page.wait_for_timeout(50)
    assert texts == ["Ändrad precis innan sidan lämnades."]
    assert not [e for e in anna.console_errors if "Content Security Policy" in e], (
        anna.console_errors
    )


async def _drafts(inbox: Inbox) -> list[tuple[str, int, dict[str, Any]]]:
    return await inbox.agent.core.cache.list_drafts()


BIG = 8 * 1024 * 1024  # a scanned investigation, say


async def _fill_inquiry(page: Page, recipients: tuple[str, ...]) -> None:
    for f in forms.INQUIRY_FIELDS:
        box = page.get_by_label(re.compile(rf"^{re.escape(f.label_sv)} \("))
        await box.fill("2026-11-24" if f.kind == "date" else f"{f.label_sv}: uppgift.")
    for name in recipients:
        await page.get_by_role("checkbox", name=name).check()


async def _record_progress(page: Page, bar: str) -> None:
    """Keep every value the progress bar takes in window.__progress (the window outlives the
    document that upload.js writes the agent's answer into)."""
    await page.evaluate(
        """(selector) => {
            const bar = document.querySelector(selector);
            window.__progress = [];
            new MutationObserver(() => window.__progress.push(
                [bar.value, bar.nextElementSibling.textContent]
            )).observe(bar, {attributes: true});
        }""",
        bar,
    )


async def test_a_large_attachment_shows_its_upload_progress(open_inbox: OpenInbox) -> None:
    """An 8 MB attachment: on Granska the page shows a labelled progress bar and a percentage
    climbing to 100 % while the file goes to the agent (the connection slowed so that there is
    something to see), then the review page with the file."""
    anna = await open_inbox("anna")
    page = anna.page
    await anna.goto("/ny")
    await _fill_inquiry(page, ("Kommun B",))
    await page.get_by_label(
        "Bilagor, till exempel den avidentifierade utredningen"
    ).set_input_files(
        {"name": "skannad-utredning.pdf", "mimeType": "application/pdf", "buffer": b"%" * BIG}
    )
    cdp = await anna.context.new_cdp_session(page)
    await cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": BIG},
    )
    await _record_progress(page, "#compose-bar")
    await page.get_by_role("button", name="Granska förfrågan").click()
    bar = page.get_by_role("progressbar", name="Hur mycket som har skickats")
    await expect(bar).to_be_visible()
    await screenshot(page, "inbox-22-anna-upload-progress")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Granska förfrågan")
    await cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    seen = await page.evaluate("window.__progress")
    values = [value for value, _ in seen]
    assert values[-1] == 100, seen
    assert [text for _, text in seen][-1] == "100 %"
    assert any(0 < v < 100 for v in values), seen  # it climbed, not jumped
    assert values == sorted(values), seen
    await expect(page.locator("main")).to_contain_text("skannad-utredning.pdf (8,4 MB)")
    [(_, _, draft)] = await _drafts(anna)
    assert len(draft["attachments"]) == 1
    assert not [
        e for e in anna.console_errors if "Content Security Policy" in e or "pageerror" in e
    ]


async def test_attachments_over_the_limit_are_refused_before_sending(
    open_inbox: OpenInbox,
) -> None:
    """Files over the limit: the page says so by the file field at once (and axe finds it in
    order), and Granska sends nothing; smaller files clear the message."""
    anna = await open_inbox("anna", max_attachment_mb=1)
    page = anna.page
    await anna.goto("/ny")
    await expect(page.locator("main")).to_contain_text("högst 1 MB sammanlagt")
    await _fill_inquiry(page, ("Kommun B",))
    files = page.get_by_label("Bilagor, till exempel den avidentifierade utredningen")
    await files.set_input_files(
        {"name": "stor.pdf", "mimeType": "application/pdf", "buffer": b"%" * (2 * 1024 * 1024)}
    )
    alert = page.get_by_role("alert")
    await expect(alert).to_have_text(
        "Fel: Bilagorna är för stora: 2,0 MB. Högst 1 MB sammanlagt går att skicka."
    )
    await expect(files).to_have_attribute("aria-invalid", "true")
    await _check_page(anna, "23-anna-attachments-too-large")
    documents = len(anna.documents)
    await page.get_by_role("button", name="Granska förfrågan").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Ny förfrågan")
    await expect(alert).to_be_visible()
    assert len(anna.documents) == documents  # nothing was posted
    assert await _drafts(anna) == []
    await files.set_input_files(
        {"name": "liten.pdf", "mimeType": "application/pdf", "buffer": b"%PDF"}
    )
    await expect(alert).to_have_count(0)
    await expect(files).not_to_have_attribute("aria-invalid", "true")


async def test_sending_shows_the_agents_encrypting_and_uploading(
    open_inbox: OpenInbox,
) -> None:
    """After Skicka, while the agent encrypts and uploads to the hub (held here), the review
    page shows which recipient it is at, with a progress bar (axe finds it in order); then
    the case page."""
    anna = await open_inbox("anna")
    page = anna.page
    core = anna.agent.core
    assert core.client is not None
    real_upload = core.client.upload
    release = asyncio.Event()

    async def held_upload(data: Any, to: list[str]) -> dict[str, Any]:
        await release.wait()
        return await real_upload(data, to)

    core.client.upload = held_upload  # type: ignore[method-assign]
    try:
        await anna.goto("/ny")
        await _fill_inquiry(page, ("Kommun B", "Kommun C"))
        await page.get_by_role("button", name="Granska förfrågan").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Granska förfrågan")
        await page.get_by_role("button", name="Skicka", exact=True).click()
        await expect(page.get_by_role("status").filter(has_text="mottagare")).to_have_text(
            "Skickar krypterat till hubben: mottagare 1 av 2."
        )
        bar = page.get_by_role("progressbar", name="Hur mycket som har skickats")
        await expect(bar).to_be_visible()
        await expect(page.get_by_role("button", name="Skicka", exact=True)).to_be_disabled()
        await _check_page(anna, "24-anna-sending-to-hub")
    finally:
        release.set()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Förfrågan till Kommun B, Kommun C"
    )
    assert re.search(r"/arende/[0-9a-f]{32}$", page.url), page.url
    assert not [
        e for e in anna.console_errors if "Content Security Policy" in e or "pageerror" in e
    ]


async def test_closing_a_case_leads_to_the_outcome_report_and_files_it(
    open_inbox: OpenInbox,
) -> None:
    """A closes a case without a move and is led to "Rapportera utfallet"; nothing chosen shows
    an error summary linked to the field; the confirmation step shows the coordinator's rows
    (photographed); Skicka rapporten files it, and the case page says so. axe on each page."""
    anna = await open_inbox("anna")
    case_id = await _compose_and_send(anna, canary="UTFALL-ARENDET", attach=False, shoot=False)
    page = anna.page
    actions = page.locator("section.actions")
    await _submit(page, actions.get_by_role("button", name="Avsluta ärendet utan flytt"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Avsluta ärendet utan flytt?")
    await expect(page.locator("main")).to_contain_text(
        "Kommun B och Kommun C får besked om att ärendet är avslutat"
    )
    await _check_page(anna, "22b-anna-confirm-close")
    await _submit(page, page.get_by_role("button", name="Ja, avsluta utan flytt"))
    assert page.url.endswith(f"/arende/{case_id}#utfall")
    section = page.locator("section#utfall")
    await expect(section.get_by_role("heading", name="Rapportera utfallet")).to_be_visible()
    await _check_page(anna, "23-anna-outcome-form")

    # Nothing chosen, the browser's own check switched off: the inbox's answer to it.
    await section.locator("form").evaluate("form => { form.noValidate = true; }")
    await _submit(page, section.get_by_role("button", name="Granska rapporten"))
    summary = page.locator(".error-summary")
    await expect(summary).to_contain_text("Välj målgrupp.")
    await expect(summary.get_by_role("link", name="Välj målgrupp.")).to_have_attribute(
        "href", "#utfall-target_group-1"
    )
    await _check_page(anna, "24-anna-outcome-errors")

    section = page.locator("section#utfall")
    group = section.get_by_role("group", name=re.compile(r"^Målgrupp"))
    await group.get_by_role("radio", name="Kvinna med barn").check()
    reasons = section.get_by_role("group", name=re.compile(r"^Varför blev flytten inte av"))
    await reasons.get_by_role("radio", name="Personen ordnade boende på annat sätt").check()
    await _submit(page, section.get_by_role("button", name="Granska rapporten"))

    await expect(page.get_by_role("heading", level=1)).to_have_text("Granska rapporten om utfallet")
    await expect(page.locator("main")).to_contain_text("okrypterad, utan fritext")
    table = page.get_by_role("table", name="Det samordnaren kommer att se")
    await expect(table.get_by_role("row")).to_have_text(
        [
            re.compile(r"Målgrupp\s*Kvinna med barn"),
            re.compile(r"Flytten genomfördes\s*Nej"),
            re.compile(r"Skäl\s*Personen ordnade boende på annat sätt"),
        ]
    )
    await _check_page(anna, "25-anna-outcome-confirm")
    await _submit(page, page.get_by_role("button", name="Skicka rapporten"))

    await expect(page.locator("section#utfall")).to_contain_text("Utfallet rapporterat")
    client = anna.agent.core.client
    assert client is not None
    assert await client.outcome_report(bytes.fromhex(case_id)) == {
        "target_group": "woman_with_children",
        "moved": False,
        "receiving_municipality": None,
        "not_moved_reason": "moved_on_own",
    }
    await expect(
        page.locator("section#utfall").get_by_role("radio", name="Kvinna med barn")
    ).to_be_checked()  # the form again, to correct it
    await _check_page(anna, "26-anna-outcome-filed")
    for response in anna.documents:
        assert (await response.all_headers()).get("content-security-policy") == CSP


async def test_a_reopened_drafts_attachments_stay_and_count_against_the_limit(
    open_inbox: OpenInbox,
) -> None:
    """A draft saved with a file reopens with that file ticked under "Bilagor som är sparade i
    utkastet"; a new file that brings the sum over the limit is refused at once, unticking the
    saved one clears it, and the review lists just the new file."""
    anna = await open_inbox("anna", max_attachment_mb=1)
    page = anna.page
    await anna.goto("/ny")
    await _fill_inquiry(page, ("Kommun B",))
    files = page.get_by_label("Bilagor, till exempel den avidentifierade utredningen")
    big = b"%" * (600 * 1024)
    await files.set_input_files(
        {"name": "sparad.pdf", "mimeType": "application/pdf", "buffer": big}
    )
    await page.get_by_role("button", name="Spara utkast").click()
    await expect(page.get_by_text("Utkastet är sparat.")).to_be_visible()
    [(draft_id, _, _)] = await _drafts(anna)
    await anna.goto(f"/ny?utkast={draft_id}")
    saved = page.get_by_role("checkbox", name="sparad.pdf")
    await expect(saved).to_be_checked()
    await _check_page(anna, "24-anna-draft-with-attachment")

    await files.set_input_files({"name": "ny.pdf", "mimeType": "application/pdf", "buffer": big})
    alert = page.get_by_role("alert")
    await expect(alert).to_have_text(
        "Fel: Bilagorna är för stora: 1,2 MB. Högst 1 MB sammanlagt går att skicka."
    )
    await saved.uncheck()
    await expect(alert).to_have_count(0)
    await page.get_by_role("button", name="Granska förfrågan").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Granska förfrågan")
    await expect(page.locator("main")).to_contain_text("ny.pdf")
    await expect(page.locator("main")).not_to_contain_text("sparad.pdf")


async def test_the_review_step_stops_a_personnummer_until_it_is_confirmed(
    open_inbox: OpenInbox, net: HubNet
) -> None:
    """A Luhn-valid personnummer typed into Boende: the review page shows it in its context
    and says that file contents are not checked (axe finds the page in order); Skicka sends
    nothing and says why; with "Uppgiften behövs" ticked it sends."""
    anna = await open_inbox("anna")
    page = anna.page
    await anna.goto("/ny")
    await _fill_inquiry(page, ("Kommun B",))
    await page.get_by_label(re.compile(r"^Boende \(")).fill("Bor hos en väninna, 811218-9876.")
    await _submit(page, page.get_by_role("button", name="Granska förfrågan"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Granska förfrågan")
    check = page.locator("#screening")
    await expect(check).to_contain_text("Personnummer i Boende:")
    await expect(check.locator("mark")).to_have_text("811218-9876")
    await expect(check).to_contain_text("Innehållet i bilagorna kontrolleras inte")
    await _check_page(anna, "27-anna-review-finding")
    await _submit(page, page.get_by_role("button", name="Skicka", exact=True))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Granska förfrågan")
    await expect(page.get_by_role("alert")).to_contain_text("Förfrågan skickades inte.")
    assert await anna.agent.core.cache.outbox_count() == 0
    await _check_page(anna, "28-anna-review-not-confirmed")
    await page.get_by_role("checkbox", name="Uppgiften behövs (personnummer 811218-9876)").check()
    await _submit(page, page.get_by_role("button", name="Skicka", exact=True))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Förfrågan till Kommun B")
    await expect(page.get_by_role("status").filter(has_text="skickades")).to_have_text(
        "Information: Förfrågan skickades till Kommun B."
    )
    # Back and forward: pages of the inbox, never the browser's "resend the form?" page,
    # and the inquiry is not sent again.
    response = await page.go_back()
    assert response is not None
    assert response.status == 200
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile("^(Ny förfrågan|Förfrågan är redan skickad)$")
    )
    await page.go_forward()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Förfrågan till Kommun B")
    await expect(page.get_by_role("status").filter(has_text="skickades")).to_have_count(0)
    assert len(await (await net.client("anna")).envelopes("sent")) == 1
    assert not [
        e for e in anna.console_errors if "Content Security Policy" in e or "pageerror" in e
    ]


async def test_a_withdrawal_asks_first_and_going_back_changes_nothing(
    open_inbox: OpenInbox,
) -> None:
    """Återkalla förfrågan: the confirmation page says what happens and who is told (axe finds
    it in order); "Nej, tillbaka till ärendet" leaves the request as it was; "Ja" withdraws."""
    anna = await open_inbox("anna")
    case_id = await _compose_and_send(anna, canary="ATERKALLA", attach=False, shoot=False)
    page = anna.page
    box = _request_box(page, "Kommun B")
    await _submit(page, box.get_by_role("button", name="Återkalla förfrågan till Kommun B"))
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Återkalla förfrågan till Kommun B?"
    )
    await expect(page.locator("main")).to_contain_text(
        "Kommun B får besked direkt om att förfrågan är återkallad."
    )
    await _check_page(anna, "29-anna-confirm-withdraw")
    await page.get_by_role("link", name="Nej, tillbaka till ärendet").click()
    assert page.url.endswith(f"/arende/{case_id}")
    await expect(box).not_to_contain_text("Återkallad")
    await _submit(page, box.get_by_role("button", name="Återkalla förfrågan till Kommun B"))
    await _submit(page, page.get_by_role("button", name="Ja, återkalla förfrågan"))
    await expect(_request_box(page, "Kommun B")).to_contain_text("Läge: Återkallad")
    await expect(_request_box(page, "Kommun C")).not_to_contain_text("Återkallad")

"""The förhandsförfrågan end to end in real Chromium, with a real hub and three real inbox
agents (anna in Kommun A, bertil in Kommun B, cecilia in Kommun C), each in its own browser.

A asks B and C a short first question from the inbox; a phone number in it is shown and must
be confirmed before it goes. B answers yes and C no, each from "Att göra nu" on its case page.
A's case page then offers the formal inquiry to B alone; A writes it through Ny förfrågan (only
B to choose) and sends it into the same case; B's page then opens with the answer due by its
date. axe-core (WCAG 2.1 AA) on every page on the way, and a screenshot of each under
test-output/screenshots/.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from playwright.async_api import expect

from hub.inbox import forms
from tests.browser.test_inbox_pages import (
    _case_id_of,
    _check_page,
    _request_box,
    _submit,
    net,  # noqa: F401 - a fixture, shared
    open_inbox,  # noqa: F401 - a fixture, shared
)

if TYPE_CHECKING:
    from tests.browser.test_inbox_pages import OpenInbox

QUESTION = "Kan ni ta emot en vuxen med två barn som behöver tre rum och stöd i vardagen?"
PHONE = "070-123 45 67"


async def test_a_pre_inquiry_is_sent_answered_and_followed_by_the_inquiry_to_the_yes(
    open_inbox: OpenInbox,  # noqa: F811 - the fixture imported above
) -> None:
    anna = await open_inbox("anna")
    bertil = await open_inbox("bertil")
    cecilia = await open_inbox("cecilia")

    # --- A: from Ny förfrågan to the short first question ------------------------------------
    page = anna.page
    await anna.goto("/ny")
    await page.get_by_role("link", name="Skicka en förhandsförfrågan").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Ny förhandsförfrågan")
    await _check_page(anna, "pre-01-anna-form")
    await page.get_by_role("checkbox", name="Kommun B").check()
    await page.get_by_role("checkbox", name="Kommun C").check()
    await page.get_by_label(re.compile(r"^Fråga")).fill(f"{QUESTION} Ring mig på {PHONE}.")
    await _submit(page, page.get_by_role("button", name="Skicka förhandsförfrågan"))

    # The check before sending found the phone number: nothing went, the finding is shown.
    screening = page.locator("section#screening")
    await expect(screening).to_contain_text("Förhandsförfrågan skickades inte.")
    await expect(screening.locator("mark")).to_have_text(PHONE)
    await _check_page(anna, "pre-02-anna-finding")
    await screening.get_by_role("checkbox", name=re.compile(r"^Uppgiften behövs")).check()
    await _submit(page, page.get_by_role("button", name="Skicka förhandsförfrågan"))

    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Förhandsförfrågan till Kommun B, Kommun C"
    )
    await expect(page.get_by_role("status").filter(has_text="skickades")).to_contain_text(
        "Förhandsförfrågan skickades till Kommun B och Kommun C."
    )
    next_step = page.locator("section.next-step")
    await expect(next_step).to_contain_text("Vänta på svar på förhandsförfrågan från Kommun")
    case_id = _case_id_of(page)
    await _check_page(anna, "pre-03-anna-case-sent")

    # --- B says yes, C says no, each from "Att göra nu" ---------------------------------------
    for inbox, answer, name in ((bertil, "Svara ja", "bertil"), (cecilia, "Svara nej", "cecilia")):
        await inbox.agent.core.sync()
        await inbox.goto(f"/arende/{case_id}")
        await expect(inbox.page.get_by_role("heading", level=1)).to_have_text(
            "Förhandsförfrågan från Kommun A"
        )
        await expect(inbox.page.locator(".pre-inquiry")).to_contain_text(QUESTION)
        step = inbox.page.locator("section.next-step")
        await expect(step).to_contain_text("Svara ja eller nej på förhandsförfrågan från Kommun A")
        await _check_page(inbox, f"pre-04-{name}-asked")
        if answer == "Svara nej":  # final: the box saying so is ticked first
            await step.get_by_role(
                "checkbox", name=re.compile(r"^Jag förstår att Kommun A får besked direkt")
            ).check()
        await _submit(inbox.page, step.get_by_role("button", name=answer, exact=True))
        said = "ja" if answer == "Svara ja" else "nej"
        await expect(
            inbox.page.get_by_role("status").filter(has_text="förhandsförfrågan från")
        ).to_contain_text(f"Ni svarade {said} på förhandsförfrågan från Kommun A.")
        await _check_page(inbox, f"pre-05-{name}-answered")

    # --- A: the formal inquiry, to B alone -----------------------------------------------------
    await anna.refresh()
    await expect(_request_box(page, "Kommun B")).to_contain_text(
        "Läge: Positivt svar på förhandsförfrågan"
    )
    await expect(_request_box(page, "Kommun C")).to_contain_text("Läge: Nej på förhandsförfrågan")
    await expect(next_step).to_contain_text(
        "Skicka förfrågan till Kommun B, som svarade ja på förhandsförfrågan"
    )
    await _check_page(anna, "pre-06-anna-case-answered")
    await next_step.get_by_role("link", name="Skriv förfrågan till Kommun B").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Ny förfrågan")
    await expect(page.get_by_role("checkbox", name="Kommun B")).to_be_checked()
    await expect(page.get_by_role("checkbox", name="Kommun C")).to_have_count(0)
    await _check_page(anna, "pre-07-anna-compose-for-the-yes")
    for f in forms.INQUIRY_FIELDS:
        box = page.get_by_label(re.compile(rf"^{re.escape(f.label_sv)} \("))
        await box.fill("2026-11-24" if f.kind == "date" else f"{f.label_sv}: avidentifierat.")
    await _submit(page, page.get_by_role("button", name="Granska förfrågan"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Granska förfrågan")
    await _submit(page, page.get_by_role("button", name="Skicka", exact=True))
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Förfrågan till Kommun B, Kommun C"
    )
    assert _case_id_of(page) == case_id  # the same case, not a new one
    await expect(_request_box(page, "Kommun B")).to_contain_text("Läge:")
    await _check_page(anna, "pre-08-anna-inquiry-sent")

    # --- B: the inquiry has come; answering it is the next step, by its date ------------------
    await bertil.refresh()
    await expect(bertil.page.get_by_role("heading", level=1)).to_have_text(
        "Förfrågan från Kommun A"
    )
    step = bertil.page.locator("section.next-step")
    await expect(step).to_contain_text("Svara på förfrågan från Kommun A")
    await expect(step).to_contain_text(re.compile(r"Svara senast \d{4}-\d{2}-\d{2}"))
    await expect(step.get_by_role("button", name="Tacka ja till förfrågan")).to_have_count(1)
    await _check_page(bertil, "pre-09-bertil-inquiry-next-step")

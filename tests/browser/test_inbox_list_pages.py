"""Issue 16's list page in real Chromium (strict CSP enforced): searching and filtering the
person's own cases with the form alone, the empty result said in Swedish, and the opt-in
desktop notification that says "Nytt i inkorgen" and nothing more. axe-core (WCAG 2.1 AA) on
each state of the page, and a screenshot of each under test-output/screenshots/."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from playwright.async_api import expect

from hub.protocol.case_reference import case_reference
from tests.browser.test_inbox_pages import (  # noqa: F401 - the fixtures, shared
    _check_page,
    net,
    open_inbox,
)

if TYPE_CHECKING:
    from tests.browser.test_inbox_pages import OpenInbox

TITLE_TAIL = " \N{EN DASH} Inkorg \N{EN DASH} Kommun B"  # after the page's own name

# A stand-in for the browser's Notification, installed before the page's own scripts: it
# records what a notification would have said, and grants permission when asked.
RECORD_NOTIFICATIONS = """
window.__notes = [];
class RecordedNotification {
  constructor(title, options) { window.__notes.push({ title: title, options: options || null }); }
}
RecordedNotification.permission = "default";
RecordedNotification.requestPermission = async function () {
  RecordedNotification.permission = "granted";
  return "granted";
};
window.Notification = RecordedNotification;
"""


def _script_problems(errors: list[str]) -> list[str]:
    """What the CSP refused and what a script threw (the favicon's 404 is not the page's)."""
    return [e for e in errors if "Content Security Policy" in e or "pageerror" in e]


async def test_searching_and_filtering_the_list_with_the_form(
    open_inbox: OpenInbox,  # noqa: F811 - the shared fixture, imported above
) -> None:
    """A finds a case by a word of its inquiry, by its spoken reference, narrows by Kommun,
    is told plainly when nothing matches, and gets back to the whole list; each list states
    when each case was sent. The words never reach the URL, and back and forward show the
    lists again without sending the form. Keyboard: the search field submits with Enter."""
    anna = await open_inbox("anna")
    bertil = await open_inbox("bertil")
    to_b = await anna.agent.core.send_inquiry(
        {"bakgrund_till_placering": "Risk bedömd med Patriark."}, [], ["kommun-b"]
    )
    await anna.agent.core.send_inquiry(
        {"bakgrund_till_placering": "Familjen har en huskatt."}, [], ["kommun-c"]
    )
    await bertil.agent.core.sync()
    page = anna.page
    await anna.refresh()
    rows = page.locator("table.cases tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_contain_text("Skickad 20")
    await expect(rows.first).to_contain_text("Senaste händelse 20")
    search = page.get_by_role("search", name="Sök och filtrera ärenden")
    await expect(search).to_be_visible()
    await _check_page(anna, "list-01-anna-all")

    field = search.get_by_label("Sök i dina ärenden")
    await field.fill("patriark")
    await field.press("Enter")
    await expect(rows).to_have_count(1)
    await expect(rows.first.locator(f'a[href="/arende/{to_b.hex()}"]')).to_be_visible()
    await expect(page.locator("caption")).to_have_text("Inkorg, sökningen ”patriark”: 1 ärende")
    await expect(field).to_have_value("patriark")
    assert "patriark" not in page.url.casefold()  # not in the browser's history: a token only
    await _check_page(anna, "list-02-anna-search")

    await field.fill(case_reference(to_b))
    await search.get_by_role("button", name="Sök").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(case_reference(to_b))

    await field.fill("patriark")
    await search.get_by_label("Kommun").select_option(label="Kommun C")
    await search.get_by_role("button", name="Sök").click()
    await expect(rows).to_have_count(0)
    empty = page.get_by_role("status").filter(has_text="Inga ärenden")
    await expect(empty).to_have_text(
        "Inga ärenden i Inkorg matchar sökningen ”patriark”, Kommun C. Visa alla i Inkorg"
    )
    await expect(search.get_by_label("Kommun")).to_have_value("kommun-c")
    await _check_page(anna, "list-03-anna-nothing-found")
    await page.go_back()  # the form posted and was redirected: back shows the list before
    await expect(rows).to_have_count(1)
    await expect(page.locator("caption")).to_contain_text("1 ärende")
    await page.go_forward()
    await expect(rows).to_have_count(0)

    await search.get_by_label("Läge").select_option(label="Levererad")
    await field.fill("")
    await search.get_by_label("Kommun").select_option(label="Alla kommuner")
    await search.get_by_role("button", name="Sök").click()
    await expect(rows).to_have_count(1)  # B's delivery receipt came; C's agent never ran
    await expect(rows.first).to_contain_text("Levererad")
    await _check_page(anna, "list-04-anna-filter-state")

    await page.get_by_role("link", name="Visa alla i Inkorg").first.click()
    await expect(rows).to_have_count(2)
    assert anna.failed == [], anna.failed
    assert not _script_problems(anna.console_errors), anna.console_errors


async def test_a_new_item_counts_in_the_title_and_notifies_without_content(
    open_inbox: OpenInbox,  # noqa: F811 - the shared fixture, imported above
) -> None:
    """B allows notifications with the button (opt-in: nothing is asked before); when A's
    inquiry arrives the tab title begins "(1) Inkorg" and the one notification says
    "Nytt i inkorgen" with no body, no municipality and no case. B can turn them off."""
    bertil = await open_inbox("bertil")
    anna = await open_inbox("anna")
    page = bertil.page
    await page.add_init_script(RECORD_NOTIFICATIONS)
    await page.clock.install()
    await bertil.goto("/")
    allow = page.get_by_role("button", name="Visa en notis när något nytt kommer")
    await expect(allow).to_be_visible()
    await expect(page.locator("#notify-state")).to_contain_text("Den säger bara ”Nytt i inkorgen”")
    assert await page.evaluate("window.__notes") == []
    assert await page.evaluate("Notification.permission") == "default"  # not asked unasked
    await _check_page(bertil, "list-05-bertil-notify-offer")
    await allow.click()
    stop = page.get_by_role("button", name="Stäng av notiserna")
    await expect(stop).to_be_visible()
    await expect(stop).to_be_focused()
    await expect(page.locator("#notify-state")).to_contain_text("Notiser är på")
    await _check_page(bertil, "list-06-bertil-notify-on")

    await anna.agent.core.send_inquiry({"bakgrund_till_placering": "Hemligt."}, [], ["kommun-b"])
    await bertil.agent.core.sync()
    await page.clock.fast_forward(10_000)
    await expect(page).to_have_title(f"(1) Inkorg{TITLE_TAIL}")
    notes = await page.evaluate("window.__notes")
    assert notes == [{"title": "Nytt i inkorgen", "options": None}]
    assert "Kommun" not in json.dumps(notes)

    await stop.click()
    await expect(allow).to_be_visible()
    await anna.agent.core.send_inquiry({"bakgrund_till_placering": "Mer."}, [], ["kommun-b"])
    await bertil.agent.core.sync()
    await page.clock.fast_forward(10_000)
    await expect(page).to_have_title(f"(2) Inkorg{TITLE_TAIL}")
    assert len(await page.evaluate("window.__notes")) == 1  # turned off: no second one
    assert not _script_problems(bertil.console_errors), bertil.console_errors

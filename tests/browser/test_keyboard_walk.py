"""Sending and answering an inquiry with the keyboard alone, in real Chromium: Tab (and nothing
else) moves between controls, Enter follows links and presses buttons, Space ticks a box, and
text is typed. No click, no fill, no locator action: a control Tab never reaches, or one whose
focus cannot be seen (WCAG 2.1 2.1.1 and 2.4.7), fails the walk. A real hub, anna (Kommun A)
and bertil (Kommun B) in their own browsers; a screenshot of each step's page.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from playwright.async_api import expect

from hub.inbox import forms
from tests.browser.conftest import screenshot
from tests.browser.test_inbox_pages import (
    _case_id_of,
    net,  # noqa: F401 - a fixture, shared
    open_inbox,  # noqa: F401 - a fixture, shared
)

if TYPE_CHECKING:
    from playwright.async_api import Page

    from tests.browser.test_inbox_pages import OpenInbox

MAX_TABS = 400  # far more controls than any page has: past this, Tab does not reach it
# What the focused element is, as a person hears it: its label or its text, and its kind; and
# whether its focus shows (an outline or a ring).
_FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const label = e.labels && e.labels.length ? e.labels[0].innerText : "";
  const style = getComputedStyle(e);
  const shows = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0)
    || (style.boxShadow && style.boxShadow !== "none");
  return {tag: e.tagName.toLowerCase(), type: e.type || "", name: (label || e.innerText
    || e.value || "").trim(), value: e.value || "", shows: shows};
}"""


async def _tab_to(
    page: Page, name: str | re.Pattern[str], tag: str | None = None
) -> dict[str, Any]:
    """Press Tab until the control named `name` (its label or its text, at the start) has
    focus; its focus must be visible."""
    for _ in range(MAX_TABS):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(_FOCUSED)
        if focused is None or (tag is not None and focused["tag"] != tag):
            continue
        found = (
            name.search(focused["name"])
            if isinstance(name, re.Pattern)
            else focused["name"].startswith(name)
        )
        if found:
            assert focused["shows"], f"focus on {name!r} is not visible"
            return dict(focused)
    raise AssertionError(f"Tab never reached {name!r} on {page.url}")


async def _date_keys(page: Page) -> str:
    """What to type into a date field for 2026-11-24: the field's parts follow the browser's
    own language (month first in an English Chromium, year first in a Swedish one), so it is
    tried once on a blank page of the same browser."""
    probe = await page.context.new_page()
    try:
        for keys in ("20261124", "11242026", "24112026"):
            await probe.set_content('<input type="date" id="d">')
            await probe.focus("#d")
            await probe.keyboard.type(keys)
            if await probe.eval_on_selector("#d", "e => e.value") == "2026-11-24":
                return keys
    finally:
        await probe.close()
    raise AssertionError("no order of typed digits gives 2026-11-24 in a date field")


async def _press(page: Page, name: str | re.Pattern[str], tag: str | None = None) -> None:
    """Tab to a link or button and press Enter; wait for the page it leads to."""
    await _tab_to(page, name, tag)
    await page.keyboard.press("Enter")
    await page.wait_for_load_state()


async def test_an_inquiry_is_sent_and_answered_with_the_keyboard_alone(
    open_inbox: OpenInbox,  # noqa: F811 - the fixture imported above
) -> None:
    anna = await open_inbox("anna")
    bertil = await open_inbox("bertil")
    page = anna.page

    # --- A writes the inquiry: Tab to each field, type; Space ticks Kommun B ------------------
    date_keys = await _date_keys(page)
    await _press(page, "Ny förfrågan", "a")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Ny förfrågan")
    await _tab_to(page, "Kommun B", "input")
    await page.keyboard.press("Space")
    await expect(page.get_by_role("checkbox", name="Kommun B")).to_be_checked()
    for f in forms.INQUIRY_FIELDS:
        focused = await _tab_to(page, re.compile(rf"^{re.escape(f.label_sv)} \("))
        if focused["value"]:
            continue  # prefilled from the signed directory
        if f.kind == "date":
            await page.keyboard.type(date_keys)
        else:
            await page.keyboard.type(f"{f.label_sv}: avidentifierat.")
    await screenshot(page, "keyboard-01-anna-compose")
    await _press(page, "Granska förfrågan", "button")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Granska förfrågan")
    await screenshot(page, "keyboard-02-anna-review")
    await _press(page, re.compile(r"^Skicka$"), "button")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Förfrågan till Kommun B")
    case_id = _case_id_of(page)
    await screenshot(page, "keyboard-03-anna-sent")

    # --- B opens it from the inbox and accepts from "Att göra nu" -----------------------------
    await bertil.agent.core.sync()
    await bertil.goto("/")
    await _press(bertil.page, "Förfrågan från Kommun A", "a")
    await expect(bertil.page.get_by_role("heading", level=1)).to_have_text(
        "Förfrågan från Kommun A"
    )
    assert _case_id_of(bertil.page) == case_id
    await _tab_to(bertil.page, "Alla beslutsfattande arbetsledare", "input")
    await bertil.page.keyboard.press("Space")
    await _tab_to(bertil.page, "Meddelande till Kommun A", "textarea")
    await bertil.page.keyboard.type("Vi tar emot från månadsskiftet.")
    await screenshot(bertil.page, "keyboard-04-bertil-answer")
    await _press(bertil.page, "Tacka ja till förfrågan", "button")
    await expect(bertil.page.get_by_role("status").filter(has_text="tackade ja")).to_contain_text(
        "Ni tackade ja till förfrågan från Kommun A."
    )
    await screenshot(bertil.page, "keyboard-05-bertil-accepted")

    # --- A sees the offer as the next step -----------------------------------------------------
    await anna.refresh()
    await expect(page.locator("section.next-step")).to_contain_text(
        "Svara på erbjudandet från Kommun B"
    )

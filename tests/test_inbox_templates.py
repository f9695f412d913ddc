"""The inbox's pages (hub/templates/inbox/): every template rendered with a sample of the context
its view passes, then read back with the standard library's HTML parser and checked for what the
CSP, WCAG 2.1 AA and the escaping of other people's text require."""

# ruff: noqa: RUF001, RUF002 - Swedish text uses the en dash, as the pages and the seed do

from __future__ import annotations

import re
from html.parser import HTMLParser
from importlib import resources
from typing import Any

import pytest
from jinja2 import Environment, PackageLoader, StrictUndefined, Undefined

from hub.inbox import confirmations, forms, screening
from hub.inbox.board import Note

HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
CSRF = "csrf-token-123"
CASE_ID = "0123456789abcdef0123456789abcdef"
MESSAGE_ID = "fedcba9876543210fedcba9876543210"
TEMPLATES = resources.files("hub") / "templates" / "inbox"
CSS = resources.files("hub") / "inbox" / "static" / "inbox.css"
NOT_LABELLED = {"hidden", "submit", "button", "reset", "image"}


def environment(undefined: type[Undefined] = Undefined) -> Environment:
    return Environment(
        loader=PackageLoader("hub", "templates"), autoescape=True, undefined=undefined
    )


def base() -> dict[str, Any]:
    return {
        "csrf": CSRF,
        "municipality_name": "Kommun A",
        "notices": [{"level": "info", "text": "Katalogen är uppdaterad."}],
        "hub_status": "online",
        "outbox_count": 0,
    }


def case(**changes: Any) -> dict[str, Any]:
    sample: dict[str, Any] = {
        "case_id": CASE_ID,
        "from_name": "Kommun A",
        "to_names": ["Kommun B", "Kommun C"],
        "state_label": "Kommun B: Accepterad; Kommun C: Läst",
        "history": [
            {"at": "2026-11-24 09:00", "text": "Kommun B: Förfrågan skickad"},
            {"at": "2026-11-25 10:14", "text": "Kommun B: Läst"},
        ],
        "receipts": ["Läst av Kommun B 2026-11-25 10:14"],
        "deadline": "2026-12-15",
        "days_left": 4,
        "overdue": False,
        "mine": True,
        "requests": [
            {
                "municipality": "kommun-b",
                "name": "Kommun B",
                "state_label": "Accepterad",
                "actions": ["confirm", "decline_offer", "withdraw", "cancel"],
                "deadline": "2026-12-08",
                "days_left": 2,
                "overdue": False,
            },
            {
                "municipality": "kommun-c",
                "name": "Kommun C",
                "state_label": "Läst",
                "actions": ["withdraw"],
                "deadline": "2026-12-01",
                "days_left": -3,
                "overdue": True,
            },
        ],
    }
    sample.update(changes)
    return sample


def attachment(name: str = "utredning.pdf", size: int = 1_234_567) -> dict[str, Any]:
    return {
        "message_id": MESSAGE_ID,
        "index": 0,
        "name": name,
        "size": size,
        "media_type": "application/pdf",
    }


def document_sections() -> list[dict[str, Any]]:
    return [
        {"title": s.title_sv, "fields": [{"label": f.label_sv, "value": "Text."} for f in s.fields]}
        for s in forms.INQUIRY_SECTIONS
    ] + [
        {
            "title": "En sektion med två fält",
            "fields": [{"label": "Ett", "value": "1"}, {"label": "Två", "value": "2"}],
        }
    ]


def case_context(**changes: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        **base(),
        "case": case(),
        "document_sections": document_sections(),
        "attachments": [attachment()],
        "inquiry_read_by": ["Förfrågan läst av Kommun B 2026-11-25 10:14"],
        "thread": [
            {
                "from_name": "Kommun B",
                "at": "2026-11-26 08:30",
                "text": "Vi kan ta emot.\nMöte nästa vecka?",
                "attachments": [attachment("plan.pdf", 2048)],
                "sent": False,
                "read_by": [],
            },
            {
                "from_name": "Kommun A",
                "at": "2026-11-26 09:00",
                "text": "Ja, tisdag.",
                "attachments": [],
                "sent": True,
                "read_by": ["Läst av Kommun B 2026-11-26 10:14"],
            },
            {
                "from_name": "Kommun A",
                "at": "2026-11-27 09:00",
                "text": "Bifogar planen.",
                "attachments": [],
                "sent": True,
                "read_by": [],
            },
        ],
        "actions": [
            "confirm",
            "decline_offer",
            "withdraw",
            "cancel",
            "close",
            "message",
            "export_pdf",
        ],
        "decline_reasons": forms.DECLINE_REASONS,
        "target_groups": forms.TARGET_GROUPS,
        "not_moved_reasons": forms.NOT_MOVED_REASONS,
    }
    context.update(changes)
    return context


def receiver_context(**changes: Any) -> dict[str, Any]:
    """B's view of a case: one request, its own, with accept and decline."""
    own = {
        "municipality": "kommun-b",
        "name": "Kommun B",
        "state_label": "Läst",
        "actions": ["accept", "decline"],
    }
    context = case_context(
        case=case(mine=False, to_names=["Kommun B"], requests=[own]),
        actions=["accept", "decline", "message"],
    )
    context.update(changes)
    return context


def contexts() -> dict[str, dict[str, Any]]:
    """A full sample context for every template, as documented at the top of each."""
    return {
        "base.html": base(),
        "inbox.html": {
            **base(),
            "box": "inbox",
            "deadline_banners": [
                {
                    "topic": "overdue",
                    "text": "1 ärende har en tidsfrist som har passerat",
                    "href": "/?frist=overdue",
                    "urgent": True,
                },
                {
                    "topic": "due_soon",
                    "text": "2 ärenden har en tidsfrist som går ut snart",
                    "href": "/?frist=due_soon",
                    "urgent": False,
                },
            ],
            "deadline_filter": None,
            "unread_count": 1,
            "search": {
                "words": "",
                "token": "",
                "expired": "",
                "state": "",
                "municipality": "",
                "active": False,
                "described": "",
                "states": [("read", "Läst"), ("sent", "Skickad")],
                "municipalities": [("kommun-b", "Kommun B"), ("kommun-c", "Kommun C")],
            },
            "items": [
                {
                    "case_id": CASE_ID,
                    "title": "Förfrågan från Kommun B",
                    "counterpart_name": "Kommun B",
                    "mine": False,
                    "started": "2026-11-17",
                    "latest": "2026-11-25",
                    "state_label": "Läst",
                    "deadline": "2026-12-01",
                    "days_left": -2,
                    "overdue": True,
                    "unread": True,
                    "read_by": ["Läst av Kommun A 2026-11-25 10:14"],
                },
                {
                    "case_id": MESSAGE_ID,
                    "title": "Förfrågan till Kommun C",
                    "counterpart_name": "Kommun C",
                    "mine": True,
                    "started": "2026-11-24",
                    "latest": "2026-11-24",
                    "state_label": "Skickad",
                    "deadline": None,
                    "days_left": None,
                    "overdue": False,
                    "unread": False,
                    "read_by": [],
                },
            ],
        },
        "compose.html": {
            **base(),
            "sections": forms.INQUIRY_SECTIONS,
            "values": {"boende": "Tre rum."},
            "errors": {
                "sokandes_bakgrund": "Bakgrundsinformation om sökande måste fyllas i.",
                "datum": "Datum ska vara ett datum som ÅÅÅÅ-MM-DD, till exempel 2026-11-24.",
                "municipalities": "Välj 1–3 mottagande kommuner.",
            },
            "municipalities": [
                {
                    "id": "kommun-b",
                    "name": "Kommun B",
                    "template_text": "Öppenvård för vuxna och barn.\nTolk finns.",
                    "quota_text": "Har tagit emot 1 av 3 ärenden i år",
                },
                {"id": "kommun-c", "name": "Kommun C", "template_text": "", "quota_text": ""},
            ],
            "selected": ["kommun-b"],
            "max_attachment_mb": 100,
            "profile": {"municipality_name": "Kommun A", "officer": "Handläggare Anna"},
            "today": "2026-11-24",
            "kept_attachments": [{"blob": "ab" * 16, "name": "utredning.pdf", "size": 48_000}],
        },
        "review.html": {
            **base(),
            "sections": forms.INQUIRY_SECTIONS,
            "values": forms.validate_inquiry({"datum": "2026-11-24", "boende": "Tre rum."})[0],
            "municipalities": ["Kommun B", {"id": "kommun-c", "name": "Kommun C"}],
            "attachments": [
                {"name": "utredning.pdf", "size": 48_000},
                {"name": "a.txt", "size": 12},
            ],
            "draft_id": "draft-1",
        },
        "pre_inquiry.html": {
            **base(),
            "municipalities": [
                {
                    "id": "kommun-b",
                    "name": "Kommun B",
                    "template_text": "Tolk finns.",
                    "quota_text": "",
                },
                {"id": "kommun-c", "name": "Kommun C", "template_text": "", "quota_text": ""},
            ],
            "selected": ["kommun-b"],
            "values": {"question": "Kan ni ta emot en familj? Ring 070-123 45 67."},
            "errors": {"municipalities": "Välj 1–3 mottagande kommuner."},
            "findings": screening.screen_text("question", "Fråga", "Ring 070-123 45 67."),
            "confirmed": set(),
            "unconfirmed": 1,
            "max_question": 2000,
        },
        "case.html": case_context(),
        "confirm_action.html": {
            **base(),
            "case_id": CASE_ID,
            "action": "decline",
            "confirm": confirmations.confirmation(
                "decline", counterpart="Kommun A", asked=["Kommun B"]
            ),
            "details": [("Skäl", "Kvoten är nådd"), ("Motivering", "<b>Vi har inte plats.</b>")],
            "hidden": {"target": "kommun-b", "reason": "quota_reached", "motivation": "M" * 30},
        },
        "outcome_review.html": {
            **base(),
            "case_id": CASE_ID,
            "case_title": "Förfrågan till Kommun B",
            "rows": [("Målgrupp", "Kvinna med barn"), ("Flytten genomfördes", "Nej")],
            "values": {
                "target_group": "woman_with_children",
                "not_moved_reason": "other",
                "outcome_note": "Skälen i ord, till länsstyrelsen",
            },
            "problem": None,
            "note_to_board": True,
        },
        "board.html": {
            **base(),
            "notes": [
                Note("ab" * 16, "cd" * 16, "kommun-a", 1_795_000_000, "Bostaden blev inte klar"),
            ],
            "names": {"kommun-a": "Kommun A"},
        },
        "keys.html": {
            **base(),
            "own": {"fingerprint": "1234 5678 9012 3456 7890", "key_id": "ab12cd34"},
            "admin_fingerprint": "9999 8888 7777 6666 5555",
            "contacts": [
                {
                    "municipality_name": "Kommun B",
                    "person": "Kontaktperson B",
                    "fingerprint": "1111 2222 3333 4444 5555",
                    "changed": True,
                },
                {
                    "municipality_name": "Kommun C",
                    "person": "Kontaktperson C",
                    "fingerprint": "6666 7777 8888 9999 0000",
                    "changed": False,
                },
            ],
        },
        "error.html": {
            **base(),
            "title": "Ärendet finns inte",
            "message": "Det finns inget sådant ärende i din inkorg.",
        },
        "pdf.html": {
            "municipality_name": "Kommun B",
            "generated_at": "2026-11-26 09:00",
            "case": case(),
            "document_sections": document_sections(),
            "history": case()["history"],
            "receipts": case()["receipts"],
            "attachments": [{"name": "utredning.pdf", "size": 48_000}],
        },
    }


class Page(HTMLParser):
    """What the checks need to know about one rendered page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.forms: list[dict[str, Any]] = []
        self.inline_scripts = 0
        self.style_elements = 0
        self.texts: dict[str, str] = {}  # element id -> its text
        self._form: dict[str, Any] | None = None
        self._open_script = False
        self._id_stack: list[tuple[str, str | None]] = []
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.elements.append((tag, a))
        if tag == "form":
            self._form = {"attrs": a, "controls": []}
            self.forms.append(self._form)
        elif tag in {"input", "textarea", "select", "button"} and self._form is not None:
            self._form["controls"].append((tag, a))
        if tag == "script":
            self._open_script = True
            if "src" not in a:
                self.inline_scripts += 1
        if tag == "style":
            self.style_elements += 1
        if tag not in {"input", "meta", "link", "br", "img", "hr"}:
            self._id_stack.append((tag, a.get("id")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        if tag == "script":
            self._open_script = False
        while self._id_stack:
            open_tag, _ = self._id_stack.pop()
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._open_script and data.strip():
            self.inline_scripts += 1
        self._text.append(data)
        for _, element_id in self._id_stack:
            if element_id:
                self.texts[element_id] = self.texts.get(element_id, "") + data

    @property
    def text(self) -> str:
        return " ".join(" ".join(self._text).split())

    def all(self, tag: str) -> list[dict[str, str]]:
        return [a for t, a in self.elements if t == tag]


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def render(name: str, context: dict[str, Any], undefined: type[Undefined] = StrictUndefined) -> str:
    return environment(undefined).get_template(f"inbox/{name}").render(**context)


def hostile(value: Any) -> Any:
    """Every string in a context replaced by a script, as if other people wrote all of it."""
    if isinstance(value, str):
        return HOSTILE
    if isinstance(value, dict):
        return {k: hostile(v) for k, v in value.items()}
    if isinstance(value, list):
        return [hostile(v) for v in value]
    return value


PAGES = sorted(contexts())


def test_every_template_has_a_sample_context_and_a_contract() -> None:
    """No page goes unchecked: each template is rendered here and documents its context on top."""
    names = {p.name for p in TEMPLATES.iterdir() if p.name.endswith(".html")}
    assert {n for n in names if not n.startswith("_")} == set(PAGES)
    for name in names:
        source = (TEMPLATES / name).read_text(encoding="utf-8")
        assert source.startswith("{#"), name
        assert "Context" in source[: source.index("#}")] or name.startswith("_"), name


@pytest.mark.parametrize("name", PAGES)
def test_page_obeys_the_content_security_policy(name: str) -> None:
    """Pages work under a CSP without inline code: no inline script, no style element or attribute."""
    html = render(name, contexts()[name])
    page = parse(html)
    assert page.inline_scripts == 0
    assert page.style_elements == 0
    assert not any("style" in a for _, a in page.elements)
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    for a in page.all("script"):
        assert a["src"].startswith("/static/")
    for a in page.all("link"):
        assert a["href"].startswith("/static/")


@pytest.mark.parametrize("name", PAGES)
def test_page_is_swedish_with_one_main_heading(name: str) -> None:
    """Each page declares Swedish and has exactly one h1, so screen readers read it right."""
    page = parse(render(name, contexts()[name]))
    assert [a.get("lang") for a in page.all("html")] == ["sv"]
    expected_h1 = 0 if name == "base.html" else 1
    assert len(page.all("h1")) == expected_h1


@pytest.mark.parametrize("name", PAGES)
def test_every_field_has_a_label(name: str) -> None:
    """Every visible input, text area and list has a label tied to it by id."""
    page = parse(render(name, contexts()[name]))
    labelled = {a["for"] for a in page.all("label") if a.get("for")}
    for tag, a in page.elements:
        if tag in {"input", "textarea", "select"} and a.get("type") not in NOT_LABELLED:
            assert a.get("id") in labelled, (tag, a)


@pytest.mark.parametrize("name", PAGES)
def test_ids_are_unique_and_descriptions_exist(name: str) -> None:
    """Help and error texts named by aria-describedby exist, and no id is used twice."""
    page = parse(render(name, contexts()[name]))
    ids = [a["id"] for _, a in page.elements if a.get("id")]
    assert len(ids) == len(set(ids))
    for attr in ("aria-describedby", "aria-labelledby"):
        for _, a in page.elements:
            for ref in a.get(attr, "").split():
                assert ref in ids, (attr, ref)
    for _, a in page.elements:
        if a.get("href", "").startswith("#") and len(a["href"]) > 1:
            assert a["href"][1:] in ids, a["href"]


@pytest.mark.parametrize("name", PAGES)
def test_every_post_form_carries_the_csrf_token(name: str) -> None:
    """Every form that changes something carries the session's CSRF token."""
    page = parse(render(name, contexts()[name]))
    for form in page.forms:
        assert form["attrs"].get("method") == "post"
        hidden = {
            a["name"]: a.get("value")
            for tag, a in form["controls"]
            if tag == "input" and a.get("type") == "hidden"
        }
        assert hidden.get("csrf") == CSRF, form["attrs"]


@pytest.mark.parametrize("name", PAGES)
def test_other_peoples_text_is_escaped(name: str) -> None:
    """A script typed into any field, name or message shows as text and never runs."""
    html = render(name, hostile(contexts()[name]))
    page = parse(html)
    assert page.inline_scripts == 0
    assert ESCAPED in html
    assert HOSTILE not in html


@pytest.mark.parametrize("name", PAGES)
def test_pages_render_when_optional_context_is_missing(name: str) -> None:
    """A page still renders when the optional parts of its context are left out."""
    context = contexts()[name]
    for key in (
        "notices",
        "hub_status",
        "outbox_count",
        "today",
        "outcomes",
        "history",
        "receipts",
    ):
        context.pop(key, None)
    if name == "case.html":
        context["case"].pop("requests")
        context["case"].pop("mine")
    html = render(name, context)
    assert '<html lang="sv">' in html


def test_offline_hub_is_said_plainly_with_the_outbox() -> None:
    """When the hub cannot be reached, every page says so and how many messages wait."""
    html = render(
        "inbox.html", {**contexts()["inbox.html"], "hub_status": "offline", "outbox_count": 2}
    )
    page = parse(html)
    assert (
        "Hubben går inte att nå just nu. Det du skickar väntar i utkorgen och skickas när hubben "
        "svarar igen." in page.text
    )
    assert "I utkorgen: 2 meddelanden." in page.text
    statuses = [a for a in page.all("div") if a.get("role") == "status"]
    assert len(statuses) == 3  # the offline banner, the deadlines and the sample's notice
    online = parse(render("inbox.html", contexts()["inbox.html"])).text
    assert "Hubben går inte att nå" not in online


def test_base_shows_notices_and_the_menu() -> None:
    """The menu leads to the inbox, a new inquiry and the keys; warnings say "Observera"."""
    context = {**base(), "notices": [{"level": "warning", "text": "Ny nyckel för Kommun C."}]}
    page = parse(render("inbox.html", {**contexts()["inbox.html"], **context}))
    hrefs = [a.get("href") for a in page.all("a")]
    for href in ("/", "/ny", "/nycklar", "#main"):
        assert href in hrefs
    assert "Observera: Ny nyckel för Kommun C." in page.text
    assert page.all("main")[0]["id"] == "main"


def test_inbox_lists_cases_and_says_overdue_in_words() -> None:
    """The inbox table links each case, marks unread ones and says "Försenad" when overdue."""
    page = parse(render("inbox.html", contexts()["inbox.html"]))
    assert len(page.all("caption")) == 1
    hrefs = [a.get("href") for a in page.all("a")]
    assert f"/arende/{CASE_ID}" in hrefs
    assert "/?box=sent" in hrefs
    assert "/?box=closed" in hrefs
    assert "försenad" in page.text.casefold()
    assert "Oläst" in page.text
    assert "Läst av Kommun A 2026-11-25 10:14" in page.text
    current = [a for a in page.all("a") if a.get("aria-current") == "page"]
    assert [a["href"] for a in current] == ["/", "/"]  # the menu item and the list


def test_deadline_banners_are_words_and_links_in_a_status_region() -> None:
    """The deadline banners say in words what is due (colour only helps), each a link to the
    cases it counts; a banner's list says it is filtered and leads back to all cases."""
    html = render("inbox.html", contexts()["inbox.html"])
    page = parse(html)
    region = html.split("<strong>Tidsfrister:</strong>")[0].rsplit("<div", 1)[1]
    assert 'role="status"' in region
    assert "banner-warning" in region
    for text, href in (
        ("1 ärende har en tidsfrist som har passerat", "/?frist=overdue"),
        ("2 ärenden har en tidsfrist som går ut snart", "/?frist=due_soon"),
    ):
        assert f'<a href="{href}">{text}</a>' in html
    assert "Visa alla ärenden" not in page.text
    filtered = {**contexts()["inbox.html"], "deadline_filter": "tidsfristen har passerat"}
    page = parse(render("inbox.html", filtered))
    assert "Visar bara ärenden där tidsfristen har passerat" in page.text
    assert "Inkorg, tidsfristen har passerat: 2 ärenden" in page.text
    quiet = parse(render("inbox.html", {**contexts()["inbox.html"], "deadline_banners": []}))
    assert "Tidsfrister" not in quiet.text


def test_sent_and_closed_boxes_are_named() -> None:
    """The sent and closed lists say which list they are, and an empty list says so."""
    for box, heading in (("sent", "Skickat"), ("closed", "Avslutade")):
        context = {**contexts()["inbox.html"], "box": box, "items": []}
        page = parse(render("inbox.html", context))
        assert page.texts.get("main", "").strip().startswith(heading)
        assert "Det finns inga ärenden här." in page.text


def test_compose_offers_the_form_recipients_and_attachments() -> None:
    """The new-inquiry page has every section, 1–3 municipalities with quota and template, and files."""
    page = parse(render("compose.html", contexts()["compose.html"]))
    form = next(f for f in page.forms if f["attrs"]["action"] == "/ny/granska")
    assert form["attrs"]["enctype"] == "multipart/form-data"
    names = {a.get("name") for _, a in form["controls"]}
    assert {f.id for f in forms.INQUIRY_FIELDS} <= names
    assert "Mottagande kommuner (1–3)" in page.text
    boxes = [a for t, a in form["controls"] if a.get("name") == "municipalities"]
    assert [a["value"] for a in boxes] == ["kommun-b", "kommun-c"]
    assert "checked" in boxes[0]
    assert "checked" not in boxes[1]
    assert "Har tagit emot 1 av 3 ärenden i år" in page.text
    assert "Öppenvård för vuxna och barn." in page.text
    files = [a for t, a in form["controls"] if a.get("type") == "file"]
    assert files[0]["name"] == "attachments"
    assert "multiple" in files[0]
    assert "100 MB" in page.text


def test_compose_prefills_from_the_profile_and_keeps_what_was_typed() -> None:
    """Responsible municipality, case officer and date are filled in; typed text is kept."""
    page = parse(render("compose.html", contexts()["compose.html"]))
    inputs = {a.get("name"): a for a in page.all("input")}
    assert inputs["ansvarig_kommun"]["value"] == "Kommun A"
    assert inputs["handlaggare"]["value"] == "Handläggare Anna"
    assert inputs["datum"]["value"] == "2026-11-24"
    assert inputs["datum"]["type"] == "date"
    assert page.texts["f-boende"].strip() == "Tre rum."
    typed = {**contexts()["compose.html"], "values": {"handlaggare": "Annan person"}}
    inputs = {a.get("name"): a for a in parse(render("compose.html", typed)).all("input")}
    assert inputs["handlaggare"]["value"] == "Annan person"


def test_compose_errors_are_tied_to_their_fields() -> None:
    """Each error is listed on top, linked to its field, and read out with the field itself."""
    page = parse(render("compose.html", contexts()["compose.html"]))
    field = next(a for a in page.all("textarea") if a["id"] == "f-sokandes_bakgrund")
    assert field["aria-invalid"] == "true"
    described = field["aria-describedby"].split()
    assert any("måste fyllas i" in page.texts[ref] for ref in described)
    assert any(a.get("role") == "alert" for a in page.all("div"))
    hrefs = [a.get("href") for a in page.all("a")]
    assert "#f-sokandes_bakgrund" in hrefs
    assert "#recipients" in hrefs
    fieldset = next(a for a in page.all("fieldset") if a.get("id") == "recipients")
    assert "Välj 1–3" in page.texts[fieldset["aria-describedby"]]


def test_review_reminds_about_anonymisation_and_offers_send_or_change() -> None:
    """The review page asks to check anonymisation and has Skicka and Ändra, both with the draft."""
    page = parse(render("review.html", contexts()["review.html"]))
    assert "Kontrollera att förfrågan är avidentifierad" in page.text
    assert "Kommun B" in page.text
    assert "Kommun C" in page.text
    assert "utredning.pdf (48 kB)" in page.text
    assert "a.txt (12 byte)" in page.text
    assert "Tre rum." in page.text
    actions = {f["attrs"]["action"]: f for f in page.forms}
    assert set(actions) == {"/ny/skicka", "/ny", "/las-nu"}  # "Lås nu": every page's header
    for action, form in actions.items():
        hidden = {a["name"]: a["value"] for t, a in form["controls"] if a.get("type") == "hidden"}
        assert action == "/las-nu" or hidden["draft_id"] == "draft-1"
    assert not [a for a in page.all("input") if a.get("type") != "hidden"]


def test_case_page_gives_each_asked_municipality_its_own_actions() -> None:
    """The sender sees each asked municipality with its own buttons, each aimed at that municipality."""
    page = parse(render("case.html", case_context()))
    targets = {}
    for form in page.forms:
        hidden = {a["name"]: a["value"] for t, a in form["controls"] if a.get("type") == "hidden"}
        targets.setdefault(form["attrs"]["action"], []).append(hidden.get("target"))
    prefix = f"/arende/{CASE_ID}/"
    assert targets[prefix + "confirm"] == ["kommun-b"]
    assert targets[prefix + "withdraw"] == ["kommun-b", "kommun-c"]
    assert targets[prefix + "close"] == [None]
    assert prefix + "message" in targets
    radios = [
        a["value"]
        for a in page.all("input")
        if a.get("type") == "radio" and a.get("name") == "target"
    ]
    assert radios == ["kommun-b", "kommun-c"]  # whom a message goes to is chosen, not guessed
    hrefs = [a.get("href") for a in page.all("a")]
    assert f"/arende/{CASE_ID}/pdf" in hrefs
    assert f"/arende/{CASE_ID}/bilaga/{MESSAGE_ID}/0" in hrefs
    assert "Försenad" in page.text
    assert "1,2 MB" in page.text


def test_case_page_shows_the_decrypted_inquiry_thread_and_history() -> None:
    """The case page shows the inquiry's sections, the messages, receipts and events."""
    page = parse(render("case.html", case_context()))
    for section in forms.INQUIRY_SECTIONS:
        assert section.title_sv in page.text
    assert "Vi kan ta emot." in page.text
    assert "Läst av Kommun B 2026-11-25 10:14" in page.text
    assert "Kommun B: Förfrågan skickad" in page.text


def test_read_receipts_sit_under_the_message_they_name() -> None:
    """Each message we sent shows its own signed read receipts, or that none has come yet; the
    inquiry's sit with the inquiry; a message we received shows none."""
    html = render("case.html", case_context())
    articles = html.split('<article class="message">')[1:]
    received, read, unread = (parse(a.split("</article>")[0]).text for a in articles)
    assert "läs" not in received.casefold()
    assert "Läst av Kommun B 2026-11-26 10:14" in read
    assert "Ingen läskvittens ännu" in unread
    assert "Läst av" not in unread
    document = html.split('<section class="document"')[1].split("</section>")[0]
    assert "Förfrågan läst av Kommun B 2026-11-25 10:14" in parse(document).text


def test_receiver_reads_the_inquiry_before_answering() -> None:
    """The asked municipality sees the inquiry above its answer; the sender sees its requests first."""
    html = render("case.html", receiver_context())
    assert html.index('id="document-title"') < html.index('id="requests-title"')
    html = render("case.html", case_context())
    assert html.index('id="requests-title"') < html.index('id="document-title"')


def test_receiver_can_accept_only_with_the_managers_consent() -> None:
    """Accepting has a required checkbox for every concerned manager's consent."""
    page = parse(render("case.html", receiver_context()))
    form = next(f for f in page.forms if f["attrs"]["action"].endswith("/accept"))
    box = next(a for t, a in form["controls"] if a.get("name") == "managers_consented")
    assert box["type"] == "checkbox"
    assert box["value"] == "ja"
    assert "required" in box
    assert "arbetsledare" in page.text


def test_decline_offers_only_the_agreed_grounds_and_needs_a_motivation() -> None:
    """Declining offers the two agreed grounds, never housing shortage, and needs a motivation."""
    page = parse(render("case.html", receiver_context()))
    form = next(f for f in page.forms if f["attrs"]["action"].endswith("/decline"))
    reasons = [a["value"] for t, a in form["controls"] if a.get("name") == "reason"]
    assert reasons == [r for r, _ in forms.DECLINE_REASONS]
    assert all(a["type"] == "radio" for t, a in form["controls"] if a.get("name") == "reason")
    motivation = next(a for t, a in form["controls"] if a.get("name") == "motivation")
    assert "required" in motivation
    assert motivation["minlength"] == "20"
    assert "housing" not in " ".join(reasons)
    assert "Bostadsbrist är inte ett godtagbart skäl." in page.text
    hidden = {a["name"]: a["value"] for t, a in form["controls"] if a.get("type") == "hidden"}
    assert hidden["target"] == "kommun-b"


def test_refused_decline_shows_its_errors_and_keeps_the_text() -> None:
    """A refused decline comes back with the message beside the field and the text kept."""
    _, errors = forms.validate_decline({"reason": "bostadsbrist", "motivation": "För kort."})
    context = receiver_context(
        errors=errors,
        values={"reason": "bostadsbrist", "motivation": "För kort."},
        error_action="decline",
        error_target="kommun-b",
    )
    page = parse(render("case.html", context))
    assert "Bostadsbrist är inte ett godtagbart skäl att neka" in page.text
    area = next(a for a in page.all("textarea") if a.get("name") == "motivation")
    assert area["aria-invalid"] == "true"
    assert any("minst 20 tecken" in page.texts[ref] for ref in area["aria-describedby"].split())
    assert page.texts[area["id"]].strip() == "För kort."


def test_move_and_close_forms() -> None:
    """Recording a move and the follow-up each ask for a date; closing asks nothing: the
    outcome report follows."""
    context = case_context(
        case=case(requests=[]),
        actions=["record_move", "record_follow_up", "close", "close_not_moved"],
    )
    page = parse(render("case.html", context))
    moving = next(a for a in page.all("input") if a.get("name") == "moving_date")
    assert moving["type"] == "date"
    assert not [a for a in page.all("input") if a.get("name") == "target_group"]
    assert "Därefter rapporterar du utfallet" in page.text
    closing = [f for f in page.forms if f["attrs"]["action"].endswith("/close_not_moved")]
    assert len(closing) == 1
    follow_up = [f for f in page.forms if f["attrs"]["action"].endswith("/record_follow_up")]
    assert len(follow_up) == 1
    held = next(a for a in page.all("input") if a.get("name") == "follow_up_date")
    assert held["type"] == "date"


def test_outcome_form_on_a_closed_case_we_sent() -> None:
    """The report's form: radio groups with legends, moved and municipality shown, not chosen;
    a refusal in an error summary linked to the field, the message beside it."""
    outcome = {
        "moved": True,
        "receiving_name": "Kommun C",
        "filed": None,
        "chosen": {"target_group": "man_with_children"},
        "errors": {"receiving_municipality": "Mottagande kommun stämmer inte."},
        "problem": None,
    }
    page = parse(render("case.html", case_context(actions=["message"], outcome=outcome)))
    form = next(f for f in page.forms if f["attrs"]["action"].endswith("/utfall/granska"))
    names = {a.get("name") for _, a in form["controls"]} - {None}  # the button has none
    assert names == {"csrf", "target_group"}
    assert "Rapportera utfallet" in page.text
    assert "Kommun C" in page.texts["utfall-receiving"]
    assert "Mottagande kommun stämmer inte." in page.texts["utfall-receiving-error"]
    assert "#utfall-receiving" in [a.get("href") for a in page.all("a")]
    assert "Målgrupp" in page.text
    assert len(page.all("legend")) >= 1


def test_keys_page_warns_when_a_contact_key_changed() -> None:
    """The keys page warns in words when a contact person's key has changed."""
    page = parse(render("keys.html", contexts()["keys.html"]))
    assert "Varning: 1 nyckel har ändrats" in page.text
    assert "Ändrad – kontrollera per telefon" in page.text
    assert "1234 5678 9012 3456 7890" in page.text
    assert "9999 8888 7777 6666 5555" in page.text
    calm = {**contexts()["keys.html"], "contacts": [{**contexts()["keys.html"]["contacts"][1]}]}
    assert "Varning" not in parse(render("keys.html", calm)).text


def test_error_page_links_back_only_within_the_inbox() -> None:
    """The error page shows its message and links back, never to another site."""
    page = parse(render("error.html", contexts()["error.html"]))
    assert "Det finns inget sådant ärende i din inkorg." in page.text
    assert "Tillbaka till inkorgen" in page.text
    assert page.all("a")[-1]["href"] == "/"
    for outside in ("//evil.example/", "https://evil.example/", "javascript:alert(1)"):
        context = {**contexts()["error.html"], "back_url": outside}
        assert parse(render("error.html", context)).all("a")[-1]["href"] == "/"


def test_pdf_export_is_marked_secret_on_every_page() -> None:
    """The PDF export carries the secrecy mark, and the stylesheet repeats it on every page."""
    page = parse(render("pdf.html", contexts()["pdf.html"]))
    assert "SEKRETESS – Offentlighets- och sekretesslagen (2009:400)" in page.text
    assert not page.forms
    assert not page.all("script")
    assert [a["href"] for a in page.all("link")] == ["/static/inbox.css"]
    css = CSS.read_text(encoding="utf-8")
    at_page = css[css.index("@page") :]
    assert 'content: "SEKRETESS – Offentlighets- och sekretesslagen (2009:400)"' in at_page


def test_stylesheet_loads_nothing_from_outside() -> None:
    """The stylesheet fetches no fonts, images or other URLs, and shows a focus outline."""
    css = CSS.read_text(encoding="utf-8")
    assert "url(" not in css
    assert "@import" not in css
    assert "@font-face" not in css
    assert ":focus-visible" in css


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize(
    ("foreground", "background"),
    [
        ("text", "bg"),
        ("muted", "bg"),
        ("muted", "surface"),
        ("link", "bg"),
        ("link-visited", "bg"),
        ("danger", "bg"),
        ("danger", "error-bg"),
        ("danger", "warning-bg"),
        ("text", "info-bg"),
        ("text", "warning-bg"),
        ("muted", "warning-bg"),
        ("link", "info-bg"),
    ],
)
def test_text_colours_have_enough_contrast(foreground: str, background: str) -> None:
    """Text stays readable: every text colour on its background reaches 4.5:1."""
    css = CSS.read_text(encoding="utf-8")
    colours = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-f]{6})", css))
    assert _contrast(colours[foreground], colours[background]) >= 4.5
    assert _contrast("#ffffff", colours["primary"]) >= 4.5  # button text


def test_review_shows_each_finding_in_context_with_its_own_confirmation() -> None:
    """The check before sending: each finding in its context, a labelled "Uppgiften behövs"
    checkbox per finding that belongs to the Skicka form, and the word that file contents
    are not checked."""
    found = screening.screen_inquiry(
        {"boende": "Bor på Storgatan 12, ring 070-123 45 67."}, {"boende": "Boende"}, []
    )
    context = {**contexts()["review.html"], "findings": found, "confirmed": {found[1].key}}
    page = parse(render("review.html", context))
    boxes = [a for a in page.all("input") if a.get("name") == "needed"]
    assert [(a["value"], a["form"], "checked" in a) for a in boxes] == [
        (found[0].key, "send-form", False),
        (found[1].key, "send-form", True),
    ]
    assert any(f["attrs"].get("id") == "send-form" for f in page.forms)
    assert "Uppgiften behövs (gatuadress Storgatan 12)" in page.text
    assert "Innehållet i bilagorna kontrolleras inte" in page.text
    refused = parse(render("review.html", {**context, "unconfirmed": 1}))
    assert "1 uppgift nedan behöver tas bort med Ändra" in refused.text


def test_the_confirmation_says_what_happens_and_who_is_told_and_posts_it_again() -> None:
    """The step before a decline: the consequence and who is told in words, what was typed
    shown and posted again with confirmed=ja, and a way back to the case that changes nothing."""
    page = parse(render("confirm_action.html", contexts()["confirm_action.html"]))
    assert "Neka förfrågan från Kommun A?" in page.text
    assert "Kommun A får besked direkt" in page.text
    assert "Det går inte att ångra." in page.text
    [form] = [f for f in page.forms if f["attrs"]["action"] == f"/arende/{CASE_ID}/decline"]
    hidden = {a["name"]: a["value"] for _, a in form["controls"] if a.get("type") == "hidden"}
    assert hidden == {
        "csrf": CSRF,
        "target": "kommun-b",
        "reason": "quota_reached",
        "motivation": "M" * 30,
        "confirmed": "ja",
    }
    hrefs = [a.get("href") for a in page.all("a")]
    assert f"/arende/{CASE_ID}" in hrefs
    buttons = [a for a in page.all("button") if "button-danger" in a.get("class", "")]
    assert len(buttons) == 1


def test_steps_that_end_something_share_one_style() -> None:
    """Every action that asks for a confirmation is drawn as a step that ends something, and
    no other action is."""
    page = parse(render("case.html", contexts()["case.html"]))
    for form in page.forms:
        action = form["attrs"]["action"].rsplit("/", 1)[-1]
        classes = [a.get("class", "") for t, a in form["controls"] if t == "button"]
        if action in confirmations.CONFIRMED:
            assert classes == ["button button-danger"], action
        else:
            assert all("button-danger" not in c for c in classes), action

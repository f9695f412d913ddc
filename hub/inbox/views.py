"""The inbox's pages: server-rendered, Swedish, working without JavaScript. Handlers read the
local cache and call the agent core; they never talk to the hub themselves."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import aiohttp
from aiohttp import web

from hub.client.api import RemoteError
from hub.crypto.format import MessageKind
from hub.crypto.keys import fingerprint_of
from hub.errors import MESSAGES, HubError
from hub.inbox import documents, forms, pdf
from hub.inbox.sync import AgentCore, StoredFile, case_from_view, due_from_json
from hub.localagent.security import CSRF, protect
from hub.localagent.templates import TEMPLATES
from hub.protocol.deadlines import WORKING_DAY_STARTS, DueKind, NetworkDeadlines, days_left
from hub.protocol.notices import Topic, banner_counts, topic_line
from hub.report.outcome import contradiction

if TYPE_CHECKING:
    from collections.abc import Sequence

    from aiohttp.web_request import FileField
    from multidict import MultiDictProxy

    from hub.inbox.cache import StoredEnvelope
    from hub.report.outcome import OutcomeReport


log = logging.getLogger("hub.inbox")
CORE = web.AppKey("core", AgentCore)
# Drafts are read and written back whole: one change at a time, so that an autosave running
# beside the review step cannot put back what the review replaced.
DRAFTS = web.AppKey("drafts", asyncio.Lock)
MAX_ATTACHMENT_MB = 100
MIB = 1024 * 1024
MAX_ATTACHMENTS = web.AppKey("max_attachments", int)  # bytes, all of a form's files together

STATE_LABELS = {
    "pre_inquiry_sent": "Förhandsförfrågan skickad",
    "pre_inquiry_positive": "Positivt svar på förhandsförfrågan",
    "pre_inquiry_negative": "Nej på förhandsförfrågan",
    "sent": "Skickad",
    "delivered": "Levererad",
    "read": "Läst",
    "accepted": "Accepterad",
    "declined": "Nekad",
    "confirmed": "Bekräftad",
    "offer_declined": "Erbjudandet avböjt",
    "withdrawn": "Återkallad",
    "expired": "Svarstiden har gått ut",
    "closed_elsewhere": "Avslutad: överenskommelse med annan kommun",
    "cancelled": "Avbruten efter ja",
    "moved": "Flyttat",
    "followed_up": "Uppföljd",
    "closed": "Avslutad",
}
EVENT_TEXT = {
    "send_pre_inquiry": "Förhandsförfrågan skickad",
    "pre_inquiry_yes": "Ja på förhandsförfrågan",
    "pre_inquiry_no": "Nej på förhandsförfrågan",
    "send_inquiry": "Förfrågan skickad",
    "deliver": "Levererad till mottagarens inkorg",
    "read_receipt": "Läst",
    "accept": "Accepterad",
    "decline": "Nekad",
    "confirm": "Bekräftad av överlämnande kommun",
    "decline_offer": "Erbjudandet avböjt",
    "withdraw": "Återkallad",
    "expire": "Svarstiden gick ut",
    "close_elsewhere": "Stängd: överenskommelse med annan kommun",
    "cancel": "Avbruten",
    "record_move": "Flytt registrerad",
    "record_follow_up": "Uppföljning registrerad",
    "close": "Ärendet avslutat",
}
# Lifecycle events offered as page actions: the form's list without the thread message.
ACTIONS = tuple(a for a in forms.CASE_ACTIONS if a != "message")


async def render(
    request: web.Request, template: str, status: int = 200, **context: object
) -> web.Response:
    core = request.app[CORE]
    base = {
        "csrf": request.get(CSRF, ""),
        "municipality_name": core.name_of(core.municipality),
        "notices": list(core.notices),
        "hub_status": "online" if core.online else "offline",
        "outbox_count": await core.cache.outbox_count(),
        "live_version": core.version,
    }
    html = request.app[TEMPLATES].get_template(f"inbox/{template}").render({**base, **context})
    return web.Response(text=html, content_type="text/html", charset="utf-8", status=status)


def _when(at: int) -> str:
    return datetime.fromtimestamp(at, UTC).astimezone().strftime("%Y-%m-%d %H:%M")


async def inbox(request: web.Request) -> web.Response:
    core = request.app[CORE]
    box = request.query.get("box", "inbox")
    if box not in {"inbox", "sent", "closed"}:
        box = "inbox"
    flagged = await _flagged_cases(core, request.app[BANNERS])
    topic = next((t for t in BANNER_ORDER if t == request.query.get("frist")), None)
    if topic is not None:
        box = "inbox"  # a banner's list: the open cases with that deadline, nearest first
    unread = await core.cache.unread_cases()
    views_ = await core.cache.list_cases(
        box, only=None if topic is None else flagged.get(topic, set())
    )
    read = await core.cache.read_receipts_by_case([bytes.fromhex(v["case_id"]) for v in views_])
    items = [
        _inbox_item(core, view, unread, read[bytes.fromhex(view["case_id"])]) for view in views_
    ]
    banners = [
        {
            "topic": str(t),
            "text": topic_line(t, len(flagged[t])),
            "href": f"/?frist={t}",
            "urgent": t is not Topic.DUE_SOON,
        }
        for t in BANNER_ORDER
        if flagged.get(t)
    ]
    return await render(
        request,
        "inbox.html",
        items=items,
        box=box,
        deadline_banners=banners,
        deadline_filter=None if topic is None else _FILTER_TITLES[topic],
    )


BANNER_ORDER = (Topic.OVERDUE, Topic.DUE_TODAY, Topic.DUE_SOON)
_FILTER_TITLES = {
    Topic.OVERDUE: "tidsfristen har passerat",
    Topic.DUE_TODAY: "tidsfristen går ut i dag",
    Topic.DUE_SOON: "tidsfristen går ut snart",
}


@dataclass
class BannerMemo:
    """The last banner count, reused while neither the cases nor the hour could change it."""

    key: tuple[int, NetworkDeadlines] | None = None
    since: int = 0
    until: int = 0
    flagged: dict[Topic, set[bytes]] = field(default_factory=dict)
    # Within one stretch [since, until) a running deadline's notice stage cannot change: what
    # each (as stored) says is kept, so a changed case does not recount all the others.
    topics: dict[str, Topic | None] = field(default_factory=dict)


BANNERS = web.AppKey("banners", BannerMemo)


async def _flagged_cases(core: AgentCore, memo: BannerMemo) -> dict[Topic, set[bytes]]:
    """Which open cases each deadline banner counts, once per case, among the deadlines that
    concern us. A deadline whose last day has ended is overdue from that second, as the list
    beside the banners says "Försenad" (the e-mail waits for 08:00 the next working day);
    the end of financial responsibility, which nobody acts on, is then no longer shown. A
    deadline still running counts by the notices' own rule: its latest notice fired by now.

    The count changes only when a case changes (the agent's version), the network's rules
    change, or the clock passes a notice's firing time (08:00 Stockholm, when every notice
    fires) or the end of a day; until then the last count is reused."""
    now = int(core.clock())
    key = (core.version, core.deadline_rules)
    if memo.since <= now < memo.until:
        if memo.key == key:
            return memo.flagged
    else:
        memo.since, memo.until, memo.topics = now, _next_banner_change(now, core), {}
    if memo.key is not None and memo.key[1] != core.deadline_rules:
        memo.topics = {}
    memo.key = key
    memo.flagged = await _count_flagged(core, now, memo.topics)
    return memo.flagged


def _next_banner_change(now: int, core: AgentCore) -> int:
    today = core.calendar.local_date(now)
    morning = int(core.calendar.at_local(today, WORKING_DAY_STARTS).timestamp())
    return morning if now < morning else int(core.calendar.end_of_day(today).timestamp()) + 1


async def _count_flagged(
    core: AgentCore, now: int, topics: dict[str, Topic | None]
) -> dict[Topic, set[bytes]]:
    flagged: dict[Topic, set[bytes]] = {
        Topic.OVERDUE: await core.cache.cases_past_due(
            now, ignore=str(DueKind.FINANCIAL_OVERLAP_END)
        )
    }
    for case_id, stored in await core.cache.alarmed_dues(now):
        if stored not in topics:
            # A case's banners are the topics of its deadlines, each by the notices' rule.
            counted = banner_counts([due_from_json(json.loads(stored))], now, core.calendar)
            topics[stored] = next(iter(counted), None)
        topic = topics[stored]
        if topic is not None:
            flagged.setdefault(topic, set()).add(case_id)
    return flagged


async def status(request: web.Request) -> web.Response:
    """For live.js and upload.js: whether anything changed, and how far the outbox has got
    with what it is sending now; counts only, never content."""
    core = request.app[CORE]
    return web.json_response(
        {
            "version": core.version,
            "online": core.online,
            "outbox": await core.cache.outbox_count(),
            "sending": None if core.sending is None else core.sending.as_json(),
        }
    )


def _deadline_fields(core: AgentCore, view: dict[str, Any]) -> dict[str, Any]:
    """The nearest deadline that concerns us (worked out when the case was stored): its date,
    the days left (negative: overdue)."""
    due = view.get("local_due")
    if not due:
        return {"deadline": None, "days_left": None, "overdue": False}
    now = int(core.clock())
    return {
        "deadline": due["date"],
        "days_left": days_left(due["at"], now, core.calendar),
        "overdue": now > due["at"],
    }


def _inbox_item(
    core: AgentCore,
    view: dict[str, Any],
    unread: set[bytes],
    read: list[tuple[int, int, str, int]],
) -> dict[str, Any]:
    mine = view["from"] == core.municipality
    others = [core.name_of(r["municipality"]) for r in view["requests"]]
    if not view["requests"]:
        state_label = "Nytt ärende"
    elif len(view["requests"]) == 1:
        state_label = STATE_LABELS.get(view["requests"][0]["state"], "")
    else:
        state_label = "; ".join(
            f"{core.name_of(r['municipality'])}: {STATE_LABELS.get(r['state'], '')}"
            for r in view["requests"]
        )
    return {
        "case_id": view["case_id"],
        "title": f"Förfrågan till {', '.join(others)}"
        if mine
        else f"Förfrågan från {core.name_of(view['from'])}",
        "counterpart_name": ", ".join(others) if mine else core.name_of(view["from"]),
        "state_label": state_label,
        **_deadline_fields(core, view),
        "unread": bytes.fromhex(view["case_id"]) in unread,
        "read_by": [
            _receipt_line(core, kind, created_at, m, t)
            for kind, created_at, m, t in read
            if m != core.municipality
        ],
    }


# What a read receipt names, in words: the inquiry (one per asked municipality), or the
# message of the thread by when it was sent.
_RECEIPT_NOUNS = {
    MessageKind.PRE_INQUIRY: "Förhandsförfrågan",
    MessageKind.INQUIRY: "Förfrågan",
    MessageKind.ANSWER: "Svaret",
    MessageKind.MESSAGE: "Meddelandet",
    MessageKind.WITHDRAWAL: "Återkallelsen",
}


def _receipt_line(core: AgentCore, kind: int, created_at: int, municipality: str, at: int) -> str:
    """'Förfrågan läst av Kommun B 2026-11-25 10:14', 'Meddelandet (2026-11-26 09:00) läst av
    Kommun B 2026-11-26 10:14'."""
    noun = _RECEIPT_NOUNS.get(MessageKind(kind), "Meddelandet")
    if kind not in {MessageKind.INQUIRY, MessageKind.PRE_INQUIRY}:
        noun = f"{noun} ({_when(created_at)})"
    return f"{noun} läst av {core.name_of(municipality)} {_when(at)}"


async def _read_receipts(
    core: AgentCore, envelopes: list[StoredEnvelope]
) -> dict[bytes, list[tuple[str, int]]]:
    """Who has signed a read receipt for each message we sent, and when: verified receipts
    only (refresh_receipts keeps no other), by message; our own municipality's left out."""
    sent = [e.message_id for e in envelopes if e.box == "sent"]
    found: dict[bytes, list[tuple[str, int]]] = {m: [] for m in sent}
    for message_id, m, event, t in await core.cache.receipts_of(sent):
        if event == "read" and m != core.municipality:
            found[message_id].append((m, t))
    return found


def _profile(core: AgentCore) -> dict[str, str]:
    """Prefills the form's responsible municipality and case officer from the signed directory."""
    entry = core.directory.entry_for_key(core.identity.key_id) if core.directory else None
    officer = entry.person if entry is not None else ""
    return {"municipality_name": core.name_of(core.municipality), "officer": officer}


async def _municipality_choices(core: AgentCore) -> list[dict[str, Any]]:
    try:
        client = await core._hub()  # noqa: SLF001 - the agent's own connection
        core.members = await client.municipalities()
    except (aiohttp.ClientError, OSError, RemoteError, TimeoutError):
        pass  # the hub is unreachable: the list as last fetched (the outbox sends later)
    choices = []
    for m in core.members:
        if m["id"] == core.municipality:
            continue
        template = m.get("template") or {}
        choices.append(
            {
                "id": m["id"],
                "name": m["name"],
                "template_text": str(template.get("text", ""))
                if isinstance(template, dict)
                else "",
                "quota_text": _quota_text(core, m["id"]),
            }
        )
    return choices


def _quota_text(core: AgentCore, municipality: str) -> str:
    """The line under a municipality's choice, "Kvot i år: 1 av 3 mottagna" (or "ingen kvot"),
    as the last sync heard it; with its date when the hub has not answered since; "" when we
    know nothing of this year."""
    known = core.year_so_far
    now = int(core.clock())
    if known is None or municipality not in known.figures:
        return ""
    if known.year != core.calendar.local_date(now).year:
        return ""
    quota, received = known.figures[municipality]
    text = (
        f"Kvot i år: ingen kvot, {received} mottagna"
        if quota is None
        else f"Kvot i år: {received} av {quota} mottagna"
    )
    if core.year_so_far_stale or not core.online:
        text += f" (uppgift från {core.calendar.local_date(known.fetched_at).isoformat()})"
    return text


async def compose(request: web.Request) -> web.Response:
    core = request.app[CORE]
    values: dict[str, str] = {}
    selected: list[str] = []
    draft_id = request.query.get("utkast", "")
    if request.method == "POST":  # "Ändra" from the review page: back with what was typed
        draft_id = str((await request.post()).get("draft_id", ""))
    draft = await core.cache.get_draft(draft_id) if draft_id else None
    kept: list[StoredFile] = []
    if draft:
        values, selected, kept = draft["values"], draft["municipalities"], draft["attachments"]
    return await _compose_page(
        request, values=values, selected=selected, draft_id=draft_id if draft else "", kept=kept
    )


def _typed(form: MultiDictProxy[Any]) -> tuple[dict[str, str], list[str]]:
    """What the person typed into the inquiry form, and the municipalities they ticked."""
    values = {k: v for k, v in form.items() if isinstance(v, str) and k not in {"csrf", "draft_id"}}
    selected = [v for v in form.getall("municipalities", []) if isinstance(v, str)]
    return values, selected


async def _kept(core: AgentCore, form: MultiDictProxy[Any]) -> list[StoredFile]:
    """The draft's saved attachments that the person left ticked ("keep_attachment" holds
    their local file ids; an id that is not the draft's own is ignored)."""
    draft_id = str(form.get("draft_id", ""))
    draft = await core.cache.get_draft(draft_id) if draft_id else None
    keep = {v for v in form.getall("keep_attachment", []) if isinstance(v, str)}
    return [a for a in (draft or {}).get("attachments", []) if a["blob"] in keep]


async def save_draft(request: web.Request) -> web.Response:
    """Spara utkast: what was typed, unchecked, encrypted in the local cache, with the saved
    attachments still ticked and the files just chosen."""
    core = request.app[CORE]
    form = await request.post()
    values, selected = _typed(form)
    draft_id = str(form.get("draft_id", "")) or secrets.token_hex(16)
    files = _files(form)
    kept = await _kept(core, form)
    errors = _too_large(request, files, kept)
    attachments = kept + ([] if errors else await _store(core, files))
    async with request.app[DRAFTS]:
        await core.cache.save_draft(
            draft_id,
            {
                "values": values,
                "document": {},
                "municipalities": selected,
                "attachments": attachments,
            },
            int(core.clock()),
            blobs=[a["blob"] for a in attachments],
        )
    if errors:
        return await _compose_page(
            request,
            values=values,
            selected=selected,
            draft_id=draft_id,
            errors=errors,
            kept=attachments,
        )
    return await _compose_page(
        request, values=values, selected=selected, draft_id=draft_id, saved=True, kept=attachments
    )


async def autosave_draft(request: web.Request) -> web.Response:
    """For autosave.js, a moment after the person stops typing and when the page is hidden:
    what was typed, encrypted in the local cache like Spara utkast; JSON back (the draft's id
    and the time). The files are not sent again, and what the review step made (the checked
    document, the attachments) is kept: the review page's Skicka sends what it showed. A draft
    that is gone (sent, or deleted) is not brought back by a late save."""
    core = request.app[CORE]
    form = await request.post()
    values, selected = _typed(form)
    draft_id = str(form.get("draft_id", ""))
    now = int(core.clock())
    async with request.app[DRAFTS]:
        existing = await core.cache.get_draft(draft_id) if draft_id else None
        if draft_id and existing is None:
            return web.json_response({"gone": True}, status=410)
        draft_id = draft_id or secrets.token_hex(16)
        kept = existing or {"document": {}, "attachments": []}
        await core.cache.save_draft(
            draft_id, {**kept, "values": values, "municipalities": selected}, now
        )
    return web.json_response({"draft_id": draft_id, "saved_at": _clock(now)})


def _clock(at: int) -> str:
    return datetime.fromtimestamp(at, UTC).astimezone().strftime("%H:%M")


async def _compose_page(  # noqa: PLR0913 - the page's parts, all keyword-only
    request: web.Request,
    *,
    values: dict[str, str],
    selected: list[str],
    draft_id: str,
    errors: dict[str, str] | None = None,
    saved: bool = False,
    choices: list[dict[str, Any]] | None = None,
    kept: list[StoredFile] | None = None,
) -> web.Response:
    core = request.app[CORE]
    drafts = [
        {
            "draft_id": d_id,
            "saved_at": _when(at),
            "summary": (body["values"].get("sokandes_bakgrund") or "Utkast")[:60],
        }
        for d_id, at, body in await core.cache.list_drafts()
    ]
    return await render(
        request,
        "compose.html",
        status=422 if errors else 200,
        sections=forms.INQUIRY_SECTIONS,
        values=values,
        errors=errors or {},
        municipalities=choices if choices is not None else await _municipality_choices(core),
        selected=selected,
        max_attachment_mb=request.app[MAX_ATTACHMENTS] // MIB,
        max_attachment_bytes=request.app[MAX_ATTACHMENTS],
        profile=_profile(core),
        draft_id=draft_id,
        drafts=drafts,
        kept_attachments=[{k: a[k] for k in ("blob", "name", "size")} for a in kept or []],
        notices=[
            *core.notices,
            *([{"level": "info", "text": "Utkastet är sparat."}] if saved else []),
        ],
    )


async def review(request: web.Request) -> web.Response:
    core = request.app[CORE]
    form = await request.post()
    values, _ = _typed(form)
    document, errors = forms.validate_inquiry(values)
    choices = await _municipality_choices(core)
    selected, chosen_errors = forms.validate_recipients(
        [v for v in form.getall("municipalities", []) if isinstance(v, str)],
        {c["id"] for c in choices},
    )
    errors.update(chosen_errors)
    files = _files(form)
    kept = await _kept(core, form)
    errors.update(_too_large(request, files, kept))
    draft_id = str(form.get("draft_id", "")) or secrets.token_hex(16)
    if errors:
        return await _compose_page(
            request,
            values=values,
            selected=selected,
            draft_id=str(form.get("draft_id", "")),
            errors=errors,
            choices=choices,
            kept=kept,
        )
    attachments = kept + await _store(core, files)
    async with request.app[DRAFTS]:
        await core.cache.save_draft(
            draft_id,
            {
                "values": values,
                "document": document,
                "municipalities": selected,
                "attachments": attachments,
            },
            int(core.clock()),
            blobs=[a["blob"] for a in attachments],
        )
    return await render(
        request,
        "review.html",
        sections=forms.INQUIRY_SECTIONS,
        values=document,
        municipalities=[core.name_of(m) for m in selected],
        attachments=[{"name": a["name"], "size": a["size"]} for a in attachments],
        draft_id=draft_id,
    )


async def send(request: web.Request) -> web.StreamResponse:
    core = request.app[CORE]
    draft_id = str((await request.post()).get("draft_id", ""))
    async with request.app[DRAFTS]:
        draft = await core.cache.take_draft(draft_id)
    if draft is None:
        return await render(
            request,
            "error.html",
            status=404,
            title="Utkastet finns inte",
            message="Utkastet hittades inte. Det kan redan vara skickat.",
        )
    case_id = await core.send_inquiry(
        draft["document"], draft["attachments"], draft["municipalities"]
    )
    raise web.HTTPSeeOther(f"/arende/{case_id.hex()}")


async def case_page(request: web.Request) -> web.Response:
    core = request.app[CORE]
    case_id = _case_id(request)
    if core.online:
        await core.mark_read(case_id)
        await core.refresh_receipts(case_id)
    return await _render_case(request, case_id, fetch_report=core.online)


async def _render_case(  # noqa: PLR0913 - the page, and a refused outcome form on it
    request: web.Request,
    case_id: bytes,
    *,
    status: int = 200,
    fetch_report: bool = False,
    outcome_values: dict[str, str] | None = None,
    outcome_errors: dict[str, str] | None = None,
    outcome_problem: str | None = None,
) -> web.Response:
    core = request.app[CORE]
    context = await case_context(core, case_id)
    if context is None:
        return await _no_such_case(request)
    view = await core.cache.get_case(case_id)
    assert view is not None  # noqa: S101 - case_context found it
    if fetch_report and _reportable(core, view) and await core.outcome_report(case_id) is None:
        with contextlib.suppress(RemoteError, aiohttp.ClientError, OSError, TimeoutError):
            await core.fetch_outcome_report(case_id)  # filed from another of our machines?
    outcome = await _outcome_part(
        core,
        case_id,
        view,
        values=outcome_values,
        errors=outcome_errors,
        problem=outcome_problem,
    )
    return await render(
        request,
        "case.html",
        status=status,
        **context,
        outcome=outcome,
        max_attachment_mb=request.app[MAX_ATTACHMENTS] // MIB,
        decline_reasons=forms.DECLINE_REASONS,
        target_groups=forms.TARGET_GROUPS,
        not_moved_reasons=forms.NOT_MOVED_REASONS,
    )


async def _no_such_case(request: web.Request) -> web.Response:
    return await render(
        request,
        "error.html",
        status=404,
        title="Ärendet finns inte",
        message="Det finns inget sådant ärende i din inkorg.",
    )


# --- the outcome report of a case we sent (docs/statistics.md, "The outcome report") -------

OUTCOME_UNREACHABLE = (
    "Hubben går inte att nå just nu, så rapporten är inte skickad. Dina val finns kvar här: "
    "försök igen med Skicka rapporten när hubben svarar."
)
# The hub names only a code (hub.client.api.RemoteError): our own sentences, by the field the
# case decides. The page is shown again with the case as the hub has it.
OUTCOME_CHOOSE_AGAIN = "Välj det skäl som stämmer med ärendet."
OUTCOME_MISMATCH = {
    "moved": (
        "Hubben har ett annat utfall för ärendet än inkorgen visade. Ärendet är nu hämtat på "
        "nytt: kontrollera uppgifterna och skicka rapporten igen."
    ),
    "receiving_municipality": (
        "Mottagande kommun stämmer inte med den kommun som ärendet avslutades med enligt "
        "hubben. Ärendet är nu hämtat på nytt: kontrollera uppgifterna och skicka rapporten igen."
    ),
    "not_moved_reason": (
        "Skälet stämmer inte med kommunernas svar i ärendet enligt hubben. Ärendet är nu hämtat "
        "på nytt: välj det skäl som stämmer och skicka rapporten igen."
    ),
}


OUTCOME_NOTE_MAX = 4000  # characters of the reasons in words
NO_BOARD_KEY = (
    "Katalogen har ingen giltig nyckel för länsstyrelsen, så skälen i ord kunde inte krypteras "
    "till den och skickades inte. Rapportens val skickades som vanligt."
)


def _outcome_note(core: AgentCore, form: MultiDictProxy[Any]) -> str:
    """The reasons in words, when the network asks for them: for the county board only, sealed
    to its keys (AgentCore.send_outcome_note); never part of the report the hub reads."""
    value = form.get("outcome_note")
    if not core.outcome_free_text or not isinstance(value, str):
        return ""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def _reportable(core: AgentCore, view: dict[str, Any]) -> bool:
    """Our own case, closed (moved or not): its outcome report may be filed or corrected."""
    return view["from"] == core.municipality and view.get("outcome") is not None


def _receiving(view: dict[str, Any]) -> str | None:
    """The municipality a moved case went to: its closed (once confirmed) request's."""
    if view.get("outcome") != "moved":
        return None
    agreed = case_from_view(view).agreed_request
    return None if agreed is None else agreed.municipality


async def _outcome_part(  # noqa: PLR0913 - the form's state
    core: AgentCore,
    case_id: bytes,
    view: dict[str, Any],
    *,
    values: dict[str, str] | None,
    errors: dict[str, str] | None,
    problem: str | None,
) -> dict[str, Any] | None:
    """What case.html's "Utfallet" section shows; None when the case has none."""
    if not _reportable(core, view):
        return None
    filed = await core.outcome_report(case_id)
    if values is None:
        values = {}
        if filed is not None:
            reason = filed.report.not_moved_reason
            values = {
                "target_group": filed.report.target_group.value,
                "not_moved_reason": "" if reason is None else reason.value,
            }
    receiving = _receiving(view)
    return {
        "moved": view["outcome"] == "moved",
        "receiving_name": None if receiving is None else core.name_of(receiving),
        "filed": None
        if filed is None
        else {
            "at": None if filed.filed_at is None else _when(filed.filed_at),
            "rows": list(filed.report.shown_rows(core.names)),
        },
        "chosen": values,
        "errors": errors or {},
        "problem": problem,
        "free_text": core.outcome_free_text,
        "board_key": core.county_board() is not None,
    }


async def _outcome_form(
    request: web.Request,
) -> tuple[bytes, dict[str, Any], OutcomeReport | None, dict[str, str], dict[str, str]]:
    """The posted outcome form checked against the case: (case id, view, report, values,
    errors). A case that is not ours or not closed is not found, as for the page itself."""
    core = request.app[CORE]
    case_id = _case_id(request)
    form = await request.post()
    view = await core.cache.get_case(case_id)
    if view is None or not _reportable(core, view):
        raise web.HTTPNotFound
    report, values, errors = forms.validate_outcome(
        form, moved=view["outcome"] == "moved", receiving_municipality=_receiving(view)
    )
    refused = None if report is None else contradiction(case_from_view(view), report)
    if refused is not None:  # the hub would refuse it: say so before the review step
        field_, sentence = refused
        errors = {field_: f"{sentence} {OUTCOME_CHOOSE_AGAIN}"}
        report = None
    note = _outcome_note(core, form)
    if note:
        values = {**values, "outcome_note": note}
    if len(note) > OUTCOME_NOTE_MAX:
        errors = {**errors, "outcome_note": f"Skriv högst {OUTCOME_NOTE_MAX} tecken."}
        report = None
    return case_id, view, report, values, errors


async def outcome_change(request: web.Request) -> web.Response:
    """ "Ändra" on the confirmation step: the case page, the form with what was chosen."""
    case_id, _, _, values, _ = await _outcome_form(request)
    return await _render_case(request, case_id, outcome_values=values)


async def outcome_review(request: web.Request) -> web.Response:
    """The confirmation step: exactly what the coordinator will see, before it is sent."""
    case_id, view, report, values, errors = await _outcome_form(request)
    if report is None:
        return await _render_case(
            request, case_id, status=422, outcome_values=values, outcome_errors=errors
        )
    return await _outcome_review_page(request, case_id, view, report, values)


async def _outcome_review_page(  # noqa: PLR0913 - the step, and why it is shown again
    request: web.Request,
    case_id: bytes,
    view: dict[str, Any],
    report: OutcomeReport,
    values: dict[str, str],
    *,
    problem: str | None = None,
    status: int = 200,
) -> web.Response:
    core = request.app[CORE]
    return await render(
        request,
        "outcome_review.html",
        status=status,
        case_id=case_id.hex(),
        case_title="Förfrågan till "
        + ", ".join(core.name_of(r["municipality"]) for r in view["requests"]),
        rows=list(report.shown_rows(core.names)),
        values=values,
        problem=problem,
        note_to_board=core.county_board() is not None,
    )


async def outcome_send(request: web.Request) -> web.Response:
    """ "Skicka rapporten": to the hub now. Refused: the form again, the reason by its field.
    Hub unreachable: the confirmation step again, nothing lost, said plainly."""
    core = request.app[CORE]
    case_id, view, report, values, errors = await _outcome_form(request)
    if report is None:
        return await _render_case(
            request, case_id, status=422, outcome_values=values, outcome_errors=errors
        )
    try:
        await core.file_outcome_report(case_id, report)
    except (aiohttp.ClientError, OSError, TimeoutError):
        return await _outcome_review_page(
            request, case_id, view, report, values, problem=OUTCOME_UNREACHABLE, status=503
        )
    except RemoteError as exc:
        if exc.code == "outcome_report_mismatch":
            field_ = await _mismatched_field(core, case_id, report)
            return await _render_case(
                request,
                case_id,
                status=422,
                outcome_values=values,
                outcome_errors={field_: OUTCOME_MISMATCH[field_]},
            )
        problem = MESSAGES.get(exc.code, f"Hubben tog inte emot rapporten ({exc.code}).")
        return await _render_case(
            request, case_id, status=422, outcome_values=values, outcome_problem=problem
        )
    note = values.get("outcome_note", "")
    # The report is filed; the words go sealed to the county board, through the outbox.
    if note and not await core.send_outcome_note(case_id, note):
        core.notices.append({"level": "warning", "text": NO_BOARD_KEY})
    raise web.HTTPSeeOther(f"/arende/{case_id.hex()}#utfall")


async def _mismatched_field(core: AgentCore, case_id: bytes, report: OutcomeReport) -> str:
    """The hub says the report contradicts the case: this inbox's copy was out of date. Fetch
    the case again and name what differs: the outcome itself, else the municipality."""
    with contextlib.suppress(RemoteError, aiohttp.ClientError, OSError, TimeoutError):
        await core.sync()
    view = await core.cache.get_case(case_id)
    if view is None or (view.get("outcome") == "moved") != report.moved:
        return "moved"
    refused = contradiction(case_from_view(view), report)
    return "receiving_municipality" if refused is None else refused[0]


async def case_context(core: AgentCore, case_id: bytes) -> dict[str, Any] | None:
    """One case as case.html and pdf.html show it, from the local cache; None if unknown. The
    documents, senders and times come from the verified envelopes, each document read into
    its typed model (hub.inbox.documents) so that no received shape can break the page."""
    view = await core.cache.get_case(case_id)
    if view is None:
        return None
    envelopes = await core.cache.envelopes_of_case(case_id)
    inquiry = next(
        (e for e in envelopes if e.kind == MessageKind.INQUIRY and e.document is not None), None
    )
    document_sections: list[dict[str, Any]] = []
    attachments: list[dict[str, Any]] = []
    inquiry_problem = None
    if inquiry is not None:
        read = documents.read_inquiry(inquiry.document)
        if isinstance(read, documents.Unreadable):
            inquiry_problem = read.problem
        else:
            document_sections = [
                {
                    "title": section.title,
                    "fields": [{"label": label, "value": text} for label, text in section.fields],
                }
                for section in read.sections
            ]
            if read.unknown_fields:
                inquiry_problem = _unknown_fields(read.unknown_fields)
            attachments = _attachment_links(inquiry)
    read_receipts = await _read_receipts(core, envelopes)

    def read_by(envelope: StoredEnvelope) -> list[str]:
        return [
            f"Läst av {core.name_of(m)} {_when(t)}" for m, t in read_receipts[envelope.message_id]
        ]

    thread = [
        {
            "from_name": core.name_of(e.sender),
            "at": _when(e.created_at),
            "hub_at": None if e.hub_received_at is None else _when(e.hub_received_at),
            "text": _thread_text(e),
            "sent": e.box == "sent",
            "read_by": read_by(e) if e.box == "sent" else [],
            "listing_mismatch": e.listing_mismatch,
            "attachments": _attachment_links(e),
        }
        for e in envelopes
        if e.kind != MessageKind.INQUIRY
    ]
    mine = view["from"] == core.municipality
    requests = [
        {
            "municipality": r["municipality"],
            "name": core.name_of(r["municipality"]),
            "state_label": STATE_LABELS.get(r["state"], r["state"]),
            "actions": [a for a in r["allowed_events"] if a in ACTIONS],
        }
        for r in view["requests"]
    ]
    history = sorted(
        (
            {
                "at": _when(h["at"]),
                "text": f"{core.name_of(r['municipality'])}: "
                f"{EVENT_TEXT.get(h['event'], h['event'])}",
                "sort": h["at"],
            }
            for r in view["requests"]
            for h in r["history"]
        ),
        key=lambda h: h["sort"],
    )
    actions = [*sorted({a for r in requests for a in r["actions"]}), "message", "export_pdf"]
    if view.get("can_close_not_moved"):
        actions.insert(-2, "close_not_moved")
    case = {
        "case_id": view["case_id"],
        "from_name": core.name_of(view["from"]),
        "to_names": [r["name"] for r in requests],
        "state_label": "; ".join(f"{r['name']}: {r['state_label']}" for r in requests),
        "history": history,
        "receipts": [
            _receipt_line(core, kind, created_at, m, t)
            for t, kind, created_at, m in sorted(
                (t, e.kind, e.created_at, m)
                for e in envelopes
                for m, t in read_receipts.get(e.message_id, [])
            )
        ],
        "hub_disagrees": bool(view.get("hub_disagrees"))
        or any(e.listing_mismatch for e in envelopes),
        "refused": [
            f"{_when(at)}: {MESSAGES.get(code, code)}"
            for code, at in await core.cache.refused_of_case(case_id)
        ],
        **_deadline_fields(core, view),
        "requests": requests,
        "mine": mine,
    }
    return {
        "case": case,
        "document_sections": document_sections,
        "attachments": attachments,
        "inquiry_problem": inquiry_problem,
        "inquiry_read_by": [
            f"Förfrågan läst av {core.name_of(m)} {_when(t)}"
            for e in envelopes
            if e.kind == MessageKind.INQUIRY and e.box == "sent"
            for m, t in read_receipts[e.message_id]
        ],
        "thread": thread,
        "actions": actions,
    }


async def case_pdf(request: web.Request) -> web.Response:
    """The case as a PDF/A download, rendered here by weasyprint; written to no disk."""
    core = request.app[CORE]
    case_id = _case_id(request)
    if core.online:
        await core.mark_read(case_id)  # the export holds the decrypted inquiry: it was read
    context = await case_context(core, case_id)
    if context is None:
        raise web.HTTPNotFound
    body = await asyncio.to_thread(
        pdf.render_case_pdf,
        context,
        municipality_name=core.name_of(core.municipality),
        generated_at=datetime.fromtimestamp(core.clock(), UTC),
    )
    return web.Response(
        body=body,
        content_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="arende-{case_id.hex()[:8]}.pdf"',
            "Cache-Control": "no-store",
        },
    )


def _thread_text(envelope: StoredEnvelope) -> str:
    """What a message in the thread says, in Swedish: decisions and reasons by their labels."""
    if envelope.document is None:
        return f"Meddelandet kunde inte öppnas ({envelope.error})."
    read = documents.read_thread(envelope.document)
    if isinstance(read, documents.Unreadable):
        return read.problem
    lines = read.lines()
    if read.unknown_fields:
        lines.append(_unknown_fields(read.unknown_fields))
    return "\n".join(lines) or "(tomt meddelande)"


def _unknown_fields(count: int) -> str:
    return (
        f"Avsändaren skickade {count} uppgift{'er' if count > 1 else ''} som den här versionen "
        "av inkorgen inte känner till; de visas inte."
    )


def _attachment_links(envelope: StoredEnvelope) -> list[dict[str, Any]]:
    return [
        {
            "index": i,
            "name": a.name,
            "size": a.size,
            "media_type": a.media_type,
            "message_id": envelope.message_id.hex(),
        }
        for i, a in enumerate(envelope.attachments)
    ]


async def case_action(request: web.Request) -> web.StreamResponse:
    core = request.app[CORE]
    case_id = _case_id(request)
    action = request.match_info["action"]
    if action != "message" and action not in ACTIONS:
        raise web.HTTPNotFound
    form = await request.post()
    view = await core.cache.get_case(case_id)
    if view is None:
        raise web.HTTPNotFound
    target = str(form.get("target", "")) or _default_target(core, view)
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    files = _files(form)
    errors = _too_large(request, files) or await _act(
        core, case_id=case_id, action=action, target=target, values=values, files=files
    )
    if errors:
        return await render(
            request,
            "error.html",
            status=422,
            title="För stora bilagor" if "attachments" in errors else "Uppgifter saknas",
            message=" ".join(errors.values()),
        )
    if action in {"close", "close_not_moved"}:  # on to the outcome report, on the case page
        raise web.HTTPSeeOther(f"/arende/{case_id.hex()}#utfall")
    raise web.HTTPSeeOther(f"/arende/{case_id.hex()}")


def _default_target(core: AgentCore, view: dict[str, Any]) -> str:
    if view["from"] != core.municipality:
        return core.municipality
    return view["requests"][0]["municipality"] if view["requests"] else ""


async def _act(  # noqa: PLR0913 - the parts of one form post
    core: AgentCore,
    *,
    case_id: bytes,
    action: str,
    target: str,
    values: dict[str, str],
    files: list[FileField],
) -> dict[str, str]:
    """Validate the form for `action` and hand it to the agent; the errors, if any."""
    if action == "message":
        document, errors = forms.validate_message(values)
        if not errors:
            await core.send_message(case_id, target, document, await _store(core, files))
        return errors
    if action in {"decline", "accept"}:
        validate = forms.validate_decline if action == "decline" else forms.validate_accept
        document, errors = validate(values)
        if not errors:
            details = {"reason": document["reason"]} if action == "decline" else None
            await core.answer(case_id, action, target=target, document=document, details=details)
        return errors
    if action == "record_move":
        document, errors = forms.validate_move(values)
        if not errors:
            await core.answer(case_id, action, target=target, document=None, details=document)
        return errors
    if action == "close_not_moved":
        await core.close_not_moved(case_id)
        return {}
    await core.answer(case_id, action, target=target, document=None)
    return {}


async def attachment(request: web.Request) -> web.StreamResponse:
    """One attachment as a download, checked again against the sender's signature first: a
    stored envelope that no longer passes gives out nothing and says so."""
    try:
        return await _stream_attachment(request)
    except (ValueError, IndexError, FileNotFoundError):
        return await render(
            request,
            "error.html",
            status=404,
            title="Bilagan finns inte",
            message="Det finns ingen sådan bilaga i ärendet på den här datorn.",
        )
    except HubError as exc:
        log.warning("stored envelope refused: %s", exc.code)
        return await render(
            request,
            "error.html",
            status=422,
            title="Bilagan kunde inte öppnas",
            message=(
                "Meddelandet som bilagan hör till klarar inte längre kontrollen av avsändarens "
                f"underskrift ({exc.code}). Inget av bilagan lämnas ut. Kontakta "
                "systemförvaltningen."
            ),
        )


async def _stream_attachment(request: web.Request) -> web.StreamResponse:
    core = request.app[CORE]
    message_id = bytes.fromhex(request.match_info["message_id"])
    async with core.open_attachment(message_id, int(request.match_info["index"])) as found:
        # Served as a download, never rendered here: the name and bytes come from another party.
        response = web.StreamResponse(
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.name)}"}
        )
        response.content_type = "application/octet-stream"
        response.content_length = found.size
        # Streamed, so the headers leave before the handler returns: the security middleware
        # would add its own too late.
        protect(response.headers)
        await response.prepare(request)
        with contextlib.suppress(ConnectionResetError):  # the browser stopped the download
            if request.method != "HEAD":  # aiohttp would send a streamed body even then
                async for chunk in found.chunks:
                    await response.write(chunk)
            await response.write_eof()
    return response


KNOWN_KEYS = "known_keys"  # person and municipality -> the key id this inbox has seen


def _current_keys(core: AgentCore) -> dict[str, tuple[str, str, str, str]]:
    """(municipality, person) -> (key id, municipality name, person, fingerprint), valid now."""
    now = int(core.clock())
    return {
        f"{m}\n{entry.person}": (
            entry.key_id.hex(),
            core.name_of(m),
            entry.person,
            entry.identity.fingerprint,
        )
        for m in sorted(core.names)
        for entry in (core.directory.valid_keys(m, now) if core.directory else [])
    }


async def keys_page(request: web.Request) -> web.Response:
    """Fingerprints for phone checks, and a warning when a contact person's key changed since
    this inbox last saw it (until the person says they have checked it)."""
    core = request.app[CORE]
    current = _current_keys(core)
    known = json.loads(await core.cache.get_value(KNOWN_KEYS, "{}"))
    if not known:  # first use: what the directory says now is the baseline
        known = {k: v[0] for k, v in current.items()}
        await core.cache.set_value(KNOWN_KEYS, json.dumps(known))
    contacts = [
        {
            "municipality_name": name,
            "person": person,
            "fingerprint": fingerprint,
            "changed": k in known and known[k] != key_id,
        }
        for k, (key_id, name, person, fingerprint) in current.items()
    ]
    return await render(
        request,
        "keys.html",
        own={"fingerprint": core.identity.public.fingerprint, "key_id": core.identity.key_id.hex()},
        admin_fingerprint=fingerprint_of(core.admin_public),
        contacts=contacts,
    )


async def keys_checked(request: web.Request) -> web.StreamResponse:
    core = request.app[CORE]
    current = _current_keys(core)
    await core.cache.set_value(KNOWN_KEYS, json.dumps({k: v[0] for k, v in current.items()}))
    raise web.HTTPSeeOther("/nycklar")


def _case_id(request: web.Request) -> bytes:
    text = request.match_info["case_id"]
    if len(text) != 32 or any(c not in "0123456789abcdef" for c in text):
        raise web.HTTPNotFound
    return bytes.fromhex(text)


def _too_large(
    request: web.Request, files: list[FileField], kept: Sequence[StoredFile] = ()
) -> dict[str, str]:
    """The size limit over the chosen files and the draft's saved ones, said the way the
    compose page's help says it."""
    limit = request.app[MAX_ATTACHMENTS]
    total = sum(_size_of(f) for f in files) + sum(int(a["size"]) for a in kept)
    if total <= limit:
        return {}
    return {
        "attachments": f"Bilagorna är för stora: {_megabytes(total)} MB. "
        f"Högst {limit // MIB} MB sammanlagt går att skicka."
    }


def _megabytes(size: int) -> str:
    return f"{size / MIB:.1f}".replace(".", ",")


def _files(form: MultiDictProxy[Any]) -> list[FileField]:
    """The form's chosen files (aiohttp has put each in a temporary file, not in memory)."""
    return [
        f for f in form.getall("attachments", []) if isinstance(f, web.FileField) and f.filename
    ]


def _size_of(field: FileField) -> int:
    field.file.seek(0, io.SEEK_END)
    size = field.file.tell()
    field.file.seek(0)
    return size


async def _store(core: AgentCore, files: list[FileField]) -> list[StoredFile]:
    """Each file into the cache, encrypted chunk by chunk as it is read."""
    return [
        await core.store_attachment(
            f.filename, f.content_type or "application/octet-stream", f.file
        )
        for f in files
    ]

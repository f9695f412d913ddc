"""Ny förfrågan: the inquiry form and its drafts (saved, autosaved), the review step, and
sending."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import web

from hub.inbox import confirmations, forms, screening
from hub.inbox.pages import notices
from hub.inbox.pages.choices import municipality_choices, said_yes, still_said_yes
from hub.inbox.pages.common import _when, core_of, render
from hub.inbox.pages.uploads import MAX_ATTACHMENTS, MIB, _files, _store, _too_large

if TYPE_CHECKING:
    from multidict import MultiDictProxy

    from hub.inbox.sync import AgentCore, StoredFile


# Drafts are read and written back whole: one change at a time, so that an autosave running
# beside the review step cannot put back what the review replaced.
DRAFTS = web.AppKey("drafts", asyncio.Lock)


def _profile(core: AgentCore) -> dict[str, str]:
    """Prefills the form's responsible municipality and case officer from the signed directory."""
    entry = core.directory.entry_for_key(core.identity.key_id) if core.directory else None
    officer = entry.person if entry is not None else ""
    return {"municipality_name": core.name_of(core.municipality), "officer": officer}


async def compose(request: web.Request) -> web.Response:
    """GET /ny: the form (?utkast=id: a saved draft in it; ?granska=id: the draft's review
    step, where its posts redirect). POST /ny, "Ändra" from the review page, redirects to
    the draft in the form."""
    core = core_of(request)
    values: dict[str, str] = {}
    selected: list[str] = []
    if request.method == "POST":  # "Ändra" from the review page: back with what was typed
        draft_id = str((await request.post()).get("draft_id", ""))
        raise web.HTTPSeeOther(f"/ny?utkast={quote(draft_id, safe='')}" if draft_id else "/ny")
    if "granska" in request.query:
        return await _review_again(request, request.query["granska"])
    draft_id = request.query.get("utkast", "")
    draft = await core.cache.get_draft(draft_id) if draft_id else None
    kept: list[StoredFile] = []
    case_hex = request.query.get("arende", "")
    if draft:
        values, selected, kept = draft["values"], draft["municipalities"], draft["attachments"]
        case_hex = draft.get("case_id", "")
    elif case_hex:  # the formal inquiry to those that said yes, from the case page
        yes = await said_yes(core, case_hex)
        if not yes:
            raise web.HTTPSeeOther(f"/arende/{case_hex}" if yes is not None else "/ny")
        till = request.query.get("till", "")
        selected = [till] if till in yes else yes
    return await _compose_page(
        request,
        values=values,
        selected=selected,
        draft_id=draft_id if draft else "",
        kept=kept,
        case_hex=case_hex,
    )


def _typed(form: MultiDictProxy[Any]) -> tuple[dict[str, str], list[str]]:
    """What the person typed into the inquiry form, and the municipalities they ticked."""
    values = {
        k: v
        for k, v in form.items()
        if isinstance(v, str) and k not in {"csrf", "draft_id", "case_id"}
    }
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
    core = core_of(request)
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
                "case_id": str(form.get("case_id", "")),
            },
            int(core.clock()),
            blobs=[a["blob"] for a in attachments],
        )
    if errors:  # a refused form is answered in place, with what was typed (nothing was done)
        return await _compose_page(
            request,
            values=values,
            selected=selected,
            draft_id=draft_id,
            errors=errors,
            kept=attachments,
            case_hex=str(form.get("case_id", "")),
        )
    notices.flash(request, "Utkastet är sparat.")
    raise web.HTTPSeeOther(f"/ny?utkast={quote(draft_id, safe='')}")


async def autosave_draft(request: web.Request) -> web.Response:
    """For autosave.js, a moment after the person stops typing and when the page is hidden:
    what was typed, encrypted in the local cache like Spara utkast; JSON back (the draft's id
    and the time). The files are not sent again, and what the review step made (the checked
    document, the attachments) is kept: the review page's Skicka sends what it showed. A draft
    that is gone (sent, or deleted) is not brought back by a late save."""
    core = core_of(request)
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
    choices: list[dict[str, Any]] | None = None,
    kept: list[StoredFile] | None = None,
    case_hex: str = "",
) -> web.Response:
    core = core_of(request)
    if choices is None:
        choices = await municipality_choices(
            core, await said_yes(core, case_hex) if case_hex else None
        )
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
        municipalities=choices,
        case_id=case_hex,
        selected=selected,
        max_attachment_mb=request.app[MAX_ATTACHMENTS] // MIB,
        max_attachment_bytes=request.app[MAX_ATTACHMENTS],
        profile=_profile(core),
        draft_id=draft_id,
        drafts=drafts,
        kept_attachments=[{k: a[k] for k in ("blob", "name", "size")} for a in kept or []],
    )


async def review(request: web.Request) -> web.Response:
    core = core_of(request)
    form = await request.post()
    values, _ = _typed(form)
    document, errors = forms.validate_inquiry(values)
    case_hex = str(form.get("case_id", ""))
    yes = await said_yes(core, case_hex) if case_hex else None
    if case_hex and yes is None:
        raise web.HTTPNotFound
    choices = await municipality_choices(core, yes)
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
            case_hex=case_hex,
        )
    attachments = kept + await _store(core, files)
    draft = {
        "values": values,
        "document": document,
        "municipalities": selected,
        "attachments": attachments,
        "case_id": case_hex,
    }
    async with request.app[DRAFTS]:
        await core.cache.save_draft(
            draft_id, draft, int(core.clock()), blobs=[a["blob"] for a in attachments]
        )
    raise web.HTTPSeeOther(f"/ny?granska={quote(draft_id, safe='')}")


async def _review_again(request: web.Request, draft_id: str) -> web.Response:
    """The review step of a saved draft (GET, after Granska or a refused Skicka). A draft
    already sent (Back after Skicka) says so, with the way to its case."""
    core = core_of(request)
    draft = await core.cache.get_draft(draft_id) if draft_id else None
    if draft is not None and draft.get("document"):
        refused = notices.take_state(request, f"granska:{draft_id}")
        confirmed, unconfirmed = refused if refused is not None else (set(), 0)
        return await _review_page(
            request, draft_id, draft, confirmed=confirmed, unconfirmed=unconfirmed
        )
    if draft is not None:  # saved from the form, never reviewed: the form then
        raise web.HTTPSeeOther(f"/ny?utkast={quote(draft_id, safe='')}")
    case_hex = request.app[notices.FLASH].sent.get(draft_id)
    if case_hex is not None:
        return await render(
            request,
            "error.html",
            title="Förfrågan är redan skickad",
            message="Den här förfrågan är redan skickad och kan inte skickas igen.",
            back_url=f"/arende/{case_hex}",
            back_text="Till ärendet",
        )
    return await render(
        request,
        "error.html",
        status=404,
        title="Utkastet finns inte",
        message="Utkastet hittades inte. Det kan redan vara skickat eller borttaget.",
    )


# Every field a person writes into; the date is left out (a date is never a personnummer).
_SCREENED = {f.id: f.label_sv for f in forms.INQUIRY_FIELDS if f.kind != "date"}


def _findings(draft: dict[str, Any]) -> list[screening.Finding]:
    """What the review step flags in a draft's document and its attachments' file names."""
    names = [str(a["name"]) for a in draft["attachments"]]
    return screening.screen_inquiry(draft["document"], _SCREENED, names)


async def _review_page(
    request: web.Request,
    draft_id: str,
    draft: dict[str, Any],
    *,
    confirmed: set[str] | None = None,
    unconfirmed: int = 0,
) -> web.Response:
    """Granska förfrågan: the draft as it will be sent, with what the check before sending
    found; unconfirmed > 0 when Skicka came without "Uppgiften behövs" for as many findings."""
    core = core_of(request)
    return await render(
        request,
        "review.html",
        status=422 if unconfirmed else 200,
        sections=forms.INQUIRY_SECTIONS,
        values=draft["document"],
        municipalities=[core.name_of(m) for m in draft["municipalities"]],
        attachments=[{"name": a["name"], "size": a["size"]} for a in draft["attachments"]],
        draft_id=draft_id,
        findings=_findings(draft),
        confirmed=confirmed or set(),
        unconfirmed=unconfirmed,
    )


async def send(request: web.Request) -> web.StreamResponse:
    """Skicka: only when every finding of the check before sending is confirmed as needed
    (the check is made again here on what was saved, not taken from the page); otherwise
    back to the review step, saying what is left. Either way a redirect: Back and reload
    never send the inquiry again."""
    core = core_of(request)
    form = await request.post()
    draft_id = str(form.get("draft_id", ""))
    confirmed = {v for v in form.getall("needed", []) if isinstance(v, str)}
    async with request.app[DRAFTS]:
        draft = await core.cache.get_draft(draft_id) if draft_id else None
        left = [f for f in _findings(draft) if f.key not in confirmed] if draft else []
        if draft is not None and not left:
            await still_said_yes(request, core, draft)
            draft = await core.cache.take_draft(draft_id)
    if left:  # the review step again, with the ticks kept and what is left said
        notices.keep_state(request, f"granska:{draft_id}", (confirmed, len(left)))
    if draft is None or left:
        raise web.HTTPSeeOther(f"/ny?granska={quote(draft_id, safe='')}")
    in_case = draft.get("case_id") or ""
    case_id = await core.send_inquiry(
        draft["document"],
        draft["attachments"],
        draft["municipalities"],
        case_id=bytes.fromhex(in_case) if in_case else None,
    )
    request.app[notices.FLASH].sent[draft_id] = case_id.hex()
    waiting = not core.online or await core.cache.outbox_count() > 0
    names = [core.name_of(m) for m in draft["municipalities"]]
    notices.flash(request, confirmations.sent_text(names, waiting=waiting))
    raise web.HTTPSeeOther(f"/arende/{case_id.hex()}")

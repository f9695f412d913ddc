"""The case page, its "Utfallet" section, its actions (answers, messages, closing) and its PDF."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from hub.client.api import RemoteError
from hub.inbox import confirmations, forms, pdf
from hub.inbox.pages import notices
from hub.inbox.pages.case_view import ACTIONS, PRE_INQUIRY_ANSWERS, case_context
from hub.inbox.pages.common import _case_id, _when, core_of, render
from hub.inbox.pages.uploads import MAX_ATTACHMENTS, MIB, _files, _store, _too_large
from hub.inbox.sync import AgentCore, case_from_view

if TYPE_CHECKING:
    from aiohttp.web_request import FileField


async def case_page(request: web.Request) -> web.Response:
    """GET /arende/{id}; with ?bekrafta=action&till=municipality, the confirmation of an
    action that cannot be undone (where its first post redirects)."""
    core = core_of(request)
    case_id = _case_id(request)
    action = request.query.get("bekrafta", "")
    if action in confirmations.ON_A_PAGE:
        return await _confirm_page(request, case_id, action, request.query.get("till", ""))
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
    core = core_of(request)
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


async def case_pdf(request: web.Request) -> web.Response:
    """The case as a PDF/A download, rendered here by weasyprint; written to no disk."""
    core = core_of(request)
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


async def case_action(request: web.Request) -> web.StreamResponse:
    core = core_of(request)
    case_id = _case_id(request)
    action = request.match_info["action"]
    if action != "message" and action not in ACTIONS and action not in PRE_INQUIRY_ANSWERS:
        raise web.HTTPNotFound
    form = await request.post()
    view = await core.cache.get_case(case_id)
    if view is None:
        raise web.HTTPNotFound
    target = str(form.get("target", "")) or _default_target(core, view)
    values = {
        k: v for k, v in form.items() if isinstance(v, str) and k not in {"csrf", "confirmed"}
    }
    page = f"/arende/{case_id.hex()}"
    if action != "message" and (overtaken := await _overtaken(core, case_id, action, target)):
        notices.flash(request, overtaken, "warning")
        raise web.HTTPSeeOther(page)
    confirmed = form.get("confirmed") == confirmations.CONFIRMED_VALUE
    if action in confirmations.ON_A_PAGE and not confirmed:  # ask first, on a page of its own
        raise web.HTTPSeeOther(f"{page}?{urlencode({'bekrafta': action, 'till': target})}")
    files = _files(form)
    before = len(core.notices)
    errors = _too_large(request, files)
    if action == "decline" and not confirmed:  # asked in its own form: a ticked box
        errors = {
            **forms.validate_decline(values)[1],
            "confirmed": "Kryssa i att du förstår att beslutet inte går att ångra.",
        }
    if action == "pre_inquiry_no" and not confirmed:  # final: asked in its own form, a tick
        errors = {"confirmed": "Kryssa i att du förstår att nejet inte går att ångra."}
    errors = errors or await _act(
        core, case_id=case_id, action=action, target=target, values=values, files=files
    )
    if errors:  # a refused form is answered in place (nothing was done)
        return await render(
            request,
            "error.html",
            status=422,
            title="För stora bilagor" if "attachments" in errors else "Uppgifter saknas",
            message=" ".join(errors.values()),
            back_url=page,
            back_text="Tillbaka till ärendet",
        )
    if len(core.notices) == before:  # no notice says it was refused on the way
        waiting = not core.online or await core.cache.outbox_count() > 0
        told = _told(core, view, action, target)
        counterpart = told[0] if told else ""
        notices.flash(
            request,
            confirmations.done_text(action, counterpart=counterpart, told=told, waiting=waiting),
        )
    if action in {"close", "close_not_moved"}:  # on to the outcome report, on the case page
        raise web.HTTPSeeOther(f"{page}#utfall")
    raise web.HTTPSeeOther(page)


async def _overtaken(core: AgentCore, case_id: bytes, action: str, target: str) -> str | None:
    """Why `action` on `target`'s request is no longer offered (another person acted first,
    or this page was old), in Swedish; None when it still is."""
    context = await case_context(core, case_id)
    if context is None:
        raise web.HTTPNotFound
    requests = context["case"]["requests"]
    if action == "close_not_moved" or not requests:
        if action in context["actions"]:
            return None
        names = confirmations.names_in_words(context["case"]["to_names"]) or "ärendet"
        return confirmations.overtaken_text(names, "avslutat")
    for r in requests:
        if r["municipality"] == target:
            if action in r["actions"]:
                return None
            name = r["name"] if context["case"]["mine"] else context["case"]["from_name"]
            return confirmations.overtaken_text(name, r["state_label"])
    raise web.HTTPNotFound


def _told(core: AgentCore, view: dict[str, Any], action: str, target: str) -> list[str]:
    """Who hears of `action`: the other side of the request; for close_not_moved every
    municipality asked."""
    if view["from"] != core.municipality:
        return [core.name_of(view["from"])]
    if action == "close_not_moved":
        return [core.name_of(r["municipality"]) for r in view["requests"]]
    return [core.name_of(target)]


async def _confirm_page(
    request: web.Request, case_id: bytes, action: str, target: str
) -> web.Response:
    """The step before an action that cannot be undone: what will happen, who is told, and
    its post with confirmed=ja (nothing is done until then). Reached again with Back after
    it was done, it says that the case has moved on."""
    core = core_of(request)
    view = await core.cache.get_case(case_id)
    if view is None:
        return await _no_such_case(request)
    target = target or _default_target(core, view)
    overtaken = await _overtaken(core, case_id, action, target)
    if overtaken:
        notices.flash(request, overtaken, "warning")
        raise web.HTTPSeeOther(f"/arende/{case_id.hex()}")
    told = _told(core, view, action, target)
    mine = view["from"] == core.municipality
    asked = [core.name_of(r["municipality"]) for r in view["requests"]] if mine else []
    return await render(
        request,
        "confirm_action.html",
        case_id=case_id.hex(),
        action=action,
        confirm=confirmations.confirmation(action, counterpart=told[0], asked=asked),
        details=[],
        hidden={"target": target},
    )


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
    if action in PRE_INQUIRY_ANSWERS:  # yes or no, in an answer envelope with its words
        said = "Ja" if action == "pre_inquiry_yes" else "Nej"
        words = f"{said} på förhandsförfrågan.\n\n{values.get('message', '')}".strip()
        document, errors = forms.validate_message({"message": words})
        if not errors:
            await core.answer(case_id, action, target=target, document=document)
        return errors
    if action in {"decline", "accept"}:
        validate = forms.validate_decline if action == "decline" else forms.validate_accept
        document, errors = validate(values)
        if not errors:
            details = {"reason": document["reason"]} if action == "decline" else None
            await core.answer(case_id, action, target=target, document=document, details=details)
        return errors
    if action in {"record_move", "record_follow_up"}:
        validate = forms.validate_move if action == "record_move" else forms.validate_follow_up
        document, errors = validate(values)
        if not errors:
            await core.answer(case_id, action, target=target, document=None, details=document)
        return errors
    if action == "close_not_moved":
        await core.close_not_moved(case_id)
        return {}
    await core.answer(case_id, action, target=target, document=None)
    return {}

"""The case page, its "Utfallet" section, its actions (answers, messages, closing) and its PDF."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from hub.client.api import RemoteError
from hub.inbox import confirmations, forms, pdf
from hub.inbox.pages.case_view import ACTIONS, case_context
from hub.inbox.pages.common import _case_id, _when, core_of, render
from hub.inbox.pages.uploads import MAX_ATTACHMENTS, MIB, _files, _store, _too_large
from hub.inbox.sync import AgentCore, case_from_view

if TYPE_CHECKING:
    from aiohttp.web_request import FileField


async def case_page(request: web.Request) -> web.Response:
    core = core_of(request)
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
    if action != "message" and action not in ACTIONS:
        raise web.HTTPNotFound
    form = await request.post()
    view = await core.cache.get_case(case_id)
    if view is None:
        raise web.HTTPNotFound
    target = str(form.get("target", "")) or _default_target(core, view)
    values = {
        k: v for k, v in form.items() if isinstance(v, str) and k not in {"csrf", "confirmed"}
    }
    files = _files(form)
    if action in confirmations.CONFIRMED and form.get("confirmed") != confirmations.CONFIRMED_VALUE:
        errors = forms.validate_decline(values)[1] if action == "decline" else {}
        if not errors:
            return await _confirm_page(
                request, case_id, view, action=action, target=target, values=values
            )
    else:
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


async def _confirm_page(  # noqa: PLR0913 - the post being confirmed
    request: web.Request,
    case_id: bytes,
    view: dict[str, Any],
    *,
    action: str,
    target: str,
    values: dict[str, str],
) -> web.Response:
    """The step before an action that cannot be undone: what will happen, who is told, and
    the same post again with confirmed=ja (nothing is done until then)."""
    core = core_of(request)
    mine = view["from"] == core.municipality
    counterpart = core.name_of(target if mine else view["from"])
    asked = [core.name_of(r["municipality"]) for r in view["requests"]] if mine else []
    details: list[tuple[str, str]] = []
    if action == "decline":
        details = [
            ("Skäl", dict(forms.DECLINE_REASONS).get(values.get("reason", ""), "")),
            ("Motivering", values.get("motivation", "")),
        ]
    return await render(
        request,
        "confirm_action.html",
        case_id=case_id.hex(),
        action=action,
        confirm=confirmations.confirmation(action, counterpart=counterpart, asked=asked),
        details=details,
        hidden={**values, "target": target},
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

"""The outcome report (återrapport) of a closed case: the sending municipality files it, the hub
keeps it in clear by explicit design so that the coordinator's statistics can count it.

It holds categories only (hub/report/outcome.py): the target group, moved or not, the receiving
municipality or a not-moved reason. Only the case's sender files or reads it, only once the case
is closed, and only a report that tells the same story as the case: moved exactly when the case
ended with a move, to the municipality whose request was closed. Filing again replaces the
report (the sender may correct it). The audit record names the case and nothing of the report.
A receiving municipality never sees it: the case view does not carry it, and this route answers
404 to anyone but the sender, as for a case that does not exist.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.errors import MESSAGES, ApiError
from hub.protocol.case_codec import case_from_json
from hub.protocol.roles import AccountRole
from hub.report.outcome import FIELD_LABELS, OutcomeReport, contradiction
from hub.server.auth import caller_of
from hub.server.errors import API_STATUS, hex_id, read_object
from hub.server.typedefs import CLOCK, STORAGE
from hub.storage.base import NotFound

if TYPE_CHECKING:
    from hub.protocol.lifecycle import Case
    from hub.server.auth import Caller
    from hub.storage.base import CaseRow

CONTACT = AccountRole.CONTACT_PERSON
AUDIT_ACTION = "outcome_report_filed"


async def put_report(request: web.Request) -> web.Response:
    caller = await caller_of(request, CONTACT)
    case_id = hex_id(request.match_info["case_id"], 16)
    case, row = await _senders_case(request, case_id, caller)
    data = await read_object(request)
    if not case.is_closed:
        raise ApiError("case_not_closed")
    try:
        report = OutcomeReport.from_json(data)
    except ValueError as exc:
        return _refused("outcome_report_invalid", _field_of(data, str(exc)), str(exc))
    mismatch = contradiction(case, report)
    if mismatch is not None:
        return _refused("outcome_report_mismatch", *mismatch)
    stored = report.to_json()
    now = int(request.app[CLOCK]())
    async with request.app[STORAGE].transaction() as tx:
        await tx.put_outcome_report(row.case_id, row.network_id, case.sender, stored, now)
        await tx.append_audit(
            at=now, actor=caller.actor, action=AUDIT_ACTION, subject={"case_id": case.case_id}
        )
    return web.json_response({"case_id": case.case_id, "report": stored, "filed_at": now})


async def get_report(request: web.Request) -> web.Response:
    """The filed report, or `"report": null` while none is filed."""
    caller = await caller_of(request, CONTACT)
    case_id = hex_id(request.match_info["case_id"], 16)
    case, _ = await _senders_case(request, case_id, caller)
    report = await request.app[STORAGE].get_outcome_report(case_id)
    return web.json_response({"case_id": case.case_id, "report": report})


async def _senders_case(
    request: web.Request, case_id: bytes, caller: Caller
) -> tuple[Case, CaseRow]:
    """The case, if the caller's municipality sent it; otherwise 404, as if it did not exist."""
    try:
        row = await request.app[STORAGE].get_case(case_id)
    except NotFound:
        raise ApiError("not_found") from None
    case = case_from_json(row.data)
    if row.network_id != caller.network_id or case.sender != caller.municipality_id:
        raise ApiError("not_found")
    return case, row


def _field_of(data: dict[str, Any], problem: str) -> str | None:
    """The field a refusal of OutcomeReport.from_json is about (its message names it)."""
    unknown = sorted(str(k) for k in data if k not in FIELD_LABELS)
    if unknown:
        return next((k for k in unknown if k.isidentifier()), None)
    return next((f for f in FIELD_LABELS if f"fältet {f} " in problem), None)


def _refused(code: str, field: str | None, detail: str) -> web.Response:
    """The hub's error shape, plus the field concerned and a Swedish sentence about it: the
    sender's own input is named back, never a value from anyone else's case."""
    body = {
        "error": {
            "code": code,
            "message": MESSAGES[code],
            "field": field,
            "detail": detail,
            "request_id": secrets.token_hex(8),
        }
    }
    return web.json_response(body, status=API_STATUS[code])

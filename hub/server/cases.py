"""Cases: creating one, and the hub's view of each (its word, which the agents compare with
what the signed steps prove). The steps themselves arrive in hub/server/case_steps.py.

A receiving municipality sees its own request only: never which other municipalities were
asked about the same case.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.errors import ApiError
from hub.protocol import wire
from hub.protocol.case_codec import case_from_json
from hub.protocol.lifecycle import Case, Outcome, Role
from hub.protocol.roles import AccountRole
from hub.server.answer import answer
from hub.server.auth import Caller, caller_of
from hub.server.case_transitions import case_row
from hub.server.errors import hex_id, read_json
from hub.server.typedefs import CLOCK, STORAGE
from hub.storage.base import AlreadyExists, CaseRow, NotFound

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from aiohttp import web

    from hub.protocol.lifecycle import Effect

    Step = Callable[[Case, int], Awaitable[tuple[Case, list[Effect], dict[str, Any]]]]

CONTACT = AccountRole.CONTACT_PERSON


def view(case: Case, caller: Caller) -> wire.CaseView:
    """What the caller may see of a case: all of it for the sender, one request for a receiver."""
    mine = caller.municipality_id == case.sender
    requests = [r for r in case.requests if mine or r.municipality == caller.municipality_id]
    role = Role.SENDER if mine else Role.RECEIVER
    return wire.CaseView(
        case_id=case.case_id,
        sender=case.sender,
        outcome=case.outcome.value if case.outcome else None,
        closed_at=case.closed_at,
        requests=[
            wire.RequestView(
                municipality=r.municipality,
                state=r.state.value,
                history=[
                    wire.HistoryEntry(
                        event=h.event.value,
                        role=h.role.value,
                        at=h.at,
                        state=h.state.value,
                        reason=h.reason.value if h.reason else None,
                        moving_date=h.moving_date.isoformat() if h.moving_date else None,
                    )
                    for h in r.history
                ],
                allowed_events=[e.value for e in case.allowed_events(role, r.municipality)],
            )
            for r in requests
        ],
        can_close_not_moved=mine and case.can_close_not_moved(Role.SENDER),
        # One history entry per step taken; closing without a move is one more, on the case.
        step_count=sum(len(r.history) for r in requests)
        + (mine and case.outcome is Outcome.NOT_MOVED),
    )


async def load_case(request: web.Request, case_id: bytes, caller: Caller) -> tuple[Case, CaseRow]:
    try:
        row = await request.app[STORAGE].get_case(case_id)
    except NotFound:
        raise ApiError("not_found") from None
    case = case_from_json(row.data)
    involved = {case.sender, *(r.municipality for r in case.requests)}
    if row.network_id != caller.network_id or caller.municipality_id not in involved:
        raise ApiError("not_found")
    return case, row


async def create(request: web.Request) -> web.Response:
    """201 and the new case. The caller's municipality creating its own case again (a retry)
    answers 200 and its view, changing nothing. An id taken anywhere else answers exactly as an
    id that is not an id at all (400 request_malformed): whether a case exists in another
    municipality or network is never told."""
    caller = await caller_of(request, CONTACT)
    body = await read_json(request, {"case_id": str})
    case_id = hex_id(body["case_id"], 16)
    now = int(request.app[CLOCK]())
    case = Case(case_id.hex(), caller.municipality_id)
    try:
        async with request.app[STORAGE].transaction() as tx:
            await tx.add_case(case_row(case, caller.network_id, now, created_at=now, version=1))
            await tx.append_audit(
                at=now, actor=caller.actor, action="case_created", subject={"case_id": case.case_id}
            )
    except AlreadyExists:
        existing = await request.app[STORAGE].get_case(case_id)
        if (existing.network_id, existing.sender_municipality) != (
            caller.network_id,
            caller.municipality_id,
        ):
            raise ApiError("request_malformed", "case_id") from None
        return answer(view(case_from_json(existing.data), caller), 200)
    return answer(view(case, caller), 201)


async def listing(request: web.Request) -> web.Response:
    caller = await caller_of(request, CONTACT)
    rows = await request.app[STORAGE].list_cases(caller.network_id, caller.municipality_id)
    return answer(wire.CaseList(cases=[view(case_from_json(r.data), caller) for r in rows]))


async def show(request: web.Request) -> web.Response:
    caller = await caller_of(request, CONTACT)
    case, _ = await load_case(request, hex_id(request.match_info["case_id"], 16), caller)
    return answer(view(case, caller))

"""Cases: the lifecycle of each request, driven through the pure table in
hub/protocol/lifecycle.py. Handlers only load, apply, store and tell.

A receiving municipality sees its own request only: never which other municipalities were
asked about the same case.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from hub.crypto.format import MessageKind
from hub.errors import ApiError
from hub.protocol import wire
from hub.protocol.case_codec import case_from_json
from hub.protocol.lifecycle import Case, Event, Role
from hub.protocol.roles import AccountRole
from hub.server.answer import answer
from hub.server.auth import Caller, caller_of
from hub.server.case_transitions import RETRIES, case_row
from hub.server.errors import hex_id, read_json
from hub.server.typedefs import CASES, CLOCK, STORAGE
from hub.storage.base import AlreadyExists, CaseRow, NotFound

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from aiohttp import web

    from hub.protocol.lifecycle import Effect

    Step = Callable[[Case, int], Awaitable[tuple[Case, list[Effect], dict[str, Any]]]]

CONTACT = AccountRole.CONTACT_PERSON
# The envelope that must carry an event's content (the form, the motivation …), by kind.
CARRIER: dict[Event, MessageKind] = {
    Event.SEND_PRE_INQUIRY: MessageKind.PRE_INQUIRY,
    Event.SEND_INQUIRY: MessageKind.INQUIRY,
    Event.ACCEPT: MessageKind.ANSWER,
    Event.DECLINE: MessageKind.ANSWER,
    Event.PRE_INQUIRY_YES: MessageKind.ANSWER,
    Event.PRE_INQUIRY_NO: MessageKind.ANSWER,
}


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
    )


async def _load(request: web.Request, case_id: bytes, caller: Caller) -> tuple[Case, CaseRow]:
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
    case, _ = await _load(request, hex_id(request.match_info["case_id"], 16), caller)
    return answer(view(case, caller))


async def post_event(request: web.Request) -> web.Response:
    caller = await caller_of(request, CONTACT)
    body = await read_json(
        request, {"municipality": str, "event": str}, {"details": dict, "message_id": str}
    )
    case_id = hex_id(request.match_info["case_id"], 16)
    try:
        event = Event(body["event"])
    except ValueError:
        raise ApiError("request_malformed", "event") from None
    municipality = body["municipality"]
    details = _details(body.get("details", {}))
    message_id = hex_id(body["message_id"], 16) if "message_id" in body else None

    async def step(case: Case, now: int) -> tuple[Case, list[Effect], dict[str, Any]]:
        role = _role_of(case, caller, municipality, event)
        if event in CARRIER or message_id is not None:
            await _check_carrier(
                request,
                case=case,
                caller=caller,
                role=role,
                municipality=municipality,
                event=event,
                message_id=message_id,
            )
        new, effects = case.apply(role, municipality, event, now, **details)
        audit = {"case_id": case.case_id, "municipality": municipality, "event": event.value}
        if message_id is not None:
            audit["message_id"] = message_id.hex()
        return new, effects, audit

    case = await _change(request, case_id, caller, step)
    return answer(view(case, caller))


async def close_not_moved(request: web.Request) -> web.Response:
    caller = await caller_of(request, CONTACT)
    case_id = hex_id(request.match_info["case_id"], 16)

    async def step(case: Case, now: int) -> tuple[Case, list[Effect], dict[str, Any]]:
        if case.sender != caller.municipality_id:
            raise ApiError("not_found")
        new, effects = case.close_not_moved(Role.SENDER, now)
        return new, effects, {"case_id": case.case_id, "outcome": "not_moved"}

    case = await _change(request, case_id, caller, step)
    return answer(view(case, caller))


async def _change(request: web.Request, case_id: bytes, caller: Caller, step: Step) -> Case:
    """Load, apply, store with the audit record, tell; retried if someone else got there first."""
    for _ in range(RETRIES):
        case, row = await _load(request, case_id, caller)
        now = int(request.app[CLOCK]())
        new, effects, audit = await step(case, now)
        if await request.app[CASES].store(
            row, new, effects, actor=caller.actor, audit=audit, at=now
        ):
            return new
    raise ApiError("conflict_exists", "the case kept changing")


def _details(raw: dict[str, Any]) -> dict[str, Any]:
    """JSON to the lifecycle's types; the lifecycle itself refuses unknown or missing keys."""
    details = dict(raw)
    if "moving_date" in details:
        try:
            details["moving_date"] = date.fromisoformat(str(details["moving_date"]))
        except ValueError:
            raise ApiError("request_malformed", "moving_date") from None
    return details


def _role_of(case: Case, caller: Caller, municipality: str, event: Event) -> Role:
    if caller.municipality_id == case.sender and municipality != case.sender:
        return Role.SENDER
    if caller.municipality_id == municipality and case.request(municipality) is not None:
        return Role.RECEIVER
    del event
    raise ApiError("not_found")


async def _check_carrier(  # noqa: PLR0913 - every part of the binding is checked
    request: web.Request,
    *,
    case: Case,
    caller: Caller,
    role: Role,
    municipality: str,
    event: Event,
    message_id: bytes | None,
) -> None:
    """The event's content travels in an envelope the caller sent for this case, to the other
    side: the hub checks the binding it can see (ids, kinds, routes), never the content."""
    if message_id is None:
        raise ApiError("request_malformed", "message_id is required for this event")
    try:
        envelope = await request.app[STORAGE].get_envelope(message_id)
    except NotFound:
        raise ApiError("request_malformed", "message_id") from None
    counterpart = municipality if role is Role.SENDER else case.sender
    wanted_kind = CARRIER.get(event)
    if (
        envelope.network_id != caller.network_id
        or envelope.case_id.hex() != case.case_id
        or envelope.sender_municipality != caller.municipality_id
        or counterpart not in envelope.recipient_municipalities
        or (wanted_kind is not None and envelope.kind != wanted_kind)
    ):
        raise ApiError("request_malformed", "message_id does not carry this event")

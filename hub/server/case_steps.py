"""Signed case steps: the hub checks, orders and relays them; it takes none itself.

Each step is verified as every agent verifies it (docs/protocol.md 5.12), must be signed by the
caller's own key, must name its request's current head as parent (of two steps on one parent
only the first is taken: 409 step_parent_taken for the other), and must be allowed by the
lifecycle's rules over its batch (hub.protocol.lifecycle.Case.apply_batch). The hub's case row
is then its own projection of the steps, for deadlines, notices and statistics; the agents
derive theirs from the steps and take nothing else from the hub's view.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from hub.crypto.format import MessageKind
from hub.crypto.steps import verify_step
from hub.errors import ApiError
from hub.protocol import wire
from hub.protocol.chain import role_of
from hub.protocol.lifecycle import Action, Event
from hub.protocol.roles import AccountRole
from hub.server.answer import answer
from hub.server.auth import caller_of
from hub.server.case_transitions import RETRIES
from hub.server.cases import load_case, view
from hub.server.errors import hex_id, read_json
from hub.server.typedefs import CASES, CLOCK, DIRECTORIES, STORAGE
from hub.storage.base import AlreadyExists, CaseStepRow, NotFound

if TYPE_CHECKING:
    from collections.abc import Sequence

    from aiohttp import web

    from hub.crypto.steps import SignedStep
    from hub.protocol.lifecycle import Case
    from hub.server.auth import Caller

CONTACT = AccountRole.CONTACT_PERSON
MAX_BATCH: Final = 16  # a confirm closes at most the other open requests of one case
# The envelope that carries a step's content (the form, the motivation …), by kind; sent by the
# signer to the other side.
CARRIER: Final[dict[Event, MessageKind]] = {
    Event.SEND_PRE_INQUIRY: MessageKind.PRE_INQUIRY,
    Event.SEND_INQUIRY: MessageKind.INQUIRY,
    Event.ACCEPT: MessageKind.ANSWER,
    Event.DECLINE: MessageKind.ANSWER,
    Event.PRE_INQUIRY_YES: MessageKind.ANSWER,
    Event.PRE_INQUIRY_NO: MessageKind.ANSWER,
}
# The receiver's steps about the inquiry it received: they name that envelope.
RECEIVED: Final = frozenset({Event.DELIVER, Event.READ_RECEIPT})


async def post_steps(request: web.Request) -> web.Response:
    """Take a batch of signed steps; 200 and the hub's view of the case. A batch the hub
    already holds, byte for byte, answers the same (a retry after a lost answer)."""
    caller = await caller_of(request, CONTACT)
    case_id = hex_id(request.match_info["case_id"], 16)
    steps = await _verified_batch(request, caller, case_id)
    events = [_event(step) for step in steps]
    for _ in range(RETRIES):
        case, row = await load_case(request, case_id, caller)
        stored = await request.app[STORAGE].list_case_steps(case_id)
        held = {r.digest for r in stored}
        if all(step.digest in held for step in steps):
            return answer(view(case, caller))
        _check_parents(steps, stored)
        now = int(request.app[CLOCK]())
        for step, event in zip(steps, events, strict=True):
            if step.case_sender != case.sender:
                raise ApiError("step_mismatch", "case_sender")
            await _check_carrier(request, case, caller, step, event)
        actions = [
            Action(role_of(s), s.municipality, e, now, dict(s.details))
            for s, e in zip(steps, events, strict=True)
        ]
        new, effects = case.apply_batch(actions)
        rows = [
            CaseStepRow(case_id, s.municipality, s.parent, s.digest, dict(s.wire), now)
            for s in steps
        ]
        audit: dict[str, Any] = {
            "case_id": case.case_id,
            "steps": [[s.municipality, s.event] for s in steps],
        }
        try:
            stored_ok = await request.app[CASES].store(
                row, new, effects, actor=caller.actor, audit=audit, at=now, steps=rows
            )
        except AlreadyExists:
            raise ApiError("step_parent_taken") from None
        if stored_ok:
            return answer(view(new, caller))
    raise ApiError("conflict_exists", "the case kept changing")


async def list_steps(request: web.Request) -> web.Response:
    """The steps the caller may see: every request's for the case's sender, only its own
    request's for an asked municipality (never who else was asked)."""
    caller = await caller_of(request, CONTACT)
    case_id = hex_id(request.match_info["case_id"], 16)
    case, _ = await load_case(request, case_id, caller)
    rows = await request.app[STORAGE].list_case_steps(case_id)
    mine = caller.municipality_id == case.sender
    return answer(
        wire.StepList(
            steps=[
                wire.RelayedStep(
                    step=wire.SignedRecord(record=r.step["record"], signature=r.step["signature"]),
                    received_at=r.received_at,
                )
                for r in rows
                if mine or r.municipality == caller.municipality_id
            ]
        )
    )


async def steps_required(request: web.Request) -> web.Response:
    """The unsigned event endpoints of earlier releases: gone, with what to do."""
    del request
    raise ApiError("steps_required")


async def _verified_batch(request: web.Request, caller: Caller, case_id: bytes) -> list[SignedStep]:
    """The batch's steps, each verified against the directory and signed by the caller."""
    body = await read_json(request, {"steps": list})
    wires = body["steps"]
    if not 1 <= len(wires) <= MAX_BATCH:
        raise ApiError("request_malformed", f"1 to {MAX_BATCH} steps")
    directory = await request.app[DIRECTORIES].get(caller.network_id)
    steps = [verify_step(w, directory=directory) for w in wires]
    for step in steps:
        if step.signed_by != caller.key_id:
            raise ApiError("forbidden")
        if step.case_id != case_id:
            raise ApiError("step_mismatch", "case_id")
    return steps


def _event(step: SignedStep) -> Event:
    try:
        return Event(step.event)
    except ValueError:
        raise ApiError("step_mismatch", "event") from None


def _check_parents(steps: Sequence[SignedStep], stored: Sequence[CaseStepRow]) -> None:
    """Each step names its request's current head (the earlier steps of the batch counted)."""
    heads: dict[str, bytes] = {}
    for row in stored:  # stored in chain order: each named the head when it was taken
        heads[row.municipality] = row.digest
    known = {row.digest for row in stored}
    for step in steps:
        if step.parent != heads.get(step.municipality):
            if step.parent is not None and step.parent not in known:
                raise ApiError("step_parent_unknown")
            raise ApiError("step_parent_taken")
        heads[step.municipality] = step.digest
        known.add(step.digest)


async def _check_carrier(
    request: web.Request, case: Case, caller: Caller, step: SignedStep, event: Event
) -> None:
    """The envelope a step names is one the hub holds for this case, between its two sides
    and of the kind the step needs: the binding the hub can see (ids, kinds, routes), never
    the content."""
    wanted = CARRIER.get(event) or (MessageKind.INQUIRY if event in RECEIVED else None)
    if step.message_id is None:
        if wanted is not None:
            raise ApiError("request_malformed", "message_id is required for this step")
        return
    try:
        envelope = await request.app[STORAGE].get_envelope(step.message_id)
    except NotFound:
        raise ApiError("request_malformed", "message_id") from None
    if event in RECEIVED:  # the inquiry the receiver got, from the case's sender
        sender, recipient = case.sender, caller.municipality_id
    else:  # the signer's own envelope to the other side
        counterpart = case.sender if step.municipality == caller.municipality_id else None
        sender, recipient = caller.municipality_id, counterpart or step.municipality
    if (
        envelope.network_id != caller.network_id
        or envelope.case_id.hex() != case.case_id
        or envelope.sender_municipality != sender
        or recipient not in envelope.recipient_municipalities
        or (wanted is not None and envelope.kind != wanted)
    ):
        raise ApiError("request_malformed", "message_id does not carry this step")

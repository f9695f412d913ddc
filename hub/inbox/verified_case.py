"""A case as the case page and the PDF show it, built from verified records only. Pure.

Who sent the case, whom it asked, every document, every message, who sent each and when come
from the envelopes verified on this machine (their signed headers, placed with the signed
directory, their documents read into typed models). The state of each request, its history
and the actions the lifecycle allows now come from its chain of signed steps, verified and
replayed here (hub.inbox.case_state); what of it could not be proved is in `problems`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hub.crypto.format import MessageKind
from hub.inbox import documents
from hub.inbox.facts import parties_of

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hub.inbox.cache_envelopes import AttachmentInfo, StoredEnvelope

FIRST_KINDS = frozenset({MessageKind.PRE_INQUIRY, MessageKind.INQUIRY})
_NOT_IN_THREAD = frozenset({MessageKind.INQUIRY, MessageKind.REWRAP})


@dataclass(frozen=True)
class Message:
    """One verified envelope of the case."""

    message_id: bytes
    kind: MessageKind
    sender: str  # the signing key's municipality
    created_at: int  # the sender's signed time
    hub_received_at: int | None  # the hub's word, shown labelled as such
    ours: bool  # our municipality signed it
    listing_mismatch: bool  # the hub's listing said otherwise than the header
    body: documents.Inquiry | documents.ThreadDocument | documents.Unreadable | None
    error: str | None  # why it could not be opened (an earlier version kept such rows)
    attachments: tuple[AttachmentInfo, ...]


@dataclass(frozen=True)
class StepEvent:
    event: str
    at: int  # the signed time (a delivery's counted as hub.inbox.case_state says)


@dataclass(frozen=True)
class SignedRequest:
    """One request as its signed steps prove it: its state, history and the actions allowed
    now. `broken`: part of its history is missing, refused or conflicting."""

    municipality: str
    state: str  # a lifecycle state, or "conflicting"
    history: tuple[StepEvent, ...]
    allowed_events: tuple[str, ...]
    broken: bool


@dataclass(frozen=True)
class StepProblem:
    """What could not be proved of the case's history (hub.protocol.chain.Problem, or
    hub.inbox.case_state's), for the page to say."""

    problem: str
    municipality: str | None
    code: str | None


@dataclass(frozen=True)
class VerifiedCase:
    case_id: bytes
    sender: str  # from the first verified inquiry's signature
    asked: tuple[str, ...]  # the municipalities its verified inquiries were sealed to
    mine: bool  # we sent it
    inquiry: Message | None  # the first verified inquiry form (None: a pre-inquiry only)
    inquiries_ours: tuple[Message, ...]  # the inquiry envelopes we sent, one per asked
    thread: tuple[Message, ...]  # every message but the inquiry forms, in signed order
    requests: tuple[SignedRequest, ...]  # from the signed steps, for the parties above only
    problems: tuple[StepProblem, ...]
    hub_disagrees: bool  # the hub said otherwise about the case or one of its messages
    may_close_not_moved: bool  # the signed chains allow closing without a move now
    # The counterparts of threads where a message names one this inbox never got: withheld.
    missing_in_thread: tuple[str, ...] = ()


def verified_case(
    kept_view: dict[str, Any], envelopes: Sequence[StoredEnvelope], *, me: str
) -> VerifiedCase | None:
    """The case from its verified envelopes and the requests its signed steps prove (the kept
    view, hub.inbox.casebook); None when no verified inquiry is among `envelopes`."""
    firsts = [e for e in envelopes if e.kind in FIRST_KINDS and e.document is not None]
    parties = parties_of((e.sender, e.recipients) for e in firsts)
    shown = None if parties is None else parties.shown_to(me)
    if parties is None or shown is None:
        return None
    inquiries = [e for e in envelopes if e.kind == MessageKind.INQUIRY and e.document is not None]
    requests = tuple(
        SignedRequest(
            municipality=str(r["municipality"]),
            state=str(r["state"]),
            history=tuple(StepEvent(str(h["event"]), int(h["at"])) for h in r["history"]),
            allowed_events=tuple(str(a) for a in r.get("allowed_events", ())),
            broken=bool(r.get("broken")),
        )
        for r in kept_view["requests"]
        if r["municipality"] in shown
    )
    problems = tuple(StepProblem(str(p[0]), p[1], p[2]) for p in kept_view.get("problems", ()))
    return VerifiedCase(
        case_id=firsts[0].case_id,
        sender=parties.sender,
        asked=tuple(sorted(parties.asked)),
        mine=parties.sender == me,
        inquiry=_message(inquiries[0], me) if inquiries else None,
        inquiries_ours=tuple(_message(e, me) for e in inquiries if e.sender == me),
        # One inquiry envelope per asked municipality, the same form: shown once, above.
        # A REWRAP carries file keys for a successor (docs/protocol.md §6), nothing to read.
        thread=tuple(_message(e, me) for e in envelopes if e.kind not in _NOT_IN_THREAD),
        requests=requests,
        problems=problems,
        hub_disagrees=bool(kept_view.get("hub_disagrees"))
        or kept_view.get("from") != parties.sender
        or any(e.listing_mismatch for e in envelopes),
        may_close_not_moved=bool(kept_view.get("can_close_not_moved")),
        missing_in_thread=_missing_in_thread(envelopes, me),
    )


def _missing_in_thread(envelopes: Sequence[StoredEnvelope], me: str) -> tuple[str, ...]:
    """Whom we share a thread with in which a verified message names one we do not hold."""
    held = {e.message_id for e in envelopes}
    found = set()
    for envelope in envelopes:
        if any(m not in held for m in envelope.seen):
            others = {envelope.sender, *envelope.recipients} - {me}
            found |= others
    return tuple(sorted(found))


def _message(envelope: StoredEnvelope, me: str) -> Message:
    kind = MessageKind(envelope.kind)
    body: documents.Inquiry | documents.ThreadDocument | documents.Unreadable | None = None
    if envelope.document is not None:
        if kind == MessageKind.INQUIRY:
            body = documents.read_inquiry(envelope.document)
        else:
            body = documents.read_thread(envelope.document)
    return Message(
        message_id=envelope.message_id,
        kind=kind,
        sender=envelope.sender,
        created_at=envelope.created_at,
        hub_received_at=envelope.hub_received_at,
        ours=envelope.sender == me,
        listing_mismatch=envelope.listing_mismatch,
        body=body,
        error=envelope.error,
        attachments=envelope.attachments,
    )

"""The case lifecycle: one table of (role, state, event) -> state, and the rules of a case.

Two rules for this file, as in h11's `_state.py`:

1. Everything that decides whether an action is allowed lives here: the `TRANSITIONS` table for
   one request, and `Case` for the few rules that span the requests of one case.
2. It knows nothing of who calls or when. Every step is a person's: the hub and the agents
   map the signer of a step (hub.crypto.steps) to a `Role` (the case's own municipality is
   SENDER, the asked one RECEIVER; the hub itself takes no step); times are integer Unix
   seconds passed in. No I/O, no clock, no storage. The hub orders the steps; each agent
   replays the same table over the verified chains (hub.protocol.chain).

A case (ärende) belongs to the sending municipality A. It asks municipalities B one request
each. A request starts in the pseudo-state NOT_ASKED (never stored: it is what "no request for
this municipality yet" looks like), so that asking is an ordinary row of the table:

    not_asked --send_pre_inquiry--> pre_inquiry_sent --pre_inquiry_yes--> pre_inquiry_positive
                                                     --pre_inquiry_no---> pre_inquiry_negative
    not_asked | pre_inquiry_positive --send_inquiry--> sent --deliver--> delivered
    delivered --read_receipt--> read;  delivered | read --accept--> accepted | --decline--> declined
    accepted --confirm--> confirmed | --decline_offer--> offer_declined
    confirmed --record_move--> moved --record_follow_up--> followed_up --close--> closed
    withdrawn, closed_elsewhere: from every open state before confirmed
    cancelled: from accepted or confirmed, by A or B

deliver and read_receipt are B's signed steps: B's inbox signs deliver when it has fetched and
verified the inquiry, read_receipt when a person opens it.

`scripts/draw_state_machines.py` draws the table (docs/state-machines/request.dot).

Choices where the sources leave room (domain.md, "The course of a case"):

- Pre-inquiry (förhandsförfrågan). A short first question with no answer clock and no
  delivered/read states: its receipts are shown by the inbox but do not move the lifecycle.
  Only a positive answer lets A send the formal inquiry to that municipality; a negative one is
  final, because a municipality is asked at most once per case.
- B answers only what its inbox has received: accept and decline are allowed from delivered or
  read, never from sent. A read receipt moves delivered -> read only; a repeated or late receipt
  is recorded by the server as a receipt, not as a change of state.
- A decline carries a reason category, "quota_reached" or "insufficient_resources"
  (Västmanland's allowed grounds). Housing shortage is not a valid ground and is refused with
  its own code. The category is routing metadata for statistics; B's written motivation travels
  encrypted in the answer envelope and never reaches this module.
- Details are whitelisted per event (decline: `reason`; record_move: `moving_date`, a date,
  from which the financial-responsibility period and the follow-up month are counted). Any
  other detail is refused, so that free text cannot land in the hub's storage by mistake; error
  details name keys, never values.
- No clock ends a request. An answer that is late is derived from the deadlines wherever it is
  shown (hub.protocol.deadlines, the statistics' "unanswered"), counted from delivered, or
  from sent when B's inbox never fetches the inquiry, so a silent municipality cannot stall a
  case unseen: A may withdraw and ask another. A's two weeks to answer an offer and the
  follow-up month are reminders and escalations too: a clock must not throw away a housing
  offer, and a step no person signed cannot be part of a signed chain.
- From accepted, A has three ways out that mean different things in the follow-up statistics:
  decline_offer (the offer is not taken), withdraw (A gives up the inquiry) and cancel
  (circumstances make the move impossible). B's way out after accepting is cancel. Nobody may
  cancel after the move: responsibility has passed to B, and a leaked address is a new case.
- At most one request of a case is ever confirmed. A confirms in one all-or-nothing batch
  (`Case.apply_batch`): closed_elsewhere for every other open request, each signed by A, then
  the confirm; each B is told at once, and from then on the case asks no one new. If the
  confirmed request is later cancelled, the case cannot confirm another municipality: A closes
  it as not moved and opens a new case, so each case's outcome report tells one story.
- The limit on open requests (default 3, a network setting) counts every open request,
  pre-inquiries included: the sources speak of contacting 1-3 municipalities at a time.
  Requests may be added later as others end.
- The case ends either when its confirmed request is closed (outcome: moved) or when A closes it
  as not moved: one batch of a withdraw for every open request, then close_not_moved, a step
  on the case itself (its "request" is the sender's own id). That is refused while a request
  is confirmed, moved or followed up (cancel it or see it through first). After the end
  nothing more happens in the case.
- closed_elsewhere only comes in a batch with the confirm of another request; alone it is
  refused. A municipality cannot be asked in its own case.
- `at` is stored as given; ordering events in time is the server's job.

Checks run in a fixed order: the case is still open, the municipality is not the sender's own,
the event is not case-driven, the table allows (role, state, event) (a start event for a
municipality already asked is reported as such), a new request fits within the limit and the
case has no confirmed request, and last the event's details. The first that fails raises
`LifecycleError`; nothing changes. A failure of the state kind carries error_status_hint 409, a
failure of the details 422.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from hub.errors import LifecycleError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence


class Role(enum.StrEnum):
    SENDER = "sender"  # A: the sending municipality's contact person, who owns the case
    RECEIVER = "receiver"  # B: the contact person of the municipality this request asks


class RequestState(enum.StrEnum):
    NOT_ASKED = "not_asked"  # pseudo-state: no request for this municipality yet; never stored
    PRE_INQUIRY_SENT = "pre_inquiry_sent"
    PRE_INQUIRY_POSITIVE = "pre_inquiry_positive"
    PRE_INQUIRY_NEGATIVE = "pre_inquiry_negative"
    SENT = "sent"
    DELIVERED = "delivered"  # B's inbox has the inquiry; the answer clock runs from here
    READ = "read"  # B's signed read receipt
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CONFIRMED = "confirmed"
    OFFER_DECLINED = "offer_declined"
    WITHDRAWN = "withdrawn"
    CLOSED_ELSEWHERE = "closed_elsewhere"
    CANCELLED = "cancelled"
    MOVED = "moved"
    FOLLOWED_UP = "followed_up"
    CLOSED = "closed"


class Event(enum.StrEnum):
    SEND_PRE_INQUIRY = "send_pre_inquiry"
    PRE_INQUIRY_YES = "pre_inquiry_yes"
    PRE_INQUIRY_NO = "pre_inquiry_no"
    SEND_INQUIRY = "send_inquiry"
    DELIVER = "deliver"
    READ_RECEIPT = "read_receipt"
    ACCEPT = "accept"
    DECLINE = "decline"
    CONFIRM = "confirm"
    DECLINE_OFFER = "decline_offer"
    WITHDRAW = "withdraw"
    CLOSE_ELSEWHERE = "close_elsewhere"
    CANCEL = "cancel"
    RECORD_MOVE = "record_move"
    RECORD_FOLLOW_UP = "record_follow_up"
    CLOSE = "close"
    CLOSE_NOT_MOVED = "close_not_moved"  # on the case itself, after withdrawing every request


class DeclineReason(enum.StrEnum):
    QUOTA_REACHED = "quota_reached"  # the agreed number of cases has been received
    INSUFFICIENT_RESOURCES = "insufficient_resources"  # internal resources cannot meet the need


class Outcome(enum.StrEnum):
    MOVED = "moved"
    NOT_MOVED = "not_moved"


MAX_OPEN_REQUESTS: Final = 3

_S = RequestState
_BEFORE_CONFIRMATION: Final = (
    _S.PRE_INQUIRY_SENT,
    _S.PRE_INQUIRY_POSITIVE,
    _S.SENT,
    _S.DELIVERED,
    _S.READ,
    _S.ACCEPTED,
)
_RECEIVED: Final = (_S.DELIVERED, _S.READ)
_AGREED: Final = (_S.ACCEPTED, _S.CONFIRMED)
_A, _B = Role.SENDER, Role.RECEIVER

# THE table: every allowed (role, state, event) and the state it leads to. Nothing else moves a
# request. Read it by blocks; a state with no row is terminal.
TRANSITIONS: Final[Mapping[tuple[Role, RequestState, Event], RequestState]] = MappingProxyType(
    {
        # asking, optionally with a pre-inquiry first
        (_A, _S.NOT_ASKED, Event.SEND_PRE_INQUIRY): _S.PRE_INQUIRY_SENT,
        (_B, _S.PRE_INQUIRY_SENT, Event.PRE_INQUIRY_YES): _S.PRE_INQUIRY_POSITIVE,
        (_B, _S.PRE_INQUIRY_SENT, Event.PRE_INQUIRY_NO): _S.PRE_INQUIRY_NEGATIVE,
        (_A, _S.NOT_ASKED, Event.SEND_INQUIRY): _S.SENT,
        (_A, _S.PRE_INQUIRY_POSITIVE, Event.SEND_INQUIRY): _S.SENT,
        # the formal inquiry reaches B, who answers
        (_B, _S.SENT, Event.DELIVER): _S.DELIVERED,
        (_B, _S.DELIVERED, Event.READ_RECEIPT): _S.READ,
        **{(_B, s, Event.ACCEPT): _S.ACCEPTED for s in _RECEIVED},
        **{(_B, s, Event.DECLINE): _S.DECLINED for s in _RECEIVED},
        # A answers the offer
        (_A, _S.ACCEPTED, Event.CONFIRM): _S.CONFIRMED,
        (_A, _S.ACCEPTED, Event.DECLINE_OFFER): _S.OFFER_DECLINED,
        # ways out before an agreement: A withdraws, or A confirmed another municipality
        **{(_A, s, Event.WITHDRAW): _S.WITHDRAWN for s in _BEFORE_CONFIRMATION},
        **{(_A, s, Event.CLOSE_ELSEWHERE): _S.CLOSED_ELSEWHERE for s in _BEFORE_CONFIRMATION},
        # after a yes, circumstances make the move impossible: either side cancels
        **{(r, s, Event.CANCEL): _S.CANCELLED for r in (_A, _B) for s in _AGREED},
        # the move, the follow-up meeting, the outcome report
        **{(r, _S.CONFIRMED, Event.RECORD_MOVE): _S.MOVED for r in (_A, _B)},
        **{(r, _S.MOVED, Event.RECORD_FOLLOW_UP): _S.FOLLOWED_UP for r in (_A, _B)},
        (_A, _S.FOLLOWED_UP, Event.CLOSE): _S.CLOSED,
    }
)

TERMINAL_STATES: Final = frozenset(
    {
        _S.PRE_INQUIRY_NEGATIVE,
        _S.DECLINED,
        _S.OFFER_DECLINED,
        _S.WITHDRAWN,
        _S.CLOSED_ELSEWHERE,
        _S.CANCELLED,
        _S.CLOSED,
    }
)
# Events that only come in a batch (Case.apply_batch): closing the others with a confirm.
CASE_DRIVEN_EVENTS: Final = frozenset({Event.CLOSE_ELSEWHERE})
# States the case's one agreed request can be in while the case is still running.
_AGREED_RUNNING: Final = frozenset({_S.CONFIRMED, _S.MOVED, _S.FOLLOWED_UP})


def next_state(role: Role, state: RequestState, event: Event) -> RequestState:
    """The state `event` by `role` leads to from `state`, or LifecycleError (409)."""
    try:
        return TRANSITIONS[(role, state, event)]
    except KeyError:
        raise LifecycleError("transition_invalid", role=role, state=state, event=event) from None


def allowed_events(role: Role, state: RequestState) -> list[Event]:
    """The events `role` may apply in `state`, in the order of `Event`."""
    return [e for e in Event if (role, state, e) in TRANSITIONS]


def is_terminal(state: RequestState) -> bool:
    return state in TERMINAL_STATES


def is_open(state: RequestState) -> bool:
    """A request that exists and can still change (NOT_ASKED is no request at all)."""
    return state is not RequestState.NOT_ASKED and state not in TERMINAL_STATES


@dataclass(frozen=True)
class HistoryEntry:
    event: Event
    role: Role
    at: int  # Unix seconds, as the caller passed them
    state: RequestState  # the state the event led to
    reason: DeclineReason | None = None  # decline only
    moving_date: date | None = None  # record_move only
    follow_up_date: date | None = None  # record_follow_up, when the meeting was held


@dataclass(frozen=True)
class Request:
    """One asked municipality within a case."""

    municipality: str
    state: RequestState
    history: tuple[HistoryEntry, ...] = ()

    @property
    def is_open(self) -> bool:
        return is_open(self.state)

    @property
    def ever_confirmed(self) -> bool:
        return any(h.state is RequestState.CONFIRMED for h in self.history)

    def advance(
        self, role: Role, event: Event, at: int, details: Mapping[str, object] | None = None
    ) -> Request:
        """This request one step on by the table alone, its details checked (the case's own
        rules are `Case.apply_batch`'s): how an agent replays a verified chain. LifecycleError
        when the table or the details refuse."""
        checked = _check_details(role, self.state, event, details or {})
        moved, _effects = _step(self, role, event, at, checked)
        return moved

    def entered_at(self, state: RequestState) -> int | None:
        """When the request last entered `state` (the deadline clock reads this)."""
        return next((h.at for h in reversed(self.history) if h.state is state), None)


@dataclass(frozen=True)
class StateChanged:
    """Store it: `municipality`'s request went from `old` to `new`."""

    municipality: str
    event: Event
    role: Role
    old: RequestState
    new: RequestState
    at: int


@dataclass(frozen=True)
class NotifyCounterpart:
    """Tell one side of the request (`to`) that `event` happened. Content-free, as always."""

    municipality: str
    event: Event
    to: Role


@dataclass(frozen=True)
class RequestClosed:
    """The request reached a terminal state (`reason`): stop its clocks."""

    municipality: str
    reason: RequestState


@dataclass(frozen=True)
class CaseClosed:
    """The case has ended: ask A for the outcome report."""

    outcome: Outcome
    at: int


Effect = StateChanged | NotifyCounterpart | RequestClosed | CaseClosed


@dataclass(frozen=True)
class Action:
    """One step to apply: `role` does `event` on `municipality`'s request at `at`."""

    role: Role
    municipality: str  # the request's; the case's sender for close_not_moved
    event: Event
    at: int
    details: Mapping[str, object] = field(default_factory=dict)


_REASONS: Final = frozenset(r.value for r in DeclineReason)
_DETAILS: Final[Mapping[Event, frozenset[str]]] = MappingProxyType(
    {
        Event.DECLINE: frozenset({"reason"}),
        Event.RECORD_MOVE: frozenset({"moving_date"}),
        Event.RECORD_FOLLOW_UP: frozenset({"follow_up_date"}),
    }
)


def _told(role: Role) -> Role:
    """Whoever acts, the other side of the request hears of it."""
    return Role.RECEIVER if role is Role.SENDER else Role.SENDER


@dataclass(frozen=True)
class _Details:
    reason: DeclineReason | None = None
    moving_date: date | None = None
    follow_up_date: date | None = None


def _step(
    request: Request, role: Role, event: Event, at: int, details: _Details = _Details()
) -> tuple[Request, list[Effect]]:
    """Move one request by the table and say what follows from it (details already checked)."""
    new = next_state(role, request.state, event)
    entry = HistoryEntry(
        event, role, at, new, details.reason, details.moving_date, details.follow_up_date
    )
    moved = replace(request, state=new, history=(*request.history, entry))
    m = request.municipality
    effects: list[Effect] = [StateChanged(m, event, role, request.state, new, at)]
    effects.append(NotifyCounterpart(m, event, _told(role)))
    if new in TERMINAL_STATES:
        effects.append(RequestClosed(m, new))
    return moved, effects


@dataclass(frozen=True)
class Case:
    """A case (ärende) of sending municipality `sender`, with its requests in asking order.

    Immutable: `apply` and `close_not_moved` return a new Case and the effects for the server.
    """

    case_id: str
    sender: str
    requests: tuple[Request, ...] = ()
    max_open_requests: int = MAX_OPEN_REQUESTS
    outcome: Outcome | None = None
    closed_at: int | None = None

    def __post_init__(self) -> None:
        # A Case rebuilt from storage must satisfy what `apply` keeps true.
        names = [r.municipality for r in self.requests]
        agreed = [r for r in self.requests if r.ever_confirmed]
        moved = any(r.state is RequestState.CLOSED for r in self.requests)
        broken = (
            (self.max_open_requests < 1, "max_open_requests must be at least 1"),
            (len(set(names)) != len(names), "a municipality appears twice in one case"),
            (self.sender in names, "a case cannot ask its own municipality"),
            (
                any(r.state is RequestState.NOT_ASKED for r in self.requests),
                "not_asked is never stored",
            ),
            (
                any(r.history and r.history[-1].state is not r.state for r in self.requests),
                "a request's state differs from its last history entry",
            ),
            (len(agreed) > 1, "more than one request of a case was confirmed"),
            (
                bool(agreed) and any(r.is_open for r in self.requests if r not in agreed),
                "a case with a confirmed request has other open requests",
            ),
            ((self.outcome is None) != (self.closed_at is None), "outcome needs closed_at"),
            (moved != (self.outcome is Outcome.MOVED), "outcome moved needs a closed request"),
            (
                self.outcome is Outcome.NOT_MOVED and bool(self.open_requests),
                "a case closed as not moved has open requests",
            ),
        )
        for failed, problem in broken:
            if failed:
                raise ValueError(problem)

    # -- reading ---------------------------------------------------------------------------

    @property
    def is_closed(self) -> bool:
        return self.outcome is not None

    @property
    def open_requests(self) -> tuple[Request, ...]:
        return tuple(r for r in self.requests if r.is_open)

    @property
    def agreed_request(self) -> Request | None:
        """The one request that was ever confirmed, if any."""
        return next((r for r in self.requests if r.ever_confirmed), None)

    def request(self, municipality: str) -> Request | None:
        return next((r for r in self.requests if r.municipality == municipality), None)

    def state_of(self, municipality: str) -> RequestState:
        request = self.request(municipality)
        return RequestState.NOT_ASKED if request is None else request.state

    def allowed_events(self, role: Role, municipality: str) -> list[Event]:
        """What `role` may do now on `municipality`'s request, the case's rules included."""
        state = self.state_of(municipality)
        return [
            e for e in allowed_events(role, state) if self._refusal(role, municipality, e) is None
        ]

    def can_close_not_moved(self, role: Role) -> bool:
        return self._close_refusal(role) is None

    # -- changing --------------------------------------------------------------------------

    def apply(
        self, role: Role, municipality: str, event: Event, at: int, **details: object
    ) -> tuple[Case, list[Effect]]:
        """Apply `event` by `role` to `municipality`'s request at time `at`.

        Returns the new Case and what the server must do about it; raises LifecycleError and
        changes nothing when the rules refuse. A confirm while other requests are open, and
        closing the case, come only as a batch (`apply_batch`).
        """
        return self.apply_batch([Action(role, municipality, event, at, details)])

    def apply_batch(self, actions: Sequence[Action]) -> tuple[Case, list[Effect]]:
        """Apply steps that stand or fall together: one step alone; or closed_elsewhere for
        every other open request, then the confirm; or a withdraw for every open request, then
        close_not_moved. LifecycleError (case_batch_invalid for any other shape) and nothing
        changes when a rule refuses any of them."""
        if not actions:
            raise ValueError("a batch has at least one step")
        *leading, last = actions
        if last.event is Event.CLOSE_NOT_MOVED:
            return self._close_batch(leading, last)
        if last.event is Event.CONFIRM and leading:
            self._check_closing(leading, last, Event.CLOSE_ELSEWHERE, skip=last.municipality)
            case, effects = self, []
            for action in leading:
                case, done = case._apply(action, batched=True)
                effects += done
            case, done = case._apply(last)  # noqa: SLF001 - same class
            return case, effects + done
        if leading:
            raise self._batch_error(last, "one step only")
        return self._apply(last)

    def close_not_moved(self, role: Role, at: int) -> tuple[Case, list[Effect]]:
        """A ends the case without a move: every open request is withdrawn (B told)."""
        return self.apply_batch(self.close_not_moved_batch(at, role=role))

    def batch_for(
        self,
        role: Role,
        municipality: str,
        event: Event,
        at: int,
        details: Mapping[str, object] | None = None,
    ) -> list[Action]:
        """The steps a person's one action takes: a confirm with closing the others, closing
        without a move with withdrawing every open request, else the one step."""
        if event is Event.CLOSE_NOT_MOVED:
            return self.close_not_moved_batch(at, role=role)
        if event is Event.CONFIRM:
            return self.confirm_batch(municipality, at)
        return [Action(role, municipality, event, at, dict(details or {}))]

    def confirm_batch(self, municipality: str, at: int) -> list[Action]:
        """What A signs to confirm `municipality`: closed elsewhere for every other open
        request, then the confirm (`apply_batch` takes exactly this)."""
        others = [r.municipality for r in self.open_requests if r.municipality != municipality]
        closing = [Action(Role.SENDER, m, Event.CLOSE_ELSEWHERE, at) for m in others]
        return [*closing, Action(Role.SENDER, municipality, Event.CONFIRM, at)]

    def close_not_moved_batch(self, at: int, *, role: Role = Role.SENDER) -> list[Action]:
        """What A signs to close the case without a move: a withdraw for every open request,
        then close_not_moved on the case itself."""
        withdraw = [Action(role, r.municipality, Event.WITHDRAW, at) for r in self.open_requests]
        return [*withdraw, Action(role, self.sender, Event.CLOSE_NOT_MOVED, at)]

    def _close_batch(self, leading: Sequence[Action], last: Action) -> tuple[Case, list[Effect]]:
        refusal = self._close_refusal(last.role)
        if refusal is None and last.municipality != self.sender:
            refusal = self._batch_error(last, "close_not_moved names the case")
        if refusal is None and last.details:
            refusal = LifecycleError(
                "event_details_invalid",
                role=last.role,
                state=RequestState.NOT_ASKED,
                event=last.event,
                detail=f"unexpected: {_names(last.details)}",
            )
        if refusal is not None:
            raise refusal
        self._check_closing(leading, last, Event.WITHDRAW, skip=None)
        case, effects = self, []
        for action in leading:
            case, done = case._apply(action)
            effects += done
        effects.append(CaseClosed(Outcome.NOT_MOVED, last.at))
        return replace(case, outcome=Outcome.NOT_MOVED, closed_at=last.at), effects

    def _check_closing(
        self, leading: Sequence[Action], last: Action, event: Event, *, skip: str | None
    ) -> None:
        """`leading` is `event` by the sender for exactly every open request but `skip`."""
        wanted = {r.municipality for r in self.open_requests if r.municipality != skip}
        named = [a.municipality for a in leading]
        if (
            any(a.event is not event or a.role is not last.role for a in leading)
            or len(set(named)) != len(named)
            or set(named) != wanted
        ):
            raise self._batch_error(
                last, f"needs {event.value} for every other open request, and nothing else"
            )

    def _batch_error(self, last: Action, detail: str) -> LifecycleError:
        state = self.state_of(last.municipality) if last.municipality != self.sender else None
        return LifecycleError(
            "case_batch_invalid",
            role=last.role,
            state=state or RequestState.NOT_ASKED,
            event=last.event,
            detail=detail,
        )

    def _apply(self, action: Action, *, batched: bool = False) -> tuple[Case, list[Effect]]:
        role, municipality, event, at = action.role, action.municipality, action.event, action.at
        refusal = self._refusal(role, municipality, event, batched=batched)
        if refusal is not None:
            raise refusal
        checked = _check_details(role, self.state_of(municipality), event, action.details)
        old = self.request(municipality)
        request, effects = _step(
            old or Request(municipality, RequestState.NOT_ASKED), role, event, at, checked
        )
        if old is None:
            requests = (*self.requests, request)
        else:
            requests = _replaced(self.requests, {old: request})
        if request.state is RequestState.CONFIRMED and any(
            r.is_open for r in requests if r.municipality != municipality
        ):
            raise LifecycleError(
                "case_others_open",
                role=role,
                state=old.state if old else RequestState.NOT_ASKED,
                event=event,
                detail="close the other open requests in the same batch",
            )
        if request.state is RequestState.CLOSED:
            effects.append(CaseClosed(Outcome.MOVED, at))
            return replace(self, requests=requests, outcome=Outcome.MOVED, closed_at=at), effects
        return replace(self, requests=requests), effects

    # -- the case's own rules ---------------------------------------------------------------

    def _refusal(  # noqa: PLR0911 - one guard per rule, in the order the docstring gives
        self, role: Role, municipality: str, event: Event, *, batched: bool = False
    ) -> LifecycleError | None:
        state = self.state_of(municipality)

        def refuse(code: str, detail: str | None = None) -> LifecycleError:
            return LifecycleError(code, role=role, state=state, event=event, detail=detail)

        if self.is_closed:
            return refuse("transition_invalid", "the case is closed")
        if municipality == self.sender:
            return refuse("case_own_municipality")
        if (role, state, event) not in TRANSITIONS:
            starts = (role, RequestState.NOT_ASKED, event) in TRANSITIONS
            if starts and state is not RequestState.NOT_ASKED:
                return refuse("case_municipality_already_asked")
            return refuse("transition_invalid")
        if event in CASE_DRIVEN_EVENTS and not batched:
            return refuse("case_batch_invalid", "only with the confirm of another request")
        if state is RequestState.NOT_ASKED:
            if self.agreed_request is not None:
                return refuse("transition_invalid", "the case has already confirmed a request")
            if len(self.open_requests) >= self.max_open_requests:
                return refuse(
                    "case_too_many_requests",
                    f"{len(self.open_requests)} open, at most {self.max_open_requests}",
                )
        return None

    def _close_refusal(self, role: Role) -> LifecycleError | None:
        running = next((r for r in self.requests if r.state in _AGREED_RUNNING), None)
        detail = None
        if self.is_closed:
            detail = "the case is closed"
        elif running is not None:
            detail = "a confirmed request must be cancelled or completed first"
        elif role is not Role.SENDER:
            detail = "only the sending municipality closes its case"
        if detail is None:
            return None
        last = self.requests[-1].state if self.requests else RequestState.NOT_ASKED
        state = running.state if running is not None else last
        return LifecycleError(
            "transition_invalid", role=role, state=state, event=Event.WITHDRAW, detail=detail
        )


def _replaced(
    requests: tuple[Request, ...], changes: Mapping[Request, Request]
) -> tuple[Request, ...]:
    return tuple(changes.get(r, r) for r in requests)


def _check_details(
    role: Role, state: RequestState, event: Event, details: Mapping[str, object]
) -> _Details:
    """The event's details, checked and normalised, or LifecycleError (422).

    Error details name keys, never values: a value might be text the hub must not keep.
    """

    def refuse(code: str, detail: str | None = None) -> LifecycleError:
        return LifecycleError(code, role=role, state=state, event=event, detail=detail)

    allowed = _DETAILS.get(event, frozenset())
    unexpected = sorted(set(details) - allowed)
    if unexpected:
        raise refuse("event_details_invalid", f"unexpected: {_names(unexpected)}")
    if event is Event.DECLINE:
        reason = details.get("reason")
        if not isinstance(reason, str) or reason not in _REASONS:
            raise refuse("decline_reason_invalid")
        return _Details(reason=DeclineReason(reason))
    if event is Event.RECORD_MOVE:
        moving_date = _date(details.get("moving_date"))
        if moving_date is None:
            raise refuse("event_details_invalid", "moving_date must be a date")
        return _Details(moving_date=moving_date)
    if event is Event.RECORD_FOLLOW_UP and "follow_up_date" in details:
        follow_up_date = _date(details["follow_up_date"])
        if follow_up_date is None:
            raise refuse("event_details_invalid", "follow_up_date must be a date")
        return _Details(follow_up_date=follow_up_date)
    return _Details()


def _date(value: object) -> date | None:
    """A date, or its ISO spelling as a signed step carries it (YYYY-MM-DD); None otherwise."""
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    return None


def _names(keys: Iterable[str]) -> str:
    return ", ".join(k if k.isidentifier() and len(k) <= 40 else "?" for k in keys)

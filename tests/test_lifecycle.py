"""The case lifecycle (hub/protocol/lifecycle.py): the table, the case's rules, and invariants."""

from __future__ import annotations

import ast
import copy
import importlib.util
from collections import deque
from datetime import UTC, date, datetime
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from hub.errors import MESSAGES, LifecycleError
from hub.protocol import lifecycle
from hub.protocol.lifecycle import (
    CASE_DRIVEN_EVENTS,
    TERMINAL_STATES,
    TRANSITIONS,
    Case,
    CaseClosed,
    DeclineReason,
    Event,
    NotifyCounterpart,
    Outcome,
    Request,
    RequestClosed,
    RequestState,
    Role,
    StateChanged,
    allowed_events,
    is_open,
    next_state,
)

ROOT = Path(__file__).resolve().parent.parent
A, B = Role.SENDER, Role.RECEIVER
S = RequestState
E = Event
MOVING_DAY = date(2026, 5, 1)
STARTS = {E.SEND_PRE_INQUIRY, E.SEND_INQUIRY}
AGREED_OR_BEYOND = {S.CONFIRMED, S.MOVED, S.FOLLOWED_UP, S.CLOSED}
BEFORE_CONFIRMATION = [
    S.PRE_INQUIRY_SENT,
    S.PRE_INQUIRY_POSITIVE,
    S.SENT,
    S.DELIVERED,
    S.READ,
    S.ACCEPTED,
]


def good_details(event: Event) -> dict[str, object]:
    if event is E.DECLINE:
        return {"reason": DeclineReason.QUOTA_REACHED}
    if event is E.RECORD_MOVE:
        return {"moving_date": MOVING_DAY}
    return {}


def bad_details(event: Event) -> dict[str, object]:
    if event is E.DECLINE:
        return {"reason": "housing_shortage"}
    if event is E.RECORD_MOVE:
        return {}
    return {"motivation": "fritext som hubben aldrig får se"}


def _shortest_paths() -> dict[RequestState, list[tuple[Role, Event]]]:
    """From not_asked to every state by the table alone (case-driven edges left out)."""
    paths: dict[RequestState, list[tuple[Role, Event]]] = {S.NOT_ASKED: []}
    queue = deque([S.NOT_ASKED])
    while queue:
        state = queue.popleft()
        for (role, from_state, event), new in TRANSITIONS.items():
            if from_state is state and event not in CASE_DRIVEN_EVENTS and new not in paths:
                paths[new] = [*paths[state], (role, event)]
                queue.append(new)
    return paths


PATHS = _shortest_paths()


def drive(
    case: Case, municipality: str, steps: list[tuple[Role, Event]], at: int = 1000
) -> tuple[Case, list[object]]:
    effects: list[object] = []
    for i, (role, event) in enumerate(steps):
        case, done = case.apply(role, municipality, event, at + i, **good_details(event))
        effects += done
    return case, effects


def case_with(state: RequestState, municipality: str = "B") -> Case:
    """A fresh case whose request to `municipality` is in `state`, reached by real events."""
    case = Case("case-1", "A")
    if state is S.CLOSED_ELSEWHERE:
        case, _ = drive(case, municipality, PATHS[S.SENT])
        case, _ = drive(case, "C", PATHS[S.ACCEPTED])
        case, _ = case.apply_batch(case.confirm_batch("C", 2000))
        return case
    case, _ = drive(case, municipality, PATHS[state])
    return case


# -- the table ---------------------------------------------------------------------------------


def test_happy_path_with_pre_inquiry_ends_in_a_closed_case_that_moved():
    """A asks first, B says yes, the inquiry is read and accepted, A confirms, and the person
    moves, is followed up and the case closes with the outcome moved."""
    steps = [
        (A, E.SEND_PRE_INQUIRY),
        (B, E.PRE_INQUIRY_YES),
        (A, E.SEND_INQUIRY),
        (B, E.DELIVER),
        (B, E.READ_RECEIPT),
        (B, E.ACCEPT),
        (A, E.CONFIRM),
        (A, E.RECORD_MOVE),
        (B, E.RECORD_FOLLOW_UP),
        (A, E.CLOSE),
    ]
    case, effects = drive(Case("case-1", "A"), "B", steps)
    request = case.request("B")
    assert request is not None
    assert [h.state for h in request.history] == [
        S.PRE_INQUIRY_SENT,
        S.PRE_INQUIRY_POSITIVE,
        S.SENT,
        S.DELIVERED,
        S.READ,
        S.ACCEPTED,
        S.CONFIRMED,
        S.MOVED,
        S.FOLLOWED_UP,
        S.CLOSED,
    ]
    assert [(h.event, h.role, h.at) for h in request.history] == [
        (event, role, 1000 + i) for i, (role, event) in enumerate(steps)
    ]
    assert request.history[7].moving_date == MOVING_DAY
    assert request.entered_at(S.DELIVERED) == 1003
    assert request.entered_at(S.DECLINED) is None
    assert case.outcome is Outcome.MOVED
    assert case.closed_at == 1009
    assert effects[-2:] == [RequestClosed("B", S.CLOSED), CaseClosed(Outcome.MOVED, 1009)]


def test_formal_inquiry_may_be_accepted_without_a_read_receipt():
    """B can accept straight from delivered; the read receipt is optional."""
    case, effects = drive(Case("case-1", "A"), "B", [(A, E.SEND_INQUIRY), (B, E.DELIVER)])
    case, effects = case.apply(B, "B", E.ACCEPT, 2000)
    assert case.state_of("B") is S.ACCEPTED
    assert effects == [
        StateChanged("B", E.ACCEPT, B, S.DELIVERED, S.ACCEPTED, 2000),
        NotifyCounterpart("B", E.ACCEPT, A),
    ]


def test_receiver_cannot_answer_an_inquiry_its_inbox_has_not_received():
    """Accepting or declining while the inquiry is only sent is refused."""
    case = case_with(S.SENT)
    for event in (E.ACCEPT, E.DECLINE):
        with pytest.raises(LifecycleError) as info:
            case.apply(B, "B", event, 2000, **good_details(event))
        assert info.value.code == "transition_invalid"


def test_allowed_events_lists_exactly_the_table_rows():
    """The inbox's list of actions for a role and state is exactly what the table allows."""
    for role in Role:
        for state in RequestState:
            expected = [e for e in Event if (role, state, e) in TRANSITIONS]
            assert allowed_events(role, state) == expected
    assert allowed_events(B, S.DELIVERED) == [E.READ_RECEIPT, E.ACCEPT, E.DECLINE]
    assert allowed_events(A, S.NOT_ASKED) == [E.SEND_PRE_INQUIRY, E.SEND_INQUIRY]
    assert allowed_events(A, S.DECLINED) == []


def test_terminal_states_are_the_states_with_no_way_out():
    """The listed terminal states are exactly those no row leaves, and they are not open."""
    leaving = {state for (_, state, _) in TRANSITIONS}
    no_way_out = set(RequestState) - leaving
    assert no_way_out == TERMINAL_STATES
    listed = {
        S.PRE_INQUIRY_NEGATIVE,
        S.DECLINED,
        S.OFFER_DECLINED,
        S.WITHDRAWN,
        S.CLOSED_ELSEWHERE,
        S.CANCELLED,
        S.CLOSED,
    }
    assert listed == TERMINAL_STATES
    assert not is_open(S.NOT_ASKED)
    assert all(not is_open(s) for s in TERMINAL_STATES)
    assert all(is_open(s) for s in set(RequestState) - TERMINAL_STATES - {S.NOT_ASKED})


def test_every_state_is_reachable_and_nothing_leads_back_to_not_asked():
    """Every state can be reached from not_asked, and no event un-asks a municipality."""
    reachable = set(PATHS) | {S.CLOSED_ELSEWHERE}
    assert reachable == set(RequestState)
    assert S.NOT_ASKED not in TRANSITIONS.values()


@pytest.mark.parametrize("state", list(RequestState), ids=str)
def test_every_action_outside_the_table_is_refused_with_409_and_changes_nothing(state):
    """From each state, every (role, event) the table lacks is refused with 409, naming role,
    state and event, and the case stays exactly as it was."""
    case = case_with(state)
    before = copy.deepcopy(case)
    refused = 0
    for role in Role:
        for event in Event:
            if (role, state, event) in TRANSITIONS:
                continue
            refused += 1
            with pytest.raises(LifecycleError) as info:
                next_state(role, state, event)
            error = info.value
            assert (error.code, error.error_status_hint) == ("transition_invalid", 409)
            assert (error.role, error.state, error.event) == (role, state, event)
            assert error.message == MESSAGES["transition_invalid"]
            assert f"role {role}, state {state}, event {event}" in str(error)

            if event is E.CLOSE_NOT_MOVED:
                continue  # a step on the case, not on a request: its own tests below
            with pytest.raises(LifecycleError) as info:
                case.apply(role, "B", event, 5000, **good_details(event))
            already = role is A and event in STARTS and state is not S.NOT_ASKED
            expected = "case_municipality_already_asked" if already else "transition_invalid"
            if case.is_closed:
                expected = "transition_invalid"
            assert (info.value.code, info.value.error_status_hint) == (expected, 409)
            assert case == before
    assert refused > 0


def test_transition_error_speaks_swedish_to_the_contact_person():
    """The refusal a contact person reads is the Swedish sentence about the case's state."""
    with pytest.raises(LifecycleError) as info:
        next_state(A, S.SENT, E.CONFIRM)
    assert info.value.message == "Åtgärden går inte att utföra i ärendets nuvarande läge."


def test_close_elsewhere_cannot_be_applied_directly():
    """Only confirming another request closes a request elsewhere: alone, even signed by A,
    it is refused, and no role is offered it."""
    case = case_with(S.SENT)
    with pytest.raises(LifecycleError) as info:
        case.apply(A, "B", E.CLOSE_ELSEWHERE, 2000)
    assert info.value.code == "case_batch_invalid"
    assert not any(E.CLOSE_ELSEWHERE in case.allowed_events(r, "B") for r in Role)


def test_a_confirm_alone_is_refused_while_other_requests_are_open():
    """Confirming one municipality while another request is open is refused unless the same
    batch closes the other: the case never holds a confirmed request beside open ones."""
    case = Case("case-1", "A")
    case, _ = drive(case, "B", PATHS[S.ACCEPTED])
    case, _ = drive(case, "C", PATHS[S.SENT])
    with pytest.raises(LifecycleError) as info:
        case.apply(A, "B", E.CONFIRM, 4000)
    assert info.value.code == "case_others_open"
    half = [lifecycle.Action(A, "B", E.CONFIRM, 4000)]
    wrong = [lifecycle.Action(A, "C", E.WITHDRAW, 4000), *half]
    for batch in (half, wrong, [*case.confirm_batch("B", 4000), half[0]]):
        with pytest.raises(LifecycleError):
            case.apply_batch(batch)
    assert case.state_of("C") is S.SENT


# -- declines and details ----------------------------------------------------------------------


def test_housing_shortage_is_refused_as_a_reason_to_decline():
    """A decline citing housing shortage is refused with its own code saying that shortage is
    not a valid ground, and the request stays undecided."""
    case = case_with(S.READ)
    with pytest.raises(LifecycleError) as info:
        case.apply(B, "B", E.DECLINE, 2000, reason="housing_shortage")
    error = info.value
    assert error.code == "decline_reason_invalid"
    assert error.error_status_hint == 422
    assert "Bostadsbrist är inte ett godtagbart skäl" in error.message
    assert case.state_of("B") is S.READ


@pytest.mark.parametrize("details", [{}, {"reason": ""}, {"reason": 3}, {"reason": None}])
def test_decline_without_a_valid_reason_is_refused(details):
    """A decline with no reason, or one that is not a reason, is refused."""
    with pytest.raises(LifecycleError) as info:
        case_with(S.DELIVERED).apply(B, "B", E.DECLINE, 2000, **details)
    assert info.value.code == "decline_reason_invalid"


@pytest.mark.parametrize("reason", list(DeclineReason), ids=str)
def test_decline_with_an_allowed_reason_is_final_and_tells_the_sender(reason):
    """Declining for a full quota or lacking resources ends the request and A is told."""
    case, effects = case_with(S.DELIVERED).apply(B, "B", E.DECLINE, 2000, reason=reason.value)
    request = case.request("B")
    assert request is not None
    assert request.state is S.DECLINED
    assert request.history[-1].reason is reason
    assert NotifyCounterpart("B", E.DECLINE, A) in effects
    assert RequestClosed("B", S.DECLINED) in effects
    assert case.allowed_events(A, "B") == []


def test_free_text_details_are_refused_so_they_never_reach_storage():
    """An action carrying an unexpected detail, such as a written motivation, is refused, and
    the error names the key but never the text."""
    secret = "personen har skyddad identitet"
    with pytest.raises(LifecycleError) as info:
        case_with(S.DELIVERED).apply(
            B, "B", E.DECLINE, 2000, reason="quota_reached", motivation=secret
        )
    assert info.value.code == "event_details_invalid"
    assert info.value.error_status_hint == 422
    assert "motivation" in str(info.value)
    assert secret not in str(info.value)


@pytest.mark.parametrize(
    "details",
    [
        {},
        {"moving_date": "2026-5-1"},
        {"moving_date": "2026-02-30"},
        {"moving_date": datetime(2026, 5, 1, tzinfo=UTC)},
    ],
)
def test_recording_the_move_needs_a_moving_date(details):
    """The move is recorded only with a calendar date of moving (a date, or its ISO spelling
    as a signed step carries it)."""
    with pytest.raises(LifecycleError) as info:
        case_with(S.CONFIRMED).apply(B, "B", E.RECORD_MOVE, 2000, **details)
    assert info.value.code == "event_details_invalid"


# -- withdrawing, confirming, cancelling -------------------------------------------------------


@pytest.mark.parametrize("state", BEFORE_CONFIRMATION, ids=str)
def test_sender_can_withdraw_from_every_open_state_before_confirmation(state):
    """A can withdraw a request in any open state before confirming it, and B is told."""
    case, effects = case_with(state).apply(A, "B", E.WITHDRAW, 3000)
    assert case.state_of("B") is S.WITHDRAWN
    assert effects == [
        StateChanged("B", E.WITHDRAW, A, state, S.WITHDRAWN, 3000),
        NotifyCounterpart("B", E.WITHDRAW, B),
        RequestClosed("B", S.WITHDRAWN),
    ]


@pytest.mark.parametrize("state", [S.CONFIRMED, S.MOVED, S.FOLLOWED_UP], ids=str)
def test_withdrawing_after_confirmation_is_refused(state):
    """Once A has confirmed, the request can no longer be withdrawn."""
    with pytest.raises(LifecycleError) as info:
        case_with(state).apply(A, "B", E.WITHDRAW, 3000)
    assert info.value.code == "transition_invalid"


def test_confirming_one_request_closes_every_other_open_request():
    """When A confirms one municipality, every other open request closes at once and each of
    those municipalities is told; requests already ended stay as they were."""
    case = Case("case-1", "A")
    case, _ = drive(case, "E", PATHS[S.DECLINED])  # ended: no longer counts as open
    case, _ = drive(case, "B", PATHS[S.ACCEPTED])
    case, _ = drive(case, "C", PATHS[S.ACCEPTED])
    case, _ = drive(case, "D", PATHS[S.PRE_INQUIRY_POSITIVE])
    declined = case.request("E")
    case, effects = case.apply_batch(case.confirm_batch("B", 4000))
    assert case.state_of("B") is S.CONFIRMED
    assert case.state_of("C") is S.CLOSED_ELSEWHERE
    assert case.state_of("D") is S.CLOSED_ELSEWHERE
    assert case.request("E") == declined
    assert effects == [
        StateChanged("C", E.CLOSE_ELSEWHERE, A, S.ACCEPTED, S.CLOSED_ELSEWHERE, 4000),
        NotifyCounterpart("C", E.CLOSE_ELSEWHERE, B),
        RequestClosed("C", S.CLOSED_ELSEWHERE),
        StateChanged("D", E.CLOSE_ELSEWHERE, A, S.PRE_INQUIRY_POSITIVE, S.CLOSED_ELSEWHERE, 4000),
        NotifyCounterpart("D", E.CLOSE_ELSEWHERE, B),
        RequestClosed("D", S.CLOSED_ELSEWHERE),
        StateChanged("B", E.CONFIRM, A, S.ACCEPTED, S.CONFIRMED, 4000),
        NotifyCounterpart("B", E.CONFIRM, B),
    ]
    assert case.agreed_request == case.request("B")


def test_after_confirmation_no_new_municipality_can_be_asked():
    """A case with a confirmed request asks nobody new, even with room under the limit."""
    case = case_with(S.CONFIRMED)
    for event in STARTS:
        with pytest.raises(LifecycleError) as info:
            case.apply(A, "F", event, 5000)
        assert info.value.code == "transition_invalid"
    assert case.allowed_events(A, "F") == []


@pytest.mark.parametrize("state", [S.ACCEPTED, S.CONFIRMED], ids=str)
@pytest.mark.parametrize("role", [A, B], ids=str)
def test_either_side_can_cancel_after_acceptance_and_the_other_is_told(role, state):
    """After a yes, A or B can cancel when the move becomes impossible, and the other side is
    told."""
    case, effects = case_with(state).apply(role, "B", E.CANCEL, 6000)
    other = B if role is A else A
    assert case.state_of("B") is S.CANCELLED
    assert effects == [
        StateChanged("B", E.CANCEL, role, state, S.CANCELLED, 6000),
        NotifyCounterpart("B", E.CANCEL, other),
        RequestClosed("B", S.CANCELLED),
    ]


@pytest.mark.parametrize("state", [S.SENT, S.READ, S.MOVED, S.FOLLOWED_UP], ids=str)
def test_cancelling_is_refused_before_a_yes_or_after_the_move(state):
    """Cancel belongs between the yes and the move; elsewhere it is refused."""
    for role in (A, B):
        with pytest.raises(LifecycleError):
            case_with(state).apply(role, "B", E.CANCEL, 6000)


def test_a_cancelled_agreement_leaves_the_case_to_be_closed_not_moved():
    """After a confirmed request is cancelled, no other municipality can be confirmed or asked;
    A closes the case as not moved."""
    case, _ = case_with(S.CONFIRMED).apply(B, "B", E.CANCEL, 6000)
    with pytest.raises(LifecycleError):
        case.apply(A, "F", E.SEND_INQUIRY, 6001)
    case, effects = case.close_not_moved(A, 6002)
    assert case.outcome is Outcome.NOT_MOVED
    assert effects == [CaseClosed(Outcome.NOT_MOVED, 6002)]


def test_every_step_is_a_persons_and_no_clock_ends_a_request():
    """The table has a row only for the sender and the asked municipality, and no event ends
    a request for lack of an answer: a late answer is derived from the deadlines."""
    assert set(Role) == {A, B}
    assert {role for (role, _, _) in TRANSITIONS} == {A, B}
    assert "expire" not in {e.value for e in Event}
    assert "expired" not in {s.value for s in RequestState}


# -- the case's own rules ----------------------------------------------------------------------


def test_a_fourth_open_request_is_refused_until_one_ends():
    """With three open requests a fourth is refused; once one ends, another may be asked."""
    case = Case("case-1", "A")
    for m in ("B", "C", "D"):
        case, _ = case.apply(A, m, E.SEND_PRE_INQUIRY, 1000)
    for event in STARTS:
        with pytest.raises(LifecycleError) as info:
            case.apply(A, "E", event, 1001)
        assert (info.value.code, info.value.error_status_hint) == ("case_too_many_requests", 409)
    assert case.allowed_events(A, "E") == []
    case, _ = case.apply(B, "C", E.PRE_INQUIRY_NO, 1002)
    case, _ = case.apply(A, "E", E.SEND_INQUIRY, 1003)
    assert len(case.open_requests) == 3


def test_the_open_request_limit_is_a_setting():
    """A network with a limit of one open request refuses a second."""
    case, _ = Case("case-1", "A", max_open_requests=1).apply(A, "B", E.SEND_INQUIRY, 1000)
    with pytest.raises(LifecycleError) as info:
        case.apply(A, "C", E.SEND_INQUIRY, 1001)
    assert info.value.code == "case_too_many_requests"
    with pytest.raises(ValueError, match="at least 1"):
        Case("case-1", "A", max_open_requests=0)


@pytest.mark.parametrize(
    "state", [S.SENT, S.PRE_INQUIRY_SENT, S.PRE_INQUIRY_NEGATIVE, S.DECLINED], ids=str
)
def test_a_municipality_is_asked_at_most_once_per_case(state):
    """Asking a municipality again in the same case is refused, also after it said no."""
    case = case_with(state)
    for event in STARTS:
        with pytest.raises(LifecycleError) as info:
            case.apply(A, "B", event, 8000)
        assert (info.value.code, info.value.error_status_hint) == (
            "case_municipality_already_asked",
            409,
        )


def test_a_case_cannot_ask_its_own_municipality():
    """The sending municipality cannot send an inquiry to itself."""
    with pytest.raises(LifecycleError) as info:
        Case("case-1", "A").apply(A, "A", E.SEND_INQUIRY, 1000)
    assert (info.value.code, info.value.error_status_hint) == ("case_own_municipality", 422)


def test_closing_a_case_not_moved_withdraws_every_open_request():
    """A closes a case without a move: each open request is withdrawn and its municipality
    told, ended requests stay, and nothing more can happen in the case."""
    case = Case("case-1", "A")
    case, _ = drive(case, "B", PATHS[S.ACCEPTED])
    case, _ = drive(case, "C", PATHS[S.DECLINED])
    case, _ = drive(case, "D", PATHS[S.PRE_INQUIRY_SENT])
    assert case.can_close_not_moved(A)
    assert not case.can_close_not_moved(B)
    case, effects = case.close_not_moved(A, 9000)
    assert [case.state_of(m) for m in "BCD"] == [S.WITHDRAWN, S.DECLINED, S.WITHDRAWN]
    assert [e for e in effects if isinstance(e, NotifyCounterpart)] == [
        NotifyCounterpart("B", E.WITHDRAW, B),
        NotifyCounterpart("D", E.WITHDRAW, B),
    ]
    assert effects[-1] == CaseClosed(Outcome.NOT_MOVED, 9000)
    assert (case.outcome, case.closed_at) == (Outcome.NOT_MOVED, 9000)
    before = copy.deepcopy(case)
    with pytest.raises(LifecycleError):
        case.apply(A, "E", E.SEND_INQUIRY, 9001)
    with pytest.raises(LifecycleError):
        case.close_not_moved(A, 9002)
    assert case == before
    assert all(case.allowed_events(r, m) == [] for r in Role for m in "BCDE")


@pytest.mark.parametrize("state", [S.CONFIRMED, S.MOVED, S.FOLLOWED_UP], ids=str)
def test_a_case_with_a_confirmed_request_cannot_be_closed_not_moved(state):
    """While a confirmed request is running, closing the case as not moved is refused."""
    case = case_with(state)
    with pytest.raises(LifecycleError) as info:
        case.close_not_moved(A, 9000)
    assert (info.value.state, info.value.event) == (state, E.WITHDRAW)
    assert not case.can_close_not_moved(A)


def test_receiver_cannot_close_the_senders_case():
    """Only the sending municipality can close its case."""
    for case in (Case("case-1", "A"), case_with(S.SENT)):
        with pytest.raises(LifecycleError) as info:
            case.close_not_moved(B, 9000)
        assert info.value.code == "transition_invalid"


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"requests": (Request("B", S.SENT), Request("B", S.READ))}, "twice"),
        ({"requests": (Request("A", S.SENT),)}, "own"),
        ({"requests": (Request("B", S.NOT_ASKED),)}, "never stored"),
        ({"requests": (Request("B", S.CONFIRMED), Request("C", S.SENT))}, "other open"),
        ({"outcome": Outcome.NOT_MOVED}, "closed_at"),
        ({"outcome": Outcome.MOVED, "closed_at": 1}, "closed request"),
        (
            {"requests": (Request("B", S.SENT),), "outcome": Outcome.NOT_MOVED, "closed_at": 1},
            "open requests",
        ),
    ],
)
def test_a_case_rebuilt_from_storage_must_keep_the_rules(kwargs, problem):
    """A case loaded with inconsistent requests or outcome is rejected before it can be used."""
    confirmed = case_with(S.CONFIRMED).request("B")
    assert confirmed is not None
    fixed = {
        k: tuple(confirmed if r.state is S.CONFIRMED else r for r in v) if k == "requests" else v
        for k, v in kwargs.items()
    }
    with pytest.raises(ValueError, match=problem):
        Case("case-1", "A", **fixed)


def test_two_confirmations_in_stored_history_are_rejected():
    """A stored case whose history shows two confirmed municipalities is refused on load."""
    b = case_with(S.CONFIRMED, "B").request("B")
    c = case_with(S.CONFIRMED, "C").request("C")
    assert b is not None
    assert c is not None
    with pytest.raises(ValueError, match="more than one"):
        Case("case-1", "A", requests=(b, c))


# -- invariants over any sequence of events ----------------------------------------------------

MUNICIPALITIES = ("B1", "B2", "B3", "B4", "B5")
FORWARD = {
    E.SEND_PRE_INQUIRY,
    E.PRE_INQUIRY_YES,
    E.SEND_INQUIRY,
    E.DELIVER,
    E.READ_RECEIPT,
    E.ACCEPT,
    E.CONFIRM,
    E.RECORD_MOVE,
    E.RECORD_FOLLOW_UP,
    E.CLOSE,
}


class CaseMachine(RuleBasedStateMachine):
    """Random sequences of actions, valid and invalid, against one case."""

    def __init__(self) -> None:
        super().__init__()
        self.case = Case("case-1", "A")
        self.clock = 0
        self.terminal: dict[str, Request] = {}
        self.closed: Case | None = None

    def attempt(self, role: Role, municipality: str, event: Event, valid: bool) -> None:
        self.clock += 1
        details = good_details(event) if valid else bad_details(event)
        expected = valid and event in self.case.allowed_events(role, municipality)
        if event is E.CLOSE_NOT_MOVED:  # alone: a case with no open request, closed by A
            expected = (
                valid
                and municipality == "A"
                and self.case.can_close_not_moved(role)
                and not self.case.open_requests
            )
        before = copy.deepcopy(self.case)
        if not expected:
            with pytest.raises(LifecycleError) as info:
                self.case.apply(role, municipality, event, self.clock, **details)
            assert info.value.error_status_hint in {409, 422}
            assert self.case == before
            return
        if event is E.CONFIRM:  # A's agent signs the others' closing with it, as one batch
            case, effects = self.case.apply_batch(self.case.confirm_batch(municipality, self.clock))
        else:
            case, effects = self.case.apply(role, municipality, event, self.clock, **details)
        self.check_effects(before, case, effects)
        self.case = case

    def check_effects(self, before: Case, after: Case, effects: list[lifecycle.Effect]) -> None:
        changed = {r.municipality for r in after.requests if before.request(r.municipality) != r}
        state_changes = [e for e in effects if isinstance(e, StateChanged)]
        assert sorted(e.municipality for e in state_changes) == sorted(changed)
        for e in state_changes:
            assert before.state_of(e.municipality) is e.old
            assert after.state_of(e.municipality) is e.new
        closed = {e.municipality for e in effects if isinstance(e, RequestClosed)}
        assert closed == {m for m in changed if after.state_of(m) in TERMINAL_STATES}
        for e in effects:
            if isinstance(e, NotifyCounterpart):
                assert e.to in {A, B}

    @rule(data=st.data())
    def allowed_action(self, data: st.DataObject) -> None:
        """Any step the case allows now."""
        role = data.draw(st.sampled_from(list(Role)))
        municipality = data.draw(st.sampled_from(MUNICIPALITIES))
        events = self.case.allowed_events(role, municipality)
        if events:
            self.attempt(role, municipality, data.draw(st.sampled_from(events)), valid=True)

    @rule(data=st.data())
    def forward_action(self, data: st.DataObject) -> None:
        """A step towards the move, so that runs reach confirmed, moved and closed."""
        municipality = data.draw(st.sampled_from(MUNICIPALITIES))
        steps = [
            (role, event)
            for role in Role
            for event in self.case.allowed_events(role, municipality)
            if event in FORWARD
        ]
        if steps:
            role, event = data.draw(st.sampled_from(steps))
            self.attempt(role, municipality, event, valid=True)

    @rule(
        role=st.sampled_from(list(Role)),
        municipality=st.sampled_from((*MUNICIPALITIES, "A")),
        event=st.sampled_from(list(Event)),
        valid=st.booleans(),
    )
    def any_action(self, role: Role, municipality: str, event: Event, valid: bool) -> None:
        self.attempt(role, municipality, event, valid)

    @rule(role=st.sampled_from(list(Role)), when=st.integers(0, 20))
    def close_not_moved(self, role: Role, when: int) -> None:
        if when != 13:  # seldom (and not on a boundary value), so most runs get far first
            return
        before = copy.deepcopy(self.case)
        try:
            self.case, _ = self.case.close_not_moved(role, self.clock)
        except LifecycleError:
            assert self.case == before

    @invariant()
    def at_most_one_municipality_ever_reaches_confirmed(self) -> None:
        ever = [
            r for r in self.case.requests if any(h.state in AGREED_OR_BEYOND for h in r.history)
        ]
        assert len(ever) <= 1
        assert sum(r.state in AGREED_OR_BEYOND for r in self.case.requests) <= 1

    @invariant()
    def never_more_than_three_open_requests(self) -> None:
        assert len(self.case.open_requests) <= 3

    @invariant()
    def a_terminal_request_never_changes(self) -> None:
        for municipality, request in self.terminal.items():
            assert self.case.request(municipality) == request
        for request in self.case.requests:
            if request.state in TERMINAL_STATES:
                self.terminal.setdefault(request.municipality, request)

    @invariant()
    def a_closed_case_never_changes(self) -> None:
        if self.closed is not None:
            assert self.case == self.closed
        elif self.case.is_closed:
            self.closed = self.case

    @invariant()
    def the_case_still_loads(self) -> None:
        assert Case(**{f: getattr(self.case, f) for f in self.case.__dataclass_fields__})


CaseMachine.TestCase.settings = settings(
    max_examples=300,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCaseInvariants = CaseMachine.TestCase
TestCaseInvariants.__doc__ = (
    "No sequence of actions confirms two municipalities, opens a fourth request, changes an "
    "ended request or a closed case, or changes anything when refused."
)


def test_random_runs_reach_the_end_of_the_lifecycle():
    """The random runs are not shallow: mostly valid steps can take a request to closed."""
    case = Case("case-1", "A")
    for role, event in PATHS[S.CLOSED]:
        assert event in case.allowed_events(role, "B")
        case, _ = case.apply(role, "B", event, 1, **good_details(event))
    assert case.outcome is Outcome.MOVED


# -- purity and the diagram --------------------------------------------------------------------


def test_lifecycle_module_is_pure():
    """The lifecycle imports no I/O, clock or server library: only the standard types it needs
    and the project's errors."""
    tree = ast.parse(Path(lifecycle.__file__).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    allowed = {
        "__future__",
        "collections.abc",
        "dataclasses",
        "datetime",
        "enum",
        "types",
        "typing",
        "hub.errors",
    }
    assert imported <= allowed, imported - allowed


def _draw_script() -> ModuleType:
    path = ROOT / "scripts" / "draw_state_machines.py"
    spec = importlib.util.spec_from_file_location("draw_state_machines", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_diagram_matches_the_transition_table():
    """docs/state-machines/request.dot is exactly what the script draws from the table today."""
    script = _draw_script()
    for path, text in script.rendered().items():
        assert path.read_text(encoding="utf-8") == text, "run scripts/draw_state_machines.py"
    assert script.main(["--check"]) == 0


def test_diagram_has_one_labelled_edge_per_table_row():
    """Every row of the table appears in the diagram as "event (role)" on its edge."""
    dot = _draw_script().render_request()
    for (role, state, event), new in TRANSITIONS.items():
        edge = next(
            line
            for line in dot.splitlines()
            if line.strip().startswith(f"{state.value} -> {new.value} ")
            and f'label="{event.value} (' in line
        )
        assert role.value in edge

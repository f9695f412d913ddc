"""The case as the inbox keeps it (hub.inbox.case_state): a delivery's answer clock counts from
the earlier of its signed time and the hub's receive time plus the allowed skew, and a larger
difference is flagged; the hub's view decides nothing."""

from __future__ import annotations

import pytest

from hub.crypto.steps import make_step, step_digest
from hub.inbox.case_state import CLOCK_SKEW, kept_view
from hub.inbox.facts import Parties
from hub.protocol import wire
from hub.protocol.chain import derive
from tests.test_case_steps import CASE_ID, DIRECTORY, PEOPLE

T0 = 1_000_000


def _steps(delivered_at: int) -> list[dict[str, str]]:
    send = make_step(
        PEOPLE["A"],
        network="net",
        case_id=CASE_ID,
        case_sender="A",
        municipality="B",
        event="send_inquiry",
        parent=None,
        time=T0,
    )
    deliver = make_step(
        PEOPLE["B"],
        network="net",
        case_id=CASE_ID,
        case_sender="A",
        municipality="B",
        event="deliver",
        parent=step_digest(send),
        time=delivered_at,
    )
    return [send, deliver]


def _kept(delivered_at: int, hub_took_it_at: int, hub_state: str = "") -> dict:
    steps = _steps(delivered_at)
    derived = derive(CASE_ID, "A", steps, directory=DIRECTORY)
    hub_view = wire.CaseView(
        case_id=CASE_ID.hex(),
        sender="A",
        requests=[wire.RequestView(municipality="B", state=hub_state)],
    )
    received = {step_digest(steps[0]): T0, step_digest(steps[1]): hub_took_it_at}
    view = kept_view(
        derived, hub_view, Parties("A", frozenset({"B"})), me="A", received_at=received
    )
    assert view is not None
    return view


def _delivery(view: dict) -> dict:
    [request] = view["requests"]
    return next(h for h in request["history"] if h["event"] == "deliver")


@pytest.mark.parametrize(
    ("signed", "hub", "counted", "flagged"),
    [
        (T0 + 100, T0 + 100, T0 + 100, False),  # the clocks agree
        (T0 + 100, T0 + 100 + CLOCK_SKEW, T0 + 100, False),  # within the skew
        (T0 + 100, T0 + 9_000, T0 + 100, True),  # signed earlier than the hub took it
        (T0 + 9_000, T0 + 100, T0 + 100 + CLOCK_SKEW, True),  # a receiver dating it later
    ],
)
def test_the_answer_clock_counts_from_the_earlier_time_and_flags_a_skew(
    signed, hub, counted, flagged
):
    view = _kept(signed, hub)
    delivery = _delivery(view)
    assert delivery["at"] == counted
    assert delivery["signed_at"] == signed
    assert (["step_clock_skew", "B", None] in view["problems"]) is flagged


def test_the_hubs_state_is_compared_never_taken():
    """The hub says accepted; the chain proves delivered: the kept state is delivered, the
    actions are the delivered request's, and the case is flagged."""
    view = _kept(T0 + 100, T0 + 100, hub_state="accepted")
    [request] = view["requests"]
    assert request["state"] == "delivered"
    assert "confirm" not in request["allowed_events"]
    assert "withdraw" in request["allowed_events"]
    assert view["hub_disagrees"] is True
    assert _kept(T0 + 100, T0 + 100, hub_state="delivered")["hub_disagrees"] is False

""" "Att göra nu" (hub.inbox.next_step): the one next step of a case for this person, from the
signed states and the actions the lifecycle allows, and its deadline named."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from hub.inbox.next_step import REPORT_OUTCOME, TABLE, Asked, next_step
from hub.protocol.deadlines import Due, DueKind
from hub.protocol.lifecycle import RequestState, Role, allowed_events

A, B = Role.SENDER, Role.RECEIVER


def asked(municipality: str, state: str, *, mine: bool) -> Asked:
    """A request with the actions the lifecycle table allows our side in its state."""
    role = A if mine else B
    actions = tuple(e.value for e in allowed_events(role, RequestState(state)))
    return Asked(municipality, f"Kommun {municipality.upper()}", state, actions)


def due(kind: DueKind, municipality: str, day: str, *owed_by: Role) -> Due:
    when = datetime.fromisoformat(f"{day}T22:59:59+00:00").astimezone(UTC)
    return Due(kind, municipality, date.fromisoformat(day), when, None, owed_by)


ANSWER_B = due(DueKind.ANSWER, "b", "2026-12-21", B)
ANSWER_C = due(DueKind.ANSWER, "c", "2026-12-18", B)
OFFER_B = due(DueKind.OFFER_RESPONSE, "b", "2026-12-28", A)
FOLLOW_UP_B = due(DueKind.FOLLOW_UP, "b", "2027-01-15", A, B)
MONEY_B = due(DueKind.FINANCIAL_OVERLAP_END, "b", "2027-01-31", A)


@pytest.mark.parametrize(
    ("mine", "states", "dues", "text", "action", "target", "deadline"),
    [
        # the asked municipality
        (
            False,
            {"b": "pre_inquiry_sent"},
            [],
            "Svara ja eller nej på förhandsförfrågan från Kommun A",
            "pre_inquiry_yes",
            "b",
            None,
        ),
        (False, {"b": "sent"}, [], "Förfrågan från Kommun A hämtas till inkorgen", None, "b", None),
        (
            False,
            {"b": "delivered"},
            [ANSWER_B],
            "Svara på förfrågan från Kommun A",
            "accept",
            "b",
            "Svara senast 2026-12-21",
        ),
        (
            False,
            {"b": "read"},
            [ANSWER_B],
            "Svara på förfrågan från Kommun A",
            "accept",
            "b",
            "Svara senast 2026-12-21",
        ),
        (
            False,
            {"b": "accepted"},
            [OFFER_B],
            "Vänta på att Kommun A svarar på erbjudandet",
            None,
            "b",
            "Kommun A ska svara senast 2026-12-28",
        ),
        (
            False,
            {"b": "confirmed"},
            [],
            "Registrera flytten när personen har flyttat",
            "record_move",
            "b",
            None,
        ),
        (
            False,
            {"b": "moved"},
            [FOLLOW_UP_B, MONEY_B],
            "Håll uppföljningsmötet och registrera det",
            "record_follow_up",
            "b",
            "Uppföljningsmötet ska hållas senast 2027-01-15",
        ),
        (
            False,
            {"b": "followed_up"},
            [],
            "Vänta på att Kommun A avslutar ärendet",
            None,
            "b",
            None,
        ),
        (
            False,
            {"b": "declined"},
            [],
            "Ärendet är avslutat för er kommun. Inget mer att göra.",
            None,
            None,
            None,
        ),
        # the sender, one request
        (
            True,
            {"b": "pre_inquiry_sent"},
            [],
            "Vänta på svar på förhandsförfrågan från Kommun B",
            None,
            "b",
            None,
        ),
        (
            True,
            {"b": "pre_inquiry_positive"},
            [],
            "Skicka förfrågan till Kommun B, som svarade ja på förhandsförfrågan",
            "send_inquiry",
            "b",
            None,
        ),
        (True, {"b": "sent"}, [], "Vänta på svar från Kommun B", None, "b", None),
        (
            True,
            {"b": "delivered"},
            [ANSWER_B],
            "Vänta på svar från Kommun B",
            None,
            "b",
            "Kommun B ska svara senast 2026-12-21",
        ),
        (
            True,
            {"b": "accepted"},
            [OFFER_B],
            "Svara på erbjudandet från Kommun B",
            "confirm",
            "b",
            "Svara senast 2026-12-28",
        ),
        (
            True,
            {"b": "confirmed"},
            [],
            "Registrera flytten till Kommun B när personen har flyttat",
            "record_move",
            "b",
            None,
        ),
        (
            True,
            {"b": "moved"},
            [FOLLOW_UP_B, MONEY_B],
            "Håll uppföljningsmötet och registrera det",
            "record_follow_up",
            "b",
            "Uppföljningsmötet ska hållas senast 2027-01-15",
        ),
        (
            True,
            {"b": "followed_up"},
            [MONEY_B],
            "Avsluta ärendet och rapportera utfallet",
            "close",
            "b",
            None,
        ),
        # the sender, several requests: what asks something of us first, then the nearest
        (
            True,
            {"b": "delivered", "c": "delivered"},
            [ANSWER_B, ANSWER_C],
            "Vänta på svar från Kommun C",
            None,
            "c",
            "Kommun C ska svara senast 2026-12-18",
        ),
        (
            True,
            {"b": "accepted", "c": "delivered"},
            [OFFER_B, ANSWER_C],
            "Svara på erbjudandet från Kommun B",
            "confirm",
            "b",
            "Svara senast 2026-12-28",
        ),
        (
            True,
            {"b": "pre_inquiry_positive", "c": "pre_inquiry_sent"},
            [],
            "Skicka förfrågan till Kommun B, som svarade ja på förhandsförfrågan",
            "send_inquiry",
            "b",
            None,
        ),
        (
            True,
            {"b": "declined", "c": "pre_inquiry_negative"},
            [],
            "Ingen tillfrågad kommun kan ta emot personen. Avsluta ärendet utan flytt",
            "close_not_moved",
            None,
            None,
        ),
    ],
)
def test_the_next_step_and_its_deadline(  # noqa: PLR0917 - one table row
    mine, states, dues, text, action, target, deadline
):
    requests = [asked(m, s, mine=mine) for m, s in states.items()]
    ended = all(s in {"declined", "pre_inquiry_negative"} for s in states.values())
    step = next_step(
        mine=mine,
        sender_name="Kommun A",
        requests=requests,
        dues=dues,
        closed=False,
        report_filed=False,
        may_close_not_moved=mine and ended,
    )
    assert (step.text, step.action, step.target, step.deadline) == (text, action, target, deadline)


@pytest.mark.parametrize(
    ("mine", "filed", "text", "action"),
    [
        (True, False, "Rapportera utfallet", REPORT_OUTCOME),
        (True, True, "Ärendet är avslutat och utfallet är rapporterat.", None),
        (False, False, "Ärendet är avslutat. Inget mer att göra.", None),
    ],
)
def test_an_ended_case_asks_for_its_outcome_report_or_nothing(mine, filed, text, action):
    step = next_step(
        mine=mine,
        sender_name="Kommun A",
        requests=[asked("b", "closed", mine=mine)],
        dues=[],
        closed=True,
        report_filed=filed,
        may_close_not_moved=False,
    )
    assert (step.text, step.action) == (text, action)


def test_a_step_the_lifecycle_no_longer_allows_is_not_offered():
    """A request whose signed chain allows nothing now (say, a broken history) asks nothing:
    the page never offers a step the lifecycle would refuse."""
    stuck = Asked("b", "Kommun B", "accepted", ())
    step = next_step(
        mine=True,
        sender_name="Kommun A",
        requests=[stuck],
        dues=[OFFER_B],
        closed=False,
        report_filed=False,
        may_close_not_moved=False,
    )
    assert step.action is None


def test_every_action_the_table_names_is_one_the_lifecycle_offers_in_that_state():
    for (mine, state), row in TABLE.items():
        if row.action is not None:
            offered = {e.value for e in allowed_events(A if mine else B, RequestState(state))}
            assert row.action in offered, (mine, state, row.action)

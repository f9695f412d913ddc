"""Every date of a move says what it is (hub.inbox.case_dates): a future moving date reads
"Flyttar", a past one "Flyttade"; the follow-up meeting is held on its signed date or due by the
network's rule; the end of the sender's financial responsibility is named as such."""

from __future__ import annotations

from datetime import date

import pytest

from hub.inbox.case_dates import move_dates, moved_label
from hub.protocol.deadlines import NATIONAL, SwedishCalendar

MOVED = {"event": "record_move", "state": "moved", "moving_date": "2026-12-15"}
FOLLOWED = {"event": "record_follow_up", "state": "followed_up", "follow_up_date": "2027-01-12"}


@pytest.mark.parametrize(
    ("history", "state", "today", "lines"),
    [
        ([], "confirmed", "2026-12-01", []),
        (
            [MOVED],
            "moved",
            "2026-12-01",
            [
                ("Flyttdatum", "Flyttar 2026-12-15"),
                ("Uppföljningsmöte", "Ska hållas senast 2027-01-15"),
                (
                    "Ekonomiskt ansvar",
                    "Kommun A har det ekonomiska ansvaret till och med 2027-01-31",
                ),
            ],
        ),
        ([MOVED], "moved", "2026-12-15", [("Flyttdatum", "Flyttar i dag, 2026-12-15")]),
        (
            [MOVED, FOLLOWED],
            "followed_up",
            "2027-02-10",
            [
                ("Flyttdatum", "Flyttade 2026-12-15"),
                ("Uppföljningsmöte", "Mötet hölls 2027-01-12"),
                (
                    "Ekonomiskt ansvar",
                    "Kommun A hade det ekonomiska ansvaret till och med 2027-01-31",
                ),
            ],
        ),
    ],
)
def test_each_date_says_what_it_is(history, state, today, lines):
    found = move_dates(
        history,
        state,
        today=date.fromisoformat(today),
        rules=NATIONAL,
        calendar=SwedishCalendar(),
        sender_name="Kommun A",
    )
    shown = [(line.label, line.text) for line in found]
    assert shown[: len(lines)] == lines
    if not lines:
        assert shown == []


def test_a_move_registered_ahead_of_its_day_is_not_called_moved():
    today = date.fromisoformat("2026-12-01")
    assert moved_label([MOVED], today=today) == "Flytt registrerad, flyttar 2026-12-15"
    assert moved_label([MOVED], today=date.fromisoformat("2026-12-15")) is None
    assert moved_label([], today=today) is None

"""Deadlines (hub/protocol/deadlines.py): Swedish working days, Stockholm dates, the clocks of a case."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.protocol import deadlines
from hub.protocol.deadlines import (
    JONKOPING,
    NATIONAL,
    STOCKHOLM,
    VASTMANLAND,
    Due,
    DueKind,
    FinancialOverlap,
    NetworkDeadlines,
    SwedishCalendar,
    add_months,
    answer_deadline,
    days_left,
    deadlines_for,
    financial_overlap_end,
    follow_up_deadline,
    offer_response_deadline,
    reminder_at,
)
from hub.protocol.lifecycle import Case, Event, RequestState, Role

CAL = SwedishCalendar()
A, B = Role.SENDER, Role.RECEIVER


def sthlm(y: int, mo: int, d: int, h: int = 10, mi: int = 0, *, fold: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=STOCKHOLM, fold=fold)


def due_date(at: datetime) -> date:
    return CAL.local_date(at)


def unix(at: datetime) -> int:
    return int(at.timestamp())


# -- worked examples in Swedish reality ---------------------------------------------------------


def test_deadline_on_midsommarafton_moves_to_the_monday_after_midsommar():
    """An inquiry delivered on 11 June 2027 is due on Monday 28 June, not on midsommarafton."""
    assert CAL.holiday_name(date(2027, 6, 25)) == "Midsommarafton"
    due = answer_deadline(sthlm(2027, 6, 11), NATIONAL, CAL)
    assert due_date(due) == date(2027, 6, 28)


def test_deadline_on_julafton_moves_past_juldagen_and_annandag_jul():
    """Fourteen days from Monday 10 December 2029 is julafton; the answer is due Thursday 27
    December, after juldagen and annandag jul."""
    due = answer_deadline(sthlm(2029, 12, 10), NATIONAL, CAL)
    assert due_date(due) == date(2029, 12, 27)
    for day in (24, 25, 26):
        assert not CAL.is_working_day(date(2029, 12, day))


def test_deadline_on_nyarsafton_moves_past_nyarsdagen():
    """A deadline on nyårsafton (Thursday 31 December 2026) moves past nyårsdagen and the weekend
    to Monday 4 January 2027."""
    due = answer_deadline(sthlm(2026, 12, 17), NATIONAL, CAL)
    assert due_date(due) == date(2027, 1, 4)


def test_deadline_on_langfredagen_moves_past_annandag_pask():
    """A deadline on långfredagen 2027 moves past Easter and annandag påsk to Tuesday 30 March."""
    due = answer_deadline(sthlm(2027, 3, 12), NATIONAL, CAL)
    assert due_date(due) == date(2027, 3, 30)


def test_deadline_on_an_ordinary_weekday_stays_put():
    """An inquiry delivered on a plain Wednesday is due two weeks later, on that Wednesday."""
    due = answer_deadline(sthlm(2027, 9, 1), NATIONAL, CAL)
    assert due_date(due) == date(2027, 9, 15)


def test_vastmanland_gives_three_weeks():
    """In Västmanland the asked municipality has 21 days: delivered 1 September 2027, due 22
    September."""
    due = answer_deadline(sthlm(2027, 9, 1), VASTMANLAND, CAL)
    assert due_date(due) == date(2027, 9, 22)
    assert NetworkDeadlines.from_settings({"answer_days": 21}) == VASTMANLAND


def test_deadline_ends_at_the_end_of_the_stockholm_day():
    """The answer is due until midnight Stockholm time on the due date, in winter and summer."""
    winter = answer_deadline(sthlm(2027, 1, 13), NATIONAL, CAL)
    assert winter == datetime(2027, 1, 27, 22, 59, 59, 999_999, tzinfo=UTC)
    summer = answer_deadline(sthlm(2027, 6, 2), NATIONAL, CAL)
    assert summer == datetime(2027, 6, 16, 21, 59, 59, 999_999, tzinfo=UTC)
    assert summer.astimezone(STOCKHOLM).time() == time.max
    # Stored as whole seconds it is 23:59:59 local, and "missed when now > due" still holds.
    assert datetime.fromtimestamp(unix(summer), STOCKHOLM).time() == time(23, 59, 59)


def test_unix_seconds_and_datetimes_give_the_same_deadline():
    """The hub's integer timestamps and aware datetimes count the same."""
    at = sthlm(2027, 5, 3, 9, 15)
    assert answer_deadline(unix(at), NATIONAL, CAL) == answer_deadline(at, NATIONAL, CAL)


def test_naive_datetime_is_refused():
    """A time without a zone is refused rather than guessed."""
    with pytest.raises(ValueError, match="aware"):
        answer_deadline(datetime(2027, 5, 3, 9, 15), NATIONAL, CAL)  # noqa: DTZ001


# -- around midnight and daylight saving ---------------------------------------------------------


def test_sunday_evening_in_stockholm_counts_from_sunday():
    """A delivery at 23:30 on a Sunday in Stockholm counts from Sunday; one at 00:30 on Monday
    counts from Monday, although it is still Sunday in UTC."""
    ten_days = NetworkDeadlines(answer_days=10)
    sunday_late = sthlm(2027, 3, 7, 23, 30)
    monday_early = sthlm(2027, 3, 8, 0, 30)
    assert monday_early.astimezone(UTC).date() == date(2027, 3, 7)  # Sunday in UTC
    assert due_date(answer_deadline(sunday_late, ten_days, CAL)) == date(2027, 3, 17)
    assert due_date(answer_deadline(monday_early, ten_days, CAL)) == date(2027, 3, 18)
    # With fourteen days both land on Monday 22 March: the Sunday gains nothing.
    assert due_date(answer_deadline(sunday_late, NATIONAL, CAL)) == date(2027, 3, 22)
    assert due_date(answer_deadline(monday_early, NATIONAL, CAL)) == date(2027, 3, 22)


def test_saturday_just_after_midnight_in_stockholm_is_a_saturday():
    """Delivered at 00:30 on a Saturday in Stockholm (Friday in UTC), the deadline falls on a
    Saturday and moves to Monday; at 23:30 on the Friday it stays on the Friday."""
    friday_late = sthlm(2027, 9, 3, 23, 30)
    saturday_early = sthlm(2027, 9, 4, 0, 30)
    assert saturday_early.astimezone(UTC).date() == date(2027, 9, 3)
    assert due_date(answer_deadline(friday_late, NATIONAL, CAL)) == date(2027, 9, 17)
    assert due_date(answer_deadline(saturday_early, NATIONAL, CAL)) == date(2027, 9, 20)


def test_spring_daylight_saving_does_not_shift_the_date():
    """Across the last Sunday of March, a delivery late on Thursday is due on the Thursday two
    weeks later, not the Friday (fourteen times 24 hours would land after midnight)."""
    at = sthlm(2027, 3, 25, 23, 30)
    due = answer_deadline(at, NATIONAL, CAL)
    assert due_date(due) == date(2027, 4, 8)
    assert (at.astimezone(UTC) + timedelta(hours=14 * 24)).astimezone(STOCKHOLM).date() == date(
        2027, 4, 9
    )


def test_autumn_daylight_saving_does_not_shift_the_date():
    """Across the last Sunday of October, a delivery just after midnight on Thursday is due on
    the Thursday two weeks later, not the Wednesday."""
    at = sthlm(2027, 10, 28, 0, 30)
    due = answer_deadline(at, NATIONAL, CAL)
    assert due_date(due) == date(2027, 11, 11)
    assert (at.astimezone(UTC) + timedelta(hours=14 * 24)).astimezone(STOCKHOLM).date() == date(
        2027, 11, 10
    )


def test_the_repeated_autumn_hour_gives_one_deadline():
    """02:30 happens twice on 31 October 2027; both deliveries are due on the same day."""
    first, second = sthlm(2027, 10, 31, 2, 30, fold=0), sthlm(2027, 10, 31, 2, 30, fold=1)
    assert second.astimezone(UTC) - first.astimezone(UTC) == timedelta(hours=1)
    assert answer_deadline(first, NATIONAL, CAL) == answer_deadline(second, NATIONAL, CAL)


# -- months ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2027, 3, 31), 1, date(2027, 4, 30)),
        (date(2027, 12, 31), 1, date(2028, 1, 31)),
        (date(2027, 11, 30), 3, date(2028, 2, 29)),
        (date(2027, 12, 15), 2, date(2028, 2, 15)),
        (date(2027, 3, 31), -1, date(2027, 2, 28)),
        (date(2027, 1, 15), -1, date(2026, 12, 15)),
        (date(2027, 1, 15), 0, date(2027, 1, 15)),
    ],
)
def test_month_arithmetic_clamps_to_the_end_of_the_month(start: date, months: int, expected: date):
    """One month after 31 January is the last day of February, as a person counts it."""
    assert add_months(start, months) == expected


def test_follow_up_after_a_move_on_31_january_is_due_end_of_february_then_a_working_day():
    """Moved 31 January 2027: one month is Sunday 28 February, so the meeting is due Monday 1
    March."""
    due = follow_up_deadline(date(2027, 1, 31), NATIONAL, CAL)
    assert due is not None
    assert due_date(due) == date(2027, 3, 1)


def test_follow_up_month_ending_on_midsommarafton_moves_to_monday():
    """Moved 25 May 2027: the month ends on midsommarafton, so the meeting is due 28 June."""
    due = follow_up_deadline(date(2027, 5, 25), NATIONAL, CAL)
    assert due is not None
    assert due_date(due) == date(2027, 6, 28)


def test_jonkoping_has_no_fixed_follow_up_meeting():
    """Jönköping follows up over the two months, so no follow-up meeting is due."""
    assert follow_up_deadline(date(2027, 5, 25), JONKOPING, CAL) is None


def test_follow_up_counted_in_days_where_the_network_says_so():
    """A network set up with follow_up_days counts the meeting in days instead of a month."""
    rules = NetworkDeadlines.from_settings({"answer_days": 14, "follow_up_days": 30})
    due = follow_up_deadline(date(2027, 1, 31), rules, CAL)
    assert due is not None
    assert due_date(due) == date(2027, 3, 2)


def test_financial_responsibility_handover_month_plus_one():
    """Nationally the sender pays for the month of the move and the next: moved 15 December
    2027, responsibility ends 31 January 2028."""
    end = financial_overlap_end(date(2027, 12, 15), NATIONAL, CAL)
    assert due_date(end) == date(2028, 1, 31)
    end = financial_overlap_end(date(2028, 1, 31), NATIONAL, CAL)
    assert due_date(end) == date(2028, 2, 29)


def test_financial_responsibility_end_is_not_moved_to_a_working_day():
    """The end of financial responsibility is a date, kept even on a Sunday (28 February 2027)."""
    end = financial_overlap_end(date(2027, 1, 10), NATIONAL, CAL)
    assert due_date(end) == date(2027, 2, 28)
    assert not CAL.is_working_day(date(2027, 2, 28))
    assert end == CAL.end_of_day(date(2027, 2, 28))


def test_financial_responsibility_two_months_after_move_in_jonkoping():
    """In Jönköping the sender pays until the same day two months after moving in, clamped."""
    assert due_date(financial_overlap_end(date(2027, 4, 15), JONKOPING, CAL)) == date(2027, 6, 15)
    assert due_date(financial_overlap_end(date(2027, 12, 31), JONKOPING, CAL)) == date(2028, 2, 29)


def test_offer_response_has_two_weeks_and_the_working_day_rule():
    """The sender answers an offer within two weeks; accepted on 10 December 2029, the answer
    is due 27 December."""
    due = offer_response_deadline(sthlm(2029, 12, 10), NATIONAL, CAL)
    assert due_date(due) == date(2029, 12, 27)


# -- reminders and days left -----------------------------------------------------------------------


def test_reminder_three_working_days_before_skips_midsommarafton():
    """For an answer due Monday 28 June 2027, the reminder goes out at 08:00 on Tuesday 22 June
    (midsommarafton does not count as a working day)."""
    due = answer_deadline(sthlm(2027, 6, 11), NATIONAL, CAL)
    assert reminder_at(due, NATIONAL, CAL) == sthlm(2027, 6, 22, 8, 0).astimezone(UTC)


def test_reminder_zero_days_before_is_the_morning_of_the_due_day():
    """With no lead the reminder is at 08:00 on the due date itself."""
    rules = NetworkDeadlines(remind_working_days_before=0)
    due = answer_deadline(sthlm(2027, 9, 1), rules, CAL)
    assert reminder_at(due, rules, CAL) == sthlm(2027, 9, 15, 8, 0).astimezone(UTC)


def test_days_left_counts_stockholm_dates():
    """The inbox says 3 days left on Friday for a Monday deadline, 0 on the day, and -1 just
    after midnight in Stockholm although it is still the due date in UTC."""
    due = answer_deadline(sthlm(2027, 3, 8), NATIONAL, CAL)  # Monday 22 March
    assert days_left(due, sthlm(2027, 3, 19, 16, 0), CAL) == 3
    assert days_left(due, sthlm(2027, 3, 22, 23, 59), CAL) == 0
    after_midnight = sthlm(2027, 3, 23, 0, 30)
    assert after_midnight.astimezone(UTC).date() == date(2027, 3, 22)
    assert days_left(due, after_midnight, CAL) == -1
    assert days_left(unix(due), unix(sthlm(2027, 3, 25)), CAL) == -3


# -- the calendar -----------------------------------------------------------------------------------


def test_the_three_aftnar_are_non_working_every_year():
    """Midsommarafton, julafton and nyårsafton are days off in every year, from the library."""
    for year in range(2020, 2041):
        midsommarafton = next(
            date(year, 6, d) for d in range(19, 26) if date(year, 6, d).weekday() == 4
        )
        for day, name in (
            (midsommarafton, "Midsommarafton"),
            (date(year, 12, 24), "Julafton"),
            (date(year, 12, 31), "Nyårsafton"),
        ):
            assert CAL.holiday_name(day) == name
            assert not CAL.is_working_day(day)


def test_public_holidays_on_weekdays_are_non_working():
    """Trettondedag jul, första maj, Kristi himmelsfärd and nationaldagen are days off."""
    for day in (date(2027, 1, 6), date(2026, 5, 1), date(2027, 5, 6), date(2028, 6, 6)):
        assert day.weekday() < 5
        assert CAL.holiday_name(day) is not None
        assert not CAL.is_working_day(day)


def test_half_days_and_ordinary_eves_are_working_days():
    """Trettondagsafton, skärtorsdagen, valborgsmässoafton and the day before Kristi
    himmelsfärd are working days (only the three big aftnar are off)."""
    for day in (date(2027, 1, 5), date(2027, 3, 25), date(2027, 4, 30), date(2027, 5, 5)):
        assert day.weekday() < 5
        assert CAL.is_working_day(day)


def test_sundays_are_weekends_not_listed_holidays():
    """A plain Sunday is not a working day because it is a weekend; the calendar does not list
    it as a holiday, whatever the library's include_sundays default."""
    sunday, saturday = date(2027, 9, 5), date(2027, 9, 4)
    assert CAL.holiday_name(sunday) is None
    assert not CAL.is_working_day(sunday)
    assert not CAL.is_working_day(saturday)
    assert CAL.holiday_name(date(2027, 3, 28)) == "Påskdagen"  # a Sunday that is a holiday


def test_working_day_steps():
    """Working days are counted around weekends and holidays, forwards and back."""
    friday = date(2027, 9, 3)
    assert CAL.add_working_days(friday, 1) == date(2027, 9, 6)
    assert CAL.add_working_days(date(2027, 9, 4), 1) == date(2027, 9, 6)  # Saturday + 1
    assert CAL.add_working_days(date(2027, 3, 30), -1) == date(2027, 3, 25)  # over Easter
    assert CAL.add_working_days(friday, 0) == friday
    assert CAL.working_days_before(date(2027, 9, 6), 1) == friday
    assert CAL.working_days_before(date(2027, 9, 5), 0) == friday
    assert CAL.next_working_day_on_or_after(date(2029, 12, 24)) == date(2029, 12, 27)
    with pytest.raises(ValueError, match="0 or more"):
        CAL.working_days_before(friday, -1)


# -- settings ---------------------------------------------------------------------------------------


def test_national_defaults():
    """Without settings a network gets the national network's limits."""
    rules = NetworkDeadlines.from_settings({})
    assert rules == NATIONAL
    assert (rules.answer_days, rules.offer_response_days, rules.follow_up_months) == (14, 14, 1)
    assert rules.financial_overlap is FinancialOverlap.HANDOVER_MONTH_PLUS_ONE
    assert rules.remind_working_days_before == 3


def test_settings_ignore_unknown_keys():
    """The hub's other network settings (quota key, …) do not disturb the deadlines."""
    rules = NetworkDeadlines.from_settings(
        {"answer_days": 21, "quota_key": [[0, 1]], "max_open_requests": 3}
    )
    assert rules == VASTMANLAND


def test_settings_read_jonkoping():
    """Jönköping's agreement reads as two months after the move and no fixed meeting."""
    rules = NetworkDeadlines.from_settings(
        {"financial_overlap": "two_months_after_move", "follow_up_months": None}
    )
    assert rules == JONKOPING


@pytest.mark.parametrize(
    ("settings_", "message"),
    [
        ({"answer_days": 0}, "'answer_days' must be a whole number from 1 to 90"),
        ({"answer_days": "14"}, "'answer_days'"),
        ({"answer_days": 14.0}, "'answer_days'"),
        ({"answer_days": True}, "'answer_days'"),
        ({"offer_response_days": 91}, "'offer_response_days'"),
        ({"follow_up_months": 0}, "'follow_up_months'"),
        ({"follow_up_months": 1, "follow_up_days": 30}, "not both"),
        ({"financial_overlap": "forever"}, "'financial_overlap' must be one of"),
        ({"financial_overlap": 2}, "'financial_overlap'"),
        ({"remind_working_days_before": -1}, "'remind_working_days_before'"),
    ],
)
def test_invalid_settings_say_which_key(settings_: dict[str, object], message: str):
    """A wrong network setting is refused with a message naming the setting."""
    with pytest.raises(ValueError, match=message):
        NetworkDeadlines.from_settings(settings_)


# -- the clocks of a case ---------------------------------------------------------------------------

T0 = unix(sthlm(2027, 6, 1, 9, 0))  # Tuesday
DAY = 86_400


def step(case: Case, role: Role, event: Event, at: int, m: str = "B", **kw: object) -> Case:
    new, _ = case.apply(role, m, event, at, **kw)
    return new


def test_sent_but_not_delivered_has_no_answer_deadline():
    """Until the asked municipality's inbox has the inquiry, no answer clock runs."""
    case = step(Case("c1", "A"), A, Event.SEND_INQUIRY, T0)
    assert case.state_of("B") is RequestState.SENT
    assert deadlines_for(case, NATIONAL, CAL) == []


def test_delivery_starts_the_answer_clock():
    """Delivered on 11 June 2027, the asked municipality's answer is due 28 June and B is
    reminded on 22 June; reading the inquiry does not restart the clock."""
    case = step(Case("c1", "A"), A, Event.SEND_INQUIRY, T0)
    delivered = unix(sthlm(2027, 6, 11, 9, 0))
    case = step(case, B, Event.DELIVER, delivered)
    [due] = deadlines_for(case, NATIONAL, CAL)
    assert due == Due(
        DueKind.ANSWER,
        "B",
        date(2027, 6, 28),
        CAL.end_of_day(date(2027, 6, 28)),
        sthlm(2027, 6, 22, 8, 0).astimezone(UTC),
        (Role.RECEIVER,),
    )
    read = step(case, B, Event.READ_RECEIPT, delivered + 3 * DAY)
    assert deadlines_for(read, NATIONAL, CAL) == [due]


def test_accept_starts_the_offer_clock_for_the_sender():
    """After B accepts, the answer clock stops and A's two weeks to answer the offer run."""
    case = step(Case("c1", "A"), A, Event.SEND_INQUIRY, T0)
    case = step(case, B, Event.DELIVER, T0 + 60)
    case = step(case, B, Event.ACCEPT, T0 + 5 * DAY)
    [due] = deadlines_for(case, NATIONAL, CAL)
    assert due.kind is DueKind.OFFER_RESPONSE
    assert due.owed_by == (Role.SENDER,)
    assert due.due_date == date(2027, 6, 21)  # 6 June + 14 = 20 June, a Sunday


def test_confirmed_case_has_no_clock_until_the_move():
    """While the receiving municipality looks for housing, no deadline runs."""
    case = step(Case("c1", "A"), A, Event.SEND_INQUIRY, T0)
    case = step(case, B, Event.DELIVER, T0 + 60)
    case = step(case, B, Event.ACCEPT, T0 + DAY)
    case = step(case, A, Event.CONFIRM, T0 + 2 * DAY)
    assert deadlines_for(case, NATIONAL, CAL) == []


def moved_case(moving_date: date) -> Case:
    case = step(Case("c1", "A"), A, Event.SEND_INQUIRY, T0)
    case = step(case, B, Event.DELIVER, T0 + 60)
    case = step(case, B, Event.ACCEPT, T0 + DAY)
    case = step(case, A, Event.CONFIRM, T0 + 2 * DAY)
    return step(case, A, Event.RECORD_MOVE, T0 + 90 * DAY, moving_date=moving_date)


def test_move_starts_follow_up_and_financial_end():
    """After the move the follow-up meeting is due within a month and A's financial
    responsibility ends after the next month; the latter has no reminder."""
    case = moved_case(date(2027, 5, 25))
    follow_up, money = deadlines_for(case, NATIONAL, CAL)
    assert follow_up.kind is DueKind.FOLLOW_UP
    assert follow_up.due_date == date(2027, 6, 28)
    assert follow_up.owed_by == (Role.SENDER, Role.RECEIVER)
    assert follow_up.remind_at == sthlm(2027, 6, 22, 8, 0).astimezone(UTC)
    assert money.kind is DueKind.FINANCIAL_OVERLAP_END
    assert money.due_date == date(2027, 6, 30)
    assert money.remind_at is None


def test_follow_up_meeting_held_stops_its_clock_but_not_the_money():
    """Once the follow-up is recorded only the end of financial responsibility remains; once
    the case is closed nothing does."""
    case = moved_case(date(2027, 5, 25))
    case = step(case, B, Event.RECORD_FOLLOW_UP, T0 + 100 * DAY)
    [money] = deadlines_for(case, NATIONAL, CAL)
    assert money.kind is DueKind.FINANCIAL_OVERLAP_END
    closed = step(case, A, Event.CLOSE, T0 + 101 * DAY)
    assert deadlines_for(closed, NATIONAL, CAL) == []


def test_jonkoping_move_has_only_the_two_month_financial_end():
    """In Jönköping a move starts no follow-up meeting clock, and the money runs two months."""
    [money] = deadlines_for(moved_case(date(2027, 5, 25)), JONKOPING, CAL)
    assert money.kind is DueKind.FINANCIAL_OVERLAP_END
    assert money.due_date == date(2027, 7, 25)


def test_withdrawn_and_declined_requests_have_no_clocks():
    """A withdrawn or declined request stops its clock; the others keep theirs, nearest first."""
    case = Case("c1", "A")
    for i, m in enumerate(("B", "C", "D")):
        case = step(case, A, Event.SEND_INQUIRY, T0 + i, m)
        case = step(case, B, Event.DELIVER, T0 + (2 - i) * DAY, m)
    assert [d.municipality for d in deadlines_for(case, NATIONAL, CAL)] == ["D", "C", "B"]
    case = step(case, A, Event.WITHDRAW, T0 + 3 * DAY, "C")
    case = step(case, B, Event.DECLINE, T0 + 3 * DAY, "D", reason="quota_reached")
    assert [d.municipality for d in deadlines_for(case, NATIONAL, CAL)] == ["B"]


def test_case_closed_as_not_moved_has_no_clocks():
    """When A closes the case without a move, every clock stops."""
    case = step(Case("c1", "A"), A, Event.SEND_INQUIRY, T0)
    case = step(case, B, Event.DELIVER, T0 + 60)
    closed, _ = case.close_not_moved(A, T0 + DAY)
    assert deadlines_for(closed, NATIONAL, CAL) == []


# -- properties ---------------------------------------------------------------------------------------

instants = st.integers(
    min_value=unix(datetime(2000, 1, 1, tzinfo=UTC)),
    max_value=unix(datetime(2099, 12, 1, tzinfo=UTC)),
)
day_counts = st.integers(min_value=1, max_value=90)
network_rules = st.builds(
    NetworkDeadlines,
    answer_days=day_counts,
    offer_response_days=day_counts,
    remind_working_days_before=st.integers(min_value=0, max_value=10),
)


@settings(max_examples=200, deadline=None)
@given(at=instants, days=day_counts)
def test_property_deadline_is_the_first_working_day_on_or_after_the_plain_date(at: int, days: int):
    """A deadline is never on a day off and never earlier than delivery date + D; every day
    skipped on the way is a day off."""
    rules = NetworkDeadlines(answer_days=days)
    due = due_date(answer_deadline(at, rules, CAL))
    plain = CAL.local_date(at) + timedelta(days=days)
    assert CAL.is_working_day(due)
    assert due >= plain
    assert (due - plain).days <= 5
    assert all(not CAL.is_working_day(plain + timedelta(days=i)) for i in range((due - plain).days))


@settings(max_examples=100, deadline=None)
@given(
    year=st.integers(min_value=2000, max_value=2099),
    autumn=st.booleans(),
    minute=st.integers(min_value=0, max_value=21 * 60),
    days=day_counts,
)
def test_property_stable_across_daylight_saving(year: int, autumn: bool, minute: int, days: int):
    """On the day clocks change, two deliveries an hour apart on the same Stockholm date get
    the same deadline, and the repeated autumn hour gives one deadline for both."""
    month = 10 if autumn else 3
    last_sunday = max(
        date(year, month, d) for d in range(25, 32) if date(year, month, d).weekday() == 6
    )
    rules = NetworkDeadlines(answer_days=days)
    start = datetime.combine(last_sunday, time(0), tzinfo=STOCKHOLM).astimezone(UTC)
    first = start + timedelta(minutes=minute)
    second = first + timedelta(hours=1)
    assert CAL.local_date(first) == CAL.local_date(second) == last_sunday
    assert answer_deadline(first, rules, CAL) == answer_deadline(second, rules, CAL)
    if autumn:
        wall = time(2, minute % 60)
        local = datetime.combine(last_sunday, wall, tzinfo=STOCKHOLM)
        twice = [local.replace(fold=f) for f in (0, 1)]
        assert twice[1].astimezone(UTC) - twice[0].astimezone(UTC) == timedelta(hours=1)
        assert answer_deadline(twice[0], rules, CAL) == answer_deadline(twice[1], rules, CAL)


@settings(max_examples=200, deadline=None)
@given(at=instants, rules=network_rules)
def test_property_reminder_is_before_the_deadline_on_a_working_day(
    at: int, rules: NetworkDeadlines
):
    """The reminder always comes before the deadline, on a working morning."""
    for due in (answer_deadline(at, rules, CAL), offer_response_deadline(at, rules, CAL)):
        remind = reminder_at(due, rules, CAL)
        assert remind < due
        assert CAL.is_working_day(CAL.local_date(remind))
        assert remind.astimezone(STOCKHOLM).time() == deadlines.WORKING_DAY_STARTS


@settings(max_examples=100, deadline=None)
@given(
    moving=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 10, 31)),
    overlap=st.sampled_from(list(FinancialOverlap)),
)
def test_property_month_deadlines_after_the_move(moving: date, overlap: FinancialOverlap):
    """The follow-up meeting is due on a working day within days of a month after the move;
    financial responsibility ends between one and two months after it."""
    rules = NetworkDeadlines(financial_overlap=overlap)
    follow_up = follow_up_deadline(moving, rules, CAL)
    assert follow_up is not None
    meeting = due_date(follow_up)
    assert CAL.is_working_day(meeting)
    assert add_months(moving, 1) <= meeting <= add_months(moving, 1) + timedelta(days=5)
    end = due_date(financial_overlap_end(moving, rules, CAL))
    assert add_months(moving, 1) <= end <= add_months(moving, 2)


# -- purity ---------------------------------------------------------------------------------------------


def test_deadlines_module_is_pure():
    """The deadline rules import no I/O or server library and never read the clock."""
    tree = ast.parse(Path(deadlines.__file__).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
        elif isinstance(node, ast.Attribute):
            assert node.attr not in {"now", "today", "utcnow", "time_ns", "monotonic"}, node.attr
    allowed = {
        "__future__",
        "calendar",
        "collections.abc",
        "dataclasses",
        "datetime",
        "enum",
        "typing",
        "types",
        "zoneinfo",
        "holidays.constants",
        "holidays.countries.sweden",
        "hub.protocol.lifecycle",
        "hub.crypto.registry",  # the national settings, written once (pure too)
    }
    assert imported <= allowed, imported - allowed

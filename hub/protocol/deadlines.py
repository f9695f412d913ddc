"""Deadlines: a pure function from (network settings, event time, calendar) to due dates.

The scheduler (later) only stores what this module computes and wakes up at the instants it
names; nothing here reads a clock or touches storage. Times come in as aware datetimes or as
integer Unix seconds (as `lifecycle` records them) and go out as aware datetimes in UTC.

What counts, from domain.md ("The course of a case") and architecture.md §5:

- The answer clock: the asked municipality answers within `answer_days` (14 nationally and in
  Jönköping, 21 in Västmanland) counted from when the inquiry is DELIVERED to its inbox. A
  request that is only `sent` has no answer deadline yet.
- The offer clock: the sender answers an offer within `offer_response_days` (14) of the accept.
- The follow-up meeting: within `follow_up_months` (one) calendar month after the moving date.
  Jönköping has no fixed meeting (it follows up over the two months), so the setting may be
  null; `follow_up_days` is read too, because `hub network create` has written it so far.
- The end of the sender's financial responsibility: the month of handover plus one month
  (national, Västmanland) or two months after moving in (Jönköping).

The rule for a deadline of D days from an event at instant t: take t's date in the
Europe/Stockholm calendar, add D calendar days; if that date is not a working day, take the
next working day. A deadline of M months adds calendar months to the date, clamped to the
month's last day (31 January + 1 month = 28 or 29 February), then the same working-day rule.
Moving an end on a day off to the next weekday is also how Swedish law treats a statutory time
limit (lag (1930:173) om beräkning av lagstadgad tid).

Decisions:

- The due instant is the END of the due date in Stockholm: 23:59:59.999999 local time, given in
  UTC. Its Stockholm date is the due date itself, so a page showing `due_at` shows the right
  day; a deadline is missed when now > due_at ("due before 00:00 the next day"). Stored as
  integer Unix seconds, `int(due_at.timestamp())` is 23:59:59 local and the same test holds.
- A working day is Monday to Friday and not a Swedish public holiday (allmän helgdag, per the
  `holidays` library: nyårsdagen, trettondedag jul, långfredagen, påskdagen, annandag påsk,
  första maj, Kristi himmelsfärdsdag, nationaldagen, pingstdagen, midsommardagen, alla helgons
  dag, juldagen, annandag jul) and not midsommarafton, julafton or nyårsafton, which Swedish
  law treats like a Sunday (semesterlagen 1977:480, lag 1930:173). The library has those
  three in its DE_FACTO category, which we ask for. It can also list every Sunday as a holiday
  (`include_sundays`); we ask it not to and treat weekends by weekday ourselves, so the answer
  is the same whichever way a version leans.
- What moves to a working day: every deadline by which someone must act (answer, offer
  response, follow-up meeting). What does not: the end of financial responsibility, which is a
  date when the responsibility passes to the receiving municipality, not something to do; money
  is counted in calendar days, and a Saturday end is a Saturday end.
- A reminder goes out at the start of the working day (08:00 Stockholm), N working days
  before the due date (N = `remind_working_days_before`, 3 by default; with 0, on the morning
  of the due date). The financial end has no reminder: nobody has anything to do by then.
"""

from __future__ import annotations

import calendar as _months
import enum
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from holidays.constants import DE_FACTO, PUBLIC
from holidays.countries.sweden import Sweden

from hub.crypto.registry import NATIONAL as NATIONAL_SETTINGS
from hub.protocol.lifecycle import RequestState, Role

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hub.protocol.lifecycle import Case, Request

STOCKHOLM: Final = ZoneInfo("Europe/Stockholm")
WORKING_DAY_STARTS: Final = time(8, 0)  # when a reminder goes out, Stockholm time
_SATURDAY: Final = 5  # date.weekday(): Monday 0 ... Sunday 6

Instant = datetime | int  # an aware datetime, or Unix seconds as the lifecycle records them


class FinancialOverlap(enum.StrEnum):
    """How long the sending municipality keeps financial responsibility after the move."""

    HANDOVER_MONTH_PLUS_ONE = "handover_month_plus_one"  # to the end of the next month
    TWO_MONTHS_AFTER_MOVE = "two_months_after_move"  # to the same day two months later


class DueKind(enum.StrEnum):
    ANSWER = "answer"  # the asked municipality accepts or declines
    OFFER_RESPONSE = "offer_response"  # the sender answers an offer
    FOLLOW_UP = "follow_up"  # the joint follow-up meeting after the move
    FINANCIAL_OVERLAP_END = "financial_overlap_end"  # the sender's financial responsibility ends


# -- the network's settings ---------------------------------------------------------------------

_DAY_RANGE: Final = (1, 90)
_MONTH_RANGE: Final = (1, 12)
_REMINDER_RANGE: Final = (0, 10)


_NATIONAL_OVERLAP: Final = FinancialOverlap(NATIONAL_SETTINGS.financial_overlap)


@dataclass(frozen=True)
class NetworkDeadlines:
    """A network's agreed time limits. The defaults are the national network's."""

    answer_days: int = NATIONAL_SETTINGS.answer_days
    offer_response_days: int = NATIONAL_SETTINGS.offer_response_days
    # None: no fixed follow-up meeting (or counted in days)
    follow_up_months: int | None = NATIONAL_SETTINGS.follow_up_months
    follow_up_days: int | None = None  # instead of months, as older settings say
    financial_overlap: FinancialOverlap = _NATIONAL_OVERLAP
    remind_working_days_before: int = NATIONAL_SETTINGS.remind_working_days_before

    def __post_init__(self) -> None:
        _check_int("answer_days", self.answer_days, _DAY_RANGE)
        _check_int("offer_response_days", self.offer_response_days, _DAY_RANGE)
        if self.follow_up_months is not None:
            _check_int("follow_up_months", self.follow_up_months, _MONTH_RANGE)
        if self.follow_up_days is not None:
            _check_int("follow_up_days", self.follow_up_days, _DAY_RANGE)
        if self.follow_up_months is not None and self.follow_up_days is not None:
            raise ValueError("network settings: give follow_up_months or follow_up_days, not both")
        if not isinstance(self.financial_overlap, FinancialOverlap):
            raise ValueError(f"network setting 'financial_overlap' must be one of {_overlaps()}")
        _check_int("remind_working_days_before", self.remind_working_days_before, _REMINDER_RANGE)

    @classmethod
    def from_settings(cls, settings: Mapping[str, object]) -> NetworkDeadlines:
        """Read the hub's network settings (JSON). Unknown keys are ignored; a known key with
        a wrong value raises ValueError naming the key and what it should be."""
        known = {f.name for f in fields(cls)}
        values: dict[str, object] = {k: v for k, v in settings.items() if k in known}
        if "follow_up_days" in values and "follow_up_months" not in values:
            values["follow_up_months"] = None  # an older network counts its follow-up in days
        overlap = values.get("financial_overlap", FinancialOverlap.HANDOVER_MONTH_PLUS_ONE)
        if not isinstance(overlap, str) or overlap not in set(FinancialOverlap):
            raise ValueError(f"network setting 'financial_overlap' must be one of {_overlaps()}")
        values["financial_overlap"] = FinancialOverlap(overlap)
        return cls(**values)  # type: ignore[arg-type]  # each value is checked in __post_init__


def _check_int(name: str, value: object, bounds: tuple[int, int]) -> None:
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"network setting {name!r} must be a whole number from {low} to {high}")


def _overlaps() -> str:
    return ", ".join(repr(o.value) for o in FinancialOverlap)


NATIONAL: Final = NetworkDeadlines()
VASTMANLAND: Final = NetworkDeadlines(answer_days=21)
JONKOPING: Final = NetworkDeadlines(
    follow_up_months=None, financial_overlap=FinancialOverlap.TWO_MONTHS_AFTER_MOVE
)


# -- the calendar -------------------------------------------------------------------------------


class SwedishCalendar:
    """Stockholm time and Swedish working days.

    A working day is Monday-Friday and neither a public holiday nor midsommarafton, julafton or
    nyårsafton. The holiday table is filled lazily per year (the library caches it), which is
    the only state this object keeps.
    """

    def __init__(self) -> None:
        self.tz: Final = STOCKHOLM
        # The Sweden class itself, not country_holidays("SE"): only the class takes
        # include_sundays in every version we allow, and in some (0.88) it defaults to True.
        self._holidays = Sweden(categories=(PUBLIC, DE_FACTO), include_sundays=False, language="sv")

    # -- dates and instants

    def local_date(self, at: Instant) -> date:
        """The Stockholm calendar date of an instant."""
        return _aware(at).astimezone(self.tz).date()

    def end_of_day(self, day: date) -> datetime:
        """The last instant of `day` in Stockholm (23:59:59.999999 local), in UTC."""
        return datetime.combine(day, time.max, tzinfo=self.tz).astimezone(UTC)

    def at_local(self, day: date, clock: time) -> datetime:
        """`clock` o'clock on `day` in Stockholm, in UTC."""
        return datetime.combine(day, clock, tzinfo=self.tz).astimezone(UTC)

    # -- working days

    def holiday_name(self, day: date) -> str | None:
        """The Swedish name of the holiday on `day` (helgdag or afton), if any."""
        name = self._holidays.get(day)
        return None if name is None else str(name)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < _SATURDAY and day not in self._holidays

    def next_working_day_on_or_after(self, day: date) -> date:
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def last_working_day_on_or_before(self, day: date) -> date:
        while not self.is_working_day(day):
            day -= timedelta(days=1)
        return day

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day after `day` (before it when n is negative); `day` itself when
        n is 0. `day` need not be a working day: Saturday + 1 is Monday (Tuesday if Monday is
        a holiday)."""
        step = timedelta(days=1 if n > 0 else -1)
        remaining = abs(n)
        while remaining:
            day += step
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_before(self, day: date, n: int) -> date:
        """The n-th working day before `day`; for n = 0 the last working day on or before it.
        Always a working day."""
        if n < 0:
            raise ValueError("working_days_before counts back: n must be 0 or more")
        if n == 0:
            return self.last_working_day_on_or_before(day)
        return self.add_working_days(day, -n)


def _aware(at: Instant) -> datetime:
    if isinstance(at, bool):
        raise ValueError("an instant is an aware datetime or Unix seconds, not a bool")
    if isinstance(at, int):
        return datetime.fromtimestamp(at, UTC)
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("an instant must be an aware datetime (with a time zone)")
    return at


# -- month arithmetic (what dateutil's relativedelta would do, and no more) -----------------------


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later, clamped to that month's last day."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    last = _months.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def end_of_month(day: date) -> date:
    return day.replace(day=_months.monthrange(day.year, day.month)[1])


# -- the rules ----------------------------------------------------------------------------------


def due_date_after_days(at: Instant, days: int, calendar: SwedishCalendar) -> date:
    """The Stockholm date of `at` plus `days` calendar days, moved on to a working day."""
    return calendar.next_working_day_on_or_after(calendar.local_date(at) + timedelta(days=days))


def answer_deadline(
    delivered_at: Instant, rules: NetworkDeadlines, calendar: SwedishCalendar
) -> datetime:
    """When the asked municipality's answer is due: counted from delivery to its inbox."""
    return calendar.end_of_day(due_date_after_days(delivered_at, rules.answer_days, calendar))


def offer_response_deadline(
    accepted_at: Instant, rules: NetworkDeadlines, calendar: SwedishCalendar
) -> datetime:
    """When the sender's answer to an offer is due: counted from the accept."""
    days = rules.offer_response_days
    return calendar.end_of_day(due_date_after_days(accepted_at, days, calendar))


def follow_up_deadline(
    moving_date: date, rules: NetworkDeadlines, calendar: SwedishCalendar
) -> datetime | None:
    """When the joint follow-up meeting is due, or None where the network sets no meeting."""
    if rules.follow_up_days is not None:
        due = moving_date + timedelta(days=rules.follow_up_days)
    elif rules.follow_up_months is not None:
        due = add_months(moving_date, rules.follow_up_months)
    else:
        return None
    return calendar.end_of_day(calendar.next_working_day_on_or_after(due))


def financial_overlap_last_day(moving_date: date, rules: NetworkDeadlines) -> date:
    """The last day of the sender's financial responsibility (a date; never moved)."""
    if rules.financial_overlap is FinancialOverlap.TWO_MONTHS_AFTER_MOVE:
        return add_months(moving_date, 2)
    return end_of_month(add_months(moving_date.replace(day=1), 1))


def financial_overlap_end(
    moving_date: date, rules: NetworkDeadlines, calendar: SwedishCalendar
) -> datetime:
    """The end of the sender's financial responsibility: the end of its last day."""
    return calendar.end_of_day(financial_overlap_last_day(moving_date, rules))


def reminder_at(deadline: Instant, rules: NetworkDeadlines, calendar: SwedishCalendar) -> datetime:
    """When to remind: 08:00 Stockholm on the working day `remind_working_days_before` working
    days before the deadline's date (its last working day on or before it for 0)."""
    due = calendar.local_date(deadline)
    day = calendar.working_days_before(due, rules.remind_working_days_before)
    return calendar.at_local(day, WORKING_DAY_STARTS)


def days_left(due_at: Instant, now: Instant, calendar: SwedishCalendar) -> int:
    """Calendar days from today to the due date in Stockholm: 0 on the day itself, negative
    once it has passed (for the inbox: "3 dagar kvar", "försenad 2 dagar")."""
    return (calendar.local_date(due_at) - calendar.local_date(now)).days


# -- which clocks are running in a case ---------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """One running clock of one request: `municipality` is the asked municipality."""

    kind: DueKind
    municipality: str
    due_date: date  # the Stockholm date it is due (the last day)
    due_at: datetime  # the end of that day, in UTC: missed when now > due_at
    remind_at: datetime | None  # when to remind, in UTC; None: nothing to remind of
    owed_by: tuple[Role, ...]  # who must act (or whose responsibility ends)


_DayRule = Callable[[Instant, NetworkDeadlines, SwedishCalendar], datetime]
_DayClock = tuple[RequestState, DueKind, _DayRule, tuple[Role, ...]]
_ANSWER: Final[_DayClock] = (
    RequestState.DELIVERED,
    DueKind.ANSWER,
    answer_deadline,
    (Role.RECEIVER,),
)
_OFFER: Final[_DayClock] = (
    RequestState.ACCEPTED,
    DueKind.OFFER_RESPONSE,
    offer_response_deadline,
    (Role.SENDER,),
)
# The clocks counted in days, by the request's state: (the state whose entry the clock counts
# from, its kind, its rule, who must act). The answer clock runs from delivery through read.
_DAY_CLOCKS: Final[Mapping[RequestState, _DayClock]] = MappingProxyType(
    {RequestState.DELIVERED: _ANSWER, RequestState.READ: _ANSWER, RequestState.ACCEPTED: _OFFER}
)
_AFTER_MOVE: Final = frozenset({RequestState.MOVED, RequestState.FOLLOWED_UP})


def deadlines_for(case: Case, rules: NetworkDeadlines, calendar: SwedishCalendar) -> list[Due]:
    """Every clock running in `case` now, nearest first.

    answer while delivered or read (from delivery; a request only sent has none yet); offer
    response while accepted; follow-up while moved; the end of financial responsibility while
    moved or followed up. A closed case and a request in any other state have none. A request
    whose history lacks the entry to count from has no clock.
    """
    if case.is_closed:
        return []
    found: list[Due] = []
    for request in case.requests:
        found += _clocks_of(request, rules, calendar)
    return sorted(found, key=lambda d: (d.due_at, d.municipality, d.kind))


def _clocks_of(request: Request, rules: NetworkDeadlines, calendar: SwedishCalendar) -> list[Due]:
    m, state = request.municipality, request.state

    def due(kind: DueKind, at: datetime, owed_by: tuple[Role, ...], remind: bool = True) -> Due:
        when = reminder_at(at, rules, calendar) if remind else None
        return Due(kind, m, calendar.local_date(at), at, when, owed_by)

    day_clock = _DAY_CLOCKS.get(state)
    if day_clock is not None:
        counted_from, kind, rule, owed_by = day_clock
        start = request.entered_at(counted_from)
        return [] if start is None else [due(kind, rule(start, rules, calendar), owed_by)]
    if state not in _AFTER_MOVE:
        return []
    moving_date = next(
        (h.moving_date for h in reversed(request.history) if h.state is RequestState.MOVED), None
    )
    if moving_date is None:
        return []
    clocks: list[Due] = []
    follow_up = follow_up_deadline(moving_date, rules, calendar)
    if state is RequestState.MOVED and follow_up is not None:
        clocks.append(due(DueKind.FOLLOW_UP, follow_up, (Role.SENDER, Role.RECEIVER)))
    end = financial_overlap_end(moving_date, rules, calendar)
    clocks.append(due(DueKind.FINANCIAL_OVERLAP_END, end, (Role.SENDER,), remind=False))
    return clocks

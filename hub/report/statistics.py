"""The network's figures for one year: one pass over the lifecycle metadata the hub holds and the
outcome reports the sending municipalities filed. No content exists here to leak: a `Case` holds
states, events, times, decline reason codes and moving dates, and the figures keep only counts.
These are the raw figures; what the coordinator may see of them is decided by
`hub.report.export.report_tables` (small numbers suppressed). docs/statistics.md defines each.

- The year. A case counts, with everything that ever happens in it, in the Stockholm calendar
  year in which it first asked a municipality (its first förhandsförfrågan or förfrågan), so
  every table of a year adds up and a case never counts in two years.
- Requests are formal inquiries (förfrågningar): a pre-inquiry that never became one is
  counted among the pre-inquiries only.
- Answered in time: the accept or decline came at or before the answer deadline
  (`deadlines.answer_deadline`), counted from delivery to the asked municipality's inbox, or
  from sending when it never fetched the inquiry (as the scheduler counts). Unanswered: the
  deadline passed with no answer. Ended before the deadline: withdrawn, or closed because
  another municipality was chosen, before the deadline and unanswered. Awaiting: open, and
  `as_of` is not past the deadline yet.
- Answer time: calendar days in Stockholm from delivery to answer. Time to move: calendar days
  from the case's first request to the moving date. Median and 90th percentile by nearest
  rank (the value at rank ceil(p/100 * n) of the sorted values: always an observed value).
- Hard to place: a case that asked three or more municipalities (pre-inquiries included).
- Received: formal inquiries delivered to a municipality. Quota: from the network's quota key
  and the municipality's population.
"""

from __future__ import annotations

import enum
import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Protocol

from hub.protocol.deadlines import NetworkDeadlines, SwedishCalendar, answer_deadline
from hub.protocol.lifecycle import DeclineReason, Event, Outcome, RequestState
from hub.report.outcome import NotMovedReason, TargetGroup

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from hub.protocol.deadlines import Instant
    from hub.protocol.lifecycle import Case, HistoryEntry, Request
    from hub.report.outcome import OutcomeReport

HARD_TO_PLACE: Final = 3  # municipalities asked in one case
# Answer time in days, in weeks: (first day, last day or None for "and more").
ANSWER_DAY_BINS: Final = ((0, 7), (8, 14), (15, 21), (22, None))

_S = RequestState
_AWAITING_ANSWER: Final = frozenset({_S.SENT, _S.DELIVERED, _S.READ})
_ANSWERS: Final = frozenset({Event.ACCEPT, Event.DECLINE})


# -- inputs ----------------------------------------------------------------------------------


class MunicipalityInfo(Protocol):
    """What the statistics read of a member (hub.storage's Municipality has it)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def population(self) -> int | None: ...


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    population: int | None = None


@dataclass(frozen=True)
class QuotaBand:
    from_population: int
    cases: int  # a year


def quota_key(settings: Mapping[str, object]) -> tuple[QuotaBand, ...] | None:
    """The network's quota key (fördelningsnyckel) from its settings, as `hub network create`
    stores it: [[from_population, cases], ...], checked. None when the network has none (as
    Jönköping, where each municipality judges its own number)."""
    raw = settings.get("quota_key")
    if raw is None:
        return None
    problem = "nätverksinställningen quota_key ska vara [[från invånarantal, ärenden], ...]"
    if not isinstance(raw, list) or not raw:
        raise ValueError(problem)
    bands: list[QuotaBand] = []
    for band in raw:
        if not (isinstance(band, list) and len(band) == 2 and all(_is_count(v) for v in band)):
            raise ValueError(problem)
        bands.append(QuotaBand(band[0], band[1]))
    if bands[0].from_population != 0 or any(
        a.from_population >= b.from_population for a, b in itertools.pairwise(bands)
    ):
        raise ValueError("fördelningsnyckelns gränser ska börja på 0 och öka")
    return tuple(bands)


def quota_for(population: int, bands: tuple[QuotaBand, ...]) -> int:
    """The cases a year for a municipality of `population`: the last band it reaches."""
    return next(b.cases for b in reversed(bands) if population >= b.from_population)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# -- the figures -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spread:
    """Median and 90th percentile (nearest rank) of whole days; None when there are none."""

    count: int
    median: int | None
    p90: int | None


@dataclass(frozen=True)
class PreInquiryFigures:
    """Förhandsförfrågningar: `sent` = positive + negative + ended_unanswered + awaiting."""

    sent: int
    positive: int
    negative: int
    ended_unanswered: int
    awaiting: int


@dataclass(frozen=True)
class RequestFigures:
    """Formal inquiries, one per asked municipality. Each group below partitions the line above
    it: sent by answer; answered (in time + late) by decision; accepted by what followed;
    confirmed by whether the move happened; moved by whether the follow-up was held."""

    sent: int
    delivered: int
    answered_in_time: int
    answered_late: int
    unanswered: int
    ended_before_deadline: int
    awaiting_answer: int
    answer_days: Spread
    answer_days_histogram: tuple[int, ...]  # counts by ANSWER_DAY_BINS
    accepted: int
    declined: Mapping[DeclineReason, int]
    confirmed: int
    other_chosen: int  # accepted, then the sender confirmed another municipality
    offer_declined: int
    withdrawn_or_cancelled: int  # accepted, then withdrawn or cancelled before confirmation
    awaiting_confirmation: int
    moved: int
    cancelled_after_confirmation: int
    awaiting_move: int
    followed_up: int
    awaiting_follow_up: int
    withdrawn: int  # at any stage

    @property
    def answered(self) -> int:
        return self.answered_in_time + self.answered_late

    @property
    def answers_owed(self) -> int:
        """Answers that were due: given, or missing after the deadline."""
        return self.answered + self.unanswered


@dataclass(frozen=True)
class CaseFigures:
    """Cases (ärenden): `count` = moved + ended_without_move + ongoing
    = asked_one + asked_two + asked_three_or_more."""

    count: int
    moved: int  # a move was recorded, whether or not the case is closed yet
    ended_without_move: int
    ongoing: int
    asked_one: int
    asked_two: int
    asked_three_or_more: int  # hard to place
    inquiry_to_move_days: Spread


@dataclass(frozen=True)
class GroupOutcome:
    moved: int
    not_moved: int


@dataclass(frozen=True)
class OutcomeFigures:
    """From the outcome reports of the year's cases."""

    reports: int
    by_group: Mapping[TargetGroup, GroupOutcome]
    not_moved_by_reason: Mapping[NotMovedReason, int]
    missing: int  # closed cases with no report

    @property
    def moved(self) -> int:
        return sum(g.moved for g in self.by_group.values())

    @property
    def not_moved(self) -> int:
        return sum(g.not_moved for g in self.by_group.values())

    @property
    def children_involved(self) -> int:
        """Cases whose target group has children."""
        return sum(g.moved + g.not_moved for t, g in self.by_group.items() if t.with_children)


@dataclass(frozen=True)
class MunicipalityFigures:
    id: str
    name: str
    is_member: bool
    population: int | None
    quota: int | None  # None: no quota key, or no population
    asked: int  # requests of any kind (pre-inquiries included)
    inquiries: int  # formal inquiries sent to it
    received: int  # formal inquiries delivered to it
    accepted: int
    moves_in: int
    answers_owed: int
    answered_in_time: int
    cases_sent: int
    moves_out: int

    @property
    def in_time_share(self) -> float | None:
        return None if not self.answers_owed else self.answered_in_time / self.answers_owed


@dataclass(frozen=True)
class NetworkStatistics:
    year: int
    as_of: datetime
    answer_days_setting: int
    cases: CaseFigures
    pre_inquiries: PreInquiryFigures
    requests: RequestFigures
    outcomes: OutcomeFigures
    municipalities: tuple[MunicipalityFigures, ...]  # by Swedish name

    @property
    def never_received(self) -> tuple[MunicipalityFigures, ...]:
        """Members that received no formal inquiry in the year."""
        return tuple(m for m in self.municipalities if m.is_member and not m.received)


# -- one pass ----------------------------------------------------------------------------------


class _Answer(enum.Enum):
    IN_TIME = enum.auto()
    LATE = enum.auto()
    UNANSWERED = enum.auto()
    ENDED_BEFORE_DEADLINE = enum.auto()
    AWAITING = enum.auto()


@dataclass
class _Place:
    asked: int = 0
    inquiries: int = 0
    received: int = 0
    accepted: int = 0
    moves_in: int = 0
    answers_owed: int = 0
    answered_in_time: int = 0
    cases_sent: int = 0
    moves_out: int = 0


@dataclass
class _Tally:
    rules: NetworkDeadlines
    calendar: SwedishCalendar
    as_of: datetime
    counts: Counter[str] = field(default_factory=Counter)
    declined: Counter[DeclineReason] = field(default_factory=Counter)
    answer_days: Counter[int] = field(default_factory=Counter)
    move_days: Counter[int] = field(default_factory=Counter)
    groups: dict[TargetGroup, list[int]] = field(default_factory=dict)
    not_moved_reasons: Counter[NotMovedReason] = field(default_factory=Counter)
    places: dict[str, _Place] = field(default_factory=dict)

    def place(self, municipality: str) -> _Place:
        return self.places.setdefault(municipality, _Place())

    def add_case(self, case: Case, first_asked: int, report: OutcomeReport | None) -> None:
        c = self.counts
        c["cases"] += 1
        c[f"asked_{min(len(case.requests), HARD_TO_PLACE)}"] += 1
        sender = self.place(case.sender)
        sender.cases_sent += 1
        moving_date = next(
            (h.moving_date for r in case.requests for h in r.history if h.state is _S.MOVED), None
        )
        if moving_date is not None:
            c["case_moved"] += 1
            sender.moves_out += 1
            self.move_days[(moving_date - self.calendar.local_date(first_asked)).days] += 1
        elif case.outcome is Outcome.NOT_MOVED:
            c["case_not_moved"] += 1
        else:
            c["case_ongoing"] += 1
        if report is not None:
            c["reports"] += 1
            self.groups.setdefault(report.target_group, [0, 0])[0 if report.moved else 1] += 1
            if report.not_moved_reason is not None:
                self.not_moved_reasons[report.not_moved_reason] += 1
        elif case.is_closed:
            c["reports_missing"] += 1
        for request in case.requests:
            self.add_request(request)

    def add_request(self, request: Request) -> None:
        c = self.counts
        place = self.place(request.municipality)
        place.asked += 1
        events = {h.event for h in request.history}
        states = {h.state for h in request.history}
        if Event.SEND_PRE_INQUIRY in events:
            c["pre_sent"] += 1
            c[_pre_inquiry_result(request, events)] += 1
        if Event.SEND_INQUIRY not in events:
            return
        c["sent"] += 1
        place.inquiries += 1
        if _S.DELIVERED in states:
            c["delivered"] += 1
            place.received += 1
        answer = self.classify_answer(request)
        c[answer.name] += 1
        if answer in {_Answer.IN_TIME, _Answer.LATE, _Answer.UNANSWERED}:
            place.answers_owed += 1
        if answer is _Answer.IN_TIME:
            place.answered_in_time += 1
        c["withdrawn"] += request.state is _S.WITHDRAWN
        decline = next((h for h in request.history if h.event is Event.DECLINE), None)
        if decline is not None and decline.reason is not None:
            self.declined[decline.reason] += 1
        if Event.ACCEPT in events:
            c["accepted"] += 1
            place.accepted += 1
            c[_after_accept(request.state, states)] += 1
        if _S.MOVED in states:
            place.moves_in += 1

    def classify_answer(self, request: Request) -> _Answer:
        """How the asked municipality answered, against the deadline (and, if it answered,
        its answer time is counted)."""
        start = request.entered_at(_S.DELIVERED) or request.entered_at(_S.SENT)
        if start is None:  # a stored case always has its send entry; counted as waiting
            return _Answer.AWAITING
        deadline = answer_deadline(start, self.rules, self.calendar)
        answered = next((h for h in request.history if h.event in _ANSWERS), None)
        if answered is not None:
            days = self.calendar.local_date(answered.at) - self.calendar.local_date(start)
            self.answer_days[days.days] += 1
            return _Answer.IN_TIME if _utc(answered.at) <= deadline else _Answer.LATE
        if request.state in _AWAITING_ANSWER:
            return _Answer.AWAITING if self.as_of <= deadline else _Answer.UNANSWERED
        ended = _left_waiting(request.history)
        if ended is None or _utc(ended.at) > deadline:
            return _Answer.UNANSWERED
        return _Answer.ENDED_BEFORE_DEADLINE


def _pre_inquiry_result(request: Request, events: set[Event]) -> str:
    if Event.PRE_INQUIRY_YES in events:
        return "pre_positive"
    if Event.PRE_INQUIRY_NO in events:
        return "pre_negative"
    if request.state is _S.PRE_INQUIRY_SENT:
        return "pre_awaiting"
    return "pre_ended_unanswered"


def _after_accept(state: RequestState, states: set[RequestState]) -> str:
    """Which line of the accepted, confirmed and moved partitions a request falls in."""
    if _S.MOVED in states:
        return "followed_up" if _S.FOLLOWED_UP in states else "awaiting_follow_up"
    if _S.CONFIRMED in states:
        return "awaiting_move" if state is _S.CONFIRMED else "cancelled_after_confirmation"
    return {
        _S.ACCEPTED: "awaiting_confirmation",
        _S.OFFER_DECLINED: "offer_declined",
        _S.CLOSED_ELSEWHERE: "other_chosen",
    }.get(state, "withdrawn_or_cancelled")


def _left_waiting(history: tuple[HistoryEntry, ...]) -> HistoryEntry | None:
    """The entry that ended the wait for an answer (a withdrawal or closing)."""
    seen_sent = False
    for entry in history:
        if entry.state is _S.SENT:
            seen_sent = True
        elif seen_sent and entry.state not in _AWAITING_ANSWER:
            return entry
    return None


def _utc(at: int) -> datetime:
    return datetime.fromtimestamp(at, UTC)


def _instant(at: Instant) -> datetime:
    if isinstance(at, datetime):
        if at.utcoffset() is None:
            raise ValueError("as_of must be an aware datetime (with a time zone)")
        return at
    return _utc(at)


def nearest_rank(counts: Mapping[int, int], percent: int) -> int | None:
    """The value at rank ceil(percent/100 * n) among n values given as value -> how many."""
    n = sum(counts.values())
    if n == 0:
        return None
    rank = max(1, -(-percent * n // 100))
    seen = 0
    for value in sorted(counts):  # the distinct values only: a handful of day counts
        seen += counts[value]
        if seen >= rank:
            return value
    raise AssertionError("unreachable: rank <= n")


def _spread(counts: Mapping[int, int]) -> Spread:
    return Spread(sum(counts.values()), nearest_rank(counts, 50), nearest_rank(counts, 90))


def _histogram(days: Mapping[int, int]) -> tuple[int, ...]:
    return tuple(
        sum(n for d, n in days.items() if low <= d and (high is None or d <= high))
        for low, high in ANSWER_DAY_BINS
    )


def swedish_sort_key(name: str) -> str:
    """Names in Swedish order: å, ä, ö after z (Python's own order puts ä before å)."""
    return name.casefold().translate(_AFTER_Z)


_AFTER_Z: Final = str.maketrans({"å": "{", "ä": "|", "ö": "}"})


def first_asked_at(case: Case) -> int | None:
    """When the case first asked a municipality: the instant whose Stockholm year the case
    counts in (None: it never asked one, and counts in no year)."""
    return min((r.history[0].at for r in case.requests if r.history), default=None)


def statistics_year(case: Case, calendar: SwedishCalendar) -> int | None:
    """The year a case counts in, with everything that ever happens in it."""
    first = first_asked_at(case)
    return None if first is None else calendar.local_date(first).year


def network_statistics(  # noqa: PLR0913 - the records a caller loads, each named
    cases: Iterable[Case],
    outcomes: Mapping[str, OutcomeReport],
    municipalities: Iterable[MunicipalityInfo],
    settings: Mapping[str, object],
    year: int,
    *,
    calendar: SwedishCalendar,
    as_of: Instant,
) -> NetworkStatistics:
    """The figures of `year` for one network, as of the instant `as_of` (what is still within
    its deadline then is awaiting, not unanswered). `outcomes` maps a case id to its report.
    Linear in the number of cases: each case and request is looked at once."""
    tally = _Tally(NetworkDeadlines.from_settings(settings), calendar, _instant(as_of))
    bands = quota_key(settings)
    for case in cases:
        first_asked = first_asked_at(case)
        if first_asked is not None and calendar.local_date(first_asked).year == year:
            tally.add_case(case, first_asked, outcomes.get(case.case_id))
    return NetworkStatistics(
        year=year,
        as_of=tally.as_of,
        answer_days_setting=tally.rules.answer_days,
        cases=_case_figures(tally),
        pre_inquiries=_pre_inquiry_figures(tally.counts),
        requests=_request_figures(tally),
        outcomes=_outcome_figures(tally),
        municipalities=_municipality_figures(tally.places, municipalities, bands),
    )


def _case_figures(tally: _Tally) -> CaseFigures:
    c = tally.counts
    return CaseFigures(
        count=c["cases"],
        moved=c["case_moved"],
        ended_without_move=c["case_not_moved"],
        ongoing=c["case_ongoing"],
        asked_one=c["asked_1"],
        asked_two=c["asked_2"],
        asked_three_or_more=c[f"asked_{HARD_TO_PLACE}"],
        inquiry_to_move_days=_spread(tally.move_days),
    )


def _pre_inquiry_figures(c: Counter[str]) -> PreInquiryFigures:
    return PreInquiryFigures(
        sent=c["pre_sent"],
        positive=c["pre_positive"],
        negative=c["pre_negative"],
        ended_unanswered=c["pre_ended_unanswered"],
        awaiting=c["pre_awaiting"],
    )


def _request_figures(tally: _Tally) -> RequestFigures:
    c = tally.counts
    return RequestFigures(
        sent=c["sent"],
        delivered=c["delivered"],
        answered_in_time=c[_Answer.IN_TIME.name],
        answered_late=c[_Answer.LATE.name],
        unanswered=c[_Answer.UNANSWERED.name],
        ended_before_deadline=c[_Answer.ENDED_BEFORE_DEADLINE.name],
        awaiting_answer=c[_Answer.AWAITING.name],
        answer_days=_spread(tally.answer_days),
        answer_days_histogram=_histogram(tally.answer_days),
        accepted=c["accepted"],
        declined=MappingProxyType({r: tally.declined[r] for r in DeclineReason}),
        confirmed=c["awaiting_move"]
        + c["cancelled_after_confirmation"]
        + c["followed_up"]
        + c["awaiting_follow_up"],
        other_chosen=c["other_chosen"],
        offer_declined=c["offer_declined"],
        withdrawn_or_cancelled=c["withdrawn_or_cancelled"],
        awaiting_confirmation=c["awaiting_confirmation"],
        moved=c["followed_up"] + c["awaiting_follow_up"],
        cancelled_after_confirmation=c["cancelled_after_confirmation"],
        awaiting_move=c["awaiting_move"],
        followed_up=c["followed_up"],
        awaiting_follow_up=c["awaiting_follow_up"],
        withdrawn=c["withdrawn"],
    )


def _outcome_figures(tally: _Tally) -> OutcomeFigures:
    groups = {t: GroupOutcome(*tally.groups.get(t, (0, 0))) for t in TargetGroup}
    return OutcomeFigures(
        reports=tally.counts["reports"],
        by_group=MappingProxyType(groups),
        not_moved_by_reason=MappingProxyType(
            {r: tally.not_moved_reasons[r] for r in NotMovedReason}
        ),
        missing=tally.counts["reports_missing"],
    )


def _municipality_figures(
    places: Mapping[str, _Place],
    members: Iterable[MunicipalityInfo],
    bands: tuple[QuotaBand, ...] | None,
) -> tuple[MunicipalityFigures, ...]:
    """Every member, and any other municipality the year's cases name (one that has left)."""
    known = {m.id: m for m in members}
    found = []
    for municipality_id in {*known, *places}:
        member = known.get(municipality_id)
        place = places.get(municipality_id, _Place())
        population = None if member is None else member.population
        found.append(
            MunicipalityFigures(
                id=municipality_id,
                name=municipality_id if member is None else member.name,
                is_member=member is not None,
                population=population,
                quota=None if bands is None or population is None else quota_for(population, bands),
                asked=place.asked,
                inquiries=place.inquiries,
                received=place.received,
                accepted=place.accepted,
                moves_in=place.moves_in,
                answers_owed=place.answers_owed,
                answered_in_time=place.answered_in_time,
                cases_sent=place.cases_sent,
                moves_out=place.moves_out,
            )
        )
    return tuple(sorted(found, key=lambda m: (swedish_sort_key(m.name), m.id)))

"""How much of the coordinator's yearly report small-number suppression hides, in realistic
network years (docs/statistics.md, "Small numbers").

    .venv/bin/python -m benchmarks.suppression_realism             # about 2-3 minutes on 2 cores
    .venv/bin/python -m benchmarks.suppression_realism --quick     # 3 years, 1 of the big network
    .venv/bin/python -m benchmarks.suppression_realism --years 50 --big-years 5 --seed 7

Three networks, all with Västmanland's quota key (the default of `hub network create`):
Västmanland-like (its 10 municipalities, 13-15 cases a year, 21 answer days), national-like
(30 members, 60 cases, 14 days) and big (100 members, 300 cases, 14 days). By default 20 years
each, but only 2 of the big network, where one `report_tables` takes about a minute. Every
year has its own seeded `random.Random`, so a run is repeatable; the years run in `--workers`
processes (2 by default), so the timings are taken with that many running at once.

Every case is a real lifecycle `Case`, driven event by event in time order with `Case.apply`
and `Case.close_not_moved`; what the lifecycle refuses is not applied (an answer that comes
after the sender confirmed another municipality, say). A case asks 1, 2 or 3 municipalities
(60/30/10 %; 10 % of requests start with a pre-inquiry), picked by the room left in their
quota, from a sender picked by population. The asked municipality answers in time (82 %),
late (14 %) or never; it accepts or declines (quota_reached, more often once it has received
its quota, or insufficient_resources); the sender confirms, declines or withdraws an offer; a
confirmed request is moved, followed up and closed, or cancelled; 7 % of people withdraw.
Every closed case gets an outcome report (4 target groups; a reason that
`hub.report.outcome.contradiction` accepts). The report is taken as of 15 February of the next
year, so December's cases are still running, as in a real yearly report.

The figures come from the hub's own functions: `network_statistics`, then `report_tables`,
whose shown strings are counted. A count cell is any cell but medians, 90th percentiles,
shares in time and quotas; the table "utan_mottagna" is left out, as it repeats the
municipalities' table's zeros. A cell shows a number, "<3" (0, 1 or 2), "x" (3 or more,
hidden) or ".." (not shown). For the overview and the municipalities' table each cell is also
matched with its raw figure, to tell the primary rule (a 1 or 2) from complementary hiding (a
0 or 3+ hidden to protect another cell). `report_tables` is timed on its own; nearly all of
its time is the suppression.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import os
import platform
import random  # noqa: TID251 - a seeded, repeatable simulation; nothing secret is drawn
import statistics
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from benchmarks.envelope_throughput import cpu_info
from hub.protocol.deadlines import (
    STOCKHOLM,
    NetworkDeadlines,
    SwedishCalendar,
    answer_deadline,
    due_date_after_days,
)
from hub.protocol.lifecycle import Case, DeclineReason, Event, Outcome, RequestState, Role
from hub.protocol.settings import DEFAULT_QUOTA_KEY, DEFAULT_SETTINGS, parse_quota_key
from hub.report.export import report_tables
from hub.report.outcome import NotMovedReason, OutcomeReport, TargetGroup, contradiction
from hub.report.statistics import Member, network_statistics, quota_for, quota_key
from hub.report.suppression import HIDDEN, NOT_SHOWN, SMALL, THRESHOLD

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from hub.report.export import Report
    from hub.report.statistics import NetworkStatistics

A, B, HUB = Role.SENDER, Role.RECEIVER, Role.SYSTEM
HOUR: Final = 3600
DAY: Final = 86_400
CAL: Final = SwedishCalendar()
YEAR: Final = 2027
AS_OF: Final = int(datetime(YEAR + 1, 2, 15, 12, tzinfo=STOCKHOLM).timestamp())

# Shown values, in the order the tables print them.
KINDS: Final = ("number", SMALL, HIDDEN, NOT_SHOWN)
# Cells that are not counts: medians, percentiles, shares, quotas (matched case-insensitively
# on the row label and the column).
NOT_COUNTS: Final = ("median", "percentil", "andel", "kvot")
LEFT_OUT: Final = ("utan_mottagna",)  # repeats the municipalities' table's zeros
HEADLINES: Final = ("Ärenden", "Förfrågningar", "Genomförda flyttar")
# The municipalities' table's count columns, as export.py names them.
MUNICIPALITY_COLUMNS: Final = (
    "Tillfrågad",
    "Mottagna förfrågningar",
    "Accepterade",
    "Inflyttningar",
)

# -- the people's choices (per request or per case; plausible, not measured) ------------------

ASKED_WEIGHTS: Final = {1: 60, 2: 30, 3: 10}  # municipalities asked in one case
PRE_INQUIRY: Final = 0.10  # a request that starts with a förhandsförfrågan
PRE_INQUIRY_YES: Final = 0.75
NEVER_FETCHED: Final = 0.01  # the asked inbox never fetches the inquiry
READ_RECEIPT: Final = 0.90
ANSWER_IN_TIME: Final = 0.82  # else late (ANSWER_LATE) or never (the rest)
ANSWER_LATE: Final = 0.14
ACCEPT_UNDER_QUOTA: Final = 0.55  # accept, while the municipality is under its quota
ACCEPT_AT_QUOTA: Final = 0.20  # accept, once it has received its quota
QUOTA_REASON_UNDER: Final = 0.15  # a decline says quota_reached, under the quota
QUOTA_REASON_AT: Final = 0.80  # ... and at or over it
OFFER_CONFIRMED: Final = 0.86  # else the offer is declined (OFFER_DECLINED) or withdrawn
OFFER_DECLINED: Final = 0.09
MOVE_AFTER_CONFIRM: Final = 0.92  # else cancelled after confirmation
FOLLOW_UP_HELD: Final = 0.95
PERSON_WITHDRAWS: Final = 0.07  # the person ends the case before a move
TARGET_GROUP_WEIGHTS: Final = {
    TargetGroup.WOMAN_WITHOUT_CHILDREN: 40,
    TargetGroup.WOMAN_WITH_CHILDREN: 45,
    TargetGroup.MAN_WITHOUT_CHILDREN: 10,
    TargetGroup.MAN_WITH_CHILDREN: 5,
}


# -- the networks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkSize:
    name: str
    members: int
    cases: tuple[int, int]  # a year, from..to
    answer_days: int


SIZES: Final = (
    NetworkSize("Västmanland-like", 10, (13, 15), 21),
    NetworkSize("national-like", 30, (60, 60), 14),
    NetworkSize("big", 100, (300, 300), 14),
)

# Västmanland's ten municipalities, populations rounded (about 2023): quotas 3+3+3+2+2+2+2+1+1+1.
VASTMANLAND: Final = (
    ("vasteras", "Västerås", 159_600),
    ("koping", "Köping", 26_000),
    ("sala", "Sala", 22_900),
    ("hallstahammar", "Hallstahammar", 16_300),
    ("arboga", "Arboga", 14_000),
    ("fagersta", "Fagersta", 13_300),
    ("surahammar", "Surahammar", 10_100),
    ("kungsor", "Kungsör", 8_700),
    ("norberg", "Norberg", 5_500),
    ("skinnskatteberg", "Skinnskatteberg", 4_300),
)


def members_of(size: NetworkSize, seed: int) -> tuple[Member, ...]:
    """Västmanland's own members, or populations drawn once per network like Sweden's
    municipalities: log-normal around a median of 16,000, from 2,500 to 1,000,000."""
    if size.name.startswith("Västmanland"):
        return tuple(Member(*m) for m in VASTMANLAND)
    rng = random.Random(f"members/{size.name}/{seed}")
    return tuple(
        Member(
            f"kommun-{i:03d}",
            f"Kommun {i:03d}",
            int(round(min(1_000_000, max(2_500, rng.lognormvariate(9.68, 0.95))), -2)),
        )
        for i in range(1, size.members + 1)
    )


def settings_for(size: NetworkSize) -> dict[str, object]:
    return {
        **DEFAULT_SETTINGS,
        "answer_days": size.answer_days,
        "quota_key": parse_quota_key(DEFAULT_QUOTA_KEY),
    }


# -- one simulated year ---------------------------------------------------------------------------


@dataclass
class World:
    """The network during one simulated year: who has received how much, and the dice."""

    rng: random.Random
    members: tuple[Member, ...]
    rules: NetworkDeadlines
    quotas: dict[str, int]
    received: Counter[str] = field(default_factory=Counter)

    def pick_sender(self) -> str:
        return self.rng.choices(
            [m.id for m in self.members], weights=[m.population or 1 for m in self.members]
        )[0]

    def pick_asked(self, sender: str, k: int) -> list[str]:
        """k others, by the room left in their quota (a full one still now and then)."""
        chosen: list[str] = []
        for _ in range(k):
            others = [m.id for m in self.members if m.id != sender and m.id not in chosen]
            room = [max(0, self.quotas[m] - self.received[m]) + 0.3 for m in others]
            chosen.append(self.rng.choices(others, weights=room)[0])
        return chosen


@dataclass
class CaseRun:
    """One case driven through the lifecycle, its next actions in a time-ordered queue."""

    world: World
    case: Case
    queue: list[tuple[int, int, str, str]] = field(default_factory=list)
    serial: itertools.count[int] = field(default_factory=itertools.count)
    ending: bool = False
    person_withdrew: bool = False

    def push(self, at: int, action: str, municipality: str = "") -> None:
        heapq.heappush(self.queue, (at, next(self.serial), action, municipality))

    def pending(self, *actions: str) -> bool:
        return any(a in actions for _, _, a, _ in self.queue)

    def apply(self, role: Role, m: str, event: Event, at: int, **details: object) -> bool:
        """Apply the event if the lifecycle allows it now; False when it does not."""
        if event not in self.case.allowed_events(role, m):
            return False
        self.case, _ = self.case.apply(role, m, event, at, **details)
        return True

    def run(self) -> Case:
        while self.queue and not self.case.is_closed:
            at, _, action, m = heapq.heappop(self.queue)
            if at > AS_OF:
                break
            getattr(self, f"on_{action}")(at, m)
            busy = self.case.open_requests or self.pending("ask", "ask_formal", "pre_answer")
            if not self.case.is_closed and not busy and not self.ending:
                self.ending = True  # nothing left to wait for: the sender closes the case
                self.push(at + self.world.rng.randint(DAY, 14 * DAY), "end")
        return self.case

    # -- the actions

    def on_ask(self, at: int, m: str) -> None:
        rng = self.world.rng
        if rng.random() < PRE_INQUIRY:
            if self.apply(A, m, Event.SEND_PRE_INQUIRY, at):
                self.push(at + rng.randint(2 * HOUR, 4 * DAY), "pre_answer", m)
        else:
            self.on_ask_formal(at, m)

    def on_pre_answer(self, at: int, m: str) -> None:
        if self.world.rng.random() < PRE_INQUIRY_YES:
            if self.apply(B, m, Event.PRE_INQUIRY_YES, at):
                self.push(at + self.world.rng.randint(HOUR, 2 * DAY), "ask_formal", m)
        else:
            self.apply(B, m, Event.PRE_INQUIRY_NO, at)

    def on_ask_formal(self, at: int, m: str) -> None:
        rng = self.world.rng
        if not self.apply(A, m, Event.SEND_INQUIRY, at):
            return
        if rng.random() < NEVER_FETCHED:  # counted from sending; the sender gives up on it
            due = CAL.end_of_day(due_date_after_days(at, self.world.rules.answer_days, CAL))
            self.push(int(due.timestamp()) + rng.randint(DAY, 14 * DAY), "withdraw", m)
        else:
            self.push(at + rng.randint(60, DAY), "deliver", m)

    def on_deliver(self, at: int, m: str) -> None:
        rng = self.world.rng
        if not self.apply(HUB, m, Event.DELIVER, at):
            return
        self.world.received[m] += 1
        due = int(answer_deadline(at, self.world.rules, CAL).timestamp())
        if rng.random() < READ_RECEIPT:
            self.push(at + rng.randint(600, 2 * DAY), "read", m)
        draw = rng.random()
        if draw < ANSWER_IN_TIME:  # mostly in the second half of the answer time
            self.push(at + int(rng.triangular(0.05, 1.0, 0.7) * (due - at)), "answer", m)
        elif draw < ANSWER_IN_TIME + ANSWER_LATE:
            self.push(due + rng.randint(HOUR, 12 * DAY), "answer", m)
        else:  # never answers; the sender withdraws the request after the deadline
            self.push(due + rng.randint(DAY, 14 * DAY), "withdraw", m)

    def on_read(self, at: int, m: str) -> None:
        self.apply(B, m, Event.READ_RECEIPT, at)

    def on_answer(self, at: int, m: str) -> None:
        rng = self.world.rng
        full = self.world.received[m] > self.world.quotas[m]
        if rng.random() < (ACCEPT_AT_QUOTA if full else ACCEPT_UNDER_QUOTA):
            if self.apply(B, m, Event.ACCEPT, at):
                self.push(at + rng.randint(4 * HOUR, 8 * DAY), "offer", m)
            return
        quota_reason = QUOTA_REASON_AT if full else QUOTA_REASON_UNDER
        reason = (
            DeclineReason.QUOTA_REACHED
            if rng.random() < quota_reason
            else DeclineReason.INSUFFICIENT_RESOURCES
        )
        self.apply(B, m, Event.DECLINE, at, reason=reason.value)

    def on_offer(self, at: int, m: str) -> None:
        rng = self.world.rng
        draw = rng.random()
        if draw < OFFER_CONFIRMED:
            if self.apply(A, m, Event.CONFIRM, at):
                if rng.random() < MOVE_AFTER_CONFIRM:
                    self.push(at + rng.randint(14 * DAY, 75 * DAY), "move", m)
                else:
                    self.push(at + rng.randint(3 * DAY, 40 * DAY), "cancel", m)
        elif draw < OFFER_CONFIRMED + OFFER_DECLINED:
            self.apply(A, m, Event.DECLINE_OFFER, at)
        else:
            self.apply(A, m, Event.WITHDRAW, at)

    def on_move(self, at: int, m: str) -> None:
        role = self.world.rng.choice((A, B))
        moved = self.apply(role, m, Event.RECORD_MOVE, at, moving_date=CAL.local_date(at))
        if moved and self.world.rng.random() < FOLLOW_UP_HELD:
            self.push(at + self.world.rng.randint(20 * DAY, 45 * DAY), "follow_up", m)

    def on_follow_up(self, at: int, m: str) -> None:
        if self.apply(self.world.rng.choice((A, B)), m, Event.RECORD_FOLLOW_UP, at):
            self.push(at + self.world.rng.randint(DAY, 20 * DAY), "close", m)

    def on_close(self, at: int, m: str) -> None:
        self.apply(A, m, Event.CLOSE, at)

    def on_cancel(self, at: int, m: str) -> None:
        self.apply(self.world.rng.choice((A, B)), m, Event.CANCEL, at)

    def on_withdraw(self, at: int, m: str) -> None:
        self.apply(A, m, Event.WITHDRAW, at)

    def on_person_withdraws(self, at: int, _: str) -> None:
        """The person ends it: a confirmed move not yet made is cancelled, the case closed."""
        agreed = self.case.agreed_request
        if agreed is not None and agreed.state is not RequestState.CONFIRMED:
            return  # moved already (or cancelled: the case is ending anyway)
        if agreed is not None:
            self.apply(A, agreed.municipality, Event.CANCEL, at)
        if self.case.can_close_not_moved(A):
            self.person_withdrew = True
            self.case = self.case.close_not_moved(A, at)[0]

    def on_end(self, at: int, _: str) -> None:
        if self.case.can_close_not_moved(A):
            self.case = self.case.close_not_moved(A, at)[0]


def start_of_case(rng: random.Random) -> int:
    """A working day of the year, in office hours (Stockholm)."""
    while True:
        day = datetime(YEAR, 1, 1, tzinfo=STOCKHOLM) + timedelta(days=rng.randrange(365))
        if CAL.is_working_day(day.date()):
            return int((day + timedelta(seconds=rng.randint(8 * HOUR, 17 * HOUR))).timestamp())


def outcome_report(run: CaseRun) -> OutcomeReport:
    """What the sending municipality files for a closed case: a story the case allows."""
    rng, case = run.world.rng, run.case
    group = rng.choices(list(TARGET_GROUP_WEIGHTS), weights=list(TARGET_GROUP_WEIGHTS.values()))[0]
    if case.outcome is Outcome.MOVED and case.agreed_request is not None:
        return OutcomeReport(
            target_group=group, moved=True, receiving_municipality=case.agreed_request.municipality
        )
    r = NotMovedReason
    if run.person_withdrew:
        reasons = {r.PERSON_WITHDREW: 5, r.MOVED_ON_OWN: 3, r.THREAT_CHANGED: 2}
    elif case.agreed_request is not None:  # cancelled after confirmation
        reasons = {r.NO_HOUSING: 5, r.PERSON_WITHDREW: 3, r.THREAT_CHANGED: 2}
    elif any(q.entered_at(RequestState.ACCEPTED) is not None for q in case.requests):
        reasons = {r.PERSON_WITHDREW: 4, r.MOVED_ON_OWN: 3, r.THREAT_CHANGED: 2, r.OTHER: 1}
    else:
        reasons = {r.NO_MUNICIPALITY: 15, r.MOVED_ON_OWN: 2, r.PERSON_WITHDREW: 2, r.OTHER: 1}
    why = rng.choices(list(reasons), weights=list(reasons.values()))[0]
    report = OutcomeReport(target_group=group, moved=False, not_moved_reason=why)
    problem = contradiction(case, report)
    if problem is not None:
        raise SystemExit(f"the simulation filed a report the hub refuses: {problem}")
    return report


def simulate_year(
    size: NetworkSize, members: tuple[Member, ...], seed: int
) -> tuple[list[Case], dict[str, OutcomeReport]]:
    """One year of the network's cases as they stand on AS_OF, and their outcome reports."""
    rng = random.Random(f"year/{size.name}/{seed}")
    bands = quota_key(settings_for(size))
    if bands is None:
        raise SystemExit("the simulated networks all have a quota key")
    world = World(
        rng,
        members,
        NetworkDeadlines.from_settings(settings_for(size)),
        {m.id: quota_for(m.population or 0, bands) for m in members},
    )
    cases: list[Case] = []
    outcomes: dict[str, OutcomeReport] = {}
    starts = sorted(start_of_case(rng) for _ in range(rng.randint(*size.cases)))
    for n, start in enumerate(starts):
        sender = world.pick_sender()
        k = rng.choices(list(ASKED_WEIGHTS), weights=list(ASKED_WEIGHTS.values()))[0]
        run = CaseRun(world, Case(f"arende-{n:04d}", sender))
        for i, m in enumerate(world.pick_asked(sender, k)):
            run.push(start + (0 if i == 0 else rng.randint(HOUR, 3 * DAY)), "ask", m)
        if rng.random() < PERSON_WITHDRAWS:
            run.push(start + rng.randint(3 * DAY, 90 * DAY), "person_withdraws")
        case = run.run()
        cases.append(case)
        if case.is_closed:
            outcomes[case.case_id] = outcome_report(run)
    return cases, outcomes


# -- what the report shows ------------------------------------------------------------------------


def kind_of(value: str) -> str:
    if value.isdigit():
        return "number"
    if value in KINDS:
        return value
    raise SystemExit(
        f"a count cell shows {value!r}: not a number, {SMALL}, {HIDDEN} or {NOT_SHOWN}"
    )


def count_cells(report: Report) -> dict[str, Counter[str]]:
    """Shown kinds of every count cell: over all tables, and for two of them."""
    found = {"all": Counter[str](), "oversikt": Counter[str](), "kommuner": Counter[str]()}
    for table in report.tables:
        if table.key in LEFT_OUT:
            continue
        for row in table.rows:
            for column, value in zip(table.columns, row.values, strict=True):
                where = f"{row.label} {column}".casefold()
                if any(word in where for word in NOT_COUNTS):
                    continue
                kind = kind_of(value)
                found["all"][kind] += 1
                if table.key in found:
                    found[table.key][kind] += 1
    return found


def raw_overview(stats: NetworkStatistics) -> dict[str, int]:
    """The raw count behind each count row of the overview, by its label."""
    c, r, o = stats.cases, stats.requests, stats.outcomes
    return {
        "Ärenden": c.count,
        "Svårplacerade ärenden (3 eller fler kommuner tillfrågade)": c.asked_three_or_more,
        "Ärenden som slutade utan flytt": c.ended_without_move,
        "Genomförda flyttar": c.moved,
        "Uppföljningsmöten hållna": r.followed_up,
        "Ärenden med barn (enligt utfallsrapporterna)": o.children_involved,
        "Förhandsförfrågningar": stats.pre_inquiries.sent,
        "Förfrågningar": r.sent,
        "Avslutade ärenden utan utfallsrapport": o.missing,
    }


def raw_municipalities(stats: NetworkStatistics) -> dict[tuple[str, str], int]:
    """The raw count behind each count cell of the municipalities' table, by (row, column)."""
    found: dict[tuple[str, str], int] = {}
    for m in stats.municipalities:
        label = m.name if m.is_member else f"{m.name} (inte medlem)"
        values = (m.asked, m.received, m.accepted, m.moves_in)
        found.update({(label, c): v for c, v in zip(MUNICIPALITY_COLUMNS, values, strict=True)})
    r = stats.requests
    totals = (sum(m.asked for m in stats.municipalities), r.delivered, r.accepted, r.moved)
    found.update({("Totalt", c): v for c, v in zip(MUNICIPALITY_COLUMNS, totals, strict=True)})
    return found


def why_shown(report: Report, stats: NetworkStatistics) -> dict[str, Counter[str]]:
    """For the overview's and the municipalities' count cells: shown as a number; hidden by
    the primary rule (a 1 or 2, "<3"); or hidden only to protect another cell (a 0 or 3+ that
    is not shown as its number)."""
    raw = {
        "oversikt": {(label, "Värde"): v for label, v in raw_overview(stats).items()},
        "kommuner": raw_municipalities(stats),
    }
    found = {key: Counter[str]() for key in raw}
    for key, values in raw.items():
        for row in report.table(key).rows:
            for column, shown in zip(report.table(key).columns, row.values, strict=True):
                if any(word in f"{row.label} {column}".casefold() for word in NOT_COUNTS):
                    continue
                true = values.get((row.label, column))
                if true is None:
                    raise SystemExit(f"no raw figure known for {key}: {row.label} / {column}")
                if kind_of(shown) == "number":
                    found[key]["number"] += 1
                elif 0 < true < THRESHOLD:
                    found[key]["primary"] += 1
                else:
                    found[key]["complementary"] += 1
    return found


@dataclass(frozen=True)
class YearResult:
    """What one simulated year showed (picklable: years run in worker processes)."""

    size: str
    seed: int
    cells: dict[str, Counter[str]]  # "all", "oversikt", "kommuner": shown kind -> cells
    why: dict[str, Counter[str]]  # "oversikt", "kommuner": number/primary/complementary
    headlines: dict[str, str]  # headline -> shown kind
    truth: dict[str, int]  # headline -> the raw count
    report_seconds: float
    statistics_seconds: float
    simulate_seconds: float


def one_year(size_name: str, seed: int, members_seed: int) -> YearResult:
    """Simulate one year of the network, compute its figures and its suppressed report."""
    size = next(s for s in SIZES if s.name == size_name)
    members = members_of(size, members_seed)
    began = time.perf_counter()
    cases, outcomes = simulate_year(size, members, seed)
    simulated = time.perf_counter()
    stats = network_statistics(
        cases, outcomes, members, settings_for(size), YEAR, calendar=CAL, as_of=AS_OF
    )
    counted = time.perf_counter()
    report = report_tables(stats)
    reported = time.perf_counter()
    overview = {r.label: r.values[0] for r in report.table("oversikt").rows}
    truth = {
        "Ärenden": stats.cases.count,
        "Förfrågningar": stats.requests.sent,
        "Genomförda flyttar": stats.cases.moved,
    }
    return YearResult(
        size=size_name,
        seed=seed,
        cells=count_cells(report),
        why=why_shown(report, stats),
        headlines={h: kind_of(overview[h]) for h in HEADLINES},
        truth=truth,
        report_seconds=reported - counted,
        statistics_seconds=counted - simulated,
        simulate_seconds=simulated - began,
    )


@dataclass
class Tally:
    """What the years of one network showed."""

    size: NetworkSize
    members: tuple[Member, ...]
    planned: int
    years: list[YearResult] = field(default_factory=list)

    def cells(self, key: str) -> Counter[str]:
        return sum((y.cells[key] for y in self.years), Counter[str]())

    def why(self, key: str) -> Counter[str]:
        return sum((y.why[key] for y in self.years), Counter[str]())

    def headline(self, headline: str) -> Counter[str]:
        return Counter(y.headlines[headline] for y in self.years)

    def truth(self, headline: str) -> list[int]:
        return [y.truth[headline] for y in self.years]


def measure(
    plan: Sequence[tuple[NetworkSize, int]],
    seed: int,
    workers: int,
    progress: Callable[[str], None],
) -> list[Tally]:
    """Every planned year, the slowest network's first, on `workers` processes."""
    tallies = {size.name: Tally(size, members_of(size, seed), years) for size, years in plan}
    jobs = [
        (size.name, year_seed) for size, years in plan for year_seed in range(seed, seed + years)
    ]
    jobs.sort(key=lambda job: -tallies[job[0]].size.cases[0])  # biggest first: better packing
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(one_year, name, year_seed, seed) for name, year_seed in jobs]
        for future in as_completed(futures):
            year = future.result()
            tally = tallies[year.size]
            tally.years.append(year)
            progress(
                f"{year.size}: year {len(tally.years)}/{tally.planned} done (seed {year.seed}): "
                f"{year.truth['Ärenden']} cases, {year.truth['Förfrågningar']} förfrågningar, "
                f"{year.truth['Genomförda flyttar']} moves; report_tables "
                f"{year.report_seconds:.2f} s"
            )
    for tally in tallies.values():
        tally.years.sort(key=lambda y: y.seed)
    return list(tallies.values())


# -- printing -------------------------------------------------------------------------------------


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}" if whole else "-"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}"


def network_lines(tallies: Sequence[Tally]) -> list[str]:
    bands = quota_key(settings_for(SIZES[0]))
    if bands is None:
        raise SystemExit("Västmanland's quota key did not parse")
    lines = [
        "The networks: mean per year [min-max]",
        (
            f"  {'network':<18}{'members':>8}{'quota':>7}{'days':>6}{'years':>7}"
            f"{'cases':>16}{'förfrågningar':>19}{'moves':>16}"
        ),
    ]
    for t in tallies:
        quota = sum(quota_for(m.population or 0, bands) for m in t.members)
        figures = []
        for headline, width in zip(HEADLINES, (16, 19, 16), strict=True):
            values = t.truth(headline)
            text = f"{statistics.mean(values):.1f} [{min(values)}-{max(values)}]"
            figures.append(f"{text:>{width}}")
        lines.append(
            f"  {t.size.name:<18}{t.size.members:>8}{quota:>7}{t.size.answer_days:>6}"
            f"{len(t.years):>7}" + "".join(figures)
        )
    lines.append("  (quota: the members' quotas summed; days: the answer time in days)")
    return lines


def cell_lines(tallies: Sequence[Tally]) -> list[str]:
    head = f"  {'network':<18}{'table':<10}{'cells/yr':>9}" + "".join(
        f"{k:>8}" for k in ("number", SMALL, HIDDEN, NOT_SHOWN)
    )
    lines = [
        (
            "Count cells as shown, % of the count cells of all the years (medians, 90th "
            "percentiles, shares and quotas left out; 'all' is every table but utan_mottagna)"
        ),
        head,
        "  " + "-" * (len(head) - 2),
    ]
    for t in tallies:
        for key in ("all", "oversikt", "kommuner"):
            cells = t.cells(key)
            whole = sum(cells.values())
            name = t.size.name if key == "all" else ""
            shares = "".join(f"{percent(cells[k], whole):>8}" for k in KINDS)
            lines.append(f"  {name:<18}{key:<10}{whole / len(t.years):>9.0f}{shares}")
    return lines


def why_lines(tallies: Sequence[Tally]) -> list[str]:
    head = f"  {'network':<18}{'table':<10}{'number':>8}{'a 1 or 2':>10}{'a 0 or 3+':>11}"
    lines = [
        (
            "Why a count cell is not shown as its number, % of the count cells (from the raw "
            "figures): 'a 1 or 2' is the primary rule; 'a 0 or 3+' is hidden only to protect "
            "another cell"
        ),
        head,
        "  " + "-" * (len(head) - 2),
    ]
    for t in tallies:
        for n, key in enumerate(("oversikt", "kommuner")):
            why = t.why(key)
            whole = sum(why.values())
            name = t.size.name if n == 0 else ""
            lines.append(
                f"  {name:<18}{key:<10}{percent(why['number'], whole):>8}"
                f"{percent(why['primary'], whole):>10}{percent(why['complementary'], whole):>11}"
            )
    return lines


def headline_lines(tallies: Sequence[Tally]) -> list[str]:
    lines = [
        (
            "The overview's headline counts: years shown as a number, of the years simulated "
            f'(in brackets, when not always: years shown "{SMALL}" / "{HIDDEN}" / "{NOT_SHOWN}")'
        ),
        f"  {'network':<18}" + "".join(f"{h:>22}" for h in HEADLINES) + f"{'all three':>12}",
    ]
    for t in tallies:
        cells = []
        for h in HEADLINES:
            c = t.headline(h)
            text = f"{c['number']}/{len(t.years)}"
            if c["number"] != len(t.years):
                text += f" ({c[SMALL]}/{c[HIDDEN]}/{c[NOT_SHOWN]})"
            cells.append(f"{text:>22}")
        every = sum(all(y.headlines[h] == "number" for h in HEADLINES) for y in t.years)
        cells.append(f"{f'{every}/{len(t.years)}':>12}")
        lines.append(f"  {t.size.name:<18}" + "".join(cells))
    lines.append(
        f'  "{HIDDEN}" and "{NOT_SHOWN}" there hide a count of 3 or more, to protect a small '
        "count elsewhere in the report"
    )
    return lines


def time_lines(tallies: Sequence[Tally], workers: int) -> list[str]:
    lines = [
        f"Time per year, ms (wall clock, {workers} worker process(es) running at once)",
        (
            f"  {'network':<18}{'report_tables median':>22}{'max':>10}"
            f"{'network_statistics':>20}{'simulation':>12}"
        ),
    ]
    for t in tallies:
        report = [y.report_seconds for y in t.years]
        lines.append(
            f"  {t.size.name:<18}{ms(statistics.median(report)):>22}{ms(max(report)):>10}"
            f"{ms(statistics.median(y.statistics_seconds for y in t.years)):>20}"
            f"{ms(statistics.median(y.simulate_seconds for y in t.years)):>12}"
        )
    lines.append("  (network_statistics and simulation: medians)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--years", type=int, default=20, help="simulated years per network")
    parser.add_argument(
        "--big-years",
        type=int,
        default=2,
        help="at most this many years of the big network (report_tables takes about a minute "
        "per year there)",
    )
    parser.add_argument("--seed", type=int, default=1, help="the first year's seed")
    parser.add_argument(
        "--workers", type=int, default=min(2, os.cpu_count() or 1), help="worker processes"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 years, 1 of the big")
    args = parser.parse_args(argv)
    if args.quick:
        args.years, args.big_years = 3, 1
    if min(args.years, args.big_years, args.workers) < 1:
        parser.error("--years, --big-years and --workers must be positive")
    plan = [(size, args.years) for size in SIZES[:-1]]
    plan.append((SIZES[-1], min(args.years, args.big_years)))

    def progress(text: str) -> None:
        print(f"... {text}", file=sys.stderr, flush=True)

    model, _ = cpu_info()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"machine: nproc {len(os.sched_getaffinity(0))}, CPU {model}, Python "
        f"{platform.python_version()}, load average at start {load}"
    )
    began = time.perf_counter()
    tallies = measure(plan, args.seed, args.workers, progress)
    elapsed = time.perf_counter() - began
    print(
        f"simulated years from seed {args.seed}, cases first asked in {YEAR}, report as of "
        f"{datetime.fromtimestamp(AS_OF, STOCKHOLM):%Y-%m-%d}, Västmanland's quota key "
        f"({DEFAULT_QUOTA_KEY}); run time {elapsed:.0f} s"
    )
    for block in (
        network_lines(tallies),
        cell_lines(tallies),
        why_lines(tallies),
        headline_lines(tallies),
        time_lines(tallies, args.workers),
    ):
        print()
        print("\n".join(block))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The year's figures as the coordinator may see them: suppressed tables, and those as CSV.

`report_tables` is the one place that decides what is shown. It gathers every count of every
table under one key, with every relation between them (`Line`: a total and its parts, within a
table and across tables: the municipalities' column of moves adds up to the moves in the
overview), and suppresses them together, so no table can undo another's "<3". Differences a
reader could take within a municipality's row (received 4, accepted 3) are counts of their
own in that set, shown nowhere but protected all the same. The pages, the PDF, the charts and
the CSV all render these tables and never the raw figures.

Figures that are not counts follow the same idea:
- a share answered in time is shown only when both its parts (in time, not in time) are shown
  as numbers, so it cannot turn back into a hidden count;
- a median or 90th percentile is shown only with at least 3 values behind it;
- a quota is a rule applied to a public population, shown as it is.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from hub.protocol.lifecycle import DeclineReason
from hub.report.outcome import (
    NOT_MOVED_REASON_LABELS,
    TARGET_GROUP_LABELS,
    NotMovedReason,
    TargetGroup,
)
from hub.report.statistics import ANSWER_DAY_BINS
from hub.report.suppression import LEGEND, NOT_SHOWN, THRESHOLD, Line, suppress

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from hub.report.statistics import MunicipalityFigures, NetworkStatistics, Spread

Key = tuple[object, ...]
NO_VALUE: Final = "–"  # noqa: RUF001 - the en dash a Swedish table uses for "none" (no quota key)

DECLINE_LABELS: Final = {
    DeclineReason.QUOTA_REACHED: "Nekade: det överenskomna antalet ärenden är mottaget",
    DeclineReason.INSUFFICIENT_RESOURCES: "Nekade: kommunens resurser räcker inte",
}


@dataclass(frozen=True)
class ReportRow:
    label: str
    values: tuple[str, ...]
    level: int = 0  # 0: a figure or a total; 1: a part of the nearest level-0 row above
    is_total: bool = False  # the table's "Totalt" row


@dataclass(frozen=True)
class ReportTable:
    key: str  # stable: the CSV and the pages' anchors use it
    title: str
    row_header: str
    columns: tuple[str, ...]
    rows: tuple[ReportRow, ...]
    description: str = ""

    def column(self, index: int) -> tuple[tuple[str, str], ...]:
        """(row label, shown value) of one column, totals left out: what a chart draws."""
        return tuple((r.label, r.values[index]) for r in self.rows if not r.is_total)


@dataclass(frozen=True)
class Report:
    year: int
    tables: tuple[ReportTable, ...]
    never_received: tuple[str, ...]  # members shown with 0 received
    legend: str = LEGEND

    def table(self, key: str) -> ReportTable:
        found = next((t for t in self.tables if t.key == key), None)
        if found is None:
            raise KeyError(key)
        return found


# -- every count and every relation, under one key each --------------------------------------------


class _Counts:
    def __init__(self) -> None:
        self.values: dict[Key, int] = {}
        self.lines: list[Line[Key]] = []

    def add(self, key: Key, value: int) -> None:
        if self.values.setdefault(key, value) != value:
            raise ValueError(f"two figures for {key!r} disagree")

    def partition(self, total: Key, parts: Mapping[Key, int]) -> None:
        for key, value in parts.items():
            self.add(key, value)
        self.lines.append(Line(total, tuple(parts)))


def _gather(stats: NetworkStatistics) -> _Counts:
    counts = _Counts()
    c, r, p, o = stats.cases, stats.requests, stats.pre_inquiries, stats.outcomes
    counts.add(("cases",), c.count)
    counts.add(("moved",), r.moved)
    counts.add(("moved",), c.moved)  # one confirmed request per case: the same number
    counts.partition(
        ("cases",),
        {
            ("moved",): c.moved,
            ("cases", "not_moved"): c.ended_without_move,
            ("cases", "ongoing"): c.ongoing,
        },
    )
    counts.partition(
        ("cases",),
        {("asked", 1): c.asked_one, ("asked", 2): c.asked_two, ("asked", 3): c.asked_three_or_more},
    )
    counts.add(("pre",), p.sent)
    counts.partition(
        ("pre",),
        {
            ("pre", "positive"): p.positive,
            ("pre", "negative"): p.negative,
            ("pre", "unanswered"): p.ended_unanswered,
            ("pre", "awaiting"): p.awaiting,
        },
    )
    counts.add(("sent",), r.sent)
    counts.partition(
        ("sent",),
        {
            ("in_time",): r.answered_in_time,
            ("late",): r.answered_late,
            ("unanswered",): r.unanswered,
            ("ended_before_deadline",): r.ended_before_deadline,
            ("awaiting_answer",): r.awaiting_answer,
        },
    )
    counts.add(("answered",), r.answered)
    counts.lines.append(Line(("answered",), (("in_time",), ("late",))))
    counts.add(("not_in_time",), r.answered_late + r.unanswered)
    counts.lines.append(Line(("not_in_time",), (("late",), ("unanswered",))))
    counts.partition(
        ("answered",),
        {("accepted",): r.accepted, **{("declined", d): n for d, n in r.declined.items()}},
    )
    counts.partition(("answered",), {("days", i): n for i, n in enumerate(r.answer_days_histogram)})
    counts.partition(
        ("accepted",),
        {
            ("confirmed",): r.confirmed,
            ("accepted", "other_chosen"): r.other_chosen,
            ("accepted", "offer_declined"): r.offer_declined,
            ("accepted", "withdrawn_or_cancelled"): r.withdrawn_or_cancelled,
            ("accepted", "awaiting"): r.awaiting_confirmation,
        },
    )
    counts.partition(
        ("confirmed",),
        {
            ("moved",): r.moved,
            ("confirmed", "cancelled"): r.cancelled_after_confirmation,
            ("confirmed", "awaiting"): r.awaiting_move,
        },
    )
    counts.partition(
        ("moved",),
        {("moved", "followed_up"): r.followed_up, ("moved", "awaiting"): r.awaiting_follow_up},
    )
    _gather_outcomes(counts, stats)
    counts.add(("reports_missing",), o.missing)
    _gather_municipalities(counts, stats.municipalities, r.delivered)
    return counts


def _gather_outcomes(counts: _Counts, stats: NetworkStatistics) -> None:
    o = stats.outcomes
    counts.add(("reports",), o.reports)
    for group, outcome in o.by_group.items():
        counts.partition(
            ("group", group),
            {
                ("group", group, "moved"): outcome.moved,
                ("group", group, "not_moved"): outcome.not_moved,
            },
        )
    groups = tuple(o.by_group)
    counts.partition(
        ("reports",), {("group", g): o.by_group[g].moved + o.by_group[g].not_moved for g in groups}
    )
    for column, total in (("moved", o.moved), ("not_moved", o.not_moved)):
        counts.add(("reports", column), total)
        counts.partition(
            ("reports", column),
            {("group", g, column): counts.values["group", g, column] for g in groups},
        )
    counts.lines.append(Line(("reports",), (("reports", "moved"), ("reports", "not_moved"))))
    with_children = tuple(("group", g) for g in groups if g.with_children)
    counts.add(("children",), o.children_involved)
    counts.lines.append(Line(("children",), with_children))
    counts.partition(
        ("reports", "not_moved"), {("reason", why): n for why, n in o.not_moved_by_reason.items()}
    )


# The municipalities' counts, each column adding up to a figure of the network.
_PLACE_COLUMNS: Final[Mapping[str, tuple[Callable[[MunicipalityFigures], int], Key]]] = {
    "asked": (lambda m: m.asked, ("asked_total",)),
    "inquiries": (lambda m: m.inquiries, ("sent",)),
    "received": (lambda m: m.received, ("delivered",)),
    "in_time": (lambda m: m.answered_in_time, ("in_time",)),
    "not_in_time": (lambda m: m.answers_owed - m.answered_in_time, ("not_in_time",)),
    "accepted": (lambda m: m.accepted, ("accepted",)),
    "moves_in": (lambda m: m.moves_in, ("moved",)),
    "cases_sent": (lambda m: m.cases_sent, ("cases",)),
    "moves_out": (lambda m: m.moves_out, ("moved",)),
}


def _gather_municipalities(
    counts: _Counts, places: Sequence[MunicipalityFigures], delivered: int
) -> None:
    """Each column with its network total, and within each row the differences a reader could
    take between two of its figures (received 4, accepted 3: one not accepted), as counts of
    their own, so that suppression protects them too although no table shows them."""
    counts.add(("asked_total",), sum(m.asked for m in places))
    counts.add(("delivered",), delivered)
    for column, (count, total) in _PLACE_COLUMNS.items():
        counts.partition(total, {("m", m.id, column): count(m) for m in places})
    for m in places:
        row: dict[str, int] = {c: count(m) for c, (count, _) in _PLACE_COLUMNS.items()}
        for whole, parts in _ROW_DIFFERENCES:
            rest = row[whole] - sum(row[p] for p in parts)
            counts.partition(
                ("m", m.id, whole),
                {**{("m", m.id, p): row[p] for p in parts}, ("m", m.id, whole, *parts): rest},
            )


# Within a municipality's row: whole = parts + the rest, a count no table shows.
_ROW_DIFFERENCES: Final = (
    ("asked", ("inquiries",)),  # the rest: pre-inquiries that never became inquiries
    ("inquiries", ("received",)),  # never fetched by its inbox
    ("inquiries", ("in_time", "not_in_time")),  # no answer owed (yet)
    ("received", ("accepted",)),  # declined, or not answered
    ("accepted", ("moves_in",)),  # not (yet) moved
    ("cases_sent", ("moves_out",)),  # its cases that did not move (yet)
)


# -- the tables --------------------------------------------------------------------------------


# The overview's headline counts: another cell is hidden to protect a small count whenever
# one can, so that the year's cases, inquiries and moves stay readable in a small network.
HEADLINES: Final = (("cases",), ("sent",), ("moved",))


def report_tables(stats: NetworkStatistics) -> Report:
    """Every table of the year, suppressed together. Deterministic: same figures, same pages."""
    counts = _gather(stats)
    shown = suppress(counts.values, counts.lines, hide_last=HEADLINES)
    view = _View(shown)
    places = stats.municipalities
    never = tuple(m.name for m in places if m.is_member and shown["m", m.id, "received"] == "0")
    tables = (
        _overview(stats, view),
        _cases_table(view),
        _asked_table(view),
        _pre_inquiry_table(view),
        _answer_table(stats, view),
        _decision_table(view),
        _after_yes_table(view),
        _answer_days_table(view),
        _target_group_table(view),
        _reason_table(view),
        _municipality_table(places, view),
        _reciprocity_table(places, view),
        ReportTable(
            "utan_mottagna",
            "Medlemmar som inte tagit emot någon förfrågan",
            "Kommun",
            ("Mottagna förfrågningar",),
            tuple(ReportRow(name, ("0",)) for name in never),
        ),
    )
    return Report(stats.year, tables, never)


class _View:
    """The shown strings, and the figures derived from them."""

    def __init__(self, shown: Mapping[Key, str]) -> None:
        self.shown = shown

    def __getitem__(self, key: Key) -> str:
        return self.shown[key]

    def row(self, label: str, key: Key, level: int = 0, *, total: bool = False) -> ReportRow:
        return ReportRow(label, (self.shown[key],), level, total)

    def share(self, in_time: Key, not_in_time: Key) -> str:
        """The share in time, only when both its parts are shown as numbers."""
        parts = (self.shown[in_time], self.shown[not_in_time])
        if not all(p.isdigit() for p in parts) or not int(parts[0]) + int(parts[1]):
            return NOT_SHOWN
        return f"{round(100 * int(parts[0]) / (int(parts[0]) + int(parts[1])))} %"


def _days(spread: Spread, which: str) -> str:
    value = spread.median if which == "median" else spread.p90
    return NOT_SHOWN if spread.count < THRESHOLD or value is None else str(value)


def _overview(stats: NetworkStatistics, view: _View) -> ReportTable:
    answer, move = stats.requests.answer_days, stats.cases.inquiry_to_move_days
    rows = (
        view.row("Ärenden", ("cases",)),
        view.row("Svårplacerade ärenden (3 eller fler kommuner tillfrågade)", ("asked", 3), 1),
        view.row("Ärenden som slutade utan flytt", ("cases", "not_moved"), 1),
        view.row("Genomförda flyttar", ("moved",)),
        view.row("Uppföljningsmöten hållna", ("moved", "followed_up"), 1),
        view.row("Ärenden med barn (enligt utfallsrapporterna)", ("children",)),
        view.row("Förhandsförfrågningar", ("pre",)),
        view.row("Förfrågningar", ("sent",)),
        ReportRow("Andel besvarade i tid", (view.share(("in_time",), ("not_in_time",)),), 1),
        ReportRow("Svarstid i dagar, median", (_days(answer, "median"),), 1),
        ReportRow("Svarstid i dagar, 90:e percentilen", (_days(answer, "p90"),), 1),
        ReportRow("Dagar från första förfrågan till flytt, median", (_days(move, "median"),)),
        ReportRow(
            "Dagar från första förfrågan till flytt, 90:e percentilen", (_days(move, "p90"),)
        ),
        view.row("Avslutade ärenden utan utfallsrapport", ("reports_missing",)),
    )
    description = (
        f"Ärenden som först skickades {stats.year}, med allt som hänt i dem fram till "
        f"{stats.as_of.date().isoformat()}. Svarstiden är {stats.answer_days_setting} dagar."
    )
    return ReportTable(
        "oversikt", f"Översikt {stats.year}", "Uppgift", ("Värde",), rows, description
    )


def _counted(
    key: str, title: str, total: tuple[str, Key], parts: Sequence[tuple[str, Key]], view: _View
) -> ReportTable:
    rows = (
        *(view.row(label, k, 1) for label, k in parts),
        view.row(total[0], total[1], total=True),
    )
    return ReportTable(key, title, "", ("Antal",), rows)


def _cases_table(view: _View) -> ReportTable:
    parts = (
        ("Flytten genomfördes", ("moved",)),
        ("Slutade utan flytt", ("cases", "not_moved")),
        ("Pågår", ("cases", "ongoing")),
    )
    return _counted("arenden", "Ärenden", ("Ärenden", ("cases",)), parts, view)


def _asked_table(view: _View) -> ReportTable:
    parts = (
        ("1 kommun", ("asked", 1)),
        ("2 kommuner", ("asked", 2)),
        ("3 eller fler kommuner (svårplacerade)", ("asked", 3)),
    )
    return _counted(
        "tillfragade",
        "Ärenden efter antal tillfrågade kommuner",
        ("Ärenden", ("cases",)),
        parts,
        view,
    )


def _pre_inquiry_table(view: _View) -> ReportTable:
    parts = (
        ("Positivt svar", ("pre", "positive")),
        ("Negativt svar", ("pre", "negative")),
        ("Avslutade utan svar", ("pre", "unanswered")),
        ("Väntar på svar", ("pre", "awaiting")),
    )
    return _counted(
        "forhandsforfragningar",
        "Förhandsförfrågningar",
        ("Förhandsförfrågningar", ("pre",)),
        parts,
        view,
    )


def _answer_table(stats: NetworkStatistics, view: _View) -> ReportTable:
    parts = (
        ("Besvarade i tid", ("in_time",)),
        ("Besvarade för sent", ("late",)),
        ("Obesvarade när tidsfristen gått ut", ("unanswered",)),
        ("Återkallade eller stängda före tidsfristen", ("ended_before_deadline",)),
        ("Väntar på svar, inom tidsfristen", ("awaiting_answer",)),
    )
    table = _counted("svar", "Förfrågningar och svar", ("Förfrågningar", ("sent",)), parts, view)
    description = (
        f"I tid: svaret kom senast sista svarsdagen ({stats.answer_days_setting} dagar från att "
        "förfrågan nådde kommunens inkorg, flyttad till närmaste vardag)."
    )
    return ReportTable(
        table.key, table.title, table.row_header, table.columns, table.rows, description
    )


def _decision_table(view: _View) -> ReportTable:
    parts = (
        ("Accepterade", ("accepted",)),
        *((DECLINE_LABELS[d], ("declined", d)) for d in DeclineReason),
    )
    return _counted(
        "beslut", "Besvarade förfrågningar efter beslut", ("Besvarade", ("answered",)), parts, view
    )


def _after_yes_table(view: _View) -> ReportTable:
    rows = (
        view.row("Accepterade förfrågningar", ("accepted",)),
        view.row("Bekräftade av den sökande kommunen", ("confirmed",), 1),
        view.row("Stängda när en annan kommun valdes", ("accepted", "other_chosen"), 1),
        view.row("Erbjudandet avböjdes", ("accepted", "offer_declined"), 1),
        view.row(
            "Återkallade eller avbrutna före bekräftelse", ("accepted", "withdrawn_or_cancelled"), 1
        ),
        view.row("Väntar på bekräftelse", ("accepted", "awaiting"), 1),
        view.row("Bekräftade", ("confirmed",)),
        view.row("Flytten genomfördes", ("moved",), 1),
        view.row("Avbrutna efter bekräftelse", ("confirmed", "cancelled"), 1),
        view.row("Väntar på flytt", ("confirmed", "awaiting"), 1),
        view.row("Genomförda flyttar", ("moved",)),
        view.row("Uppföljningsmöte hållet", ("moved", "followed_up"), 1),
        view.row("Uppföljningsmöte inte hållet ännu", ("moved", "awaiting"), 1),
    )
    return ReportTable("efter_ja", "Från ja till flytt", "", ("Antal",), rows)


def _answer_days_table(view: _View) -> ReportTable:
    parts = tuple(
        (f"{low}-{high} dagar" if high is not None else f"{low} dagar eller fler", ("days", i))
        for i, (low, high) in enumerate(ANSWER_DAY_BINS)
    )
    return _counted(
        "svarstid",
        "Svarstid för besvarade förfrågningar",
        ("Besvarade", ("answered",)),
        parts,
        view,
    )


def _target_group_table(view: _View) -> ReportTable:
    rows = tuple(
        ReportRow(
            TARGET_GROUP_LABELS[g],
            (view["group", g, "moved"], view["group", g, "not_moved"], view["group", g]),
        )
        for g in TargetGroup
    )
    total = ReportRow(
        "Totalt",
        (view["reports", "moved"], view["reports", "not_moved"], view["reports",]),
        is_total=True,
    )
    return ReportTable(
        "malgrupp",
        "Målgrupp och utfall (utfallsrapporterna)",
        "Målgrupp",
        ("Flyttade", "Inte flyttade", "Totalt"),
        (*rows, total),
    )


def _reason_table(view: _View) -> ReportTable:
    parts = tuple((NOT_MOVED_REASON_LABELS[why], ("reason", why)) for why in NotMovedReason)
    return _counted(
        "skal",
        "Skäl till att flytten inte blev av",
        ("Inte flyttade", ("reports", "not_moved")),
        parts,
        view,
    )


def _place_label(m: MunicipalityFigures) -> str:
    return m.name if m.is_member else f"{m.name} (inte medlem)"


def _municipality_table(places: Sequence[MunicipalityFigures], view: _View) -> ReportTable:
    def values(m: MunicipalityFigures) -> tuple[str, ...]:
        quota = NO_VALUE if m.quota is None else str(m.quota)
        return (
            quota,
            view["m", m.id, "asked"],
            view["m", m.id, "received"],
            view.share(("m", m.id, "in_time"), ("m", m.id, "not_in_time")),
            view["m", m.id, "accepted"],
            view["m", m.id, "moves_in"],
        )

    quotas = [m.quota for m in places if m.quota is not None]
    total = (
        str(sum(quotas)) if quotas else NO_VALUE,
        view["asked_total",],
        view["delivered",],
        view.share(("in_time",), ("not_in_time",)),
        view["accepted",],
        view["moved",],
    )
    return ReportTable(
        "kommuner",
        "Kommunerna: kvot, mottagna förfrågningar och svar i tid",
        "Kommun",
        (
            "Kvot per år",
            "Tillfrågad",
            "Mottagna förfrågningar",
            "Andel i tid",
            "Accepterade",
            "Inflyttningar",
        ),
        (
            *(ReportRow(_place_label(m), values(m)) for m in places),
            ReportRow("Totalt", total, is_total=True),
        ),
        "Kvoten kommer från nätverkets fördelningsnyckel och kommunens invånarantal. Tillfrågad "
        "räknar även förhandsförfrågningar; mottagna är förfrågningar som nått kommunens inkorg.",
    )


def _reciprocity_table(places: Sequence[MunicipalityFigures], view: _View) -> ReportTable:
    columns = ("cases_sent", "received", "moves_out", "moves_in")
    rows = tuple(
        ReportRow(_place_label(m), tuple(view["m", m.id, c] for c in columns)) for m in places
    )
    total = ReportRow(
        "Totalt",
        (view["cases",], view["delivered",], view["moved",], view["moved",]),
        is_total=True,
    )
    return ReportTable(
        "omsesidighet",
        "Ömsesidighet: skickade och mottagna",
        "Kommun",
        ("Skickade ärenden", "Mottagna förfrågningar", "Utflyttningar", "Inflyttningar"),
        (*rows, total),
    )


# -- CSV -------------------------------------------------------------------------------------------

CSV_HEADER: Final = ("År", "Tabell", "Rad", "Kolumn", "Värde")
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def report_csv(report: Report) -> bytes:
    """Every table, one shown value a line: År;Tabell;Rad;Kolumn;Värde. UTF-8 with a byte order
    mark and semicolons, as Excel in Swedish expects; only the suppressed strings are written."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for table in report.tables:
        for row in table.rows:
            for column, value in zip(table.columns, row.values, strict=True):
                writer.writerow(
                    (report.year, _cell(table.title), _cell(row.label), _cell(column), _cell(value))
                )
    writer.writerow((report.year, "Teckenförklaring", "", "", _cell(report.legend)))
    return "\ufeff".encode() + out.getvalue().encode()


def _cell(text: str) -> str:
    """Text a spreadsheet must not run as a formula (a municipality's name is typed by people)."""
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text

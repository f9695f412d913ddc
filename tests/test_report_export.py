"""The report's tables and CSV (hub/report/export.py): suppressed together, Swedish, stable."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.protocol.deadlines import STOCKHOLM
from hub.protocol.lifecycle import Case, DeclineReason, Event, Role
from hub.report.export import CSV_HEADER, Report, ReportTable, report_csv, report_tables
from hub.report.outcome import NotMovedReason, OutcomeReport, TargetGroup
from hub.report.statistics import Member, network_statistics
from hub.report.suppression import HIDDEN, NOT_SHOWN, SMALL
from tests.test_report_statistics import (
    CAL,
    IDS,
    MEMBERS,
    SETTINGS,
    at,
    inquire,
    moved_case,
    step,
    year_2027,
)

A, B = Role.SENDER, Role.RECEIVER
# Rows and columns whose values are days, shares or quotas, not counts. (Not "dagar": the
# answer-time rows "0-7 dagar" … are counts, and must be checked as counts.)
NOT_COUNTS = ("median", "percentilen", "Andel", "Kvot")


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def count_cells(report: Report) -> list[tuple[str, str, str, str]]:
    """(table, row, column, value) of every shown count."""
    found = []
    for table in report.tables:
        for row in table.rows:
            for column, value in zip(table.columns, row.values, strict=True):
                if not any(word in f"{row.label} {column}" for word in NOT_COUNTS):
                    found.append((table.key, row.label, column, value))
    return found


def assert_only_suppressed_counts(report: Report) -> None:
    for where in count_cells(report):
        value = where[-1]
        assert value in {SMALL, HIDDEN, NOT_SHOWN} or (
            value.isdigit() and value not in {"1", "2"}
        ), where


# -- the tables ----------------------------------------------------------------------------------


def test_no_count_of_one_or_two_is_shown_in_any_table():
    assert_only_suppressed_counts(report_tables(year_2027()))


def test_the_tables_a_coordinator_reads():
    report = report_tables(year_2027())
    assert [t.key for t in report.tables] == [
        "oversikt",
        "arenden",
        "tillfragade",
        "forhandsforfragningar",
        "svar",
        "beslut",
        "efter_ja",
        "svarstid",
        "malgrupp",
        "skal",
        "kommuner",
        "omsesidighet",
        "utan_mottagna",
    ]
    overview = {r.label: r.values[0] for r in report.table("oversikt").rows}
    assert overview["Ärenden"] == "4"
    assert overview["Förfrågningar"] == "6"
    assert overview["Svarstid i dagar, median"] == "7"
    assert overview["Svarstid i dagar, 90:e percentilen"] == "19"
    # a single move: its time is not shown
    assert overview["Dagar från första förfrågan till flytt, median"] == NOT_SHOWN
    assert report.never_received == ("Norberg",)
    assert [r.label for r in report.table("utan_mottagna").rows] == ["Norberg"]


def test_a_hidden_count_cannot_be_found_by_subtracting_across_tables():
    """One late answer: "late" is "<3", and since answered (4) = in time + late is shown in the
    decisions table, "in time" must be hidden as well, or 4 - 3 gives the 1 back."""
    report = report_tables(year_2027())
    answers = {r.label: r.values[0] for r in report.table("svar").rows}
    decisions = {r.label: r.values[0] for r in report.table("beslut").rows}
    assert answers["Besvarade för sent"] == SMALL
    assert decisions["Besvarade"] == "4"
    assert answers["Besvarade i tid"] == HIDDEN


def test_quota_per_municipality_and_the_networks_total():
    """Västmanland's key gives these six members 13 cases a year between them."""
    rows = {r.label: r.values for r in report_tables(year_2027()).table("kommuner").rows}
    assert rows["Västerås"][0] == "3"
    assert rows["Arboga"][0] == "2"
    assert rows["Norberg"][:3] == ("1", "0", "0")
    assert rows["Totalt"][0] == "13"
    assert rows["Totalt"][1:3] == ("6", "6")


def test_a_share_in_time_is_shown_only_when_both_its_parts_are():
    """Köping answered three inquiries in time and none late: 100 %. With one late answer
    more, "not in time" is "<3", and the share would give it away: not shown."""

    def koping_answers(late: int) -> ReportTable:
        cases = []
        for n, day in enumerate((1, 2, 3, 4)[: 3 + late]):
            case = inquire(Case(f"arende-{n}", "sala"), "koping", at(2027, 3, day))
            answered = at(2027, 3, day + 1) if n < 3 else at(2027, 4, 30)
            cases.append(step(case, B, "koping", Event.ACCEPT, answered))
        stats = network_statistics(
            cases, {}, MEMBERS, SETTINGS, 2027, calendar=CAL, as_of=at(2028, 1, 1)
        )
        return report_tables(stats).table("kommuner")

    share = koping_answers(late=0).columns.index("Andel i tid")
    assert {r.label: r.values[share] for r in koping_answers(late=0).rows}["Köping"] == "100 %"
    assert {r.label: r.values[share] for r in koping_answers(late=1).rows}["Köping"] == NOT_SHOWN


def test_the_same_figures_give_the_same_report():
    assert report_tables(year_2027()) == report_tables(year_2027())


# -- the CSV -------------------------------------------------------------------------------------


def test_the_csv_opens_in_swedish_excel():
    """UTF-8 with a byte order mark, semicolons, Swedish headers in a fixed order."""
    data = report_csv(report_tables(year_2027()))
    assert data.startswith(b"\xef\xbb\xbf")
    rows = csv_rows(data)
    assert tuple(rows[0]) == CSV_HEADER == ("År", "Tabell", "Rad", "Kolumn", "Värde")
    assert all(len(r) == len(CSV_HEADER) for r in rows)
    assert ["2027", "Översikt 2027", "Ärenden", "Värde", "4"] in rows
    assert [
        "2027",
        "Kommunerna: kvot, mottagna förfrågningar och svar i tid",
        "Västerås",
        "Kvot per år",
        "3",
    ] in rows
    assert rows[-1][1] == "Teckenförklaring"


def test_the_csv_holds_the_suppressed_values_only():
    """Every value in the CSV is exactly what the tables show: nothing more precise."""
    report = report_tables(year_2027())
    rows = csv_rows(report_csv(report))[1:-1]
    shown = [
        (t.title, r.label, c, v)
        for t in report.tables
        for r in t.rows
        for c, v in zip(t.columns, r.values, strict=True)
    ]
    assert [tuple(r[1:]) for r in rows] == shown
    assert ["2027", "Förfrågningar och svar", "Besvarade för sent", "Antal", SMALL] in csv_rows(
        report_csv(report)
    )


def test_a_name_that_looks_like_a_formula_is_not_run_by_the_spreadsheet():
    members = (*MEMBERS, Member("evil", '=HYPERLINK("http://x")', 5_000))
    stats = network_statistics([], {}, members, SETTINGS, 2027, calendar=CAL, as_of=at(2028, 1, 1))
    labels = {row[2] for row in csv_rows(report_csv(report_tables(stats)))}
    assert '\'=HYPERLINK("http://x")' in labels
    assert not any(label.startswith("=") for label in labels)


def test_no_case_id_in_the_tables_or_the_csv():
    """A case id in the tables, the CSV or their text would point at one case: there is none."""
    report = report_tables(year_2027())
    text = repr(report) + report_csv(report).decode("utf-8-sig")
    for case_id in (*IDS, "arende-pre", "arende-2026"):
        assert case_id not in text
    assert "kanariefagel" not in text


# -- any year that the lifecycle can produce -----------------------------------------------------

PLACES = ("vasteras", "sala", "koping", "arboga")


@st.composite
def years(draw: st.DrawFn) -> tuple[list[Case], dict[str, OutcomeReport], int]:
    """Up to eight cases of 2027, each driven by random allowed events at random times."""
    cases: list[Case] = []
    outcomes: dict[str, OutcomeReport] = {}
    latest = at(2027, 1, 1)
    for n in range(draw(st.integers(1, 8))):
        sender = draw(st.sampled_from(PLACES))
        case = Case(f"arende-{n}", sender)
        when = at(
            2027, draw(st.integers(1, 12)), draw(st.integers(1, 28)), draw(st.integers(0, 23))
        )
        for _ in range(draw(st.integers(1, 14))):
            options: list[tuple[Role, str, Event] | None] = [
                (role, m, e)
                for m in PLACES
                if m != sender
                for role in Role
                for e in case.allowed_events(role, m)
            ]
            if case.can_close_not_moved(A):
                options.append(None)
            if not options:
                break
            choice = draw(st.sampled_from(options))
            when += draw(st.integers(0, 25 * 86_400))
            if choice is None:
                case, _ = case.close_not_moved(A, when)
                continue
            role, m, event = choice
            details: dict[str, object] = {}
            if event is Event.DECLINE:
                details["reason"] = draw(st.sampled_from(DeclineReason))
            if event is Event.RECORD_MOVE:
                details["moving_date"] = CAL.local_date(when)
            if event is Event.CONFIRM:  # with the others closed, in one batch
                case, _ = case.apply_batch(case.confirm_batch(m, when))
                continue
            case, _ = case.apply(role, m, event, when, **details)
        latest = max(latest, when)
        cases.append(case)
        if case.is_closed and draw(st.booleans()):
            moved = (
                case.agreed_request is not None
                and case.outcome is not None
                and case.outcome.value == "moved"
            )
            outcomes[case.case_id] = OutcomeReport(
                target_group=draw(st.sampled_from(TargetGroup)),
                moved=moved,
                receiving_municipality=case.agreed_request.municipality
                if moved and case.agreed_request
                else None,
                not_moved_reason=None if moved else draw(st.sampled_from(NotMovedReason)),
            )
    return cases, outcomes, latest + draw(st.integers(0, 60 * 86_400))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(years())
def test_every_year_the_lifecycle_can_produce_adds_up_and_shows_no_small_count(
    year: tuple[list[Case], dict[str, OutcomeReport], int],
):
    """Whatever happened in the year's cases, every partition adds up (suppression checks each
    line and refuses one that does not) and no table shows a 1 or a 2."""
    cases, outcomes, as_of = year
    stats = network_statistics(cases, outcomes, MEMBERS, SETTINGS, 2027, calendar=CAL, as_of=as_of)
    r = stats.requests
    assert r.sent == r.answered + r.unanswered + r.ended_before_deadline + r.awaiting_answer
    assert r.answered == r.accepted + sum(r.declined.values())
    assert stats.cases.moved == r.moved
    report = report_tables(stats)
    assert_only_suppressed_counts(report)
    assert len(csv_rows(report_csv(report))) > 1


def test_a_case_first_asked_on_new_years_eve_in_stockholm_is_that_years():
    """23:30 on 31 December 2027 in Stockholm is 2027, though it is 2027-12-31 22:30 UTC; one
    at 00:30 on 1 January 2028 is 2028's, though UTC still says 2027."""
    late = inquire(Case("arende-a", "sala"), "koping", at(2027, 12, 31, 23, 30))
    early = inquire(Case("arende-b", "sala"), "koping", at(2028, 1, 1, 0, 30))
    assert datetime.fromtimestamp(at(2028, 1, 1, 0, 30), STOCKHOLM).year == 2028
    stats = network_statistics(
        [late, early], {}, MEMBERS, SETTINGS, 2027, calendar=CAL, as_of=at(2028, 2, 1)
    )
    assert stats.cases.count == 1
    assert moved_case().case_id == IDS[0]

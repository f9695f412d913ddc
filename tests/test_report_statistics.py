"""The year's figures (hub/report/statistics.py), from cases driven through the real lifecycle."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from hub.protocol.deadlines import STOCKHOLM, SwedishCalendar
from hub.protocol.lifecycle import Case, DeclineReason, Event, Role
from hub.protocol.settings import DEFAULT_QUOTA_KEY, DEFAULT_SETTINGS, parse_quota_key
from hub.report.outcome import NotMovedReason, OutcomeReport, TargetGroup
from hub.report.statistics import (
    GroupOutcome,
    Member,
    NetworkStatistics,
    QuotaBand,
    nearest_rank,
    network_statistics,
    quota_for,
    quota_key,
    swedish_sort_key,
)

CAL = SwedishCalendar()
A, B = Role.SENDER, Role.RECEIVER
E = Event
SETTINGS: dict[str, object] = {**DEFAULT_SETTINGS, "quota_key": parse_quota_key(DEFAULT_QUOTA_KEY)}
# Västmanland's members and populations (seed 003), a few of them.
MEMBERS = (
    Member("vasteras", "Västerås", 159_629),
    Member("sala", "Sala", 22_922),
    Member("koping", "Köping", 25_977),
    Member("arboga", "Arboga", 14_000),
    Member("kungsor", "Kungsör", 8_678),
    Member("norberg", "Norberg", 5_545),
)
# Case ids that must never reach a figure.
IDS = ("arende-7f3c-kanariefagel", "arende-91aa-kanariefagel", "arende-c0de-kanariefagel")


def at(y: int, mo: int, d: int, h: int = 10, mi: int = 0) -> int:
    """Unix seconds of a Stockholm wall-clock time, as the lifecycle records times."""
    return int(datetime(y, mo, d, h, mi, tzinfo=STOCKHOLM).timestamp())


def inquire(case: Case, municipality: str, when: int, delivered: int | None = None) -> Case:
    case, _ = case.apply(A, municipality, E.SEND_INQUIRY, when)
    case, _ = case.apply(B, municipality, E.DELIVER, when if delivered is None else delivered)
    return case


def step(
    case: Case, role: Role, municipality: str, event: Event, when: int, **details: object
) -> Case:
    if event is E.CONFIRM:  # with the others closed in the same batch, as A's agent signs it
        case, _ = case.apply_batch(case.confirm_batch(municipality, when))
        return case
    case, _ = case.apply(role, municipality, event, when, **details)
    return case


def moved_case() -> Case:
    """Västerås asks Sala, Köping and Arboga on Monday 1 March 2027. Sala declines (quota) in 9
    days, Arboga accepts in 4, Köping accepts in 19, past its deadline (Monday 15 March).
    Västerås confirms Arboga (Köping is closed), the person moves on 15 May, the follow-up
    meeting is held and the case closes."""
    case = Case(IDS[0], "vasteras")
    for m in ("sala", "koping", "arboga"):
        case = inquire(case, m, at(2027, 3, 1))
    case = step(case, B, "sala", E.DECLINE, at(2027, 3, 10), reason=DeclineReason.QUOTA_REACHED)
    case = step(case, B, "arboga", E.ACCEPT, at(2027, 3, 5))
    case = step(case, B, "koping", E.ACCEPT, at(2027, 3, 20))
    case = step(case, A, "arboga", E.CONFIRM, at(2027, 3, 22))
    case = step(case, A, "arboga", E.RECORD_MOVE, at(2027, 5, 15), moving_date=date(2027, 5, 15))
    case = step(case, B, "arboga", E.RECORD_FOLLOW_UP, at(2027, 6, 1))
    return step(case, A, "arboga", E.CLOSE, at(2027, 6, 10))


def declined_case() -> Case:
    """Sala asks Västerås, which declines for lack of resources in a week; Sala closes."""
    case = inquire(Case(IDS[1], "sala"), "vasteras", at(2027, 4, 5))
    case = step(case, B, "vasteras", E.DECLINE, at(2027, 4, 12), reason="insufficient_resources")
    case, _ = case.close_not_moved(A, at(2027, 4, 20))
    return case


def december_case() -> Case:
    """Köping asks Västerås on 30 December 2027; delivered 2 January 2028, due 17 January."""
    return inquire(Case(IDS[2], "koping"), "vasteras", at(2027, 12, 30), at(2028, 1, 2))


def pre_inquiry_case() -> Case:
    """Arboga asks Kungsör first; yes; the inquiry is read, then Arboga closes without a move."""
    case = step(Case("arende-pre", "arboga"), A, "kungsor", E.SEND_PRE_INQUIRY, at(2027, 6, 1))
    case = step(case, B, "kungsor", E.PRE_INQUIRY_YES, at(2027, 6, 2))
    case = inquire(case, "kungsor", at(2027, 6, 3))
    case = step(case, B, "kungsor", E.READ_RECEIPT, at(2027, 6, 4))
    case, _ = case.close_not_moved(A, at(2027, 6, 5))
    return case


def last_years_case() -> Case:
    """First sent on 20 December 2026: it belongs to 2026, although it moves on in 2027."""
    case = inquire(Case("arende-2026", "vasteras"), "norberg", at(2026, 12, 20))
    return step(case, B, "norberg", E.ACCEPT, at(2027, 1, 8))


OUTCOMES = {
    IDS[0]: OutcomeReport(
        target_group=TargetGroup.WOMAN_WITH_CHILDREN, moved=True, receiving_municipality="arboga"
    ),
    IDS[1]: OutcomeReport(
        target_group=TargetGroup.MAN_WITHOUT_CHILDREN,
        moved=False,
        not_moved_reason=NotMovedReason.NO_MUNICIPALITY,
    ),
    "arende-pre": OutcomeReport(
        target_group=TargetGroup.WOMAN_WITH_CHILDREN,
        moved=False,
        not_moved_reason=NotMovedReason.PERSON_WITHDREW,
    ),
}


def year_2027(as_of: int | None = None) -> NetworkStatistics:
    cases = [moved_case(), declined_case(), december_case(), pre_inquiry_case(), last_years_case()]
    return network_statistics(
        cases,
        OUTCOMES,
        MEMBERS,
        SETTINGS,
        2027,
        calendar=CAL,
        as_of=at(2028, 1, 5) if as_of is None else as_of,
    )


def by_id(stats: NetworkStatistics, municipality: str):
    return next(m for m in stats.municipalities if m.id == municipality)


# -- what a coordinator would notice ------------------------------------------------------------


def test_a_case_counts_in_the_year_it_first_asked():
    """Four cases began in 2027; the one first sent in December 2026 is 2026's, and the one
    sent on 30 December 2027 is 2027's although it arrived in January."""
    stats = year_2027()
    assert stats.cases.count == 4
    assert stats.requests.sent == 6
    last_year = network_statistics(
        [last_years_case()], {}, MEMBERS, SETTINGS, 2026, calendar=CAL, as_of=at(2028, 1, 5)
    )
    assert last_year.cases.count == 1
    assert last_year.requests.accepted == 1


def test_two_of_three_answered_in_time_in_the_moved_case():
    """Sala (9 days) and Arboga (4 days) answered in time; Köping, after 19 days, late."""
    stats = network_statistics(
        [moved_case()], {}, MEMBERS, SETTINGS, 2027, calendar=CAL, as_of=at(2028, 1, 5)
    )
    r = stats.requests
    assert (r.answered_in_time, r.answered_late, r.answers_owed) == (2, 1, 3)
    assert by_id(stats, "koping").answered_in_time == 0
    assert by_id(stats, "koping").answers_owed == 1
    assert by_id(stats, "arboga").in_time_share == 1.0


def test_the_year_in_figures():
    """The whole year as a coordinator reads it."""
    stats = year_2027()
    r = stats.requests
    # sent = in time + late + unanswered + ended before the deadline + awaiting
    assert (r.answered_in_time, r.answered_late, r.unanswered) == (3, 1, 0)
    assert (r.ended_before_deadline, r.awaiting_answer) == (1, 1)
    assert r.delivered == 6
    # answered = accepted + declined, by reason
    assert r.answered == 4
    assert r.accepted == 2
    assert r.declined == {
        DeclineReason.QUOTA_REACHED: 1,
        DeclineReason.INSUFFICIENT_RESOURCES: 1,
    }
    # accepted: Arboga confirmed, Köping closed when Arboga was chosen
    assert (r.confirmed, r.other_chosen, r.offer_declined) == (1, 1, 0)
    assert (r.moved, r.followed_up, r.awaiting_follow_up) == (1, 1, 0)
    assert r.withdrawn == 1  # Kungsör's, when Arboga closed its case


def test_answer_time_median_and_90th_percentile_by_nearest_rank():
    """Answer days 4, 7, 9, 19: the median by nearest rank is the 2nd value (7), the 90th
    percentile the 4th (19)."""
    days = year_2027().requests.answer_days
    assert (days.count, days.median, days.p90) == (4, 7, 19)


def test_answer_days_fall_into_weeks():
    """4 and 7 days in the first week, 9 in the second, 19 in the third."""
    assert year_2027().requests.answer_days_histogram == (2, 1, 1, 0)


def test_an_answer_on_the_due_date_late_in_the_evening_is_in_time():
    """Delivered Wednesday 1 September 2027, due Wednesday 15 September: accepted at 23:30
    that day is in time, at 00:10 the next day late."""

    def accepted_at(when: int) -> NetworkStatistics:
        case = inquire(Case("arende-x", "sala"), "koping", at(2027, 9, 1))
        case = step(case, B, "koping", E.ACCEPT, when)
        return network_statistics(
            [case], {}, MEMBERS, SETTINGS, 2027, calendar=CAL, as_of=at(2028, 1, 1)
        )

    assert accepted_at(at(2027, 9, 15, 23, 30)).requests.answered_in_time == 1
    assert accepted_at(at(2027, 9, 16, 0, 10)).requests.answered_late == 1


def test_the_networks_own_answer_days_decide_what_is_late():
    """Köping's 19 days are late with 14 days to answer, in time with Västmanland's 21."""
    vastmanland = {**SETTINGS, "answer_days": 21}
    stats = network_statistics(
        [moved_case()], {}, MEMBERS, vastmanland, 2027, calendar=CAL, as_of=at(2028, 1, 5)
    )
    assert stats.requests.answered_in_time == 3
    assert stats.answer_days_setting == 21


def test_an_inquiry_still_within_its_deadline_awaits_and_afterwards_is_unanswered():
    """The December inquiry is due 17 January 2028: awaiting on 5 January, unanswered in
    February, and owed by Västerås from then."""
    assert year_2027(as_of=at(2028, 1, 5)).requests.awaiting_answer == 1
    later = year_2027(as_of=at(2028, 2, 1))
    assert (later.requests.awaiting_answer, later.requests.unanswered) == (0, 1)
    assert by_id(later, "vasteras").answers_owed == 2


def test_an_inquiry_never_fetched_is_unanswered_and_not_received():
    """No clock ends a request: an inquiry Norberg's inbox never fetched stays sent, and once
    its deadline has passed it is counted as unanswered, but not as received by Norberg."""
    case = step(Case("arende-y", "sala"), A, "norberg", E.SEND_INQUIRY, at(2027, 2, 1))
    stats = network_statistics(
        [case], {}, MEMBERS, SETTINGS, 2027, calendar=CAL, as_of=at(2028, 1, 1)
    )
    assert stats.requests.unanswered == 1
    assert by_id(stats, "norberg").received == 0
    assert by_id(stats, "norberg").asked == 1


def test_a_withdrawal_after_the_deadline_counts_as_unanswered():
    """Withdrawn a month after delivery with no answer: the deadline had passed."""
    case = inquire(Case("arende-z", "sala"), "koping", at(2027, 2, 1))
    case = step(case, A, "koping", E.WITHDRAW, at(2027, 3, 1))
    stats = network_statistics(
        [case], {}, MEMBERS, SETTINGS, 2027, calendar=CAL, as_of=at(2028, 1, 1)
    )
    assert stats.requests.unanswered == 1
    assert stats.requests.ended_before_deadline == 0


def test_cases_moved_ended_without_a_move_and_hard_to_place():
    stats = year_2027()
    c = stats.cases
    assert (c.moved, c.ended_without_move, c.ongoing) == (1, 2, 1)
    assert (c.asked_one, c.asked_two, c.asked_three_or_more) == (3, 0, 1)


def test_time_from_first_inquiry_to_the_move():
    """1 March to 15 May 2027 is 75 days."""
    days = year_2027().cases.inquiry_to_move_days
    assert (days.count, days.median, days.p90) == (1, 75, 75)


def test_pre_inquiries_are_counted_apart():
    p = year_2027().pre_inquiries
    assert (p.sent, p.positive, p.negative, p.awaiting) == (1, 1, 0, 0)


def test_outcome_reports_by_target_group_reason_and_children():
    """Two reports of women with children (one moved, one not), one of a man without."""
    o = year_2027().outcomes
    assert o.reports == 3
    assert o.by_group[TargetGroup.WOMAN_WITH_CHILDREN] == GroupOutcome(moved=1, not_moved=1)
    assert o.by_group[TargetGroup.MAN_WITHOUT_CHILDREN] == GroupOutcome(moved=0, not_moved=1)
    assert (o.moved, o.not_moved, o.children_involved) == (1, 2, 2)
    assert o.not_moved_by_reason[NotMovedReason.NO_MUNICIPALITY] == 1
    assert o.not_moved_by_reason[NotMovedReason.PERSON_WITHDREW] == 1
    assert o.missing == 0


def test_a_closed_case_without_a_report_is_counted_as_missing():
    stats = network_statistics(
        [declined_case()], {}, MEMBERS, SETTINGS, 2027, calendar=CAL, as_of=at(2028, 1, 1)
    )
    assert (stats.outcomes.reports, stats.outcomes.missing) == (0, 1)


def test_quota_and_cases_received_per_municipality():
    """Västerås (160,000) may take 3 a year and received 2; Arboga (14,000) 2 and received 1;
    Norberg received none and is the one member that never received a case."""
    stats = year_2027()
    vasteras, arboga, norberg = (by_id(stats, m) for m in ("vasteras", "arboga", "norberg"))
    assert (vasteras.quota, vasteras.received) == (3, 2)
    assert (arboga.quota, arboga.received, arboga.accepted, arboga.moves_in) == (2, 1, 1, 1)
    assert (by_id(stats, "kungsor").quota, norberg.quota, norberg.received) == (1, 1, 0)
    assert [m.name for m in stats.never_received] == ["Norberg"]


def test_reciprocity_cases_sent_against_received():
    stats = year_2027()
    sent = {m.id: (m.cases_sent, m.received, m.moves_out, m.moves_in) for m in stats.municipalities}
    assert sent["vasteras"] == (1, 2, 1, 0)
    assert sent["sala"] == (1, 1, 0, 0)
    assert sent["arboga"] == (1, 1, 0, 1)


def test_municipalities_are_listed_in_swedish_order():
    """Arboga, Köping, Kungsör, Norberg, Sala, Västerås: ö after u, as in Swedish."""
    names = [m.name for m in year_2027().municipalities]
    assert names == ["Arboga", "Kungsör", "Köping", "Norberg", "Sala", "Västerås"]
    assert sorted(["Ösmo", "Åre", "Älvdalen", "Zinkgruvan"], key=swedish_sort_key) == [
        "Zinkgruvan",
        "Åre",
        "Älvdalen",
        "Ösmo",
    ]


def test_a_municipality_that_has_left_the_network_still_has_its_row():
    stats = network_statistics(
        [moved_case()], {}, MEMBERS[1:], SETTINGS, 2027, calendar=CAL, as_of=at(2028, 1, 1)
    )
    left = by_id(stats, "vasteras")
    assert (left.is_member, left.name, left.quota, left.cases_sent) == (False, "vasteras", None, 1)


def test_no_case_id_appears_anywhere_in_the_figures():
    """The figures are counts: not one case id survives into them."""
    text = repr(year_2027())
    for case_id in (*IDS, "arende-pre", "arende-2026"):
        assert case_id not in text
    assert "kanariefagel" not in text


# -- the quota key and the percentile ------------------------------------------------------------


def test_the_default_quota_key_is_vastmanlands():
    """Under 10,000: 1; 10,000-20,000: 2; over 20,000: 3 (Köping with 25,977 takes 3)."""
    bands = quota_key(SETTINGS)
    assert bands == (QuotaBand(0, 1), QuotaBand(10_000, 2), QuotaBand(20_001, 3))
    assert [quota_for(p, bands) for p in (4_354, 9_999, 10_000, 20_000, 20_001, 25_977)] == [
        1,
        1,
        2,
        2,
        3,
        3,
    ]


def test_a_network_without_a_quota_key_has_no_quotas():
    """Jönköping lets each municipality judge its own number."""
    settings = {k: v for k, v in SETTINGS.items() if k != "quota_key"}
    assert quota_key(settings) is None
    stats = network_statistics([], {}, MEMBERS, settings, 2027, calendar=CAL, as_of=at(2028, 1, 1))
    assert all(m.quota is None for m in stats.municipalities)


@pytest.mark.parametrize(
    "bad", ["0:1,10000:2", [[0, 1], [0, 2]], [[5, 1]], [[0, -1]], [[0, True]], [[0, 1, 2]], []]
)
def test_a_malformed_quota_key_is_refused_in_swedish(bad: object):
    with pytest.raises(ValueError, match=r"fördelningsnyckel|quota_key"):
        quota_key({"quota_key": bad})


@pytest.mark.parametrize(
    ("values", "percent", "expected"),
    [
        ([7], 50, 7),
        ([1, 2], 50, 1),
        ([1, 2, 3, 4], 50, 2),
        ([1, 2, 3, 4, 5], 50, 3),
        (list(range(1, 11)), 90, 9),
        (list(range(1, 12)), 90, 10),
        ([3, 3, 3, 20], 90, 20),
    ],
)
def test_nearest_rank(values: list[int], percent: int, expected: int):
    """The value at rank ceil(p/100 * n): always one that was observed."""
    counts: dict[int, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    assert nearest_rank(counts, percent) == expected


def test_no_values_no_percentile():
    assert nearest_rank({}, 50) is None
    assert year_2027().requests.answer_days.count == 4
    empty = network_statistics([], {}, MEMBERS, SETTINGS, 2027, calendar=CAL, as_of=at(2028, 1, 1))
    assert empty.cases.inquiry_to_move_days.median is None


def test_as_of_must_be_an_aware_time():
    with pytest.raises(ValueError, match="aware"):
        network_statistics(
            [],
            {},
            MEMBERS,
            SETTINGS,
            2027,
            calendar=CAL,
            as_of=datetime(2028, 1, 1),  # noqa: DTZ001
        )

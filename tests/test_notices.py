"""The notice rules (hub/protocol/notices.py): when each notice fires, who hears it, and the
exact words, which must never carry anything about a case."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.protocol.deadlines import NATIONAL, Due, DueKind, SwedishCalendar, deadlines_for
from hub.protocol.lifecycle import Case, Event, Role
from hub.protocol.notices import (
    Alarm,
    Audience,
    Stage,
    Target,
    Topic,
    alarms_for,
    banner_counts,
    current_stage,
    latest_per_clock,
    render_notice,
    targets_of,
    topic_line,
)

CAL = SwedishCalendar()
A, B = "kommun-a", "kommun-b"


def stockholm(text: str) -> int:
    return int(datetime.fromisoformat(text).astimezone(UTC).timestamp())


def local(at: int) -> str:
    return datetime.fromtimestamp(at, UTC).astimezone(CAL.tz).strftime("%Y-%m-%d %H:%M %a")


def delivered_case(at: int) -> Case:
    case = Case("11" * 16, A)
    case, _ = case.apply(Role.SENDER, B, Event.SEND_INQUIRY, at - 60)
    case, _ = case.apply(Role.RECEIVER, B, Event.DELIVER, at)
    return case


def test_answer_clock_reminds_three_working_days_before_notices_on_the_day_and_escalates() -> None:
    # Delivered Monday 2 March 2026: due Monday 16 March.
    dues = deadlines_for(delivered_case(stockholm("2026-03-02T10:00+01:00")), NATIONAL, CAL)
    alarms = alarms_for(dues, CAL)
    assert [(a.stage, local(a.fire_at)) for a in alarms] == [
        (Stage.REMINDER, "2026-03-11 08:00 Wed"),
        (Stage.DUE_TODAY, "2026-03-16 08:00 Mon"),
        (Stage.OVERDUE, "2026-03-17 08:00 Tue"),
    ]


def test_escalation_waits_for_the_next_working_day_after_a_holiday_weekend() -> None:
    # Due Thursday 2 April 2026; Good Friday and Easter Monday are off: escalate on Tuesday.
    due_at = CAL.end_of_day(date(2026, 4, 2))
    due = Due(DueKind.ANSWER, B, date(2026, 4, 2), due_at, None, (Role.RECEIVER,))
    overdue = [a for a in alarms_for([due], CAL) if a.stage is Stage.OVERDUE]
    assert local(overdue[0].fire_at) == "2026-04-07 08:00 Tue"


def test_financial_overlap_end_is_one_notice_on_the_day_to_both_sides() -> None:
    due_at = CAL.end_of_day(date(2026, 5, 31))
    due = Due(DueKind.FINANCIAL_OVERLAP_END, B, date(2026, 5, 31), due_at, None, (Role.SENDER,))
    [alarm] = alarms_for([due], CAL)
    assert alarm.stage is Stage.DUE_TODAY
    assert local(alarm.fire_at) == "2026-05-31 08:00 Sun"
    assert set(alarm.targets()) == {
        Target(Role.SENDER, Audience.CONTACTS),
        Target(Role.RECEIVER, Audience.CONTACTS),
    }


@pytest.mark.parametrize(
    ("kind", "stage", "expected"),
    [
        (DueKind.ANSWER, Stage.REMINDER, {(Role.RECEIVER, Audience.CONTACTS)}),
        (DueKind.ANSWER, Stage.DUE_TODAY, {(Role.RECEIVER, Audience.CONTACTS)}),
        (
            DueKind.ANSWER,
            Stage.OVERDUE,
            {(Role.RECEIVER, Audience.MANAGER), (Role.SENDER, Audience.CONTACTS)},
        ),
        (DueKind.OFFER_RESPONSE, Stage.REMINDER, {(Role.SENDER, Audience.CONTACTS)}),
        (
            DueKind.OFFER_RESPONSE,
            Stage.OVERDUE,
            {(Role.SENDER, Audience.MANAGER), (Role.RECEIVER, Audience.CONTACTS)},
        ),
        (
            DueKind.FOLLOW_UP,
            Stage.DUE_TODAY,
            {(Role.SENDER, Audience.CONTACTS), (Role.RECEIVER, Audience.CONTACTS)},
        ),
        (
            DueKind.FOLLOW_UP,
            Stage.OVERDUE,
            {(Role.SENDER, Audience.MANAGER), (Role.RECEIVER, Audience.MANAGER)},
        ),
    ],
)
def test_who_hears_of_each_stage(
    kind: DueKind, stage: Stage, expected: set[tuple[Role, Audience]]
) -> None:
    assert {(t.side, t.audience) for t in targets_of(kind, stage)} == expected


def test_only_the_latest_passed_stage_of_a_clock_is_sent() -> None:
    alarms = alarms_for(
        deadlines_for(delivered_case(stockholm("2026-03-02T10:00+01:00")), NATIONAL, CAL), CAL
    )
    other = Alarm(DueKind.ANSWER, "kommun-c", Stage.REMINDER, 1, 2)
    latest = latest_per_clock([*alarms, other])
    assert [(a.municipality, a.stage) for a in latest] == [
        ("kommun-c", Stage.REMINDER),
        (B, Stage.OVERDUE),
    ]


def test_a_reminder_on_the_due_day_itself_is_not_sent_twice() -> None:
    rules = type(NATIONAL)(remind_working_days_before=0)
    alarms = alarms_for(
        deadlines_for(delivered_case(stockholm("2026-03-02T10:00+01:00")), rules, CAL), CAL
    )
    assert [a.stage for a in alarms] == [Stage.DUE_TODAY, Stage.OVERDUE]


def test_banners_count_the_current_stage_of_each_deadline() -> None:
    case = delivered_case(stockholm("2026-03-02T10:00+01:00"))
    [due] = deadlines_for(case, NATIONAL, CAL)
    assert banner_counts([due], stockholm("2026-03-10T12:00+01:00"), CAL) == {}
    assert banner_counts([due, due], stockholm("2026-03-11T08:00+01:00"), CAL) == {
        Topic.DUE_SOON: 2
    }
    assert banner_counts([due], stockholm("2026-03-16T23:00+01:00"), CAL) == {Topic.DUE_TODAY: 1}
    late = current_stage(due, stockholm("2026-03-20T09:00+01:00"), CAL)
    assert late is not None
    assert late.stage is Stage.OVERDUE


# -- the words ---------------------------------------------------------------------------------

LINK = "https://intranat.example/hubben"


def test_the_contact_persons_e_mail_word_for_word() -> None:
    text = render_notice(
        Audience.CONTACTS, {Topic.NEW: 1, Topic.DUE_TODAY: 2, Topic.OVERDUE: 1}, LINK
    )
    assert text.subject == "Nytt i hubben"
    assert text.body == (
        "Hej!\n"
        "\n"
        "Det finns nytt i hubben för dig som kontaktperson:\n"
        "\n"
        "- 1 nytt meddelande väntar\n"
        "- 2 ärenden har en tidsfrist som går ut i dag\n"
        "- 1 ärende har en tidsfrist som har passerat\n"
        "\n"
        "Öppna din inkorg för att se vad det gäller:\n"
        "https://intranat.example/hubben\n"
        "\n"
        "Meddelandet skickas automatiskt och säger med avsikt ingenting om ärendena. "
        "Svara inte på det.\n"
    )


def test_the_managers_e_mail_word_for_word() -> None:
    text = render_notice(Audience.MANAGER, {Topic.OVERDUE: 3}, LINK)
    assert text.body == (
        "Hej!\n"
        "\n"
        "Du får det här meddelandet som ansvarig chef. En tidsfrist har passerat i hubben:\n"
        "\n"
        "- 3 ärenden har en tidsfrist som har passerat\n"
        "\n"
        "Tala med er kontaktperson, som ser vad det gäller i sin inkorg:\n"
        "https://intranat.example/hubben\n"
        "\n"
        "Meddelandet skickas automatiskt och säger med avsikt ingenting om ärendena. "
        "Svara inte på det.\n"
    )


# Everything an e-mail may contain: the fixed sentences, counts and the configured link.
_ALLOWED_WORDS = re.compile(r"[A-Za-zåäöÅÄÖ!:.\-,]+|\d+")


@given(
    audience=st.sampled_from(list(Audience)),
    counts=st.dictionaries(st.sampled_from(list(Topic)), st.integers(1, 10_000), min_size=1),
)
def test_an_e_mail_holds_only_fixed_words_counts_and_the_link(
    audience: Audience, counts: dict[Topic, int]
) -> None:
    text = render_notice(audience, counts, LINK)
    body = text.body.replace(LINK, "")
    numbers = sorted(int(n) for n in re.findall(r"\d+", body))
    assert numbers == sorted(counts.values())
    fixed = re.sub(r"\d+", "", body)
    # No case id (32 hex), municipality id, address or name can hide in the fixed text.
    assert "kommun-" not in fixed
    assert "@" not in fixed
    assert all(_ALLOWED_WORDS.fullmatch(word) for word in fixed.split())


def test_a_notice_must_count_something() -> None:
    with pytest.raises(ValueError, match="at least one"):
        topic_line(Topic.NEW, 0)
    with pytest.raises(ValueError, match="say something"):
        render_notice(Audience.CONTACTS, {}, LINK)

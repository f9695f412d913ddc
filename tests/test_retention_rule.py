"""When the hub may remove an ended case (hub/report/retention.py): pure, with lifecycle cases.
The boundaries: exactly the setting after the end is not yet, one second later is; a case with
one request still running, or re-opened, stays; a case waits for its statistics year to end."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.crypto.registry import NATIONAL_CASE_RETENTION_DAYS
from hub.protocol.deadlines import SwedishCalendar
from hub.protocol.lifecycle import Case, DeclineReason, Event, Role
from hub.report.retention import DAY_SECONDS, RetentionSetting, removable, retention_setting

CALENDAR = SwedishCalendar()
MARCH = int(datetime(2026, 3, 2, 9, tzinfo=UTC).timestamp())
DAYS = 30


def _asked(case: Case, municipality: str, at: int) -> Case:
    case, _ = case.apply(Role.SENDER, municipality, Event.SEND_INQUIRY, at)
    case, _ = case.apply(Role.RECEIVER, municipality, Event.DELIVER, at + 1)
    return case


def _declined(case: Case, municipality: str, at: int) -> Case:
    case, _ = case.apply(
        Role.RECEIVER, municipality, Event.DECLINE, at, reason=DeclineReason.QUOTA_REACHED
    )
    return case


def test_a_case_goes_only_once_it_has_been_ended_longer_than_the_setting():
    days = 400  # past the end of the year it counts in
    case = _declined(_asked(Case("c1", "A"), "B", MARCH), "B", MARCH + 100)
    when = removable(case, days, CALENDAR)
    assert when is not None
    assert when.ended_at == MARCH + 100
    assert when.year == 2026
    assert not when.due(MARCH + 100 + days * DAY_SECONDS)  # exactly the setting: not yet
    assert when.due(MARCH + 100 + days * DAY_SECONDS + 1)


def test_a_case_with_one_request_still_running_stays():
    case = _declined(_asked(_asked(Case("c1", "A"), "B", MARCH), "C", MARCH), "B", MARCH + 100)
    assert removable(case, DAYS, CALENDAR) is None


def test_a_re_opened_case_stays_and_its_end_moves():
    """All its requests ended, then the sender asked another municipality: not ended; once
    that one ends too, the setting counts from then."""
    case = _declined(_asked(Case("c1", "A"), "B", MARCH), "B", MARCH + 100)
    assert removable(case, DAYS, CALENDAR) is not None
    case = _asked(case, "C", MARCH + 40 * DAY_SECONDS)
    assert removable(case, DAYS, CALENDAR) is None
    case = _declined(case, "C", MARCH + 41 * DAY_SECONDS)
    when = removable(case, DAYS, CALENDAR)
    assert when is not None
    assert when.ended_at == MARCH + 41 * DAY_SECONDS


def test_a_case_waits_for_the_end_of_the_year_it_counts_in():
    """Ended in December with a short setting: it stays until the new year in Stockholm, so
    its year's report can be frozen whole before it goes."""
    december = int(datetime(2026, 12, 1, 9, tzinfo=UTC).timestamp())
    case = _declined(_asked(Case("c1", "A"), "B", december), "B", december + 100)
    when = removable(case, 1, CALENDAR)
    assert when is not None
    new_year = int(datetime(2026, 12, 31, 23, tzinfo=UTC).timestamp())  # 00:00 in Stockholm
    assert not when.due(new_year - 1)
    assert when.due(new_year)


def test_a_case_that_never_asked_anyone_and_never_closed_stays():
    assert removable(Case("c1", "A"), DAYS, CALENDAR) is None


def test_the_signed_setting_or_the_national_value():
    assert retention_setting({"case_retention_days": 30, "signed_serial": 4}) == RetentionSetting(
        30, signed=True
    )
    national = RetentionSetting(NATIONAL_CASE_RETENTION_DAYS, signed=False)
    assert retention_setting({"answer_days": 14}) == national
    # Without a signed record the operator's own value is not the network's word.
    assert retention_setting({"case_retention_days": 30}) == national

"""When the hub may remove an ended case (gallring): pure, no I/O. docs/operations.md
("Gallring") states it for the municipalities' records of processing.

- The network's signed settings say how long the hub keeps a case after it has ended
  (`case_retention_days`, hub.crypto.registry.SettingsRecord), counted from `case_ended_at`
  (hub/protocol/ended.py, the one definition of "ended"). Until the network's settings are
  signed, the national network's value holds, and the hub says so.
- A case may go once it has been ended for longer than that, and not before the year it counts
  in (hub/report/statistics.py) is over in Stockholm: that year's report is frozen, already
  suppressed, before the first of its cases goes, and a year still running cannot be frozen
  whole. With the national 365 days the second rule never waits longer than the first.
- A case that has not ended, or has not been ended long enough, stays; a case re-opened is not
  ended, and its time of ending moves when it ends again.
- Envelopes that name a case the hub has no row for go the same time after the last of them
  arrived.
- A recovery copy kept on the hub (docs/protocol.md §3.8) goes the same time after its key
  ended (its not_after, or its revocation if earlier): by then no case the hub keeps can hold
  anything that key was the only way to open. A copy of a key the directory never signed (an
  enrolment refused, or never approved) goes the same time after it was stored; one whose key's
  entry is already erased (§12.11: ended longer ago than the retention) goes now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import TYPE_CHECKING, Final

from hub.crypto.registry import NATIONAL_CASE_RETENTION_DAYS
from hub.protocol.ended import case_ended_at
from hub.report.statistics import statistics_year

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hub.protocol.deadlines import SwedishCalendar
    from hub.protocol.lifecycle import Case

DAY_SECONDS: Final = 86_400


@dataclass(frozen=True)
class RetentionSetting:
    days: int
    signed: bool  # False: the network has not signed its settings; the national value holds


def retention_setting(settings: Mapping[str, object]) -> RetentionSetting:
    """The network's `case_retention_days` as its signed settings record states it (the hub
    stores it with "signed_serial", hub/server/directory_routes.py), or the national value."""
    days = settings.get("case_retention_days")
    if (
        "signed_serial" in settings
        and isinstance(days, int)
        and not isinstance(days, bool)
        and days >= 1
    ):
        return RetentionSetting(days, signed=True)
    return RetentionSetting(NATIONAL_CASE_RETENTION_DAYS, signed=False)


@dataclass(frozen=True)
class Removable:
    """An ended case and the instant after which it may be removed."""

    ended_at: int
    after: int
    year: int | None  # the statistics year to freeze before it goes (None: it counts in none)

    def due(self, now: int) -> bool:
        return now > self.after


def removable_caseless(last_received_at: int, days: int) -> Removable:
    """Envelopes naming a case the hub has no row for (never created there, or uploaded after
    it was removed): they count as ended when the last of them arrived, in no year."""
    return Removable(last_received_at, last_received_at + days * DAY_SECONDS, None)


KEY_ERASED: Final = -1  # a key's end time, for an entry whose body is erased: long past


def removable_recovery_copy(key_ended_at: int | None, stored_at: int, days: int) -> Removable:
    """When a key's recovery copy may go (see the module's docstring); `key_ended_at` is None
    for a key the directory never signed, KEY_ERASED for one whose entry is erased."""
    if key_ended_at == KEY_ERASED:
        return Removable(stored_at, 0, None)
    start = stored_at if key_ended_at is None else key_ended_at
    return Removable(start, start + days * DAY_SECONDS, None)


def removable(case: Case, days: int, calendar: SwedishCalendar) -> Removable | None:
    """When `case` may be removed, or None while it has not ended."""
    ended = case_ended_at(case)
    if ended is None:
        return None
    after = ended + days * DAY_SECONDS
    year = statistics_year(case, calendar)
    if year is not None:
        next_year = calendar.at_local(date(year + 1, 1, 1), time(0, 0))
        after = max(after, int(next_year.timestamp()) - 1)
    return Removable(ended, after, year)

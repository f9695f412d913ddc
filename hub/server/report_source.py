"""Where the year's report comes from: the only I/O of the statistics. It loads what the hub holds
of one network (its settings, members, cases' lifecycle metadata and filed outcome reports),
hands it to the pure `network_statistics`, and returns the suppressed tables of
`report_tables`: the raw figures never leave this function.

Nothing is skipped silently: a stored case or outcome report that no longer reads raises, so a
report is never quietly short of a case."""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from dataclasses import replace
from typing import TYPE_CHECKING

from hub.protocol.case_codec import case_from_json
from hub.report.export import report_tables
from hub.report.outcome import OutcomeReport
from hub.report.statistics import network_statistics
from hub.report.wire import report_from_json

if TYPE_CHECKING:
    from hub.protocol.deadlines import SwedishCalendar
    from hub.report.export import Report
    from hub.report.statistics import NetworkStatistics
    from hub.storage.base import Storage


class ReportCache:
    """The last few suppressed reports, by the figures they came from. Suppression is pure and
    costs seconds for a large network (half a minute for 290 members and 300 cases), while the
    figures behind a year change only when a case does: a coordinator paging back and forth, or
    two at once, wait once. A report is built once however many ask for it at the same time
    (another network's waits for nothing), off the event loop."""

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._reports: OrderedDict[bytes, Report] = OrderedDict()
        self._building: dict[bytes, asyncio.Lock] = {}

    def __len__(self) -> int:
        return len(self._reports)

    async def report(self, stats: NetworkStatistics) -> Report:
        # The tables read `as_of` only for its date (in a description): one report a day.
        day = replace(stats, as_of=stats.as_of.replace(hour=0, minute=0, second=0, microsecond=0))
        key = hashlib.sha256(repr(day).encode()).digest()
        building = self._building.setdefault(key, asyncio.Lock())
        try:
            async with building:
                found = self._reports.get(key)
                if found is None:
                    # Pure CPU work: off the event loop, so other requests go on meanwhile.
                    found = await asyncio.to_thread(report_tables, day)
                self._reports[key] = found
                self._reports.move_to_end(key)
                while len(self._reports) > self._size:
                    self._reports.popitem(last=False)
                return found
        finally:
            if not building.locked():
                self._building.pop(key, None)


async def yearly_report(  # noqa: PLR0913 - where from, which year, as of when, and the cache
    storage: Storage,
    network_id: str,
    year: int,
    *,
    as_of: int,
    calendar: SwedishCalendar,
    cache: ReportCache | None = None,
) -> Report:
    """The network's report for `year` as the coordinator may see it, as of `as_of` (Unix
    seconds: what is still within its deadline then is awaiting, not unanswered). A year frozen
    by retention (hub/server/retention.py) is the report kept then, whatever `as_of`."""
    frozen = await storage.get_frozen_report(network_id, year)
    if frozen is not None:
        return report_from_json(frozen)
    stats = await yearly_statistics(storage, network_id, year, as_of=as_of, calendar=calendar)
    return await (cache if cache is not None else ReportCache(size=0)).report(stats)


async def yearly_statistics(
    storage: Storage, network_id: str, year: int, *, as_of: int, calendar: SwedishCalendar
) -> NetworkStatistics:
    """The raw figures of `year`. Only for what may be shown unsuppressed (each member's own
    quota and received count, to the members); everything else goes through `yearly_report`."""
    network = await storage.get_network(network_id)
    municipalities = await storage.list_municipalities(network_id)
    rows = await storage.list_network_cases(network_id)
    filed = await storage.list_outcome_reports(network_id)
    cases = [case_from_json(row.data) for row in rows]
    outcomes = {case_id.hex(): OutcomeReport.from_json(report) for case_id, report, _ in filed}
    return network_statistics(
        cases,
        outcomes,
        municipalities,
        network.settings,
        year,
        calendar=calendar,
        as_of=as_of,
    )

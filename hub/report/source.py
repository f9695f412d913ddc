"""Where the year's report comes from: the only I/O of the statistics. It loads what the hub holds
of one network (its settings, members, cases' lifecycle metadata and filed outcome reports),
hands it to the pure `network_statistics`, and returns the suppressed tables of
`report_tables`: the raw figures never leave this function.

Nothing is skipped silently: a stored case or outcome report that no longer reads raises, so a
report is never quietly short of a case."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from hub.protocol.case_codec import case_from_json
from hub.report.export import report_tables
from hub.report.outcome import OutcomeReport
from hub.report.statistics import network_statistics

if TYPE_CHECKING:
    from hub.protocol.deadlines import SwedishCalendar
    from hub.report.export import Report
    from hub.report.statistics import NetworkStatistics
    from hub.storage.base import Storage


async def yearly_report(
    storage: Storage, network_id: str, year: int, *, as_of: int, calendar: SwedishCalendar
) -> Report:
    """The network's report for `year` as the coordinator may see it, as of `as_of` (Unix
    seconds: what is still within its deadline then is awaiting, not unanswered)."""
    stats = await yearly_statistics(storage, network_id, year, as_of=as_of, calendar=calendar)
    # Suppression is pure CPU work (a second or more for a large network): off the event
    # loop, so the hub and the inboxes' requests go on meanwhile.
    return await asyncio.to_thread(report_tables, stats)


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

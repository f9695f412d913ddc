"""The coordinator's statistics: the network's year as suppressed tables (JSON) or as CSV; and,
for the contact persons choosing whom to ask, each member's quota and what it has received
this year (`quotas`).

Only the coordinator, the county board and the county administrator may read them; a contact
person is refused as on every role-restricted route (404 forbidden), and a coordinator's
session opens no envelope or case (those routes take contact persons only). What is sent is the
suppressed `Report` of hub/report/export.py, never a raw figure (hub/report/wire.py)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from aiohttp import web

from hub.errors import ApiError
from hub.protocol import wire
from hub.protocol.roles import AccountRole
from hub.report.export import report_csv
from hub.report.wire import report_to_json
from hub.server.answer import answer
from hub.server.auth import caller_of, same_network
from hub.server.query import takes_query
from hub.server.report_source import yearly_report, yearly_statistics
from hub.server.typedefs import CALENDAR, CLOCK, REPORTS, STORAGE

if TYPE_CHECKING:
    from hub.report.export import Report

READERS: Final = (AccountRole.COORDINATOR, AccountRole.COUNTY_BOARD, AccountRole.COUNTY_ADMIN)
QUOTA_READERS: Final = (AccountRole.CONTACT_PERSON, *READERS)
FIRST_YEAR: Final = 2000
_YEAR: Final = re.compile(r"[0-9]{4}")
_FILENAME_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._-]")


@takes_query("year")
async def statistics(request: web.Request) -> web.Response:
    report = await _report(request)
    return web.json_response(report_to_json(report))


@takes_query("year")
async def statistics_csv(request: web.Request) -> web.Response:
    report = await _report(request)
    network = _FILENAME_UNSAFE.sub("_", request.match_info["network"])
    return web.Response(
        body=report_csv(report),
        content_type="text/csv",
        charset="utf-8",
        headers={
            "Content-Disposition": (f'attachment; filename="statistik-{network}-{report.year}.csv"')
        },
    )


async def quotas(request: web.Request) -> web.Response:
    """Every member's quota for this Stockholm year (from the network's quota key and its
    population; null without a key or a population) and the formal inquiries delivered to it
    in the year's cases, counted as the statistics count them. Counts only: no case is named."""
    caller = await caller_of(request, *QUOTA_READERS)
    same_network(request, caller.network_id)
    now = int(request.app[CLOCK]())
    calendar = request.app[CALENDAR]
    year = calendar.local_date(now).year
    stats = await yearly_statistics(
        request.app[STORAGE], caller.network_id, year, as_of=now, calendar=calendar
    )
    figures = [
        wire.QuotaFigure(id=m.id, quota=m.quota, received=m.received)
        for m in stats.municipalities
        if m.is_member
    ]
    return answer(wire.Quotas(year=stats.year, municipalities=figures))


async def _report(request: web.Request) -> Report:
    caller = await caller_of(request, *READERS)
    same_network(request, caller.network_id)
    now = int(request.app[CLOCK]())
    calendar = request.app[CALENDAR]
    year = _year(request, calendar.local_date(now).year)
    return await yearly_report(
        request.app[STORAGE],
        caller.network_id,
        year,
        as_of=now,
        calendar=calendar,
        cache=request.app[REPORTS],
    )


def _year(request: web.Request, current: int) -> int:
    """`?year=YYYY` from 2000 to next year; without it, this year in Stockholm."""
    text = request.rel_url.query.get("year")
    if text is None:
        return current
    if not _YEAR.fullmatch(text) or not FIRST_YEAR <= int(text) <= current + 1:
        raise ApiError("request_malformed", "year")
    return int(text)

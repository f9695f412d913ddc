"""Retention (gallring): remove every case that has been ended for longer than its network's
signed `case_retention_days`, with its rows and blobs, as hub/report/retention.py decides. Run
by `hub gallra` and daily inside `hub serve` (RetentionJob); the caller holds the data folder's
maintenance lock, so it never runs with a backup.

Order, so that a run killed at any point leaves nothing half-visible and the next run finishes:
1. the year each due case counts in is frozen first (its suppressed report kept for good, in
   its own transaction), so no report of a past year changes;
2. each case goes in one transaction of its own (rows, notices, the audit subjects that name it,
   and an audit record of the removal that names no case), re-checked under the write lock: a
   case changed since it was read (re-opened) is left for the next run;
3. its blob files are removed after that commit; a file left by a run cut short between the two
   is found by the next run's sweep (blobs placed over a day ago that no row refers to);
4. the WAL is checkpointed and truncated (Storage.reclaim), so with secure_delete no file in the
   data folder holds a removed case's id, message ids or ciphertext.
Envelopes naming a case the hub has no row for (never created here, or uploaded after their case
was removed) go the setting's time after the last of them arrived, and a recovery copy the same
time after its key ended (hub/report/retention.py), each in a transaction of its own.
Log lines name networks, years and counts only: never a removed case's id.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from hub.crypto.directory import ENTRY_KIND, REVOCATION_KIND
from hub.crypto.records import read_unverified
from hub.protocol.case_codec import case_from_json
from hub.report.retention import (
    KEY_ERASED,
    RetentionSetting,
    removable,
    removable_caseless,
    removable_recovery_copy,
    retention_setting,
)
from hub.report.wire import report_to_json
from hub.server.report_source import yearly_report
from hub.storage.base import NotFound, StaleVersion

if TYPE_CHECKING:
    from collections.abc import Callable

    from hub.protocol.deadlines import SwedishCalendar
    from hub.storage.base import DirectoryRecord, Storage

log = logging.getLogger("hub.retention")

ORPHAN_AGE_SECONDS: Final = 86_400  # a younger blob may be an upload whose row is on its way
RECLAIM_ATTEMPTS: Final = 5
RECLAIM_PAUSE_SECONDS: Final = 1.0


@dataclass(frozen=True)
class DueCase:
    network_id: str
    case_id: bytes
    version: int | None  # None: envelopes only, the hub has no row for their case
    ended_at: int  # for envelopes only: when the last of them arrived
    year: int | None


@dataclass(frozen=True)
class NetworkPlan:
    network_id: str
    setting: RetentionSetting
    due: tuple[DueCase, ...]
    ended_kept: int  # ended, not long enough (or its year is not over yet)
    running: int  # not ended
    frozen_years: tuple[int, ...]  # of the due cases' years, those frozen already
    copies_due: tuple[bytes, ...] = ()  # key ids whose recovery copy goes
    copies_kept: int = 0


@dataclass
class RetentionResult:
    removed: int = 0
    envelopes: int = 0
    blobs: int = 0
    audit_subjects: int = 0
    frozen: list[tuple[str, int]] = field(default_factory=list)
    changed_meanwhile: int = 0  # re-opened or changed since read: left for the next run
    copies: int = 0  # recovery copies removed
    orphans: int = 0
    reclaimed: bool = True


async def plan(storage: Storage, *, now: int, calendar: SwedishCalendar) -> list[NetworkPlan]:
    """What would go now, network by network; reads only."""
    plans = []
    for network_id in await storage.list_network_ids():
        network = await storage.get_network(network_id)
        setting = retention_setting(network.settings)
        due: list[DueCase] = []
        kept = running = 0
        for row in await storage.list_network_cases(network_id):
            when = removable(case_from_json(row.data), setting.days, calendar)
            if when is None:
                running += 1
            elif when.due(now):
                due.append(DueCase(network_id, row.case_id, row.version, when.ended_at, when.year))
            else:
                kept += 1
        # Envelopes whose case the hub has no row for (never created here, or uploaded after
        # it was removed) go the same time after the last of them arrived.
        for case_id, last in await storage.list_caseless_envelopes(network_id):
            if removable_caseless(last, setting.days).due(now):
                due.append(DueCase(network_id, case_id, None, last, None))
            else:
                kept += 1
        years = sorted({c.year for c in due if c.year is not None})
        frozen = tuple(
            [y for y in years if await storage.get_frozen_report(network_id, y) is not None]
        )
        copies_due, copies_kept = await _copies_due(storage, network_id, setting.days, now)
        plans.append(
            NetworkPlan(
                network_id, setting, tuple(due), kept, running, frozen, copies_due, copies_kept
            )
        )
    return plans


async def _copies_due(
    storage: Storage, network_id: str, days: int, now: int
) -> tuple[tuple[bytes, ...], int]:
    """The keys whose recovery copy is due now, and how many copies stay."""
    copies = await storage.list_recovery_copies(network_id)
    if not copies:
        return (), 0
    ends = _key_ends(await storage.list_directory_records(network_id))
    due = tuple(
        key_id
        for key_id, stored_at in copies
        if removable_recovery_copy(ends.get(key_id), stored_at, days).due(now)
    )
    return due, len(copies) - len(due)


def _key_ends(records: list[DirectoryRecord]) -> dict[bytes, int]:
    """When each key ended: its entry's not_after, or its revocation if earlier (the records
    as the hub verified them when they were added); KEY_ERASED for an erased entry."""
    ends: dict[bytes, int] = {}
    for record in records:
        if record.kind not in (ENTRY_KIND, REVOCATION_KIND):
            continue
        if record.erased:
            ends[record.key_id] = KEY_ERASED
            continue
        body = read_unverified(record.wire).unverified_body
        at = int(body["not_after"] if record.kind == ENTRY_KIND else body["revoked_at"])
        known = ends.get(record.key_id)
        if known != KEY_ERASED:
            ends[record.key_id] = at if known is None else min(known, at)
    return ends


async def run(
    storage: Storage,
    *,
    now: int,
    calendar: SwedishCalendar,
    say: Callable[[str], None] = lambda _: None,
) -> RetentionResult:
    """Remove what is due now (see the module's docstring); `say` gets progress in Swedish."""
    result = RetentionResult()
    for network in await plan(storage, now=now, calendar=calendar):
        if not network.setting.signed:
            log.info(
                "retention: %s has not signed its settings; the national %d days hold",
                network.network_id,
                network.setting.days,
            )
        await _freeze_years(storage, network, now, calendar, result, say)
        for number, due in enumerate(network.due, start=1):
            await _remove(storage, due, now, result)
            if number % 50 == 0 or number == len(network.due):
                say(f"  {network.network_id}: {number} av {len(network.due)} ärenden gallrade")
        for key_id in network.copies_due:
            await _remove_copy(storage, network.network_id, key_id, now, result)
    result.orphans = await sweep_orphans(storage)
    if result.removed or result.orphans or result.copies:
        result.reclaimed = await _reclaim(storage)
    log.info(
        "retention: %d cases, %d envelopes, %d blob files, %d orphan blobs removed;"
        " %d audit subjects erased; %d changed meanwhile",
        result.removed,
        result.envelopes,
        result.blobs,
        result.orphans,
        result.audit_subjects,
        result.changed_meanwhile,
    )
    return result


async def _freeze_years(  # noqa: PLR0913, PLR0917 - one network's step of run()
    storage: Storage,
    network: NetworkPlan,
    now: int,
    calendar: SwedishCalendar,
    result: RetentionResult,
    say: Callable[[str], None],
) -> None:
    years = sorted({c.year for c in network.due if c.year is not None} - set(network.frozen_years))
    for year in years:
        report = await yearly_report(
            storage, network.network_id, year, as_of=now, calendar=calendar
        )
        async with storage.transaction() as tx:
            if await tx.freeze_report(network.network_id, year, report_to_json(report), now):
                await tx.append_audit(
                    at=now,
                    actor="system",
                    action="statistics_frozen",
                    subject={"network": network.network_id, "year": year},
                )
        result.frozen.append((network.network_id, year))
        log.info("retention: statistics of %s %d frozen", network.network_id, year)
        say(f"  {network.network_id}: statistiken för {year} är fryst (oförändrad framöver)")


async def _remove(storage: Storage, due: DueCase, now: int, result: RetentionResult) -> None:
    try:
        async with storage.transaction() as tx:
            if due.version is None:
                removed = await tx.remove_caseless(due.case_id, received_by=due.ended_at)
            else:
                removed = await tx.remove_case(due.case_id, due.version)
            subject: dict[str, str | int | list[str]] = {"network": due.network_id}
            if due.year is not None:
                subject["year"] = due.year
            await tx.append_audit(at=now, actor="system", action="case_removed", subject=subject)
    except (StaleVersion, NotFound):
        result.changed_meanwhile += 1
        return
    result.blobs += await storage.blobs.remove(removed.blob_files)
    result.removed += 1
    result.envelopes += removed.envelopes
    result.audit_subjects += removed.audit_subjects


async def _remove_copy(
    storage: Storage, network_id: str, key_id: bytes, now: int, result: RetentionResult
) -> None:
    async with storage.transaction() as tx:
        if not await tx.remove_recovery_copy(network_id, key_id):
            return  # gone meanwhile
        await tx.append_audit(
            at=now,
            actor="system",
            action="recovery_copy_removed",
            subject={"key_id": key_id.hex()},
        )
    result.copies += 1


async def sweep_orphans(storage: Storage, *, wall_clock: float | None = None) -> int:
    """Remove the blob files placed over a day ago that no envelope row refers to (a run cut
    short after its commit; an upload whose row never committed). Their count."""
    wall = time.time() if wall_clock is None else wall_clock
    stored = await storage.blobs.stored_before(wall - ORPHAN_AGE_SECONDS)
    if not stored:
        return 0
    async with storage.transaction() as tx:
        known = await tx.find_envelopes(stored)
    orphans = [m for m in stored if m not in known]
    return await storage.blobs.remove(orphans) if orphans else 0


async def _reclaim(storage: Storage) -> bool:
    for attempt in range(RECLAIM_ATTEMPTS):
        if await storage.reclaim():
            return True
        if attempt + 1 < RECLAIM_ATTEMPTS:
            await asyncio.sleep(RECLAIM_PAUSE_SECONDS)
    log.warning("retention: the WAL checkpoint was kept from finishing by an open read")
    return False

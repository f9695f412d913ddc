"""`hub gallra`: retention (hub/server/retention.py) from the command line, with what it does
said in Swedish. Holds the data folder's maintenance lock, so it never runs with a backup."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from hub.cli.exits import EXIT_ATTENTION, EXIT_OK
from hub.protocol.deadlines import SwedishCalendar
from hub.server import retention
from hub.storage.backup import maintenance_lock
from hub.storage.choose import open_storage

if TYPE_CHECKING:
    from pathlib import Path


def _day(at: int, calendar: SwedishCalendar) -> str:
    return calendar.local_date(at).isoformat()


def describe(plans: list[retention.NetworkPlan], calendar: SwedishCalendar) -> list[str]:
    """What would go, network by network, as the operator reads it."""
    lines: list[str] = []
    for plan in plans:
        setting = plan.setting
        where = (
            "nätverkets undertecknade inställning"
            if setting.signed
            else "det nationella standardvärdet: nätverkets inställningar är inte undertecknade "
            "ännu (hub admin settings)"
        )
        lines.append(
            f"Nätverket {plan.network_id}: ett avslutat ärende sparas {setting.days} dagar "
            f"({where}), och tills året det räknas i statistiken för är slut."
        )
        lines.append(
            f"  {len(plan.due)} ärenden ska gallras nu; {plan.ended_kept} avslutade sparas "
            f"ännu; {plan.running} pågår."
        )
        if plan.copies_due or plan.copies_kept:
            lines.append(
                f"  {len(plan.copies_due)} återställningskopior ska gallras nu (deras nyckel "
                f"slutade gälla för mer än {setting.days} dagar sedan); {plan.copies_kept} "
                "sparas ännu."
            )
        for case in plan.due:
            day = _day(case.ended_at, calendar)
            if case.version is None:
                lines.append(
                    f"    meddelanden till ärende {case.case_id.hex()}, som hubben inte har "
                    f"något ärende för: det senaste kom {day}"
                )
                continue
            year = f", räknas i statistiken för {case.year}" if case.year is not None else ""
            lines.append(f"    ärende {case.case_id.hex()}: avslutat {day}{year}")
    if not plans:
        lines.append("Det finns inget nätverk i hubben.")
    return lines


def gallra(data_dir: Path, *, check: bool, database: str | None = None) -> int:
    """`database`: a PostgreSQL hub's (its instances' data folders hold the lock only)."""
    calendar = SwedishCalendar()
    now = int(time.time())
    print(f"Gallring i {data_dir}, {datetime.fromtimestamp(now, UTC):%Y-%m-%d %H:%M} UTC.")
    with maintenance_lock(data_dir, "gallringen"):
        return asyncio.run(_gallra(data_dir, now, calendar, check=check, database=database))


async def _gallra(
    data_dir: Path, now: int, calendar: SwedishCalendar, *, check: bool, database: str | None
) -> int:
    storage = await open_storage(data_dir, database, clean_uploads=False)
    try:
        plans = await retention.plan(storage, now=now, calendar=calendar)
        for line in describe(plans, calendar):
            print(line)
        due = sum(len(p.due) + len(p.copies_due) for p in plans)
        if check:
            print("Ingenting ändrades (--check).")
            return EXIT_ATTENTION if due else EXIT_OK
        result = await retention.run(storage, now=now, calendar=calendar, say=print)
    finally:
        await storage.close()
    print(
        f"Gallrat: {result.removed} ärenden med {result.envelopes} meddelanden "
        f"({result.blobs} filer); {result.audit_subjects} poster i granskningsloggen fick sitt "
        f"ämne raderat; {result.orphans} kvarglömda filer togs bort; {result.copies} "
        "återställningskopior togs bort."
    )
    if result.changed_meanwhile:
        print(
            f"{result.changed_meanwhile} ärenden ändrades medan gallringen pågick och sparas "
            "tills nästa gallring."
        )
    if not result.reclaimed:
        print(
            "Databasens logg (WAL) kunde inte tömmas: en läsning pågick. Gallrade uppgifter kan "
            "finnas kvar i hub.sqlite3-wal tills nästa gallring; kör hub gallra igen."
        )
        return EXIT_ATTENTION
    print(
        "Säkerhetskopior tagna före gallringen innehåller fortfarande de gallrade ärendena tills "
        "de själva tas bort."
    )
    return EXIT_OK

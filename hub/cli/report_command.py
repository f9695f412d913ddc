"""`hub report`: the network's annual report on the hub's own machine, read straight from the
hub's storage (hub.server.report_source.yearly_report), as PDF/A and/or CSV files. What is
written is the same suppressed tables the coordinator's pages show; no case content exists to
write."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from hub.cli.envelope_commands import _AtomicOutput
from hub.cli.ops_command import config_hint
from hub.server.config import load_config
from hub.storage.upgrade import refuse_pending

if TYPE_CHECKING:
    import argparse

    from hub.cli._types import Subparsers
    from hub.report.export import Report

FILE_MODE = 0o640  # aggregates only, yet an internal document: not for every user of the machine


def register(commands: Subparsers) -> None:
    p = commands.add_parser(
        "report", help="hubbens operatör: nätverkets årsrapport som PDF och CSV, från databasen"
    )
    p.add_argument("--config", type=Path, help="hub.toml (annars standardvärden och HUB_*)")
    p.add_argument("--network", required=True, metavar="ID", help="nätverkets id")
    p.add_argument("--year", required=True, type=int, metavar="ÅÅÅÅ", help="året")
    p.add_argument("--pdf", type=Path, metavar="FIL", help="skriv årsrapporten som PDF hit")
    p.add_argument("--csv", type=Path, metavar="FIL", help="skriv tabellerna som CSV hit")
    p.set_defaults(run=_report)


async def load_report(data_dir: Path, network: str, year: int, *, now: int) -> tuple[Report, str]:
    """The year's report and the network's name, from the storage in `data_dir`."""
    from hub.protocol.deadlines import SwedishCalendar  # noqa: PLC0415 - holidays: slow to load
    from hub.server.report_source import yearly_report  # noqa: PLC0415
    from hub.storage.base import NotFound  # noqa: PLC0415
    from hub.storage.sqlite import SqliteStorage  # noqa: PLC0415

    storage = await SqliteStorage.open(data_dir, clean_uploads=False)
    try:
        try:
            name = (await storage.get_network(network)).name
        except NotFound:
            raise ValueError(f"nätverket {network} finns inte i {data_dir}") from None
        report = await yearly_report(storage, network, year, as_of=now, calendar=SwedishCalendar())
    finally:
        await storage.close()
    return report, name


def _report(args: argparse.Namespace) -> int:
    if args.pdf is None and args.csv is None:
        raise ValueError("ange --pdf FIL och/eller --csv FIL")
    if not 2000 <= args.year <= 9999:
        raise ValueError("ange året med fyra siffror, från 2000")
    for path in (args.pdf, args.csv):
        if path is not None and path.exists():
            raise FileExistsError(str(path))
    config = load_config(args.config)
    refuse_pending(config.data_dir, config_hint(args))
    now = int(time.time())
    report, name = asyncio.run(load_report(config.data_dir, args.network, args.year, now=now))
    if args.csv is not None:
        from hub.report.export import report_csv  # noqa: PLC0415

        with _AtomicOutput(args.csv, FILE_MODE) as out:
            out.write(report_csv(report))
        print(f"Tabellerna {args.year} är skrivna till {args.csv}.")
    if args.pdf is not None:
        from hub.followup.document import render_report_pdf  # noqa: PLC0415 - weasyprint

        started = time.monotonic()
        pdf = render_report_pdf(
            report, network_name=name, generated_at=datetime.fromtimestamp(now, UTC)
        )
        with _AtomicOutput(args.pdf, FILE_MODE) as out:
            out.write(pdf)
        seconds = time.monotonic() - started
        print(f"Årsrapporten {args.year} är skriven till {args.pdf} ({seconds:.1f} s).")
    return 0

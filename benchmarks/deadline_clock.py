"""The deadline clock: scheduling 1,000,000 deadlines, and one scheduler tick with that many
open (benchmarks/README.md).

    .venv/bin/python -m benchmarks.deadline_clock            # 1,000,000 deadlines, 200 runs
    .venv/bin/python -m benchmarks.deadline_clock --quick    # 10,000 deadlines, 20 runs

The hub's own storage (SqliteStorage on a temp dir, WAL, synchronous=FULL) and its own rules:
every deadline is the answer clock of a real lifecycle Case (an inquiry delivered to one
municipality), turned into its three alarms by hub.server.notify.alarm_rows and stored with
`replace_alarms`, as the hub does on delivery. The tick is the hub's own Scheduler.tick(), run
on its storage with the clock held still, and the storage steps it consists of are timed too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import hashlib
import math
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import aiosqlite

from benchmarks.envelope_throughput import cpu_info, filesystem_of
from hub.protocol.deadlines import NetworkDeadlines, SwedishCalendar
from hub.protocol.lifecycle import Case, Event, Role
from hub.protocol.settings import DEFAULT_SETTINGS
from hub.server import notify
from hub.server.directory_cache import DirectoryCache
from hub.server.notify import Notices
from hub.server.scheduler import ALARM_BATCH, Scheduler
from hub.server.singletons import OneProcessRecovery
from hub.storage.base import Network
from hub.storage.sqlite import DB_NAME, SqliteStorage, create_network

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from hub.storage.base import AlarmRow

NETWORK = "bench-clock"
MUNICIPALITIES = [f"kommun-{i:03d}" for i in range(290)]  # as many as Sweden has
# The clock is held still at NOW, Monday 11 January 2027, 07:30 in Stockholm. The deadlines'
# inquiries are delivered after it, spread evenly over SPREAD_DAYS, so none of their alarms
# is due: the tick finds nothing unless the run puts something due there.
NOW = int(datetime.fromisoformat("2027-01-11T07:30:00+01:00").timestamp())
FIRST_DELIVERY = NOW + 3600
SPREAD_DAYS = 365
# The due cases of a "100 due" run: delivered 12 days before NOW, so the answer reminder
# (3 working days before the due date, 13 January) has passed and the day's notice and the
# escalation have not: one alarm due per case, two more stored.
DUE_DELIVERY = NOW - 12 * 86_400
DUE_PER_RUN = 100


def case_id(label: str, n: int) -> bytes:
    """Random-looking, like the ids clients make (os.urandom), but the same on every run."""
    return hashlib.blake2b(f"{label}/{n}".encode(), digest_size=16).digest()


def delivered_case(cid: bytes, n: int, delivered_at: int) -> Case:
    """A sends an inquiry to one municipality, which receives it: the answer clock runs."""
    sender = MUNICIPALITIES[n % len(MUNICIPALITIES)]
    asked = MUNICIPALITIES[(n + 1 + n // len(MUNICIPALITIES)) % len(MUNICIPALITIES)]
    if asked == sender:
        asked = MUNICIPALITIES[(n + 2) % len(MUNICIPALITIES)]
    case = Case(cid.hex(), sender)
    case, _ = case.apply(Role.SENDER, asked, Event.SEND_INQUIRY, delivered_at - 60)
    case, _ = case.apply(Role.SYSTEM, asked, Event.DELIVER, delivered_at)
    return case


# --- scheduling ---------------------------------------------------------------------------


@dataclasses.dataclass
class Scheduled:
    deadlines: int = 0
    alarms: int = 0
    transactions: int = 0
    rules_seconds: float = 0.0  # building the Cases and their alarm rows
    storage_seconds: float = 0.0  # the transactions of replace_alarms

    @property
    def rate(self) -> float:
        return self.deadlines / self.storage_seconds if self.storage_seconds else math.nan


async def schedule(
    storage: SqliteStorage,
    *,
    rules: NetworkDeadlines,
    calendar: SwedishCalendar,
    deadlines: int,
    per_transaction: int,
    progress: Callable[[str], None],
) -> Scheduled:
    """Store `deadlines` answer clocks, `per_transaction` cases per transaction. The rules
    (Case -> alarm rows) and the storage are timed apart: the hub pays the rules once per
    case change, outside its write transaction."""
    done = Scheduled()
    step = (SPREAD_DAYS * 86_400) / deadlines
    report_every = max(1, deadlines // 10)
    for start in range(0, deadlines, per_transaction):
        numbers = range(start, min(start + per_transaction, deadlines))
        began = time.perf_counter()
        batch: list[tuple[bytes, list[AlarmRow]]] = []
        for n in numbers:
            cid = case_id("open", n)
            case = delivered_case(cid, n, FIRST_DELIVERY + int(n * step))
            batch.append((cid, notify.alarm_rows(case, NETWORK, rules, calendar)))
        built = time.perf_counter()
        async with storage.transaction() as tx:
            for cid, rows in batch:
                await tx.replace_alarms(cid, rows)
        stored = time.perf_counter()
        done.rules_seconds += built - began
        done.storage_seconds += stored - built
        done.deadlines += len(numbers)
        done.alarms += sum(len(rows) for _, rows in batch)
        done.transactions += 1
        if done.deadlines // report_every != (done.deadlines - len(numbers)) // report_every:
            progress(
                f"scheduled {done.deadlines:,} of {deadlines:,} "
                f"(storage {done.storage_seconds:.1f} s, rules {done.rules_seconds:.1f} s)"
            )
    return done


# --- the tick -----------------------------------------------------------------------------


class DueCases:
    """Fresh cases with one alarm due each, put in before a run and taken out after it (the
    alarms that are not due), so exactly `deadlines` clocks are open at every run."""

    def __init__(self, rules: NetworkDeadlines, calendar: SwedishCalendar) -> None:
        case = delivered_case(case_id("due", 0), 0, DUE_DELIVERY)
        self.template = notify.alarm_rows(case, NETWORK, rules, calendar)
        due = [a for a in self.template if a.fire_at <= NOW]
        if len(due) != 1:
            raise SystemExit(f"the due cases should have 1 alarm due at NOW, not {len(due)}")
        self.serial = 0
        self.current: list[bytes] = []

    async def put(self, storage: SqliteStorage, count: int) -> None:
        self.current = []
        async with storage.transaction() as tx:
            for _ in range(count):
                self.serial += 1
                cid = case_id("due", self.serial)
                rows = [dataclasses.replace(a, case_id=cid) for a in self.template]
                await tx.replace_alarms(cid, rows)
                self.current.append(cid)

    async def clear(self, storage: SqliteStorage) -> None:
        async with storage.transaction() as tx:
            for cid in self.current:
                await tx.replace_alarms(cid, [])  # as when the request is answered


def scheduler_for(storage: SqliteStorage, data_dir: Path) -> Scheduler:
    """The hub's Scheduler on this storage, its clock held at NOW; e-mail off ([smtp] unset),
    so a tick fires alarms (with their audit records) and sends nothing."""
    del data_dir  # the scheduler takes its dependencies, not a configured application
    notices = Notices(storage, DirectoryCache(storage), smtp=None)
    return Scheduler(
        storage,
        notices,
        clock=lambda: float(NOW),
        smtp=None,
        recovery=OneProcessRecovery(storage),
    )


async def timed(
    runs: int,
    step: Callable[[], Awaitable[int]],
    *,
    expect: int,
    before: Callable[[], Awaitable[None]] | None = None,
    after: Callable[[], Awaitable[None]] | None = None,
) -> list[float]:
    """`step` run `runs` times (after one untimed warm-up), in ms; `before` and `after` are
    not timed. `step` returns how many alarms it fired, which must be `expect`."""
    timings = []
    for run in range(runs + 1):
        if before is not None:
            await before()
        began = time.perf_counter()
        fired = await step()
        elapsed = (time.perf_counter() - began) * 1000
        if fired != expect:
            raise SystemExit(f"a timed step fired {fired} alarms, not {expect}")
        if after is not None:
            await after()
        if run:
            timings.append(elapsed)
    return sorted(timings)


@dataclasses.dataclass
class Row:
    label: str
    timings: list[float]

    def line(self) -> str:
        t = self.timings
        p95 = t[max(0, math.ceil(0.95 * len(t)) - 1)]
        return f"  {self.label:<58}{statistics.median(t):>9.3f}{p95:>9.3f}{t[0]:>9.3f}{t[-1]:>9.3f}"


async def measure_tick(
    storage: SqliteStorage, data_dir: Path, rules: NetworkDeadlines, runs: int
) -> list[Row]:
    calendar = SwedishCalendar()
    scheduler = scheduler_for(storage, data_dir)
    due = DueCases(rules, calendar)

    async def put_due() -> None:
        await due.put(storage, DUE_PER_RUN)

    async def clear_due() -> None:
        await due.clear(storage)

    async def next_alarm() -> int:
        at = await storage.next_alarm_at()
        if at is None or at <= NOW:
            raise SystemExit("next_alarm_at should be after NOW")
        return 0

    async def storage_step() -> int:
        async with storage.transaction() as tx:
            rows = await tx.take_due_alarms(NOW, ALARM_BATCH)
            for row in rows:
                await tx.mark_fired(notify.to_alarm(row).key(row.case_id.hex()), NOW)
        return len(rows)

    async def tick() -> int:
        return (await scheduler.tick()).alarms_fired

    return [
        Row(
            "next_alarm_at() (the scheduler's wake-up lookup)",
            await timed(runs, next_alarm, expect=0),
        ),
        Row(
            "storage step, nothing due (take_due_alarms, 1 tx)",
            await timed(runs, storage_step, expect=0),
        ),
        Row(
            f"storage step, {DUE_PER_RUN} due (take_due_alarms + mark_fired, 1 tx)",
            await timed(runs, storage_step, expect=DUE_PER_RUN, before=put_due, after=clear_due),
        ),
        Row("Scheduler.tick(), nothing due", await timed(runs, tick, expect=0)),
        Row(
            f"Scheduler.tick(), {DUE_PER_RUN} due (+ an audit record each)",
            await timed(runs, tick, expect=DUE_PER_RUN, before=put_due, after=clear_due),
        ),
    ]


# --- report -------------------------------------------------------------------------------


def machine_lines(tmp: Path) -> list[str]:
    model, _ = cpu_info()
    nproc = len(os.sched_getaffinity(0))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    system = f"{platform.system()} {platform.release()}"
    versions = f"aiosqlite {aiosqlite.__version__}, SQLite {sqlite3.sqlite_version}"
    return [
        f"machine: nproc {nproc} (cpu_count {os.cpu_count()}), CPU {model}",
        f"software: Python {platform.python_version()}, {versions}, {system}",
        f"load average at start: {load} (other work on the machine makes every figure noisy)",
        f"data: {tmp} ({filesystem_of(tmp)}); removed at the end",
    ]


def table_facts(db: Path) -> tuple[int, int]:
    """(alarm rows, database bytes with its WAL), read on a connection of its own."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        (rows,) = conn.execute("SELECT COUNT(*) FROM deadline_alarms").fetchone()
    size = sum(p.stat().st_size for p in db.parent.glob(DB_NAME + "*"))
    return int(rows), size


async def run(args: argparse.Namespace, tmp: Path, progress: Callable[[str], None]) -> None:
    data_dir = tmp / "hub-data"
    settings = dict(DEFAULT_SETTINGS)
    await create_network(
        data_dir, Network(NETWORK, "Benchmark", bytes(32), settings, int(time.time()))
    )
    storage = await SqliteStorage.open(data_dir)
    try:
        network = await storage.get_network(NETWORK)
        rules = NetworkDeadlines.from_settings(network.settings)
        calendar = SwedishCalendar()
        progress(f"scheduling {args.deadlines:,} deadlines")
        done = await schedule(
            storage,
            rules=rules,
            calendar=calendar,
            deadlines=args.deadlines,
            per_transaction=args.per_transaction,
            progress=progress,
        )
        rows, size = table_facts(data_dir / DB_NAME)
        if rows != done.alarms:
            raise SystemExit(f"{rows} alarm rows stored, {done.alarms} scheduled")
        progress(f"timing the tick, {args.runs} runs each")
        ticks = await measure_tick(storage, data_dir, rules, args.runs)
    finally:
        await storage.close()

    per_case = done.alarms / done.deadlines
    print(
        f"Scheduling {done.deadlines:,} deadlines: each the answer clock of a lifecycle Case "
        f"(inquiry delivered to one of {len(MUNICIPALITIES)} municipalities, deliveries spread "
        f"over {SPREAD_DAYS} days), {per_case:g} alarms each (reminder, day, escalation) from "
        "hub.server.notify.alarm_rows: "
        f"{done.alarms:,} rows, {done.transactions:,} transactions of "
        f"{args.per_transaction:,} cases, each case one replace_alarms (a new case: no "
        "alarms before)."
    )
    print(
        f"  storage (the transactions):  {done.storage_seconds:8.1f} s  "
        f"{done.rate:10,.0f} deadlines/s  ({done.alarms / done.storage_seconds:,.0f} alarms/s)"
    )
    print(
        f"  rules (Case -> alarm rows):  {done.rules_seconds:8.1f} s  "
        f"{done.deadlines / done.rules_seconds:10,.0f} deadlines/s  (outside the transactions)"
    )
    total = done.storage_seconds + done.rules_seconds
    print(
        f"  both:                        {total:8.1f} s  "
        f"{done.deadlines / total:10,.0f} deadlines/s"
    )
    print(f"  database after: {size / 1e6:,.0f} MB (with its WAL)")
    print()
    print(
        f"With {done.deadlines:,} deadlines open ({rows:,} alarm rows) and the clock held at "
        f"{datetime.fromtimestamp(NOW, UTC).isoformat()}: {args.runs} runs each after a warm-up, "
        f"in ms. A '{DUE_PER_RUN} due' run first stores, untimed, {DUE_PER_RUN} more cases with "
        "one alarm due each, and takes their other alarms out afterwards."
    )
    head = f"  {'':<58}{'median':>9}{'p95':>9}{'min':>9}{'max':>9}"
    print(head)
    print("  " + "-" * (len(head) - 2))
    for row in ticks:
        print(row.line())
    print(
        "  Scheduler.tick() is the hub's own, e-mail off ([smtp] unset): it fires the due "
        "alarms\n  in transactions of up to "
        f"{ALARM_BATCH} with an audit record each and queues nothing to send."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--deadlines", type=int, default=1_000_000, help="deadlines to schedule")
    parser.add_argument("--runs", type=int, default=200, help="timed runs of each tick figure")
    parser.add_argument(
        "--per-transaction", type=int, default=1000, help="cases per scheduling transaction"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 10,000 deadlines, 20 runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.deadlines, args.runs = 10_000, 20
    if args.deadlines < 1 or args.runs < 1 or args.per_transaction < 1:
        parser.error("--deadlines, --runs and --per-transaction must be positive")

    def progress(text: str) -> None:
        print(f"... {text}", file=sys.stderr, flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="hub-clock-"))
    try:
        print("\n".join(machine_lines(tmp)))
        print()
        asyncio.run(run(args, tmp, progress))
    except KeyboardInterrupt:
        print("interrupted: temp files removed", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

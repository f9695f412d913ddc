"""Hub ingest under load, against a bare aiohttp + SQLite server (benchmarks/README.md).

    .venv/bin/python -m benchmarks.hub_ingest              # 15 s per row, 32 clients
    .venv/bin/python -m benchmarks.hub_ingest --quick      # 3 s per row, smoke run

A real hub (`python -m hub.cli serve`) on SQLite, the hub on PostgreSQL with one instance and
with two (clients split between them, one database), and the bare server (`--bare-server PORT
DB`, a hidden mode of this module) each run in their own processes; this process is only the
load generator:
`--clients` signed-in clients (32), each its own HubClient, upload pre-sealed envelopes for a
fixed time. Errors must be 0: the exit status is 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import aiohttp

from benchmarks.ingest_report import Result, SizeReport, machine_lines, notes, table
from benchmarks.ingest_servers import (
    MB,
    NETWORK,
    Server,
    Servers,
    bare_server_main,
    die_with_parent,
    start_bare,
    start_hub,
)
from hub.client.api import HubClient, RemoteError
from hub.crypto.directory import make_entry
from hub.crypto.envelope import AttachmentSource, seal
from hub.crypto.format import MessageKind
from hub.crypto.keys import PrivateIdentity, PublicIdentity, SigningKey
from tests.pgserver import PgServer, PostgresUnavailableError

MUNICIPALITIES = 4  # the contact persons are spread over this many municipalities
SIZES = (("10 KB", 10_000), ("2 MB", 2_000_000))  # attachment payload per envelope
SEAL_WORKERS = 2
SEAL_BATCH_BYTES = 32 * MB  # envelopes per task sent to a sealing worker, by size
WARMUP_SECONDS = 2.0  # per size and server, untimed; the hub's rate here sizes the pools
POOL_MARGIN = 1.5  # envelopes sealed per client: the warm-up rate x seconds x this margin
DOCUMENT = {"subject": "benchmark", "body": "one attachment"}


# --- the network: persons, municipalities, sealing ----------------------------------------


@dataclass(frozen=True)
class Person:
    name: str
    municipality: str
    identity: PrivateIdentity


def make_people(clients: int) -> list[Person]:
    municipalities = min(MUNICIPALITIES, clients)
    return [
        Person(f"person-{i:02d}", f"kommun-{i % municipalities}", PrivateIdentity.generate())
        for i in range(clients)
    ]


def addressing(people: list[Person], sender: Person, k: int) -> tuple[str, list[PublicIdentity]]:
    """The k-th envelope of `sender`: to one other municipality, in turn; sealed to every key
    of that municipality and of the sender's own, exactly what the hub checks."""
    others = sorted({p.municipality for p in people} - {sender.municipality})
    to = others[k % len(others)]
    keys = [p.identity.public for p in people if p.municipality in {to, sender.municipality}]
    return to, keys


def seal_batch(
    sender: PrivateIdentity,
    jobs: list[tuple[str, list[PublicIdentity]]],
    size: int,
) -> list[tuple[str, bytes]]:
    """In a worker process: one sealed envelope (fresh message id) per (to, recipients) job."""
    payload = os.urandom(size)
    sealed = []
    for to, recipients in jobs:
        out = _Buffer()
        seal(
            out,
            sender=sender,
            recipients=recipients,
            kind=MessageKind.INQUIRY,
            case_id=os.urandom(16),
            document=DOCUMENT,
            attachments=[
                AttachmentSource("payload.bin", "application/octet-stream", size, _Reader(payload))
            ],
            created_at=int(time.time()),
        )
        sealed.append((to, bytes(out.data)))
    return sealed


class _Buffer:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes | memoryview) -> int:
        self.data += data
        return len(data)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self._view = memoryview(data)
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._view) if size < 0 else self._pos + size
        chunk = bytes(self._view[self._pos : end])
        self._pos += len(chunk)
        return chunk

    def readinto(self, buffer: memoryview) -> int:
        n = min(len(buffer), len(self._view) - self._pos)
        buffer[:n] = self._view[self._pos : self._pos + n]
        self._pos += n
        return n


Pool = list[list[tuple[str, bytes]]]  # per client: (addressed municipality, envelope bytes)


async def seal_pools(
    executor: ProcessPoolExecutor, people: list[Person], size: int, per_client: int
) -> Pool:
    """`per_client` distinct envelopes for every client, sealed in the worker processes."""
    loop = asyncio.get_running_loop()
    batch = max(1, min(per_client, SEAL_BATCH_BYTES // size))
    tasks: list[list[asyncio.Future[list[tuple[str, bytes]]]]] = [[] for _ in people]
    for start in range(0, per_client, batch):  # round robin over the clients: even progress
        for i, person in enumerate(people):
            jobs = [
                addressing(people, person, k) for k in range(start, min(start + batch, per_client))
            ]
            tasks[i].append(loop.run_in_executor(executor, seal_batch, person.identity, jobs, size))
    return [[e for part in await asyncio.gather(*parts) for e in part] for parts in tasks]


# --- the load -----------------------------------------------------------------------------


def own_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


async def run_load(
    server: Server | Servers,
    clients: list[HubClient],
    pool: Pool,
    seconds: float,
    *,
    reuse: bool,
) -> Result:
    """Every client uploads its envelopes one after another until `seconds` have passed; no new
    upload starts after that, and the run ends when the last one in flight is answered.
    Without `reuse`, a client that runs out of envelopes stops (and is counted)."""
    result = Result()
    cpu0, own0 = server.cpu_seconds(), own_cpu_seconds()
    start = time.perf_counter()
    deadline = start + seconds

    async def client_loop(client: HubClient, envelopes: list[tuple[str, bytes]]) -> None:
        k, passes = 0, 1
        while time.perf_counter() < deadline:
            if k == len(envelopes):
                if not reuse:
                    result.exhausted += 1
                    return
                k, passes = 0, passes + 1
            result.passes = max(result.passes, passes)
            to, body = envelopes[k]
            k += 1
            sent = time.perf_counter()
            try:
                await client.upload(body, [to])
            except RemoteError as exc:
                result.errors[f"{exc.status} {exc.code}"] += 1
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                result.errors[type(exc).__name__] += 1
            else:
                result.latencies.append(time.perf_counter() - sent)
                result.uploads += 1
                result.bytes += len(body)

    await asyncio.gather(*(client_loop(c, e) for c, e in zip(clients, pool, strict=True)))
    result.elapsed = time.perf_counter() - start
    result.server_cpu = server.cpu_seconds() - cpu0
    result.client_cpu = own_cpu_seconds() - own0
    return result


async def enrol(hub: Server, admin: SigningKey, people: list[Person]) -> None:
    now = int(time.time())
    async with HubClient(hub.url, NETWORK) as client:
        await client.sign_in(admin)
        for municipality in sorted({p.municipality for p in people}):
            await client.put_municipality(
                municipality,
                name=municipality.replace("-", " ").title(),
                population=25_000,
                manager_email=f"chef@{municipality}.example",
            )
        for serial, person in enumerate(people, start=1):
            wire = make_entry(
                admin,
                network=NETWORK,
                municipality=person.municipality,
                person=person.name,
                role="contact_person",
                identity=person.identity.public,
                not_before=now - 86_400,
                not_after=now + 365 * 86_400,
                serial=serial,
            )
            await client.add_record(wire)


async def measure(
    args: argparse.Namespace,
    *,
    executor: ProcessPoolExecutor,
    hubs: list[Servers],
    bare: Server,
    people: list[Person],
    progress,
) -> list[SizeReport]:
    """For each size, `--pairs` rounds of: every hub variant (SQLite first), then the bare
    server, all on the same freshly sealed envelopes (each variant has its own database, so
    none sees an envelope twice)."""
    hub_clients = {
        h.name: [HubClient(h.urls[i % len(h.urls)], NETWORK) for i in range(len(people))]
        for h in hubs
    }
    bare_clients = [HubClient(bare.url, NETWORK) for _ in people]  # never signed in: no token

    async def sign_in_all() -> None:
        # Sessions last 15 minutes; sign in again so none runs out during the timed part.
        for clients in hub_clients.values():
            await asyncio.gather(
                *(c.sign_in(p.identity) for c, p in zip(clients, people, strict=True))
            )

    reports = []
    try:
        for label, size in SIZES:
            warm_seconds = min(WARMUP_SECONDS, args.seconds)
            # Enough for the warm-up at about 200 uploads/s (2 MB: 50/s); if it runs out first,
            # its rate is still right, as every client was busy until then.
            guess = 200 if size < MB else 50
            warm_per_client = max(2, math.ceil(guess * warm_seconds / len(people)))
            progress(f"{label}: sealing {warm_per_client} warm-up envelopes per client")
            began = time.perf_counter()
            warm = await seal_pools(executor, people, size, warm_per_client)
            prep = time.perf_counter() - began
            await sign_in_all()
            progress(f"{label}: warm-up, {warm_seconds:.0f} s on each server (untimed)")
            rates = []
            for h in hubs:
                warmup = await run_load(h, hub_clients[h.name], warm, warm_seconds, reuse=False)
                if warmup.errors or not warmup.uploads:
                    raise SystemExit(f"{label}: {h.name}'s warm-up failed: {dict(warmup.errors)}")
                rates.append(warmup.rate)
            await run_load(bare, bare_clients, warm, warm_seconds, reuse=True)
            rate = max(rates)  # the fastest variant sizes the pools: none runs out
            per_client = math.ceil(rate * args.seconds * POOL_MARGIN / len(people)) + 2
            progress(
                f"{label}: fastest hub warm-up {rate:.0f} envelopes/s; sealing {per_client} "
                f"per client ({per_client * len(people)} in all, {SEAL_WORKERS} processes)"
            )
            envelope_size = len(warm[0][0][1])
            del warm
            pairs: list[tuple[Result, Result]] = []
            others: list[dict[str, Result]] = []
            for pair in range(1, args.pairs + 1):
                began = time.perf_counter()
                pool = await seal_pools(executor, people, size, per_client)
                prep += time.perf_counter() - began
                await sign_in_all()
                results: dict[str, Result] = {}
                for h in hubs:
                    progress(f"{label}: pair {pair}: {h.name}, {args.seconds:g} s")
                    results[h.name] = await run_load(
                        h, hub_clients[h.name], pool, args.seconds, reuse=False
                    )
                progress(f"{label}: pair {pair}: bare server, {args.seconds:g} s")
                bare_result = await run_load(bare, bare_clients, pool, args.seconds, reuse=True)
                first = results.pop(hubs[0].name)
                pairs.append((first, bare_result))
                others.append(results)
                del pool
            reports.append(
                SizeReport(
                    label,
                    envelope_size,
                    rate,
                    warm_per_client,
                    per_client,
                    prep,
                    pairs,
                    others,
                )
            )
    finally:
        for client in [c for cs in hub_clients.values() for c in cs] + bare_clients:
            await client.close()
    return reports


# --- main ---------------------------------------------------------------------------------


def report(header: list[str], reports: list[SizeReport], people: list[Person], args) -> int:
    municipalities = sorted({p.municipality for p in people})
    _, keys = addressing(people, people[0], 0)
    print("\n".join(header))
    print()
    print(
        f"Ingest: {args.clients} contact persons in {len(municipalities)} municipalities, each a "
        f"signed-in client; every envelope goes to one other municipality and is sealed to "
        f"{len(keys)} keys."
    )
    print(
        "The hub (python -m hub.cli serve) on SQLite, on PostgreSQL with one and with two "
        "instances (pg x1, pg x2: one database, clients split), and the bare server (aiohttp, "
        "body -> one INSERT into SQLite, WAL, synchronous=FULL) run in their own processes, one "
        "row at a time."
    )
    print("\n".join(table(reports, args.clients, args.seconds)))
    print()
    print(
        "\n".join(
            notes(reports, args.clients, args.seconds, margin=POOL_MARGIN, workers=SEAL_WORKERS)
        )
    )
    results = [r for rep in reports for pair in rep.pairs for r in pair]
    results += [r for rep in reports for row in rep.others for r in row.values()]
    errors = sum(sum(r.errors.values()) for r in results)
    exhausted = sum(r.exhausted for r in results)
    return 1 if errors or exhausted else 0


class Cleanup:
    """Servers stopped and the temp dir removed once, whichever way the run ends."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.servers: list[Server] = []
        self.executor: ProcessPoolExecutor | None = None
        self.postgresql: PgServer | None = None

    def __call__(self) -> None:
        for server in self.servers:
            server.stop()
        self.servers.clear()
        if self.postgresql is not None:
            self.postgresql.stop()
            self.postgresql = None
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None
        shutil.rmtree(self.tmp, ignore_errors=True)


def start_postgresql_hubs(
    tmp: Path, admin: SigningKey, cleanup: Cleanup, progress
) -> list[Servers]:
    """A PostgreSQL server as a real one runs (fsync and synchronous commits on), started from
    Debian's package as the tests start theirs (tests/pgserver.py), with two databases: one for
    one hub instance, one for two instances."""
    try:
        server = PgServer.start(durable=True)
    except PostgresUnavailableError as exc:
        progress(f"no PostgreSQL rows: {exc}")
        return []
    cleanup.postgresql = server
    one, two = server.new_database(template=None), server.new_database(template=None)
    pg1 = start_hub(tmp, admin, name="pg1", database=one)
    pg2a = start_hub(tmp, admin, name="pg2a", database=two)
    pg2b = start_hub(tmp, admin, name="pg2b", database=two, create=False)
    cleanup.servers += [pg1, pg2a, pg2b]
    return [Servers("pg x1", [pg1]), Servers("pg x2", [pg2a, pg2b])]


def start_servers(
    tmp: Path, admin: SigningKey, cleanup: Cleanup, progress, *, postgresql: bool
) -> tuple[list[Servers], Server]:
    """Every server first, while this process has no threads (preexec_fn)."""
    hub = start_hub(tmp, admin)
    cleanup.servers.append(hub)
    hubs = [Servers("hub", [hub])]
    if postgresql:
        hubs += start_postgresql_hubs(tmp, admin, cleanup, progress)
    bare = start_bare(tmp)
    cleanup.servers.append(bare)
    for server in cleanup.servers:
        server.wait_ready()
    return hubs, bare


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=15, help="timed length of each row")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (persons)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 s per row")
    parser.add_argument("--pairs", type=int, default=3, help="hub/bare pairs per payload size")
    parser.add_argument(
        "--no-postgresql", action="store_true", help="only SQLite and the bare server"
    )
    parser.add_argument("--bare-server", nargs=2, metavar=("PORT", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds = 3
    if args.seconds <= 0 or args.clients < 2 or args.pairs < 1:
        parser.error("--seconds must be positive, --clients at least 2 and --pairs at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.bare_server:
        bare_server_main(int(args.bare_server[0]), Path(args.bare_server[1]))
        return 0

    def progress(text: str) -> None:
        print(f"... {text}", file=sys.stderr, flush=True)

    def terminated(_signum: int, _frame: object) -> None:
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, terminated)
    tmp = Path(tempfile.mkdtemp(prefix="hub-ingest-"))
    cleanup = Cleanup(tmp)
    atexit.register(cleanup)
    try:
        header = machine_lines(tmp)
        admin = SigningKey.generate()
        people = make_people(args.clients)
        hubs, bare = start_servers(tmp, admin, cleanup, progress, postgresql=not args.no_postgresql)
        executor = ProcessPoolExecutor(
            SEAL_WORKERS, mp_context=get_context("spawn"), initializer=die_with_parent
        )
        cleanup.executor = executor
        progress(f"hubs {[h.urls for h in hubs]}, bare server at {bare.url}; enrolling")

        async def run() -> list[SizeReport]:
            for h in hubs:
                await enrol(h.members[0], admin, people)
            return await measure(
                args, executor=executor, hubs=hubs, bare=bare, people=people, progress=progress
            )

        reports = asyncio.run(run())
        for server in cleanup.servers:
            if server.proc is not None and server.proc.poll() is not None:
                raise SystemExit(f"{server.name} exited during the run:\n{server.log_tail()}")
    except KeyboardInterrupt:
        cleanup()
        print("interrupted: servers stopped, temp files removed", file=sys.stderr)
        return 130
    finally:
        cleanup()
        atexit.unregister(cleanup)

    return report(header, reports, people, args)


if __name__ == "__main__":
    sys.exit(main())

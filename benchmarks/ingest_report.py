"""What benchmarks/hub_ingest.py measures and how it prints it: one row's result, each payload
size's pairs, and the table and notes."""

from __future__ import annotations

import math
import os
import platform
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiohttp
import aiosqlite

from benchmarks.envelope_throughput import cpu_info, filesystem_of
from benchmarks.ingest_servers import MB

if TYPE_CHECKING:
    from pathlib import Path


@dataclass
class Result:
    uploads: int = 0
    bytes: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    exhausted: int = 0  # clients that ran out of distinct envelopes before the end
    passes: int = 0  # with reuse: the most times one client went through its envelopes
    server_cpu: float = 0.0
    client_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return self.uploads / self.elapsed if self.elapsed else 0.0

    @property
    def cpu_ms_per_upload(self) -> float:
        return self.server_cpu / self.uploads * 1000 if self.uploads else math.nan

    def percentile(self, q: float) -> float:
        """Nearest rank, in ms."""
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000


@dataclass
class SizeReport:
    label: str
    envelope: int
    warmup_rate: float
    warmup_per_client: int
    per_client: int
    prep_seconds: float
    pairs: list[tuple[Result, Result]]  # (hub, bare), measured one after the other
    others: list[dict[str, Result]] = field(default_factory=list)  # per pair: PostgreSQL rows

    def median_pair(self) -> tuple[Result, Result]:
        """The pair whose hub/bare ratio is the median (the middle one of an odd count)."""
        ordered = sorted(self.pairs, key=lambda pair: ratio(*pair))
        return ordered[(len(ordered) - 1) // 2]


def ratio(hub: Result, bare: Result) -> float:
    return hub.rate / bare.rate if bare.rate else math.nan


def machine_lines(tmp: Path) -> list[str]:
    model, _ = cpu_info()
    nproc = len(os.sched_getaffinity(0))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    system = f"{platform.system()} {platform.release()}"
    versions = (
        f"aiohttp {aiohttp.__version__}, aiosqlite {aiosqlite.__version__}, "
        f"SQLite {sqlite3.sqlite_version}"
    )
    return [
        f"machine: nproc {nproc} (cpu_count {os.cpu_count()}), CPU {model}",
        f"  the server under test, its threads and this load generator share these {nproc} cores",
        f"software: Python {platform.python_version()}, {versions}, {system}",
        f"load average at start: {load} (other work on the machine makes every figure noisy)",
        f"data: {tmp} ({filesystem_of(tmp)}); removed at the end",
    ]


def table(reports: list[SizeReport], clients: int, seconds: float) -> list[str]:
    head = (
        f"  {'payload':<8}{'server':<14}{'envelope B':>11}{'uploads':>9}{'env/s':>9}{'MB/s':>8}"
        f"{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'srv CPU':>9}{'CPU/up':>8}{'gen CPU':>9}"
        f"{'hub/bare':>10}"
    )
    lines = [head, "  " + "-" * (len(head) - 2)]

    def row(label: str, server: str, envelope: int, r: Result, ratio: str) -> str:
        return (
            f"  {label:<8}{server:<14}{envelope:>11,}{r.uploads:>9,}{r.rate:>9.1f}"
            f"{r.bytes / r.elapsed / MB:>8.1f}{r.percentile(0.50):>9.1f}{r.percentile(0.99):>9.1f}"
            f"{sum(r.errors.values()):>8}{r.server_cpu / r.elapsed:>9.0%}"
            f"{r.cpu_ms_per_upload:>8.2f}{r.client_cpu / r.elapsed:>9.0%}{ratio:>10}"
        ).rstrip()

    for rep in reports:
        for n, (hub, bare) in enumerate(rep.pairs, start=1):
            label = rep.label if n == 1 else ""
            lines.append(row(label, f"hub #{n}", rep.envelope, hub, f"{ratio(hub, bare):.2f}"))
            others = rep.others[n - 1] if rep.others else {}
            for name, other in others.items():
                lines.append(
                    row("", f"{name} #{n}", rep.envelope, other, f"{ratio(other, bare):.2f}")
                )
            lines.append(row("", f"bare #{n}", rep.envelope, bare, ""))
        hub, bare = rep.median_pair()
        lines.append(
            f"  {rep.label}: median of {len(rep.pairs)} pairs: hub/bare {ratio(hub, bare):.2f} "
            f"(hub {hub.rate:.1f} env/s, {hub.cpu_ms_per_upload:.2f} ms CPU per upload; "
            f"bare {bare.rate:.1f} env/s)"
        )
        for name in rep.others[0] if rep.others else {}:
            rows = sorted(
                ((o[name], b) for o, (_, b) in zip(rep.others, rep.pairs, strict=True)),
                key=lambda pair: ratio(*pair),
            )
            mid, mid_bare = rows[(len(rows) - 1) // 2]
            lines.append(
                f"  {rep.label}: median of {len(rows)} pairs: {name}/bare "
                f"{ratio(mid, mid_bare):.2f} ({name} {mid.rate:.1f} env/s, "
                f"{mid.cpu_ms_per_upload:.2f} ms CPU per upload, all its instances)"
            )
    what = [
        f"{clients} clients, each one upload at a time; {seconds:g} s per row, then the uploads in",
        "flight are answered: env/s = uploads / time to the last answer. MB/s counts envelope",
        "bytes sent (MB = 10^6 B). Latency: one upload, request to answer. CPU: share of one core",
        "used during the row by the server process (all threads) and by this load generator;",
        "CPU/up: the server's CPU ms per upload (pg x2: both instances; PostgreSQL's own",
        "processes are not counted). hub/bare: the ratio of env/s within a pair.",
    ]
    lines += [f"  {line}" for line in what]
    return lines


def notes(
    reports: list[SizeReport], clients: int, seconds: float, *, margin: float, workers: int
) -> list[str]:
    lines = ["Preparation, before any timing (sealing is the clients' CPU, not the hub's):"]
    for rep in reports:
        warm, timed = rep.warmup_per_client * clients, rep.per_client * clients
        first = (
            f"{rep.label}: {timed:,} distinct envelopes ({rep.per_client} a client) for each hub "
            f"row: hub warm-up rate {rep.warmup_rate:.0f} env/s x {seconds:g} s x {margin};"
        )
        passes = max(bare.passes for _, bare in rep.pairs)
        times = "once" if passes <= 1 else f"up to {passes} times"
        second = (
            f"sealed with the {warm:,} of the warm-up in {rep.prep_seconds:.1f} s by "
            f"{workers} processes. The bare row sends the same ones, each {times}."
        )
        indent = " " * (len(rep.label) + 2)
        lines += [f"  {first}", f"  {indent}{second}"]
        for n, (hub, bare) in enumerate(rep.pairs, start=1):
            if hub.exhausted:
                lines.append(
                    f"  {rep.label}: WARNING: pair {n}: {hub.exhausted} hub clients ran out of "
                    "envelopes before the end, so the hub's figures are low: raise margin"
                )
            for server, r in ((f"hub #{n}", hub), (f"bare server #{n}", bare)):
                lines += [
                    f"  {rep.label}: {server}: ERROR {error}: {count}"
                    for error, count in sorted(r.errors.items())
                ]
    return lines

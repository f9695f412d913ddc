"""Retention killed for real (SIGKILL) at a random moment, then run again: every case is
either whole or gone after the kill, never half (one transaction per case), and the next run
finishes the work, blob files left by the killed run included, until no file holds a byte of
any removed case and the audit chain still holds."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.protocol.deadlines import SwedishCalendar
from hub.protocol.lifecycle import Case, DeclineReason, Event, Role
from hub.server import retention
from hub.server.case_transitions import case_row
from hub.storage.audit import check_chain
from hub.storage.base import EnvelopeRow, Network, NotFound
from hub.storage.sqlite import BLOB_DIR, SqliteStorage
from tests import crash_retention

NET = "krasch"
CASES = 300
MARCH = int(datetime(2025, 3, 3, 9, tzinfo=UTC).timestamp())
NOW = int(datetime(2026, 6, 1, 9, tzinfo=UTC).timestamp())  # past 365 days and the year


def _case_id(n: int) -> bytes:
    return b"\xca" + n.to_bytes(2, "big") + bytes(range(3, 16))


def _ended_case(case_id: bytes) -> Case:
    case = Case(case_id.hex(), "kommun-a")
    case, _ = case.apply(Role.SENDER, "kommun-b", Event.SEND_INQUIRY, MARCH)
    case, _ = case.apply(Role.RECEIVER, "kommun-b", Event.DELIVER, MARCH + 1)
    case, _ = case.apply(
        Role.RECEIVER, "kommun-b", Event.DECLINE, MARCH + 2, reason=DeclineReason.QUOTA_REACHED
    )
    return case


async def _chunks(data: bytes):
    yield data


async def _store_cases(data_dir: Path) -> None:
    storage = await SqliteStorage.open(data_dir)
    try:
        async with storage.transaction() as tx:
            await tx.add_network(Network(NET, "Krasch", bytes(32), {}, MARCH))
        for n in range(CASES):
            case_id = _case_id(n)
            inline, in_file = case_id[:15] + b"\x01", case_id[:15] + b"\x02"
            rows = [
                EnvelopeRow(
                    m,
                    NET,
                    case_id,
                    1,
                    b"\x01" * 16,
                    "kommun-a",
                    ("kommun-b",),
                    (b"\x02" * 16,),
                    4096,
                    m * 2,
                    MARCH,
                    MARCH,
                )
                for m in (inline, in_file)
            ]
            blob = await storage.blobs.write(_chunks(case_id * 64), max_size=10_000)
            await blob.commit(in_file)
            async with storage.transaction() as tx:
                await tx.add_case(
                    case_row(_ended_case(case_id), NET, MARCH + 2, created_at=MARCH, version=1)
                )
                await tx.add_envelopes(rows, [case_id * 32, None])
                await tx.append_audit(
                    at=MARCH,
                    actor="system",
                    action="case_created",
                    subject={"case_id": case_id.hex()},
                )
                for m in (inline, in_file):
                    await tx.append_audit(
                        at=MARCH,
                        actor="system",
                        action="envelope_uploaded",
                        subject={"message_id": m.hex()},
                    )
    finally:
        await storage.close()


async def _kill_during_retention(data_dir: Path, delay: float) -> list[str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(crash_retention.__file__)),
        str(data_dir),
        str(NOW),
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        while not any("av" in line for line in lines):  # the first progress line
            line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
            assert line, "retention ended early"
            lines.append(line)
        await asyncio.sleep(delay)
    finally:
        proc.send_signal(signal.SIGKILL)
        lines += (await proc.stdout.read()).decode().splitlines()
        await proc.wait()
    return lines


async def _state(storage: SqliteStorage, n: int) -> tuple[bool, bool, int]:
    """(case row there, both envelope rows there, audit subjects naming it or its messages)."""
    case_id = _case_id(n)
    try:
        await storage.get_case(case_id)
        case = True
    except NotFound:
        case = False
    envelopes = 0
    for m in (case_id[:15] + b"\x01", case_id[:15] + b"\x02"):
        try:
            await storage.get_envelope(m)
            envelopes += 1
        except NotFound:
            pass
    refs = {case_id.hex(), (case_id[:15] + b"\x01").hex(), (case_id[:15] + b"\x02").hex()}
    subjects = len(
        [
            r
            async for r in storage.audit_records()
            if r.subject is not None and set(map(str, r.subject.values())) & refs
        ]
    )
    assert envelopes in {0, 2}
    return case, envelopes == 2, subjects


@pytest.mark.parametrize("delay", [0.0, 0.05])
async def test_retention_killed_mid_run_is_finished_by_the_next_run(tmp_path, delay):
    """Killed right after its first progress line, or a little later."""
    data_dir = tmp_path / "data"
    await _store_cases(data_dir)
    output = await _kill_during_retention(data_dir, delay)
    assert "done" not in [line.strip() for line in output], "retention finished before the kill"

    storage = await SqliteStorage.open(data_dir)
    try:
        states = [await _state(storage, n) for n in range(CASES)]
        # Whole (row, envelopes, all three subjects) or gone (none of them): never half.
        assert all(s in {(True, True, 3), (False, False, 0)} for s in states), states
        gone = sum(1 for s in states if not s[0])
        assert 0 < gone < CASES
        assert check_chain([r async for r in storage.audit_records()]).broken is None

        # Blob files the killed run left behind are swept once they are over a day old.
        two_days_ago = time.time() - 2 * 86_400
        for path in (data_dir / BLOB_DIR).rglob("*"):
            if path.is_file() and path.parent.name != "tmp":
                os.utime(path, (two_days_ago, two_days_ago))
        result = await retention.run(storage, now=NOW, calendar=SwedishCalendar())
        assert result.removed == CASES - gone
        assert result.reclaimed
        assert [await _state(storage, n) for n in range(CASES)] == [(False, False, 0)] * CASES
        assert check_chain([r async for r in storage.audit_records()]).broken is None
    finally:
        await storage.close()
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert not [p for p in files if p.parent.parent.name == BLOB_DIR]  # every blob file gone
    data = b"".join(p.read_bytes() for p in files)
    for n in range(CASES):
        assert _case_id(n) not in data
        assert _case_id(n).hex().encode() not in data

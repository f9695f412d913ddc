"""Retention (gallring) on PostgreSQL (issue 18 on issue 20's backend): the same storage calls
remove an ended case's rows, signed steps, envelopes and their chunks and erase its audit
subjects, while the chain still verifies and a running case stays whole. What VACUUM and older
backups keep is docs/operations.md's section 11."""

from __future__ import annotations

import asyncio
import os
import subprocess

import psycopg

from hub.crypto.format import MessageKind
from hub.protocol.deadlines import SwedishCalendar
from hub.server import retention
from hub.server.typedefs import STORAGE
from hub.storage.audit import check_chain
from hub.storage.postgres import PostgresStorage
from tests.hubnet import running_hub
from tests.pgserver import pg_bin
from tests.test_retention import FEBRUARY
from tests.test_statistics_api import DECLINED, MOVED, OPEN, _envelope, _three_cases


def _rows(url: str, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


async def test_retention_removes_ended_cases_their_chunks_and_subjects(tmp_path, pg_url):
    async with running_hub(
        tmp_path, database=pg_url, network_settings={"case_retention_days": 30}
    ) as net:
        await net.enrol("signe", "lansstyrelsen", role="coordinator")
        await _three_cases(net)
        await _envelope(
            net,
            MOVED,
            "anna",
            "kommun-b",
            MessageKind.MESSAGE,
            {"text": "bilaga"},
            attachments=[("stor.pdf", os.urandom(1_300_000))],  # two chunks
        )
        assert _rows(pg_url, "SELECT count(*) FROM blob_chunks") == [(2,)]
        assert _rows(pg_url, "SELECT count(*) FROM case_steps WHERE case_id = %s", (MOVED,))[0][0]
        storage = net.app[STORAGE]
        net.clock.now = FEBRUARY
        result = await retention.run(storage, now=FEBRUARY, calendar=SwedishCalendar())
        assert result.removed == 2
        assert result.reclaimed
        for case_id in (MOVED, DECLINED):
            for table in ("cases", "envelopes", "case_steps", "case_requests"):
                found = _rows(
                    pg_url,
                    f"SELECT count(*) FROM {table} WHERE case_id = %s",  # noqa: S608 - constant
                    (case_id,),
                )
                assert found == [(0,)], (table, case_id.hex())
        assert _rows(pg_url, "SELECT count(*) FROM blob_chunks") == [(0,)]
        assert _rows(pg_url, "SELECT count(*) FROM cases WHERE case_id = %s", (OPEN,)) == [(1,)]
        check = check_chain([r async for r in storage.audit_records()])
        assert check.broken is None
        assert check.erased > 0
        dump = subprocess.run(  # noqa: ASYNC221 - the test's own check, after the hub's work
            [str(pg_bin() / "pg_dump"), "--data-only", pg_url],
            check=True,
            capture_output=True,
            timeout=120,
        ).stdout
        for case_id in (MOVED, DECLINED):
            holding = [line[:200] for line in dump.splitlines() if case_id.hex().encode() in line]
            assert not holding, holding
            assert f"\\\\x{case_id.hex()}".encode() not in dump
        assert OPEN.hex().encode() in dump or f"\\\\x{OPEN.hex()}".encode() in dump


async def test_two_instances_running_retention_at_once_remove_each_case_once(tmp_path, pg_url):
    """Every instance runs retention daily: two runs at once remove each due case once between
    them, the other counting it as changed meanwhile, and the chain holds."""
    async with running_hub(
        tmp_path, database=pg_url, network_settings={"case_retention_days": 30}
    ) as net:
        await net.enrol("signe", "lansstyrelsen", role="coordinator")
        await _three_cases(net)
        other = await PostgresStorage.open(pg_url)
        try:
            results = await asyncio.gather(
                *(
                    retention.run(storage, now=FEBRUARY, calendar=SwedishCalendar())
                    for storage in (net.app[STORAGE], other)
                )
            )
        finally:
            await other.close()
        assert sum(r.removed for r in results) == 2
        assert sum(r.removed + r.changed_meanwhile for r in results) in {2, 3, 4}
        assert _rows(pg_url, "SELECT count(*) FROM cases") == [(1,)]
        check = check_chain([r async for r in net.app[STORAGE].audit_records()])
        assert check.broken is None

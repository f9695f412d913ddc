"""Figures for the hub's metrics endpoint from the PostgreSQL backend, as sqlite_metrics.py
reads them from the embedded one: counts, sums and sizes only, never an id or a name. The
database's size is pg_database_size (every instance reports the same); the disk figures are of
this instance's own data folder, since the database's disk is the database server's."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

from hub.storage.sqlite_metrics import NOTICE_STATUSES, StorageFigures

if TYPE_CHECKING:
    from pathlib import Path

    from hub.storage.postgres import PostgresStorage


async def postgres_figures(storage: PostgresStorage, data_dir: Path) -> StorageFigures:
    async with storage.pool.connection() as conn:
        notices = dict.fromkeys(NOTICE_STATUSES, 0)
        cursor = await conn.execute("SELECT status, COUNT(*) FROM notices GROUP BY status")
        for status, count in await cursor.fetchall():
            notices[status] = int(count)
        cursor = await conn.execute(
            "SELECT (SELECT MIN(fire_at) FROM deadline_alarms),"
            " (SELECT COUNT(*) FROM envelopes), (SELECT COALESCE(SUM(size), 0) FROM envelopes),"
            " pg_database_size(current_database())"
        )
        row = await cursor.fetchone()
    assert row is not None  # noqa: S101 - one row of aggregates, always
    next_alarm, envelopes, size, database = row
    disk = await asyncio.to_thread(os.statvfs, data_dir)
    return StorageFigures(
        notices=notices,
        next_alarm_at=None if next_alarm is None else int(next_alarm),
        envelopes=int(envelopes),
        envelope_bytes=int(size),
        database_bytes=int(database),
        disk_free_bytes=disk.f_bavail * disk.f_frsize,
        disk_total_bytes=disk.f_blocks * disk.f_frsize,
    )

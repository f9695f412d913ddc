"""Figures for the hub's metrics endpoint, read from the embedded backend at scrape time on a
read-only connection of their own: counts, sums and sizes only, never an id or a name.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hub.storage.sqlite import BLOB_DIR, BUSY_TIMEOUT_MS, DB_NAME

if TYPE_CHECKING:
    from pathlib import Path

NOTICE_STATUSES = ("pending", "sending", "sent", "failed", "unknown", "cancelled")


@dataclass(frozen=True)
class StorageFigures:
    notices: dict[str, int]  # by status, every status present
    next_alarm_at: int | None  # the deadline clock's earliest alarm not yet fired
    envelopes: int
    envelope_bytes: int  # the sum of the stored envelopes' sizes: the blob folder's payload
    database_bytes: int  # the database file with its -wal and -shm
    disk_free_bytes: int  # on the file system of the data folder, for this (unprivileged) user
    disk_total_bytes: int


def _read(data_dir: Path) -> StorageFigures:
    db = data_dir / DB_NAME
    conn = sqlite3.connect(
        f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000
    )
    try:
        notices = dict.fromkeys(NOTICE_STATUSES, 0)
        for status, count in conn.execute("SELECT status, COUNT(*) FROM notices GROUP BY status"):
            notices[status] = int(count)
        (next_alarm,) = conn.execute("SELECT MIN(fire_at) FROM deadline_alarms").fetchone()
        count, size = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM envelopes"
        ).fetchone()
    finally:
        conn.close()
    database = sum(
        p.stat().st_size
        for p in (db, db.with_name(DB_NAME + "-wal"), db.with_name(DB_NAME + "-shm"))
        if p.exists()
    )
    disk = os.statvfs(data_dir / BLOB_DIR)
    return StorageFigures(
        notices=notices,
        next_alarm_at=None if next_alarm is None else int(next_alarm),
        envelopes=int(count),
        envelope_bytes=int(size),
        database_bytes=database,
        disk_free_bytes=disk.f_bavail * disk.f_frsize,
        disk_total_bytes=disk.f_blocks * disk.f_frsize,
    )


async def storage_figures(data_dir: Path) -> StorageFigures:
    return await asyncio.to_thread(_read, data_dir)

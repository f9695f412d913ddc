"""The SQLite schema's migrations (hub/storage/migration_files.py), applied once and in order,
each in its own transaction."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from hub.storage import migration_files
from hub.storage.base import StorageError

if TYPE_CHECKING:
    from collections.abc import Iterable

    import aiosqlite


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every SQLite migration, in version order."""
    return migration_files.migrations("sqlite")


def _statements(script: str) -> Iterable[str]:
    """Split a script into statements (sqlite3.complete_statement knows trigger bodies)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending.strip()
            pending = ""
    rest = "\n".join(
        line for line in pending.splitlines() if line.strip() and not line.strip().startswith("--")
    )
    if rest:
        raise StorageError("a migration ends in an incomplete statement")


async def migrate(conn: aiosqlite.Connection) -> None:
    """Apply, in order, each migration not yet recorded in schema_version: each in its own
    transaction, re-checked under the write lock so two processes starting together apply it
    once."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
    )
    known = migrations()
    rows = await conn.execute_fetchall("SELECT MAX(version) FROM schema_version")
    newest = next(iter(rows))[0] or 0
    if newest > len(known):
        raise StorageError(f"the database has schema version {newest}; this hub knows fewer")
    for version, name, script in known:
        if version <= newest:
            continue
        await conn.execute("BEGIN IMMEDIATE")
        try:
            done = await conn.execute_fetchall(
                "SELECT 1 FROM schema_version WHERE version = ?", (version,)
            )
            if not list(done):
                for statement in _statements(script):
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_version (version, name, applied_at)"
                    " VALUES (?, ?, CAST(strftime('%s', 'now') AS INTEGER))",
                    (version, name),
                )
            await conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            raise

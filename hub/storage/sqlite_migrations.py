"""The schema's migrations: each file in hub/storage/migrations, numbered without gaps, applied
once and in order, each in its own transaction."""

from __future__ import annotations

import re
import sqlite3
from importlib import resources
from typing import TYPE_CHECKING

from hub.storage.base import StorageError

if TYPE_CHECKING:
    from collections.abc import Iterable

    import aiosqlite

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every file in hub/storage/migrations, in version order."""
    found: list[tuple[int, str, str]] = []
    for entry in resources.files("hub.storage").joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [version for version, _, _ in found]
    if versions != list(range(1, len(found) + 1)):
        raise StorageError("migrations must be numbered 0001, 0002, … without gaps")
    return found


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

"""What an upgrade would change in the embedded backend's schema, read without changing anything.

`hub serve`, `hub network create`, `hub audit verify`, `hub report` and `hub gallra` apply no
migration to a database that already holds a hub: they refuse and tell the operator to take a
backup and run `hub migrate` (see docs/operations.md, "Upgrades"). Only a new, empty data folder
is set up by `hub serve` (or `hub network create`) itself.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from hub.storage import sqlite_migrations
from hub.storage.sqlite import DB_NAME

if TYPE_CHECKING:
    from pathlib import Path


# From schema version 8 (retention) the hub overwrites what it deletes (secure_delete). A database
# from before keeps remnants of rows deleted earlier in its free space: `hub migrate` rewrites it
# once, with the hub stopped, so retention can keep its promise there too.
SECURE_DELETE_SINCE: Final = 8


class UpgradeError(ValueError):
    """The schema is in a state the operator must act on; the message says how."""


@dataclass(frozen=True)
class SchemaState:
    current: int  # 0: no database yet, or one with no schema
    known: tuple[tuple[int, str], ...]  # (version, file name) of every migration this hub has

    @property
    def pending(self) -> tuple[tuple[int, str], ...]:
        return tuple((v, name) for v, name in self.known if v > self.current)

    @property
    def newest(self) -> int:
        return len(self.known)


def schema_state(data_dir: Path) -> SchemaState:
    """The database's schema version and this hub's migrations; opens the file read-only."""
    known = tuple((version, name) for version, name, _ in sqlite_migrations.migrations())
    db = data_dir / DB_NAME
    if not db.is_file() or db.stat().st_size == 0:
        return SchemaState(0, known)
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        has_table = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
        current = 0
        if has_table:
            current = int(
                conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]
            )
    finally:
        conn.close()
    if current > len(known):
        raise UpgradeError(
            f"databasen i {data_dir} har schemaversion {current}, men den här versionen av "
            f"hubben känner bara till {len(known)}: installera den nyare versionen igen"
        )
    return SchemaState(current, known)


def refuse_pending(data_dir: Path, config_hint: str, state: SchemaState | None = None) -> None:
    """Raise UpgradeError if a database with a hub in it waits for migrations (`state`: a
    PostgreSQL database's, else the SQLite file's in `data_dir`)."""
    where = f"databasen i {data_dir}" if state is None else "PostgreSQL-databasen"
    state = schema_state(data_dir) if state is None else state
    if state.current == 0 or not state.pending:
        return
    names = ", ".join(name for _, name in state.pending)
    raise UpgradeError(
        f"{where} har schemaversion {state.current} och den här versionen av "
        f"hubben behöver {state.newest} ({names}). Hubben startar inte förrän databasen är "
        f"uppgraderad: ta en säkerhetskopia och uppgradera med "
        f"`hub migrate{config_hint} --backup MAPP` (se docs/operations.md, Uppgradering)"
    )


def rewrite_free_space(data_dir: Path) -> None:
    """VACUUM the database with secure_delete on, then empty its WAL: no page of it keeps the
    bytes of a row deleted before. Blocking, and for a stopped hub (it rewrites the whole file,
    which needs as much free disk again)."""
    conn = sqlite3.connect(data_dir / DB_NAME, timeout=10, isolation_level=None)
    try:
        conn.execute("PRAGMA secure_delete = ON")
        conn.execute("VACUUM")
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    finally:
        conn.close()
    if busy:
        raise UpgradeError(
            f"databasen i {data_dir} används av en annan process: stoppa hubben och kör "
            "hub migrate igen"
        )

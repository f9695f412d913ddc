"""Moving a SQLite hub to PostgreSQL: `hub storage copy --to postgresql://…` (docs/operations.md,
"Several instances on PostgreSQL").

The whole copy is one PostgreSQL transaction: rows table by table in their stored order (ids,
seqs and the audit chain unchanged), every envelope kept as a file streamed into chunks, and
the identity sequences moved past the copied ids. Nothing is visible, and nothing stays, unless
all of it went. Then it is checked against the source, read back through the PostgreSQL
backend: the same number of rows in every table, the audit chain whole with the same last
hash, and every envelope's bytes the same (SHA-256 of the file and of the chunks read back).

The source is read on a snapshot (one read transaction), so the hub may keep serving; what it
stores after the snapshot is not copied: stop it for the move (docs).
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import psycopg

from hub.storage.audit import verify_chain
from hub.storage.base import StorageError
from hub.storage.pg_blobs import CHUNK_BYTES
from hub.storage.pg_signals import CONNECT_ARGS
from hub.storage.postgres import PostgresStorage
from hub.storage.sqlite import BLOB_DIR, DB_NAME
from hub.storage.upgrade import schema_state

if TYPE_CHECKING:
    from pathlib import Path

# Parents before children (foreign keys); a table a later migration adds goes after these.
TABLE_ORDER: Final = (
    "networks",
    "municipalities",
    "directory_records",
    "log_checkpoints",
    "log_cosignatures",
    "invites",
    "enrolments",
    "challenges",
    "sessions",
    "envelopes",
    "envelope_recipients",
    "envelope_bodies",
    "receipts",
    "audit",
    "audit_subjects",
    "cases",
    "case_requests",
    "case_steps",
    "frozen_reports",
    "outcome_reports",
    "deadline_alarms",
    "fired_alarms",
    "contact_addresses",
    "notices",
    "recovery_copies",
)
NOT_COPIED: Final = frozenset({"schema_version", "sqlite_sequence"})
IDENTITIES: Final = (
    ("enrolments", "id"),
    ("envelopes", "seq"),
    ("receipts", "id"),
    ("notices", "id"),
    ("case_steps", "seq"),
)
ROWS_PER_BATCH: Final = 500


class CopyError(StorageError):
    """The copy cannot be made or did not match; the message says why, in Swedish."""


@dataclass(frozen=True)
class CopySummary:
    rows: dict[str, int]  # per table
    blobs: int  # envelopes copied from files into chunks
    blob_bytes: int
    audit_records: int


def _source_tables(conn: sqlite3.Connection) -> list[str]:
    names = {
        r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    } - NOT_COPIED
    return [t for t in TABLE_ORDER if t in names] + sorted(names - set(TABLE_ORDER))


def _columns(conn: sqlite3.Connection, table: str) -> tuple[list[str], list[str]]:
    """The table's columns, and its primary key's in key order (the stored order)."""
    info = conn.execute(f"PRAGMA table_info({table})").fetchall()
    key = [r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5])]
    return [r[1] for r in info], key


def _blob_bytes(data_dir: Path, message_id: bytes) -> Path:
    name = message_id.hex()
    return data_dir / BLOB_DIR / name[:2] / name


async def _empty(conn: psycopg.AsyncConnection[Any]) -> bool:
    for table in ("networks", "envelopes", "audit"):
        cursor = await conn.execute(f"SELECT 1 FROM {table} LIMIT 1")  # noqa: S608 - constant
        if await cursor.fetchone() is not None:
            return False
    return True


async def copy_to_postgresql(data_dir: Path, url: str) -> CopySummary:
    """Copy the SQLite hub in `data_dir` into the empty PostgreSQL database at `url`, and
    check the copy (CopyError if anything differs)."""
    state = schema_state(data_dir)
    if state.current == 0:
        raise CopyError(f"det finns ingen hubb i {data_dir} ({DB_NAME} saknas)")
    if state.pending:
        raise CopyError("källans schema är inte uppgraderat: kör `hub migrate` först")
    await (await PostgresStorage.open(url, pool_size=1)).close()  # the schema, migrated
    source = sqlite3.connect(
        f"{(data_dir / DB_NAME).resolve().as_uri()}?mode=ro", uri=True, isolation_level=None
    )
    try:
        source.execute("BEGIN")  # one snapshot for the whole read
        summary = await _copy(source, data_dir, url)
        expected_hashes = _source_blob_hashes(source, data_dir)
        last_hash = source.execute("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        source.execute("COMMIT")
    finally:
        source.close()
    await _verify(url, summary, expected_hashes, None if last_hash is None else last_hash[0])
    return summary


async def _copy(source: sqlite3.Connection, data_dir: Path, url: str) -> CopySummary:
    rows: dict[str, int] = {}
    blobs = blob_bytes = 0
    connecting = psycopg.AsyncConnection.connect(url, **CONNECT_ARGS)
    async with await connecting as conn, conn.transaction():
        if not await _empty(conn):
            raise CopyError("måldatabasen är inte tom: kopiera bara till en ny, tom databas")
        for table in _source_tables(source):
            rows[table] = await _copy_table(source, conn, table)
        for message_id, seq in source.execute(
            "SELECT message_id, seq FROM envelopes AS e WHERE NOT EXISTS"
            " (SELECT 1 FROM envelope_bodies AS b WHERE b.seq = e.seq) ORDER BY seq"
        ).fetchall():
            blob_bytes += await _copy_blob(conn, data_dir, bytes(message_id), int(seq))
            blobs += 1
        for table, column in IDENTITIES:
            await conn.execute(
                "SELECT setval(pg_get_serial_sequence(%s, %s),"  # noqa: S608 - constant names
                f" GREATEST((SELECT MAX({column}) FROM {table}), 1))",
                (table, column),
            )
    return CopySummary(rows, blobs, blob_bytes, rows.get("audit", 0))


async def _copy_table(
    source: sqlite3.Connection, conn: psycopg.AsyncConnection[Any], table: str
) -> int:
    columns, key = _columns(source, table)
    names = ", ".join(columns)
    marks = ", ".join(["%s"] * len(columns))
    order = f" ORDER BY {', '.join(key)}" if key else ""
    cursor = source.execute(f"SELECT {names} FROM {table}{order}")  # noqa: S608
    copied = 0
    async with conn.cursor() as target:
        while batch := cursor.fetchmany(ROWS_PER_BATCH):
            try:
                await target.executemany(
                    f"INSERT INTO {table} ({names}) VALUES ({marks})",  # noqa: S608 - its own
                    batch,
                )
            except psycopg.errors.UndefinedTable:
                raise CopyError(f"tabellen {table} finns inte i PostgreSQL-schemat") from None
            copied += len(batch)
    return copied


async def _copy_blob(
    conn: psycopg.AsyncConnection[Any], data_dir: Path, message_id: bytes, seq: int
) -> int:
    """Stream one envelope's file into chunks linked to its row; its size."""
    path = _blob_bytes(data_dir, message_id)
    if not path.is_file():
        raise CopyError(f"blobben för {message_id.hex()} saknas i {data_dir}: datamappen är skadad")
    blob_id = hashlib.blake2b(message_id, digest_size=16, person=b"hub-copy").digest()
    size = 0
    with path.open("rb") as file:
        n = 0
        while piece := file.read(CHUNK_BYTES):
            await conn.execute(
                "INSERT INTO blob_chunks (blob_id, n, data) VALUES (%s, %s, %s)",
                (blob_id, n, piece),
            )
            size += len(piece)
            n += 1
    await conn.execute("INSERT INTO envelope_blobs (seq, blob_id) VALUES (%s, %s)", (seq, blob_id))
    return size


def _source_blob_hashes(source: sqlite3.Connection, data_dir: Path) -> dict[bytes, bytes]:
    """SHA-256 of every envelope's bytes in the source, file or row."""
    hashes: dict[bytes, bytes] = {}
    for message_id, body in source.execute(
        "SELECT e.message_id, b.body FROM envelopes AS e"
        " LEFT JOIN envelope_bodies AS b ON b.seq = e.seq ORDER BY e.seq"
    ):
        digest = hashlib.sha256()
        if body is not None:
            digest.update(body)
        else:
            with _blob_bytes(data_dir, bytes(message_id)).open("rb") as file:
                while piece := file.read(CHUNK_BYTES):
                    digest.update(piece)
        hashes[bytes(message_id)] = digest.digest()
    return hashes


async def _verify(
    url: str, summary: CopySummary, hashes: dict[bytes, bytes], last_hash: bytes | None
) -> None:
    storage = await PostgresStorage.open(url, pool_size=2)
    try:
        async with storage.pool.connection() as conn:
            for table, count in summary.rows.items():
                cursor = await conn.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
                row = await cursor.fetchone()
                if row is None or row[0] != count:
                    raise CopyError(f"kopian av {table} har inte lika många rader som källan")
        records = [r async for r in storage.audit_records()]
        broken = verify_chain(records)
        if broken is not None:
            raise CopyError(f"granskningsloggen i kopian är bruten vid post {broken}")
        if (records[-1].hash if records else None) != (
            None if last_hash is None else bytes(last_hash)
        ):
            raise CopyError("granskningsloggens sista post i kopian är inte källans")
        for message_id, expected in hashes.items():
            digest = hashlib.sha256()
            body = await storage.get_envelope_body(message_id)
            if body is not None:
                digest.update(body)
            else:
                async for piece in storage.blobs.read(message_id):
                    digest.update(piece)
            if digest.digest() != expected:
                raise CopyError(f"meddelandet {message_id.hex()} i kopian är inte källans")
    finally:
        await storage.close()

"""The embedded backend: one SQLite file (`data_dir/hub.sqlite3`) and blobs in `data_dir/blobs`.

Connections. All writes go through one connection, one transaction at a time: an asyncio.Lock
serialises `transaction()` so concurrent handlers never interleave statements on it, and
BEGIN IMMEDIATE takes SQLite's write lock at the start (another process on the same file waits
for busy_timeout instead of failing half-way). Reads on `Storage` use a second, read-only
connection: in WAL mode each read sees the last committed state, never the half-done
transaction of another handler (which a read on the writing connection would see), and a read
does not queue behind a commit's fsync. A read inside `async with transaction()` therefore does
not see that transaction's own uncommitted writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import sqlite3
from typing import TYPE_CHECKING, Any

import aiosqlite

from hub.storage.base import (
    AlreadyExists,
    BlobStore,
    Network,
    NotFound,
    StorageError,
)
from hub.storage.blobs import FileBlobStore
from hub.storage.sql_core import CoreReads, CoreWrites
from hub.storage.sqlite_access import AccessReads, AccessWrites
from hub.storage.sqlite_audit import AuditReads
from hub.storage.sqlite_cases import CaseReads, CaseWrites
from hub.storage.sqlite_envelopes import EnvelopeReads, EnvelopeWrites
from hub.storage.sqlite_log import LogReads, LogWrites
from hub.storage.sqlite_migrations import migrate
from hub.storage.sqlite_notices import NoticeReads, NoticeWrites
from hub.storage.sqlite_outcomes import OutcomeReads, OutcomeWrites
from hub.storage.sqlite_recovery import RecoveryReads, RecoveryWrites
from hub.storage.sqlite_retention import RetentionReads, RetentionWrites
from hub.storage.sqlite_statistics import StatisticsReads

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence
    from pathlib import Path

DB_NAME = "hub.sqlite3"
BLOB_DIR = "blobs"
BUSY_TIMEOUT_MS = 10_000


# --- encoding ------------------------------------------------------------------------------


def _integrity(exc: sqlite3.IntegrityError) -> StorageError:
    """Map a constraint failure to what the caller can answer (409, 404) or a plain error."""
    name = getattr(exc, "sqlite_errorname", "")
    if name in {"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"}:
        return AlreadyExists(str(exc))
    if name == "SQLITE_CONSTRAINT_FOREIGNKEY":
        return NotFound(str(exc))  # it refers to a network or envelope that is not there
    return StorageError(str(exc))


async def _connect(path: Path, *, read_only: bool) -> aiosqlite.Connection:
    # isolation_level=None: no implicit transactions; BEGIN/COMMIT are written out here.
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA foreign_keys = ON")
        if read_only:
            await conn.execute("PRAGMA query_only = ON")
        else:
            await conn.execute("PRAGMA journal_mode = WAL")
            # What is deleted is overwritten with zeros, not left in free space: after
            # retention (and a WAL checkpoint) no file holds a removed case's bytes.
            await conn.execute("PRAGMA secure_delete = ON")
            # An upload is acknowledged only after its commit. With synchronous=NORMAL a WAL
            # commit is not fsynced and the last acknowledged envelopes could vanish on power
            # loss; FULL fsyncs the WAL on every commit: durability over speed.
            await conn.execute("PRAGMA synchronous = FULL")
    except BaseException:
        await conn.close()
        raise
    return conn


def _prepare(data_dir: Path, *, clean_uploads: bool) -> FileBlobStore:
    """Blocking start-up work: directories, a private database file, the blob store."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    db = data_dir / DB_NAME
    # Created 0600 before SQLite opens it; its -wal and -shm files take the same mode.
    with contextlib.suppress(FileExistsError):
        os.close(os.open(db, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return FileBlobStore(data_dir / BLOB_DIR, clean_uploads=clean_uploads)


# --- transactions --------------------------------------------------------------------------


class SqliteTransaction(
    CoreWrites,
    AccessWrites,
    RetentionWrites,
    CaseWrites,
    EnvelopeWrites,
    LogWrites,
    NoticeWrites,
    OutcomeWrites,
    RecoveryWrites,
):
    """Every write of the hub. Valid only inside its `async with storage.transaction()`."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._open = True

    def _close(self) -> None:
        self._open = False

    async def _exec(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Cursor:
        if not self._open:
            raise StorageError("this transaction has ended")
        try:
            return await self._conn.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise _integrity(exc) from None

    async def _changed(self, sql: str, params: Sequence[Any]) -> int:
        cursor = await self._exec(sql, params)
        count = cursor.rowcount
        await cursor.close()
        return count

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run and fetch in one trip to the connection's thread."""
        if not self._open:
            raise StorageError("this transaction has ended")
        try:
            return list(await self._conn.execute_fetchall(sql, params))
        except sqlite3.IntegrityError as exc:
            raise _integrity(exc) from None

    async def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        cursor = await self._exec(sql, params)
        rows = list(await cursor.fetchall())
        await cursor.close()
        return rows


# --- the storage ---------------------------------------------------------------------------


class SqliteStorage(
    CoreReads,
    AccessReads,
    AuditReads,
    CaseReads,
    EnvelopeReads,
    LogReads,
    NoticeReads,
    OutcomeReads,
    RecoveryReads,
    RetentionReads,
    StatisticsReads,
):
    def __init__(
        self, writer: aiosqlite.Connection, reader: aiosqlite.Connection, blobs: FileBlobStore
    ) -> None:
        self._writer = writer
        self._reader = reader
        self.blobs: BlobStore = blobs  # the Protocol's type: the attribute is invariant
        self._write_lock = asyncio.Lock()
        self._tx_task: asyncio.Task[Any] | None = None
        self._closed = False

    @classmethod
    async def open(cls, data_dir: Path, *, clean_uploads: bool = True) -> SqliteStorage:
        """Open (or create) the hub's storage in `data_dir` and bring its schema up to date.

        `clean_uploads` False: a command that may run beside a serving hub (hub gallra, hub
        report, hub audit verify): the uploads under way in blobs/tmp are the hub's, not
        leftovers of a crash."""
        blobs = await asyncio.to_thread(
            functools.partial(_prepare, data_dir, clean_uploads=clean_uploads)
        )
        path = data_dir / DB_NAME
        writer = await _connect(path, read_only=False)
        try:
            await migrate(writer)
            reader = await _connect(path, read_only=True)
        except BaseException:
            await writer.close()
            raise
        return cls(writer, reader, blobs)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteTransaction]:
        """BEGIN IMMEDIATE … COMMIT; ROLLBACK on any exception, cancellation included."""
        task = asyncio.current_task()
        if task is not None and self._tx_task is task:
            # It would wait for its own lock forever.
            raise StorageError("a transaction inside a transaction")
        async with self._write_lock:
            if self._closed:
                raise StorageError("the storage is closed")
            self._tx_task = task
            tx = SqliteTransaction(self._writer)
            try:
                await self._writer.execute("BEGIN IMMEDIATE")
                yield tx
                tx._close()  # noqa: SLF001 - ours
                await self._writer.execute("COMMIT")
            except BaseException:
                tx._close()  # noqa: SLF001
                # Statements run in order on the connection's own thread, and a cancelled
                # await does not take back one already queued. So ROLLBACK is queued always,
                # behind a BEGIN or COMMIT still on its way (in_transaction cannot tell yet),
                # and ahead of any later BEGIN, even if this await is itself cancelled. After
                # a COMMIT that went through it finds no transaction: the cancel, not that
                # error, is what goes on.
                with contextlib.suppress(sqlite3.OperationalError):
                    await self._writer.execute("ROLLBACK")
                raise
            finally:
                self._tx_task = None

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        if self._closed:
            raise StorageError("the storage is closed")
        return list(await self._reader.execute_fetchall(sql, params))

    async def _one(self, what: str, sql: str, params: Sequence[Any]) -> Any:  # noqa: ANN401
        rows = await self._read(sql, params)
        if not rows:
            raise NotFound(what)
        return rows[0]

    async def reclaim(self) -> bool:
        """After retention: copy the WAL into the database and truncate it to nothing, so the
        removed rows' old pages are in no file (secure_delete has zeroed them in the database).
        False if another connection's open read kept the checkpoint from finishing (it waited
        busy_timeout): try again later."""
        async with self._write_lock:
            if self._closed:
                raise StorageError("the storage is closed")
            rows = list(await self._writer.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)"))
        return bool(rows) and rows[0][0] == 0

    async def close(self) -> None:
        """Wait for a running transaction, then close both connections. Safe to call twice."""
        async with self._write_lock:
            if self._closed:
                return
            self._closed = True
            try:
                await self._reader.close()
            finally:
                await self._writer.close()


async def create_network(data_dir: Path, network: Network) -> None:
    """The network in a SQLite hub (hub/storage/choose.py's create_network, either backend)."""
    from hub.storage.choose import create_network as create  # noqa: PLC0415

    await create(data_dir, network)

"""The PostgreSQL backend: several hub instances on one database (`database = "postgresql://…"`
in hub.toml). It shares the SQL of the SQLite backend's mixins (hub/storage/sqlite_*.py, written
in what both take, with `?` placeholders rewritten here) and overrides only what several
instances change: claims with an owner and a lease, taken with FOR UPDATE SKIP LOCKED.

Connections. A psycopg pool in autocommit mode, prepared statements off (prepare_threshold
None), so it runs behind PgBouncer's transaction pooling too. A read takes a connection for one
statement. A write transaction first takes one advisory lock (WRITE_LOCK) until it ends: writes
are serialised across every instance as SQLite serialises them within one, so the audit chain
gets one next record, an envelope's seq commits in the order it was handed out (a listing
"after seq N" never misses one), and "read under the write lock, then insert" holds as the
mixins expect. Reads are not serialised, and never see a transaction's uncommitted writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import secrets
from typing import TYPE_CHECKING, Any, Final

import psycopg
from psycopg import errors
from psycopg_pool import AsyncConnectionPool

from hub.storage.base import (
    AlarmRow,
    AlreadyExists,
    BlobStore,
    NotFound,
    NoticeRow,
    StagedBlob,
    StorageError,
)
from hub.storage.migration_files import migrations
from hub.storage.pg_blobs import PgBlobStore
from hub.storage.pg_signals import CONNECT_ARGS, Signals
from hub.storage.sql_core import CoreReads, CoreWrites
from hub.storage.sqlite_access import AccessReads, AccessWrites
from hub.storage.sqlite_audit import AuditReads
from hub.storage.sqlite_cases import CaseReads, CaseWrites
from hub.storage.sqlite_envelopes import EnvelopeReads, EnvelopeWrites
from hub.storage.sqlite_log import LogReads, LogWrites
from hub.storage.sqlite_notices import (
    ALARM_COLUMNS,
    NOTICE_COLUMNS,
    NoticeReads,
    NoticeWrites,
)
from hub.storage.sqlite_outcomes import OutcomeReads, OutcomeWrites
from hub.storage.sqlite_recovery import RecoveryReads, RecoveryWrites
from hub.storage.sqlite_retention import RetentionReads, RetentionWrites
from hub.storage.sqlite_statistics import StatisticsReads
from hub.storage.upgrade import SchemaState, UpgradeError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

# Advisory lock keys (any two bigints the hub alone uses): one for every write transaction,
# one for applying migrations when several instances start together.
WRITE_LOCK: Final = 0x6875_6200_0001
MIGRATE_LOCK: Final = 0x6875_6200_0002
POOL_SIZE: Final = 10
# A claimed notice's lease: longer than one e-mail can take (SMTP timeouts are 30 s). An
# instance that died holding it leaves it 'sending' until then; after that it shows 'unknown'.
LEASE_SECONDS: Final = 300
_RETURNED_ALARM: Final = ", ".join("a." + c.strip() for c in ALARM_COLUMNS.split(","))


@functools.lru_cache(maxsize=512)
def pg_sql(sql: str) -> str:
    """The shared SQL with psycopg's placeholders: `?` becomes `%s`, a literal `%` is doubled
    (the shared SQL has no `?` inside a string literal)."""
    return sql.replace("%", "%%").replace("?", "%s")


def _integrity(exc: psycopg.Error) -> StorageError:
    if isinstance(exc, errors.UniqueViolation):
        return AlreadyExists(str(exc))
    if isinstance(exc, errors.ForeignKeyViolation):
        return NotFound(str(exc))
    return StorageError(str(exc))


async def migrate(conn: psycopg.AsyncConnection[Any]) -> None:
    """Apply, in order, each migration not yet recorded, each in its own transaction, under an
    advisory lock so that instances starting together apply it once."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)"
    )
    known = migrations("postgresql")
    for version, name, script in known:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
            cursor = await conn.execute("SELECT MAX(version) FROM schema_version")
            row = await cursor.fetchone()
            newest = (row[0] if row else None) or 0
            if newest > len(known):
                raise StorageError(
                    f"the database has schema version {newest}; this hub knows fewer"
                )
            if version <= newest:
                continue
            await conn.execute(script.encode())  # several statements: no parameters
            await conn.execute(
                "INSERT INTO schema_version (version, name, applied_at)"
                " VALUES (%s, %s, EXTRACT(EPOCH FROM now())::BIGINT)",
                (version, name),
            )


async def schema_state(url: str) -> SchemaState:
    """The database's schema version and this hub's PostgreSQL migrations; changes nothing."""
    known = tuple((version, name) for version, name, _ in migrations("postgresql"))
    try:
        async with await psycopg.AsyncConnection.connect(url, **CONNECT_ARGS) as conn:
            cursor = await conn.execute("SELECT to_regclass('schema_version') IS NOT NULL")
            row = await cursor.fetchone()
            current = 0
            if row is not None and row[0]:
                cursor = await conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
                row = await cursor.fetchone()
                current = int(row[0]) if row else 0
    except psycopg.OperationalError as exc:
        raise StorageError(f"kan inte ansluta till databasen: {exc}") from None
    if current > len(known):
        raise UpgradeError(
            f"PostgreSQL-databasen har schemaversion {current}, men den här versionen av hubben "
            f"känner bara till {len(known)}: installera den nyare versionen igen"
        )
    return SchemaState(current, known)


class PgTransaction(
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
    """Every write of the hub, on one connection holding WRITE_LOCK."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], instance: str) -> None:
        self._conn = conn
        self._instance = instance
        self._open = True

    def _close(self) -> None:
        self._open = False

    async def _execute(self, sql: str, params: Sequence[Any]) -> psycopg.AsyncCursor[Any]:
        if not self._open:
            raise StorageError("this transaction has ended")
        try:
            return await self._conn.execute(pg_sql(sql), params)
        except errors.IntegrityError as exc:
            raise _integrity(exc) from None
        except errors.RaiseException as exc:  # the audit log's append-only trigger
            raise StorageError(str(exc)) from None

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        cursor = await self._execute(sql, params)
        return list(await cursor.fetchall()) if cursor.description else []

    async def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return await self._fetch(sql, params)

    async def _changed(self, sql: str, params: Sequence[Any]) -> int:
        return (await self._execute(sql, params)).rowcount

    async def _link_staged(self, blobs: Sequence[tuple[int, StagedBlob]]) -> None:
        """The staged chunks become these envelopes' blobs as this transaction commits; a
        staging swept meanwhile (an upload older than the sweep's age) fails the group."""
        for seq, blob in blobs:
            taken = await self._changed(
                "DELETE FROM blob_uploads WHERE blob_id = ?", (blob.blob_id,)
            )
            if taken != 1:
                raise StorageError("an upload's staged chunks are gone")
            await self._changed(
                "INSERT INTO envelope_blobs (seq, blob_id) VALUES (?, ?)", (seq, blob.blob_id)
            )

    async def take_due_alarms(self, at: int, limit: int) -> list[AlarmRow]:
        """Remove and return the alarms due at `at`, earliest first; rows another instance is
        taking are skipped, not waited for."""
        rows = await self._fetch(
            f"WITH due AS (SELECT case_id, municipality, kind, stage FROM deadline_alarms"  # noqa: S608 - constant columns
            " WHERE fire_at <= ? ORDER BY fire_at LIMIT ? FOR UPDATE SKIP LOCKED)"
            " DELETE FROM deadline_alarms AS a USING due WHERE a.case_id = due.case_id"
            " AND a.municipality = due.municipality AND a.kind = due.kind"
            f" AND a.stage = due.stage RETURNING {_RETURNED_ALARM}",
            (at, limit),
        )
        alarms = [AlarmRow(bytes(r[0]), *r[1:]) for r in rows]
        return sorted(alarms, key=lambda a: (a.fire_at, a.case_id, a.municipality, a.stage))

    async def claim_notices(self, at: int, limit: int, batch: str) -> list[NoticeRow]:
        """Claim the due notices for this instance until its lease runs out; rows another
        instance is claiming are skipped. Committed before the e-mail goes."""
        rows = await self._fetch(
            "UPDATE notices SET status = 'sending', batch = ?, attempts = attempts + 1,"  # noqa: S608 - constant columns
            " claimed_by = ?, lease_until = ? WHERE id IN (SELECT id FROM notices"
            " WHERE status = 'pending' AND next_attempt_at <= ?"
            " ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED)"
            f" RETURNING {NOTICE_COLUMNS}",
            (batch, self._instance, at + LEASE_SECONDS, at, limit),
        )
        return sorted((NoticeRow(*r) for r in rows), key=lambda n: n.id)

    async def mark_interrupted_sends(self, at: int) -> int:
        """Only the claims whose lease ran out: their instance stopped while sending. They are
        never sent again; the administrator sees them as 'unknown'. A live instance's claims
        are its own to finish."""
        return await self._changed(
            "UPDATE notices SET status = 'unknown', finished_at = ?,"
            " last_error = 'hubben stannade medan meddelandet skickades'"
            " WHERE status = 'sending' AND (lease_until IS NULL OR lease_until <= ?)",
            (at, at),
        )


class PostgresStorage(
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
    def __init__(self, pool: AsyncConnectionPool[Any], url: str) -> None:
        self._pool = pool
        self.url = url
        self.instance = secrets.token_hex(8)  # this process: the owner of its claims
        self._blob_store = PgBlobStore(pool)
        self.blobs: BlobStore = self._blob_store
        self.signals = Signals(pool)  # what the instances tell each other (pg_signals.py)
        self._tx_tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    @property
    def pool(self) -> AsyncConnectionPool[Any]:
        """For what reads across tables (metrics, the copy's checks): never for writes."""
        return self._pool

    @classmethod
    async def open(cls, url: str, *, pool_size: int = POOL_SIZE) -> PostgresStorage:
        """Connect to the database at `url` and bring its schema up to date."""
        try:
            async with await psycopg.AsyncConnection.connect(url, **CONNECT_ARGS) as conn:
                await migrate(conn)
        except psycopg.OperationalError as exc:
            raise StorageError(f"kan inte ansluta till databasen: {exc}") from None
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url, min_size=1, max_size=pool_size, kwargs=CONNECT_ARGS, open=False
        )
        await pool.open(wait=True)
        storage = cls(pool, url)
        await storage._blob_store.sweep()
        return storage

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgTransaction]:
        """BEGIN, the write lock, … COMMIT; ROLLBACK on any exception, cancellation included."""
        task = asyncio.current_task()
        if task is not None and task in self._tx_tasks:
            raise StorageError("a transaction inside a transaction")
        if self._closed:
            raise StorageError("the storage is closed")
        if task is not None:
            self._tx_tasks.add(task)
        try:
            async with self._pool.connection() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                tx = PgTransaction(conn, self.instance)
                try:
                    yield tx
                finally:
                    tx._close()  # noqa: SLF001 - ours
        finally:
            if task is not None:
                self._tx_tasks.discard(task)

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        if self._closed:
            raise StorageError("the storage is closed")
        async with self._pool.connection() as conn:
            cursor = await conn.execute(pg_sql(sql), params)
            return list(await cursor.fetchall())

    async def _one(self, what: str, sql: str, params: Sequence[Any]) -> Any:  # noqa: ANN401
        rows = await self._read(sql, params)
        if not rows:
            raise NotFound(what)
        return rows[0]

    async def reclaim(self) -> bool:
        """After retention: the live channel's hints removed, and VACUUM, so the removed rows'
        space is marked for reuse and their
        bytes are overwritten as the tables grow again. Unlike SQLite's secure_delete, nothing
        is zeroed at once: until the space is reused (VACUUM FULL rewrites the files) the bytes
        stay in the files, and in the WAL, its archives and older backups until those go
        (docs/operations.md, section 11)."""
        if self._closed:
            raise StorageError("the storage is closed")
        async with self._pool.connection() as conn:
            # The live channel's hints name cases and messages too: they go as well (a hint
            # an instance had not read yet is lost; its inboxes find the change on their sync).
            await conn.execute("DELETE FROM live_events")
            await conn.execute("VACUUM")
        return True

    async def close(self) -> None:
        """Wait for running transactions (the pool's close does), then close. Safe twice."""
        if self._closed:
            return
        self._closed = True
        await self._pool.close()

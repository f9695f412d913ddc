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
import json
import os
import re
import sqlite3
from importlib import resources
from typing import TYPE_CHECKING, Any

import aiosqlite

from hub.crypto.records import canonical_bytes
from hub.storage.audit import GENESIS, record_hash
from hub.storage.base import (
    AlreadyExists,
    AuditRecord,
    BlobStore,
    CaseRow,
    DirectoryRecord,
    Enrolment,
    Invite,
    Municipality,
    Network,
    NotFound,
    ReceiptRow,
    Session,
    StaleVersion,
    StorageError,
)
from hub.storage.blobs import FileBlobStore
from hub.storage.sqlite_envelopes import EnvelopeReads, EnvelopeWrites
from hub.storage.sqlite_notices import NoticeReads, NoticeWrites
from hub.storage.sqlite_outcomes import OutcomeReads, OutcomeWrites
from hub.storage.sqlite_statistics import StatisticsReads

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable, Sequence
    from pathlib import Path

DB_NAME = "hub.sqlite3"
BLOB_DIR = "blobs"
BUSY_TIMEOUT_MS = 10_000
AUDIT_PAGE = 500
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

_ENROLMENT_COLUMNS = (
    "id, network_id, municipality_id, person, role, public_identity, key_id, status, created_at,"
    " code_hash, proof"
)
_RECEIPT_COLUMNS = "message_id, signer_key_id, municipality_id, event, time, wire, received_at"


# --- encoding ------------------------------------------------------------------------------


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _object(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise StorageError("a stored JSON object is not an object")
    return value


def _enrolment(row: Sequence[Any]) -> Enrolment:
    return Enrolment(
        id=row[0],
        network_id=row[1],
        municipality_id=row[2],
        person=row[3],
        role=row[4],
        public_identity=_object(row[5]),
        key_id=row[6],
        status=row[7],
        created_at=row[8],
        code_hash=row[9],
        proof=row[10],
    )


def _receipt(row: Sequence[Any]) -> ReceiptRow:
    return ReceiptRow(row[0], row[1], row[2], row[3], row[4], _object(row[5]), row[6])


def _audit(row: Sequence[Any]) -> AuditRecord:
    return AuditRecord(row[0], row[1], row[2], row[3], _object(row[4]), row[5], row[6])


def _integrity(exc: sqlite3.IntegrityError) -> StorageError:
    """Map a constraint failure to what the caller can answer (409, 404) or a plain error."""
    name = getattr(exc, "sqlite_errorname", "")
    if name in {"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"}:
        return AlreadyExists(str(exc))
    if name == "SQLITE_CONSTRAINT_FOREIGNKEY":
        return NotFound(str(exc))  # it refers to a network or envelope that is not there
    return StorageError(str(exc))


# --- migrations ----------------------------------------------------------------------------


def _migrations() -> list[tuple[int, str, str]]:
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


async def _migrate(conn: aiosqlite.Connection) -> None:
    """Apply, in order, each migration not yet recorded in schema_version: each in its own
    transaction, re-checked under the write lock so two processes starting together apply it
    once."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
    )
    migrations = _migrations()
    rows = await conn.execute_fetchall("SELECT MAX(version) FROM schema_version")
    newest = next(iter(rows))[0] or 0
    if newest > len(migrations):
        raise StorageError(f"the database has schema version {newest}; this hub knows fewer")
    for version, name, script in migrations:
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
            # An upload is acknowledged only after its commit. With synchronous=NORMAL a WAL
            # commit is not fsynced and the last acknowledged envelopes could vanish on power
            # loss; FULL fsyncs the WAL on every commit: durability over speed.
            await conn.execute("PRAGMA synchronous = FULL")
    except BaseException:
        await conn.close()
        raise
    return conn


def _prepare(data_dir: Path) -> FileBlobStore:
    """Blocking start-up work: directories, a private database file, the blob store."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    db = data_dir / DB_NAME
    # Created 0600 before SQLite opens it; its -wal and -shm files take the same mode.
    with contextlib.suppress(FileExistsError):
        os.close(os.open(db, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return FileBlobStore(data_dir / BLOB_DIR)


# --- transactions --------------------------------------------------------------------------


class SqliteTransaction(EnvelopeWrites, NoticeWrites, OutcomeWrites):
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

    async def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        cursor = await self._exec(sql, params)
        rows = list(await cursor.fetchall())
        await cursor.close()
        return rows

    async def add_network(self, network: Network) -> None:
        await self._changed(
            "INSERT INTO networks (id, name, admin_public, settings, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                network.id,
                network.name,
                network.admin_public,
                _json(network.settings),
                network.created_at,
            ),
        )

    async def set_network_settings(self, network_id: str, settings: dict[str, Any]) -> None:
        """The agreement's settings, as the administrator's signed settings record states them."""
        await self._changed(
            "UPDATE networks SET settings = ? WHERE id = ?", (_json(settings), network_id)
        )

    async def put_municipality(self, municipality: Municipality) -> None:
        m = municipality
        await self._changed(
            "INSERT INTO municipalities"
            " (network_id, id, name, population, manager_email, template)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (network_id, id) DO UPDATE SET name = excluded.name,"
            " population = excluded.population, manager_email = excluded.manager_email,"
            " template = excluded.template",
            (m.network_id, m.id, m.name, m.population, m.manager_email, _json(m.template)),
        )

    async def add_directory_record(self, record: DirectoryRecord) -> None:
        await self._changed(
            "INSERT INTO directory_records (network_id, serial, kind, key_id, wire)"
            " VALUES (?, ?, ?, ?, ?)",
            (record.network_id, record.serial, record.kind, record.key_id, _json(record.wire)),
        )

    async def add_invite(self, invite: Invite) -> None:
        i = invite
        await self._changed(
            "INSERT INTO invites (code_hash, network_id, municipality_id, person, role,"
            " expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                i.code_hash,
                i.network_id,
                i.municipality_id,
                i.person,
                i.role,
                i.expires_at,
                i.created_at,
            ),
        )

    async def take_invite(self, code_hash: bytes, at: int) -> Invite:
        """The invite, marked used; NotFound if unknown, already used or expired."""
        rows = await self._rows(
            "SELECT code_hash, network_id, municipality_id, person, role, expires_at, created_at"
            " FROM invites WHERE code_hash = ? AND used_at IS NULL AND expires_at > ?",
            (code_hash, at),
        )
        if not rows:
            raise NotFound("invite")
        await self._changed("UPDATE invites SET used_at = ? WHERE code_hash = ?", (at, code_hash))
        return Invite(*rows[0])

    async def add_enrolment(self, enrolment: Enrolment) -> int:
        """Store a new enrolment; its id is assigned here (`enrolment.id` is not used)."""
        e = enrolment
        cursor = await self._exec(
            "INSERT INTO enrolments (network_id, municipality_id, person, role,"
            " public_identity, key_id, status, created_at, code_hash, proof)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                e.network_id,
                e.municipality_id,
                e.person,
                e.role,
                _json(e.public_identity),
                e.key_id,
                e.status,
                e.created_at,
                e.code_hash,
                e.proof,
            ),
        )
        new_id = cursor.lastrowid
        await cursor.close()
        if new_id is None:
            raise StorageError("no id for the new enrolment")
        return new_id

    async def set_enrolment_status(self, enrolment_id: int, status: str) -> None:
        changed = await self._changed(
            "UPDATE enrolments SET status = ? WHERE id = ?", (status, enrolment_id)
        )
        if changed == 0:
            raise NotFound("enrolment")

    async def add_challenge(self, nonce: bytes, key_id: bytes, expires_at: int) -> None:
        await self._changed(
            "INSERT INTO challenges (nonce, key_id, expires_at) VALUES (?, ?, ?)",
            (nonce, key_id, expires_at),
        )

    async def take_challenge(self, nonce: bytes, key_id: bytes, at: int) -> None:
        """Use up a challenge; NotFound if unknown, for another key, used or expired."""
        # Challenges are handed out to anyone (rate-limited): expired ones are swept here, on
        # the sign-in path, so the table cannot grow without bound.
        await self._changed("DELETE FROM challenges WHERE expires_at <= ?", (at,))
        taken = await self._changed(
            "DELETE FROM challenges WHERE nonce = ? AND key_id = ? AND expires_at > ?",
            (nonce, key_id, at),
        )
        if taken == 0:
            raise NotFound("challenge")

    async def add_session(self, session: Session) -> None:
        s = session
        await self._changed(
            "INSERT INTO sessions (token_hash, network_id, key_id, municipality_id, role,"
            " expires_at) VALUES (?, ?, ?, ?, ?, ?)",
            (s.token_hash, s.network_id, s.key_id, s.municipality_id, s.role, s.expires_at),
        )

    async def purge_expired(self, at: int) -> int:
        """Forget sign-in challenges and sessions that can no longer be used."""
        purged = await self._changed("DELETE FROM challenges WHERE expires_at <= ?", (at,))
        return purged + await self._changed("DELETE FROM sessions WHERE expires_at <= ?", (at,))

    async def add_case(self, case: CaseRow) -> None:
        await self._changed(
            "INSERT INTO cases (case_id, network_id, sender_municipality, data, version,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                case.case_id,
                case.network_id,
                case.sender_municipality,
                _json(case.data),
                case.version,
                case.created_at,
                case.updated_at,
            ),
        )
        await self._put_case_requests(case)

    async def update_case(self, case: CaseRow) -> None:
        changed = await self._changed(
            "UPDATE cases SET data = ?, version = ?, updated_at = ?"
            " WHERE case_id = ? AND version = ?",
            (_json(case.data), case.version, case.updated_at, case.case_id, case.version - 1),
        )
        if changed != 1:
            raise StaleVersion("the case changed since it was read")
        await self._put_case_requests(case)

    async def _put_case_requests(self, case: CaseRow) -> None:
        await self._changed("DELETE FROM case_requests WHERE case_id = ?", (case.case_id,))
        for municipality, state, entered_at in case.requests:
            await self._changed(
                "INSERT INTO case_requests (case_id, municipality, state, entered_at)"
                " VALUES (?, ?, ?, ?)",
                (case.case_id, municipality, state, entered_at),
            )

    async def add_receipt(self, receipt: ReceiptRow) -> None:
        r = receipt
        await self._changed(
            f"INSERT INTO receipts ({_RECEIPT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",  # noqa: S608 - constant columns
            (
                r.message_id,
                r.signer_key_id,
                r.municipality_id,
                r.event,
                r.time,
                _json(r.wire),
                r.received_at,
            ),
        )

    async def append_audit(
        self, *, at: int, actor: str, action: str, subject: dict[str, Any]
    ) -> AuditRecord:
        """Append the next record of the hash chain; seq and hashes are computed here, under
        the transaction's write lock, so no two records can claim the same place."""
        last = await self._rows("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
        seq, prev_hash = (last[0][0] + 1, last[0][1]) if last else (1, GENESIS)
        subject_text = canonical_bytes(subject).decode("utf-8")
        stored_subject = _object(subject_text)  # a copy: the record cannot change afterwards
        digest = record_hash(prev_hash, seq, at, actor, action, stored_subject)
        await self._changed(
            "INSERT INTO audit (seq, at, actor, action, subject, prev_hash, hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (seq, at, actor, action, subject_text, prev_hash, digest),
        )
        return AuditRecord(seq, at, actor, action, stored_subject, prev_hash, digest)


# --- the storage ---------------------------------------------------------------------------


class SqliteStorage(EnvelopeReads, NoticeReads, OutcomeReads, StatisticsReads):
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
    async def open(cls, data_dir: Path) -> SqliteStorage:
        """Open (or create) the hub's storage in `data_dir` and bring its schema up to date."""
        blobs = await asyncio.to_thread(_prepare, data_dir)
        path = data_dir / DB_NAME
        writer = await _connect(path, read_only=False)
        try:
            await _migrate(writer)
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

    async def get_network(self, network_id: str) -> Network:
        row = await self._one(
            "network",
            "SELECT id, name, admin_public, settings, created_at FROM networks WHERE id = ?",
            (network_id,),
        )
        return Network(row[0], row[1], row[2], _object(row[3]), row[4])

    async def list_municipalities(self, network_id: str) -> list[Municipality]:
        rows = await self._read(
            "SELECT network_id, id, name, population, manager_email, template"
            " FROM municipalities WHERE network_id = ? ORDER BY id",
            (network_id,),
        )
        return [Municipality(r[0], r[1], r[2], r[3], r[4], _object(r[5])) for r in rows]

    async def list_directory_records(self, network_id: str) -> list[DirectoryRecord]:
        rows = await self._read(
            "SELECT network_id, serial, kind, key_id, wire FROM directory_records"
            " WHERE network_id = ? ORDER BY serial",
            (network_id,),
        )
        return [DirectoryRecord(r[0], r[1], r[2], r[3], _object(r[4])) for r in rows]

    async def next_directory_serial(self, network_id: str) -> int:
        """One more than the highest serial stored (1 for an empty directory)."""
        rows = await self._read(
            "SELECT COALESCE(MAX(serial), 0) + 1 FROM directory_records WHERE network_id = ?",
            (network_id,),
        )
        return int(rows[0][0])

    async def list_enrolments(self, network_id: str, status: str) -> list[Enrolment]:
        rows = await self._read(
            f"SELECT {_ENROLMENT_COLUMNS} FROM enrolments"  # noqa: S608 - constant columns
            " WHERE network_id = ? AND status = ? ORDER BY id",
            (network_id, status),
        )
        return [_enrolment(r) for r in rows]

    async def get_enrolment(self, enrolment_id: int) -> Enrolment:
        row = await self._one(
            "enrolment",
            f"SELECT {_ENROLMENT_COLUMNS} FROM enrolments WHERE id = ?",  # noqa: S608
            (enrolment_id,),
        )
        return _enrolment(row)

    async def get_session(self, token_hash: bytes, at: int) -> Session:
        """The session if it exists and has not expired at `at`; NotFound otherwise."""
        row = await self._one(
            "session",
            "SELECT token_hash, network_id, key_id, municipality_id, role, expires_at"
            " FROM sessions WHERE token_hash = ? AND expires_at > ?",
            (token_hash, at),
        )
        return Session(*row)

    async def get_case(self, case_id: bytes) -> CaseRow:
        row = await self._one(
            "case",
            "SELECT case_id, network_id, sender_municipality, data, version, created_at,"
            " updated_at FROM cases WHERE case_id = ?",
            (case_id,),
        )
        return await self._case(row)

    async def list_cases(self, network_id: str, municipality_id: str) -> list[CaseRow]:
        rows = await self._read(
            "SELECT case_id, network_id, sender_municipality, data, version, created_at,"
            " updated_at FROM cases WHERE network_id = ? AND (sender_municipality = ?"
            " OR case_id IN (SELECT case_id FROM case_requests WHERE municipality = ?))"
            " ORDER BY created_at, case_id",
            (network_id, municipality_id, municipality_id),
        )
        return [await self._case(r) for r in rows]

    async def _case(self, row: Sequence[Any]) -> CaseRow:
        requests = await self._read(
            "SELECT municipality, state, entered_at FROM case_requests WHERE case_id = ?"
            " ORDER BY municipality",
            (row[0],),
        )
        return CaseRow(
            case_id=bytes(row[0]),
            network_id=row[1],
            sender_municipality=row[2],
            data=_object(row[3]),
            requests=tuple((m, st, at) for m, st, at in requests),
            created_at=row[5],
            updated_at=row[6],
            version=row[4],
        )

    async def list_receipts(self, message_id: bytes) -> list[ReceiptRow]:
        rows = await self._read(
            f"SELECT {_RECEIPT_COLUMNS} FROM receipts WHERE message_id = ? ORDER BY id",  # noqa: S608
            (message_id,),
        )
        return [_receipt(r) for r in rows]

    async def audit_records(self, after_seq: int = 0) -> AsyncIterator[AuditRecord]:
        """The audit log from `after_seq` on, in seq order, read a page at a time (no lock is
        held between pages, so the consumer may write while it reads)."""
        while True:
            rows = await self._read(
                "SELECT seq, at, actor, action, subject, prev_hash, hash FROM audit"
                " WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, AUDIT_PAGE),
            )
            for row in rows:
                yield _audit(row)
            if len(rows) < AUDIT_PAGE:
                return
            after_seq = rows[-1][0]

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
    """The operator's step before the hub serves a network: store it with the administrator's
    public key and the agreement's settings, and audit it (hub network create, the demo)."""
    storage = await SqliteStorage.open(data_dir)
    try:
        async with storage.transaction() as tx:
            await tx.add_network(network)
            await tx.append_audit(
                at=network.created_at,
                actor="operator",
                action="network_created",
                subject={"network": network.id},
            )
    finally:
        await storage.close()

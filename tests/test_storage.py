"""The SQLite storage and the blob store, on real files in tmp_path."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import sqlite3
import stat
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from hub.storage.audit import verify_chain
from hub.storage.base import (
    AlreadyExists,
    AuditEntry,
    BlobTooLarge,
    DirectoryRecord,
    Enrolment,
    EnvelopeRow,
    Invite,
    Municipality,
    Network,
    NotFound,
    ReceiptRow,
    Session,
    StorageError,
)
from hub.storage.blobs import FLUSH_BYTES, FileBlobStore
from hub.storage.choose import open_storage
from hub.storage.sqlite import DB_NAME, SqliteStorage
from hub.storage.sqlite_audit import AUDIT_PAGE
from tests import crash_writer

NET = "skane"
OTHER = "halland"
ADMIN = bytes(range(32))


def network(network_id: str = NET) -> Network:
    return Network(network_id, f"Nätverk {network_id}", ADMIN, {"answer_days": 10}, 1000)


def envelope(
    n: int, *, sender: str = "malmo", to: tuple[str, ...] = ("lund",), network_id: str = NET
) -> EnvelopeRow:
    return EnvelopeRow(
        message_id=n.to_bytes(16, "big"),
        network_id=network_id,
        case_id=(1000 + n).to_bytes(16, "big"),
        kind=1,
        sender_key_id=b"\x01" * 16,
        sender_municipality=sender,
        recipient_municipalities=to,
        recipient_key_ids=(b"\x02" * 16, b"\x03" * 16),
        size=4096 + n,
        digest=n.to_bytes(32, "big"),
        created_at=2000 + n,
        received_at=3000 + n,
    )


async def chunks_of(data: bytes, size: int = 65536) -> Any:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def open_backend(tmp_path: Path, database: str | None) -> Any:
    """SQLite in the test's folder, or PostgreSQL at `database` (tests/conftest.py)."""
    return await open_storage(tmp_path / "data", database)


@pytest.fixture
async def storage(tmp_path: Path, database: str | None) -> Any:
    opened = await open_backend(tmp_path, database)
    async with opened.transaction() as tx:
        await tx.add_network(network())
        await tx.add_network(network(OTHER))
    yield opened
    await opened.close()


async def audit_list(storage: SqliteStorage, after: int = 0) -> list[Any]:
    return [r async for r in storage.audit_records(after)]


def raw(tmp_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(tmp_path / "data" / DB_NAME, isolation_level=None)


def behind_the_hubs_back(tmp_path: Path, database: str | None, *statements: str) -> None:
    """Run SQL straight on the database, as whoever holds the file or the superuser could."""
    if database is None:
        db = raw(tmp_path)
        try:
            for statement in statements:
                db.execute(statement)
        finally:
            db.close()
        return
    import psycopg  # noqa: PLC0415

    with psycopg.connect(database, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement.encode())


# --- round trips ---------------------------------------------------------------------------


async def test_network_round_trip(storage: SqliteStorage) -> None:
    """A network comes back exactly as stored; an unknown one is not found, a second one with
    the same id is refused."""
    assert await storage.get_network(NET) == network()
    with pytest.raises(NotFound):
        await storage.get_network("nowhere")
    with pytest.raises(AlreadyExists):
        async with storage.transaction() as tx:
            await tx.add_network(network())


async def test_municipalities_put_and_replace(storage: SqliteStorage) -> None:
    """Putting a municipality again replaces it; each network lists only its own."""
    malmo = Municipality(NET, "malmo", "Malmö", 357_000, "chef@malmo.se", {"contacts": ["x"]})
    lund = Municipality(NET, "lund", "Lund", 127_000, "chef@lund.se")
    async with storage.transaction() as tx:
        await tx.put_municipality(malmo)
        await tx.put_municipality(lund)
        await tx.put_municipality(Municipality(OTHER, "varberg", "Varberg", 66_000, "c@v.se"))
    assert await storage.list_municipalities(NET) == [lund, malmo]
    bigger = replace(malmo, population=360_000, template={})
    async with storage.transaction() as tx:
        await tx.put_municipality(bigger)
    assert await storage.list_municipalities(NET) == [lund, bigger]
    with pytest.raises(NotFound):
        async with storage.transaction() as tx:
            await tx.put_municipality(replace(lund, network_id="nowhere"))


async def test_directory_records_and_serials(storage: SqliteStorage) -> None:
    """Directory records come back in serial order, the next serial follows the highest, and a
    serial cannot be taken twice in one network."""
    assert await storage.next_directory_serial(NET) == 1
    first = DirectoryRecord(
        NET, 1, "directory-entry", b"\x05" * 16, {"record": "r1", "signature": "s1"}
    )
    second = DirectoryRecord(
        NET, 2, "revocation", b"\x05" * 16, {"record": "r2", "signature": "s2"}
    )
    async with storage.transaction() as tx:
        await tx.add_directory_record(second)
        await tx.add_directory_record(first)
        await tx.add_directory_record(replace(first, network_id=OTHER))
    assert await storage.list_directory_records(NET) == [first, second]
    assert await storage.next_directory_serial(NET) == 3
    assert await storage.next_directory_serial(OTHER) == 2
    with pytest.raises(AlreadyExists):
        async with storage.transaction() as tx:
            await tx.add_directory_record(replace(first, key_id=b"\x06" * 16))
    with pytest.raises(StorageError):
        async with storage.transaction() as tx:
            await tx.add_directory_record(DirectoryRecord(NET, 9, "nonsense", b"", {}))


async def test_invite_is_one_time(storage: SqliteStorage) -> None:
    """An invitation code works once, before it expires, and never again."""
    invite = Invite(b"\x07" * 32, NET, "malmo", "Anna", "contact_person", 5000, 1000)
    expired = Invite(b"\x08" * 32, NET, "malmo", "Bo", "contact_person", 1500, 1000)
    async with storage.transaction() as tx:
        await tx.add_invite(invite)
        await tx.add_invite(expired)
    with pytest.raises(AlreadyExists):
        async with storage.transaction() as tx:
            await tx.add_invite(invite)
    async with storage.transaction() as tx:
        assert await tx.take_invite(invite.code_hash, 2000) == invite
    for code, at in ((invite.code_hash, 2001), (expired.code_hash, 1500), (b"\x09" * 32, 1)):
        with pytest.raises(NotFound):
            async with storage.transaction() as tx:
                await tx.take_invite(code, at)


async def test_enrolments(storage: SqliteStorage) -> None:
    """An enrolment gets an id, is listed under its status, and its status can change."""
    pending = Enrolment(
        0,
        NET,
        "malmo",
        "Anna",
        "contact_person",
        {"signing": "x", "box": "y"},
        b"\x0a" * 16,
        "pending",
        1000,
    )
    async with storage.transaction() as tx:
        first = await tx.add_enrolment(pending)
        second = await tx.add_enrolment(replace(pending, person="Bo"))
    assert second > first
    assert await storage.get_enrolment(first) == replace(pending, id=first)
    assert [e.id for e in await storage.list_enrolments(NET, "pending")] == [first, second]
    async with storage.transaction() as tx:
        await tx.set_enrolment_status(first, "approved")
    assert [e.id for e in await storage.list_enrolments(NET, "approved")] == [first]
    assert [e.id for e in await storage.list_enrolments(NET, "pending")] == [second]
    assert await storage.list_enrolments(OTHER, "pending") == []
    with pytest.raises(NotFound):
        await storage.get_enrolment(999)
    with pytest.raises(NotFound):
        async with storage.transaction() as tx:
            await tx.set_enrolment_status(999, "approved")
    with pytest.raises(StorageError):
        async with storage.transaction() as tx:
            await tx.set_enrolment_status(first, "maybe")


async def test_challenge_is_one_time(storage: SqliteStorage) -> None:
    """A sign-in challenge is used once, only by its own key, and only before it expires."""
    key, other = b"\x0b" * 16, b"\x0c" * 16
    async with storage.transaction() as tx:
        await tx.add_challenge(b"n1", key, 100)
        await tx.add_challenge(b"n2", key, 100)
    with pytest.raises(AlreadyExists):
        async with storage.transaction() as tx:
            await tx.add_challenge(b"n1", key, 100)
    for nonce, key_id, at in ((b"n1", other, 50), (b"n2", key, 100), (b"zz", key, 1)):
        with pytest.raises(NotFound):
            async with storage.transaction() as tx:
                await tx.take_challenge(nonce, key_id, at)
    async with storage.transaction() as tx:
        await tx.take_challenge(b"n1", key, 99)
    with pytest.raises(NotFound):
        async with storage.transaction() as tx:
            await tx.take_challenge(b"n1", key, 99)


async def test_session_until_expiry(storage: SqliteStorage) -> None:
    """A session is found until the second it expires, and not after."""
    session = Session(b"\x0d" * 32, NET, b"\x0e" * 16, "malmo", "contact_person", 500)
    async with storage.transaction() as tx:
        await tx.add_session(session)
    assert await storage.get_session(session.token_hash, 499) == session
    with pytest.raises(NotFound):
        await storage.get_session(session.token_hash, 500)
    with pytest.raises(NotFound):
        await storage.get_session(b"\x0f" * 32, 1)


async def test_expired_sessions_and_challenges_are_forgotten(storage: SqliteStorage) -> None:
    """The hourly purge removes what can no longer be used and keeps what still can."""
    old = Session(b"\x11" * 32, NET, b"\x0e" * 16, "malmo", "contact_person", 500)
    live = Session(b"\x12" * 32, NET, b"\x0e" * 16, "malmo", "contact_person", 900)
    async with storage.transaction() as tx:
        await tx.add_session(old)
        await tx.add_session(live)
        await tx.add_challenge(b"old", b"\x0b" * 16, 400)
        await tx.add_challenge(b"new", b"\x0b" * 16, 800)
    async with storage.transaction() as tx:
        assert await tx.purge_expired(500) == 2
    assert await storage.get_session(live.token_hash, 600) == live
    async with storage.transaction() as tx:
        await tx.take_challenge(b"new", b"\x0b" * 16, 600)
        assert await tx.purge_expired(500) == 0


async def test_envelope_round_trip_and_boxes(storage: SqliteStorage) -> None:
    """An envelope comes back as stored with its seq; the inbox shows what others sent to the
    municipality, the sent box what it sent, both in seq order from a cursor."""
    rows = [
        envelope(1, sender="malmo", to=("lund",)),
        envelope(2, sender="lund", to=("malmo", "ystad")),
        envelope(3, sender="malmo", to=("lund", "malmo")),  # its own id: not in its inbox
        envelope(4, sender="ystad", to=("malmo",)),
        envelope(5, sender="x", to=("malmo",), network_id=OTHER),
    ]
    async with storage.transaction() as tx:
        seqs = [await tx.add_envelope(row) for row in rows]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs)
    for row, seq in zip(rows, seqs, strict=True):
        assert await storage.get_envelope(row.message_id) == replace(row, seq=seq)

    async def ids(municipality: str, box: str, **kw: int) -> list[int]:
        found = await storage.list_envelopes(NET, municipality, box=box, **kw)
        return [int.from_bytes(r.message_id, "big") for r in found]

    assert await ids("malmo", "inbox") == [2, 4]
    assert await ids("malmo", "sent") == [1, 3]
    assert await ids("lund", "inbox") == [1, 3]
    assert await ids("ystad", "inbox") == [2]
    assert await ids("malmo", "inbox", after=seqs[1]) == [4]
    assert await ids("lund", "inbox", limit=1) == [1]
    assert await ids("nobody", "inbox") == []
    with pytest.raises(NotFound):
        await storage.get_envelope(b"\xff" * 16)
    with pytest.raises(ValueError):
        await storage.list_envelopes(NET, "malmo", box="trash")


async def test_duplicate_envelope_changes_nothing(storage: SqliteStorage) -> None:
    """A second envelope with a taken message id is refused and leaves the first, the listing
    and the audit log as they were."""
    async with storage.transaction() as tx:
        await tx.add_envelope(envelope(1))
        await tx.append_audit(at=1, actor="system", action="envelope_uploaded", subject={"n": 1})
    before = await storage.get_envelope(envelope(1).message_id)

    async def upload_again() -> None:
        async with storage.transaction() as tx:
            await tx.append_audit(at=2, actor="system", action="envelope_uploaded", subject={})
            await tx.add_envelope(replace(envelope(1), sender_municipality="ystad", size=1))

    with pytest.raises(AlreadyExists):
        await upload_again()
    assert await storage.get_envelope(envelope(1).message_id) == before
    assert len(await storage.list_envelopes(NET, "lund", box="inbox")) == 1
    assert len(await storage.list_envelopes(NET, "ystad", box="sent")) == 0
    assert [r.seq for r in await audit_list(storage)] == [1]


async def test_receipts(storage: SqliteStorage) -> None:
    """Receipts of a message come back in arrival order; the same signer cannot send the same
    event twice, and a receipt for an unknown message is refused."""
    async with storage.transaction() as tx:
        await tx.add_envelope(envelope(1))
    mid = envelope(1).message_id
    read = ReceiptRow(mid, b"\x11" * 16, "lund", "read", 10, {"record": "a", "signature": "b"}, 11)
    delivered = replace(read, event="delivered", time=5)
    async with storage.transaction() as tx:
        await tx.add_receipt(read)
        await tx.add_receipt(delivered)
    assert await storage.list_receipts(mid) == [read, delivered]
    assert await storage.list_receipts(b"\xff" * 16) == []
    with pytest.raises(AlreadyExists):
        async with storage.transaction() as tx:
            await tx.add_receipt(replace(read, time=99))
    with pytest.raises(NotFound):
        async with storage.transaction() as tx:
            await tx.add_receipt(replace(read, message_id=b"\xff" * 16))


# --- transactions --------------------------------------------------------------------------


async def test_failed_transaction_leaves_nothing(storage: SqliteStorage) -> None:
    """A transaction that fails half-way leaves no row and no audit record behind."""

    class BoomError(Exception):
        pass

    async def fail_half_way() -> None:
        async with storage.transaction() as tx:
            await tx.add_envelope(envelope(1))
            await tx.put_municipality(Municipality(NET, "malmo", "Malmö", 1, "a@b.se"))
            await tx.append_audit(at=1, actor="system", action="x", subject={})
            raise BoomError

    with pytest.raises(BoomError):
        await fail_half_way()
    with pytest.raises(NotFound):
        await storage.get_envelope(envelope(1).message_id)
    assert await storage.list_envelopes(NET, "lund", box="inbox") == []
    assert await storage.list_municipalities(NET) == []
    assert await audit_list(storage) == []
    async with storage.transaction() as tx:  # the connection is usable again
        await tx.add_envelope(envelope(1))


async def test_cancelled_transaction_rolls_back(storage: SqliteStorage) -> None:
    """A handler cancelled inside a transaction (a client gone) leaves nothing, and the next
    transaction works."""
    inside = asyncio.Event()

    async def handler() -> None:
        async with storage.transaction() as tx:
            await tx.add_envelope(envelope(1))
            inside.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(handler())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(NotFound):
        await storage.get_envelope(envelope(1).message_id)
    async with storage.transaction() as tx:
        await tx.add_envelope(envelope(2))
    assert (await storage.get_envelope(envelope(2).message_id)).seq > 0


async def test_a_cancel_that_meets_the_commit_stays_a_cancel(storage: SqliteStorage) -> None:
    """Cancelled at every point of a short transaction in turn, the COMMIT included: the task
    ends cancelled or done, never with "no transaction is active" from a ROLLBACK after a
    COMMIT that had gone through (that error once hid the hub's shutdown from its clock)."""
    for step in range(40):

        async def write(number: int = step) -> None:
            async with storage.transaction() as tx:
                await tx.add_envelope(envelope(100 + number))

        task = asyncio.create_task(write())
        for _ in range(step):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    async with storage.transaction() as tx:  # the connection is usable afterwards
        await tx.add_envelope(envelope(1))


async def test_transaction_misuse_is_refused(storage: SqliteStorage) -> None:
    """A transaction object used after its block, or a transaction opened inside another, is
    an error rather than a silent write or a deadlock."""
    async with storage.transaction() as tx:
        pass
    with pytest.raises(StorageError):
        await tx.add_envelope(envelope(1))
    with pytest.raises(StorageError, match="inside a transaction"):
        async with storage.transaction(), storage.transaction():
            pass


async def test_reads_see_only_committed_state(storage: SqliteStorage) -> None:
    """While a transaction is open, other handlers' reads do not see its rows; after commit
    they do."""
    async with storage.transaction() as tx:
        await tx.add_envelope(envelope(1))
        with pytest.raises(NotFound):
            await storage.get_envelope(envelope(1).message_id)
    assert (await storage.get_envelope(envelope(1).message_id)).message_id == envelope(1).message_id


async def test_concurrent_transactions_do_not_interleave(storage: SqliteStorage) -> None:
    """Many handlers writing at once each get their own seq and audit record, and the chain
    holds."""

    async def handler(n: int) -> int:
        async with storage.transaction() as tx:
            seq = await tx.add_envelope(envelope(n))
            await asyncio.sleep(0)
            await tx.append_audit(at=n, actor="system", action="upload", subject={"n": n})
            return seq

    seqs = await asyncio.gather(*(handler(n) for n in range(1, 41)))
    assert sorted(seqs) == list(range(1, 41))
    records = await audit_list(storage)
    assert [r.seq for r in records] == list(range(1, 41))
    assert verify_chain(records) is None


# --- audit ---------------------------------------------------------------------------------


async def fill_audit(storage: SqliteStorage, count: int) -> None:
    async with storage.transaction() as tx:
        for n in range(1, count + 1):
            record = await tx.append_audit(
                at=100 + n,
                actor="admin" if n % 2 else "a1b2",
                action=f"act{n % 3}",
                subject={"n": n, "ids": [f"{n:04x}"], "name": "Malmö"},
            )
            assert record.seq == n


async def test_audit_chain_verifies_and_pages(storage: SqliteStorage) -> None:
    """The stored audit log verifies from genesis and reads back whole, across pages and from a
    cursor."""
    await fill_audit(storage, AUDIT_PAGE * 2 + 7)
    records = await audit_list(storage)
    assert [r.seq for r in records] == list(range(1, AUDIT_PAGE * 2 + 8))
    assert verify_chain(records) is None
    assert records[0].prev_hash == bytes(32)
    assert records[4].subject == {"n": 5, "ids": ["0005"], "name": "Malmö"}
    assert [r.seq for r in await audit_list(storage, AUDIT_PAGE * 2)] == list(
        range(AUDIT_PAGE * 2 + 1, AUDIT_PAGE * 2 + 8)
    )


ZERO_HASH = {None: "zeroblob(32)", "pg": "decode(repeat('00', 32), 'hex')"}


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("audit", "at", "at + 1"),
        ("audit", "actor", "'someone'"),
        ("audit", "action", "'nothing_happened'"),
        ("audit", "prev_hash", "ZERO"),
        ("audit", "hash", "ZERO"),
        ("audit", "subject_hash", "ZERO"),
        ("audit", "version", "1"),
        ("audit_subjects", "subject", """'{"n":0}'"""),
        ("audit_subjects", "salt", "ZERO"),
    ],
)
async def test_audit_tampering_is_found(  # noqa: PLR0917 - fixtures and parameters
    storage: Any, tmp_path: Path, database: str | None, table: str, column: str, value: str
) -> None:
    """Changing any field of a stored audit record, its subject or the subject's salt, behind
    the hub's back, is found at exactly that record."""
    await fill_audit(storage, 12)
    value = value.replace("ZERO", ZERO_HASH[None if database is None else "pg"])
    behind_the_hubs_back(
        tmp_path,
        database,
        # whoever holds the file (or is the database's superuser) can drop the guard
        "DROP TRIGGER audit_no_update"
        if database is None
        else "DROP TRIGGER audit_no_update ON audit",
        f"UPDATE {table} SET {column} = {value} WHERE seq = 7",  # noqa: S608
    )
    assert verify_chain(await audit_list(storage)) == 7


async def test_audit_removal_is_found(storage: Any, tmp_path: Path, database: str | None) -> None:
    """Removing a stored audit record is found at the record after it."""
    await fill_audit(storage, 12)
    behind_the_hubs_back(
        tmp_path,
        database,
        "DROP TRIGGER audit_no_delete"
        if database is None
        else "DROP TRIGGER audit_no_delete ON audit",
        "DELETE FROM audit_subjects WHERE seq = 4",  # its subject first (a foreign key)
        "DELETE FROM audit WHERE seq = 4",
    )
    assert verify_chain(await audit_list(storage)) == 5


async def test_audit_log_refuses_changes(
    storage: Any, tmp_path: Path, database: str | None
) -> None:
    """The database itself refuses to change or remove an audit record."""
    await fill_audit(storage, 3)
    statements = ["UPDATE audit SET actor = 'x' WHERE seq = 2", "DELETE FROM audit"]
    if database is not None:
        statements.append("TRUNCATE audit CASCADE")  # audit_subjects refers to it
    for statement in statements:
        with pytest.raises(Exception, match="append-only"):
            behind_the_hubs_back(tmp_path, database, statement)
    assert verify_chain(await audit_list(storage)) is None


async def test_audit_refuses_subject_it_cannot_hash(storage: SqliteStorage) -> None:
    """An audit subject that is not strict JSON (a float) is refused along with its change."""

    async def upload_with_bad_audit() -> None:
        async with storage.transaction() as tx:
            await tx.add_envelope(envelope(1))
            await tx.append_audit(at=1, actor="system", action="x", subject={"f": 1.5})

    with pytest.raises(TypeError):
        await upload_with_bad_audit()
    with pytest.raises(NotFound):
        await storage.get_envelope(envelope(1).message_id)


# --- opening, migrations -------------------------------------------------------------------


async def test_reopen_keeps_data_and_schema(tmp_path: Path) -> None:
    """Restarting the hub keeps every row and does not apply migrations again."""
    data = tmp_path / "data"
    first = await SqliteStorage.open(data)
    async with first.transaction() as tx:
        await tx.add_network(network())
        await tx.add_envelope(envelope(1))
        await tx.append_audit(at=1, actor="system", action="x", subject={})
    await first.close()
    await first.close()  # twice is harmless
    db = raw(tmp_path)
    versions = db.execute("SELECT version, name, applied_at FROM schema_version").fetchall()
    db.execute("UPDATE schema_version SET applied_at = 1")  # a re-run would show a new time
    db.close()
    assert [v[0] for v in versions] == list(range(1, len(versions) + 1))

    second = await SqliteStorage.open(data)
    try:
        assert await second.get_network(NET) == network()
        assert (await second.get_envelope(envelope(1).message_id)).seq == 1
        assert verify_chain(await audit_list(second)) is None
        async with second.transaction() as tx:
            assert await tx.add_envelope(envelope(2)) == 2
    finally:
        await second.close()
    db = raw(tmp_path)
    after = db.execute("SELECT version, name, applied_at FROM schema_version").fetchall()
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    db.close()
    assert after == [(v, name, 1) for v, name, _ in versions]
    assert stat.S_IMODE((data / DB_NAME).stat().st_mode) == 0o600


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    """A database written by a newer hub is not opened by an older one."""
    await (await SqliteStorage.open(tmp_path / "data")).close()
    db = raw(tmp_path)
    db.execute("INSERT INTO schema_version VALUES (999, '0999_future.sql', 0)")
    db.close()
    with pytest.raises(StorageError, match="999"):
        await SqliteStorage.open(tmp_path / "data")


async def test_closed_storage_refuses_work(tmp_path: Path) -> None:
    """After close, reads and transactions are errors, not hangs."""
    storage = await SqliteStorage.open(tmp_path / "data")
    await storage.close()
    with pytest.raises(StorageError):
        await storage.get_network(NET)
    with pytest.raises(StorageError):
        async with storage.transaction():
            pass


# --- blobs ---------------------------------------------------------------------------------


def temp_files(root: Path) -> list[Path]:
    return list((root / "tmp").iterdir())


async def test_blob_commit_and_stream(tmp_path: Path) -> None:
    """A blob larger than one write buffer is stored whole under its message id, private to
    the hub's user."""
    store = FileBlobStore(tmp_path / "blobs")
    data = secrets.token_bytes(FLUSH_BYTES * 2 + 12345)
    pending = await store.write(chunks_of(data, 100_000), max_size=len(data))
    assert pending.size == len(data)
    mid = b"\xab" * 16
    await pending.commit(mid)
    path = store.path_of(mid)
    assert path == tmp_path / "blobs" / "ab" / ("ab" * 16)
    assert path.read_bytes() == data
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert temp_files(store.root) == []
    await pending.discard()  # after commit: nothing to do, the blob stays
    assert path.exists()


async def test_uncommitted_blob_is_invisible(tmp_path: Path) -> None:
    """Until commit a blob is not under its name; discarding it leaves nothing."""
    store = FileBlobStore(tmp_path / "blobs")
    pending = await store.write(chunks_of(b"x" * (FLUSH_BYTES + 1)), max_size=FLUSH_BYTES + 1)
    mid = b"\xcd" * 16
    assert not store.path_of(mid).exists()
    assert len(temp_files(store.root)) == 1  # past FLUSH_BYTES it is on disk, not yet placed
    await pending.discard()
    await pending.discard()
    assert temp_files(store.root) == []
    assert not store.path_of(mid).exists()
    with pytest.raises(StorageError):
        await pending.commit(mid)


async def test_blob_too_large_is_refused(tmp_path: Path) -> None:
    """An upload over the limit is refused as soon as it passes it, and leaves no file."""
    store = FileBlobStore(tmp_path / "blobs")
    sent = 0

    async def endless() -> Any:
        nonlocal sent
        while True:
            sent += 1
            yield b"y" * 65536

    with pytest.raises(BlobTooLarge):
        await store.write(endless(), max_size=FLUSH_BYTES + 10)
    assert sent == FLUSH_BYTES // 65536 + 1  # stopped at the first chunk past the limit
    assert temp_files(store.root) == []
    pending = await store.write(chunks_of(b"z" * 100), max_size=100)  # exactly the limit
    assert pending.size == 100
    await pending.discard()


async def test_failed_upload_leaves_no_file(tmp_path: Path) -> None:
    """An upload whose sender fails half-way (a refused header, a dropped connection) leaves
    no file."""
    store = FileBlobStore(tmp_path / "blobs")

    async def broken() -> Any:
        yield b"a" * (FLUSH_BYTES + 1)
        raise ConnectionResetError

    with pytest.raises(ConnectionResetError):
        await store.write(broken(), max_size=10 * FLUSH_BYTES)
    assert temp_files(store.root) == []


async def test_blob_under_taken_id(tmp_path: Path) -> None:
    """The same envelope uploaded again is accepted; different bytes under a stored message id
    never replace it."""
    store = FileBlobStore(tmp_path / "blobs")
    mid = b"\x42" * 16
    await (await store.write(chunks_of(b"first"), max_size=100)).commit(mid)
    await (await store.write(chunks_of(b"first"), max_size=100)).commit(mid)
    with pytest.raises(AlreadyExists):
        await (await store.write(chunks_of(b"other"), max_size=100)).commit(mid)
    assert store.path_of(mid).read_bytes() == b"first"
    assert temp_files(store.root) == []


async def test_leftover_uploads_removed_at_start(tmp_path: Path) -> None:
    """Half-written uploads from a crash are removed when the hub starts; stored blobs stay."""
    store = FileBlobStore(tmp_path / "blobs")
    mid = b"\x43" * 16
    await (await store.write(chunks_of(b"kept"), max_size=100)).commit(mid)
    half = b"h" * (FLUSH_BYTES + 1)  # past FLUSH_BYTES: a temporary file
    await store.write(chunks_of(half), max_size=len(half))  # never committed: the crash
    (store.root / "tmp" / "stray").write_bytes(b"x")
    assert len(temp_files(store.root)) == 2
    again = FileBlobStore(tmp_path / "blobs")
    assert temp_files(again.root) == []
    assert again.path_of(mid).read_bytes() == b"kept"


# --- crash ---------------------------------------------------------------------------------


async def crash_run(data_dir: Path, run: int, delay: float) -> list[bytes]:
    """Start the writer, let it acknowledge a few envelopes, SIGKILL it `delay` s later, and
    return every message id it acknowledged."""
    script = Path(crash_writer.__file__)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        str(data_dir),
        str(run),
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    lines: list[bytes] = []
    try:
        while len(lines) < 2:
            line = await asyncio.wait_for(proc.stdout.readline(), 15)
            assert line, "the writer ended early"
            lines.append(line)
        await asyncio.sleep(delay)
    finally:
        proc.send_signal(signal.SIGKILL)
        rest = await proc.stdout.read()
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    lines.extend(rest.splitlines(keepends=True))
    return [bytes.fromhex(line.decode()) for line in lines if line.endswith(b"\n")]


async def test_crash_loses_nothing_acknowledged(tmp_path: Path) -> None:
    """Killing the hub at any moment loses no acknowledged envelope and leaves no half-written
    upload or row without its blob."""
    data_dir = tmp_path / "data"
    storage = await SqliteStorage.open(data_dir)
    async with storage.transaction() as tx:
        await tx.add_network(network(crash_writer.NETWORK))
    await storage.close()

    acknowledged: list[bytes] = []
    for run in range(3):
        delay = (50 + secrets.randbelow(400)) / 1000
        acknowledged += await crash_run(data_dir, run, delay)
        storage = await SqliteStorage.open(data_dir)
        try:
            blobs = storage.blobs
            assert isinstance(blobs, FileBlobStore)
            assert temp_files(blobs.root) == []
            for mid in acknowledged:
                row = await storage.get_envelope(mid)
                data = crash_writer.content(mid)
                assert row.size == len(data)
                assert blobs.path_of(mid).read_bytes() == data
            rows = await storage.list_envelopes(
                crash_writer.NETWORK, "A", box="sent", limit=100_000
            )
            assert {r.message_id for r in rows} >= set(acknowledged)
            for row in rows:
                path = blobs.path_of(row.message_id)
                assert path.stat().st_size == row.size
            assert verify_chain([r async for r in storage.audit_records()]) is None
        finally:
            await storage.close()
    assert len(acknowledged) >= 6
    print(f"acknowledged {len(acknowledged)} envelopes over 3 kills", file=sys.stderr)


async def test_many_audit_records_in_one_call_are_stored_in_parts(storage: SqliteStorage) -> None:
    """A group larger than one statement's bound values is split, and the chain holds."""
    entries = [AuditEntry(n, "system", "x", {"case_id": f"{n:032x}"}) for n in range(1, 401)]
    async with storage.transaction() as tx:
        await tx.append_audits(entries)
    records = await audit_list(storage)
    assert [r.subject for r in records] == [e.subject for e in entries]
    assert verify_chain(records) is None

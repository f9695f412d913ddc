"""What only the PostgreSQL backend has: one migration folder for both dialects, prepared
statements off (PgBouncer), blobs in chunks made visible by their row's commit, and claims that
several instances share (FOR UPDATE SKIP LOCKED, an owner and a lease)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import psycopg
import pytest

from hub.storage import migration_files
from hub.storage.audit import verify_chain
from hub.storage.base import BlobTooLarge, NotFound, NoticeRow
from hub.storage.pg_blobs import CHUNK_BYTES, SWEEP_AFTER_SECONDS
from hub.storage.postgres import LEASE_SECONDS, PostgresStorage
from tests.test_storage import NET, OTHER, chunks_of, envelope, network

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[PostgresStorage]:
    storage = await PostgresStorage.open(pg_url)
    async with storage.transaction() as tx:
        await tx.add_network(network())
        await tx.add_network(network(OTHER))
    yield storage
    await storage.close()


def query(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def test_both_dialects_know_the_same_versions() -> None:
    """One folder: each PostgreSQL variant replaces its SQLite migration of the same name, so
    both backends always have the same numbered versions."""
    sqlite = migration_files.migrations("sqlite")
    postgresql = migration_files.migrations("postgresql")
    assert [(v, n) for v, n, _ in sqlite] == [(v, n) for v, n, _ in postgresql]
    assert any(a != b for (_, _, a), (_, _, b) in zip(sqlite, postgresql, strict=True))


@pytest.mark.usefixtures("pg")
async def test_schema_versions_and_reopening(pg_url: str) -> None:
    """The schema is at the newest version once; opening again (a second instance) changes
    nothing, and a newer schema than the hub knows is refused."""
    versions = query(pg_url, "SELECT version, name FROM schema_version ORDER BY version")
    assert versions == [(v, n) for v, n, _ in migration_files.migrations("postgresql")]
    await (await PostgresStorage.open(pg_url)).close()
    assert query(pg_url, "SELECT count(*) FROM schema_version") == [(len(versions),)]
    query(pg_url, "INSERT INTO schema_version VALUES (999, '0999_future.sql', 0)")
    with pytest.raises(Exception, match="999"):
        await PostgresStorage.open(pg_url)


async def test_no_prepared_statements(pg: PostgresStorage) -> None:
    """The same statement many times over prepares nothing on the server: PgBouncer's
    transaction pooling would hand a prepared name to another client's connection."""
    for _ in range(20):
        await pg.get_network(NET)
        async with pg.transaction() as tx:
            await tx.purge_expired(1)
    async with pg._pool.connection() as conn:
        cursor = await conn.execute("SELECT count(*) FROM pg_prepared_statements")
        assert await cursor.fetchone() == (0,)


async def test_blob_in_chunks_visible_only_with_its_row(pg: PostgresStorage, pg_url: str) -> None:
    """A large blob is staged in uncompressed chunks; nothing reads it until the row that
    names it commits; then it streams back in pieces, byte for byte."""
    data = bytes(range(256)) * (CHUNK_BYTES * 3 // 256 + 7)
    pending = await pg.blobs.write(chunks_of(data), max_size=len(data))
    assert pending.in_memory() is None
    assert await pg.blobs.commit_all([(pending, envelope(1).message_id)]) == [True]
    staged = pending.staged()
    assert staged is not None
    assert query(pg_url, "SELECT count(*) FROM blob_chunks") == [(4,)]
    with pytest.raises(NotFound):
        await anext(pg.blobs.read(envelope(1).message_id))
    async with pg.transaction() as tx:
        await tx.add_envelopes([envelope(1)], [staged])
    pieces = [p async for p in pg.blobs.read(envelope(1).message_id)]
    assert b"".join(pieces) == data
    assert max(len(p) for p in pieces) == CHUNK_BYTES
    assert query(pg_url, "SELECT count(*) FROM blob_uploads") == [(0,)]
    # 'e': EXTERNAL, out of line and never compressed (the chunks are ciphertext).
    assert query(
        pg_url,
        "SELECT attstorage FROM pg_attribute WHERE attrelid = 'blob_chunks'::regclass"
        " AND attname = 'data'",
    ) == [("e",)]
    await pending.discard()  # after its row took it: harmless
    assert b"".join([p async for p in pg.blobs.read(envelope(1).message_id)]) == data


async def test_removing_an_envelope_row_removes_its_chunks(
    pg: PostgresStorage, pg_url: str
) -> None:
    """Retention deletes envelope rows: their chunks go with them, nothing is left behind."""
    data = b"r" * (CHUNK_BYTES * 2 + 5)
    pending = await pg.blobs.write(chunks_of(data), max_size=len(data))
    await pg.blobs.commit_all([(pending, envelope(1).message_id)])
    async with pg.transaction() as tx:
        await tx.add_envelopes([envelope(1)], [pending.staged()])
    assert query(pg_url, "SELECT count(*) FROM blob_chunks") == [(3,)]
    query(pg_url, "DELETE FROM envelopes")
    assert query(pg_url, "SELECT count(*) FROM blob_chunks") == [(0,)]
    assert query(pg_url, "SELECT count(*) FROM envelope_blobs") == [(0,)]


async def test_a_row_that_fails_leaves_the_blob_invisible(pg: PostgresStorage) -> None:
    """The row's transaction rolls back: its staged chunks stay unreachable, and are removed
    with the upload."""
    data = b"x" * (CHUNK_BYTES + 1)
    pending = await pg.blobs.write(chunks_of(data), max_size=len(data))
    await pg.blobs.commit_all([(pending, envelope(1).message_id)])

    async def failing() -> None:
        async with pg.transaction() as tx:
            await tx.add_envelopes([envelope(1)], [pending.staged()])
            raise RuntimeError

    with pytest.raises(RuntimeError):
        await failing()
    with pytest.raises(NotFound):
        await pg.get_envelope(envelope(1).message_id)
    await pending.discard()


async def test_refused_and_broken_uploads_leave_no_chunks(pg: PostgresStorage, pg_url: str) -> None:
    """Too large, or the sender's stream breaking, mid-way: nothing of it stays."""

    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield b"y" * 65536

    with pytest.raises(BlobTooLarge):
        await pg.blobs.write(endless(), max_size=CHUNK_BYTES * 3)

    async def broken() -> AsyncIterator[bytes]:
        yield b"z" * (CHUNK_BYTES * 2)
        raise ConnectionResetError

    with pytest.raises(ConnectionResetError):
        await pg.blobs.write(broken(), max_size=CHUNK_BYTES * 10)
    assert query(pg_url, "SELECT count(*) FROM blob_chunks") == [(0,)]
    assert query(pg_url, "SELECT count(*) FROM blob_uploads") == [(0,)]


async def test_staging_left_by_a_crash_is_swept(pg: PostgresStorage, pg_url: str) -> None:
    """An instance killed mid-upload leaves staged chunks; the sweep removes them once old
    enough that no live upload can still be writing them."""
    pending = await pg.blobs.write(chunks_of(b"w" * CHUNK_BYTES), max_size=CHUNK_BYTES)
    del pending  # never committed, never discarded: the process died
    store: Any = pg._blob_store
    assert await store.sweep() == 0
    assert await store.sweep(now=10**10 + SWEEP_AFTER_SECONDS) == 1
    assert query(pg_url, "SELECT count(*) FROM blob_chunks") == [(0,)]


def notice(n: int, at: int = 100) -> NoticeRow:
    return NoticeRow(
        key=f"k{n}",
        cause="c",
        network_id=NET,
        municipality_id="lund",
        audience="contacts",
        address=f"p{n}@lund.example",
        topic="new_message",
        created_at=at,
        next_attempt_at=at,
    )


async def test_instances_claim_each_notice_once(pg: PostgresStorage, pg_url: str) -> None:
    """Three instances claiming at once share the due notices out: each claimed by one, with
    that instance as owner and a lease."""
    async with pg.transaction() as tx:
        for n in range(30):
            await tx.add_notice(notice(n))
    others = [await PostgresStorage.open(pg_url) for _ in range(2)]
    instances = [pg, *others]
    try:

        async def claim(storage: PostgresStorage, name: str) -> list[int]:
            got: list[int] = []
            while True:
                async with storage.transaction() as tx:
                    some = await tx.claim_notices(200, 4, name)
                if not some:
                    return got
                got += [n.id for n in some]
                await asyncio.sleep(0)

        claims = await asyncio.gather(*(claim(s, f"b{i}") for i, s in enumerate(instances)))
        every = [i for c in claims for i in c]
        assert sorted(every) == sorted(set(every))
        assert len(every) == 30
        owners = query(pg_url, "SELECT DISTINCT claimed_by, lease_until FROM notices")
        assert {o for o, _ in owners} <= {s.instance for s in instances}
        assert {lease for _, lease in owners} == {200 + LEASE_SECONDS}
    finally:
        for other in others:
            await other.close()


async def test_only_expired_leases_become_unknown(pg: PostgresStorage) -> None:
    """An instance starting up leaves a live instance's claims alone; once their lease has run
    out they show as unknown, never pending again."""
    async with pg.transaction() as tx:
        await tx.add_notice(notice(1))
        (claimed,) = await tx.claim_notices(100, 10, "b")
    async with pg.transaction() as tx:
        assert await tx.mark_interrupted_sends(100 + LEASE_SECONDS - 1) == 0
    async with pg.transaction() as tx:
        assert await tx.mark_interrupted_sends(100 + LEASE_SECONDS) == 1
    (row,) = await pg.list_notices(NET, ["unknown"])
    assert row.id == claimed.id
    async with pg.transaction() as tx:  # its sender's late answer changes nothing
        await tx.finish_notices([claimed.id], status="sent", at=500)
    assert [n.status for n in await pg.list_notices(NET, ["sent", "unknown"])] == ["unknown"]


async def test_instances_writing_at_once_keep_seqs_and_the_chain(
    pg: PostgresStorage, pg_url: str
) -> None:
    """Two instances storing envelopes at once: every seq once, committed in order, and one
    audit chain that verifies."""
    other = await PostgresStorage.open(pg_url)
    try:

        async def write(storage: PostgresStorage, n: int) -> int:
            async with storage.transaction() as tx:
                seq = await tx.add_envelope(envelope(n))
                await asyncio.sleep(0)
                await tx.append_audit(at=n, actor="system", action="upload", subject={"n": n})
                return seq

        seqs = await asyncio.gather(*(write(pg if n % 2 else other, n) for n in range(1, 41)))
        assert sorted(seqs) == list(range(1, 41))
        records = [r async for r in pg.audit_records()]
        assert verify_chain(records) is None
        assert [r.seq for r in records] == list(range(1, 41))
    finally:
        await other.close()

"""Envelope blobs in PostgreSQL, in chunks (migrations/postgresql/0005_envelope_bodies.sql), so
one backup and one replication cover everything and every instance reaches every envelope.

Writing: the upload is streamed into blob_chunks under a fresh blob id, one chunk a short
transaction, while blob_uploads marks it as staging; no envelope row refers to it, so nothing
can read it. The envelope row's transaction links it (envelope_blobs) and removes the mark, so
the blob becomes visible exactly when its row commits. A blob smaller than one chunk stays in
memory until then (most are stored with their row, hub/server/ingest.py's INLINE_BYTES).
Reading: chunk by chunk, never the whole blob in memory. Staging a crash left behind is swept
when an instance starts, once older than SWEEP_AFTER_SECONDS (another instance may still be
writing a younger one).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import TYPE_CHECKING, Any, Final

from hub.storage.base import BlobTooLarge, NotFound, PendingBlob, StagedBlob, StorageError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from psycopg_pool import AsyncConnectionPool

CHUNK_BYTES: Final = 1024 * 1024
SWEEP_AFTER_SECONDS: Final = 6 * 3600


class PgBlobStore:
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool

    async def _run(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(sql, params)
            return list(await cursor.fetchall()) if cursor.description else []

    async def _put(self, blob_id: bytes, n: int, data: bytes) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            # No wait for this commit's WAL flush: nothing reads a staged chunk until its row
            # commits, and that commit (synchronous) flushes the WAL up to its own record, so
            # every chunk written before it is durable with it. A crash before then loses only
            # staging, which nobody acknowledged.
            await conn.execute("SET LOCAL synchronous_commit = off")
            if n == 0:
                await conn.execute(
                    "INSERT INTO blob_uploads (blob_id, started_at) VALUES (%s, %s)",
                    (blob_id, int(time.time())),
                )
            await conn.execute(
                "INSERT INTO blob_chunks (blob_id, n, data) VALUES (%s, %s, %s)",
                (blob_id, n, data),
            )

    async def drop_staged(self, blob_id: bytes) -> None:
        """Remove a staging's chunks; never a blob that an envelope row already refers to."""
        async with self._pool.connection() as conn, conn.transaction():
            cursor = await conn.execute("DELETE FROM blob_uploads WHERE blob_id = %s", (blob_id,))
            if cursor.rowcount:
                await conn.execute("DELETE FROM blob_chunks WHERE blob_id = %s", (blob_id,))

    async def write(self, chunks: AsyncIterator[bytes], *, max_size: int) -> PendingPgBlob:
        """Stage `chunks`, a CHUNK_BYTES piece at a time; BlobTooLarge as soon as max_size is
        passed. On any failure what was staged is removed."""
        blob_id: bytes | None = None
        n = size = 0
        buffer = bytearray()
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_size:
                    raise BlobTooLarge(f"more than {max_size} bytes")
                buffer += chunk
                while len(buffer) >= CHUNK_BYTES:
                    blob_id = blob_id or secrets.token_bytes(16)
                    await self._put(blob_id, n, bytes(buffer[:CHUNK_BYTES]))
                    del buffer[:CHUNK_BYTES]
                    n += 1
            if blob_id is not None and buffer:
                await self._put(blob_id, n, bytes(buffer))
                buffer = bytearray()
        except BaseException:
            if blob_id is not None:
                await asyncio.shield(self.drop_staged(blob_id))
            raise
        return PendingPgBlob(self, blob_id, size, buffer)

    async def commit_all(self, blobs: Sequence[tuple[PendingBlob, bytes]]) -> list[bool]:
        """Stage what is still in memory. Always True: whether other bytes are stored under
        the id is the row's transaction to find (the same digest, or envelope_id_taken)."""
        for blob, _ in blobs:
            if not isinstance(blob, PendingPgBlob):
                raise TypeError("a blob written by another store")
            await blob.stage()
        return [True] * len(blobs)

    async def read(self, message_id: bytes) -> AsyncIterator[bytes]:
        """The envelope's blob, a chunk at a time (NotFound if it has none here)."""
        rows = await self._run(
            "SELECT b.blob_id FROM envelopes AS e JOIN envelope_blobs AS b ON b.seq = e.seq"
            " WHERE e.message_id = %s",
            (message_id,),
        )
        if not rows:
            raise NotFound("blob")
        blob_id = bytes(rows[0][0])
        n = 0
        while True:
            found = await self._run(
                "SELECT data FROM blob_chunks WHERE blob_id = %s AND n = %s", (blob_id, n)
            )
            if not found:
                return
            yield bytes(found[0][0])
            n += 1

    async def remove(self, message_ids: Sequence[bytes]) -> int:
        """Retention: an envelope's chunks went with its row, in that row's transaction (the
        trigger on envelope_blobs); nothing is left to remove here. The number gone."""
        return len(message_ids)

    async def stored_before(self, at: float) -> list[bytes]:
        """No chunks outlive their row, and staging is swept by `sweep`: none to list."""
        del at
        return []

    async def sweep(self, now: float | None = None) -> int:
        """Remove staging older than SWEEP_AFTER_SECONDS (a crash mid-upload); how many."""
        before = int(time.time() if now is None else now) - SWEEP_AFTER_SECONDS
        rows = await self._run("SELECT blob_id FROM blob_uploads WHERE started_at < %s", (before,))
        for (blob_id,) in rows:
            await self.drop_staged(bytes(blob_id))
        return len(rows)


class PendingPgBlob:
    """Staged chunks, or bytes still in memory; invisible until its row commits."""

    def __init__(
        self, store: PgBlobStore, blob_id: bytes | None, size: int, data: bytearray
    ) -> None:
        self._store = store
        self._blob_id = blob_id
        self._data: bytearray | None = data
        self.size = size
        self._gone = False

    def in_memory(self) -> bytes | None:
        if self._blob_id is not None or self._data is None:
            return None
        return bytes(self._data)

    def staged(self) -> StagedBlob | None:
        return None if self._blob_id is None else StagedBlob(self._blob_id, self.size)

    async def stage(self) -> None:
        """Write bytes still in memory as chunks (commit_all, for a row that will not hold
        them itself)."""
        if self._gone:
            raise StorageError("this blob was already discarded")
        if self._blob_id is not None:
            return
        data = self._data or bytearray()
        blob_id = secrets.token_bytes(16)
        for n, start in enumerate(range(0, max(len(data), 1), CHUNK_BYTES)):
            await self._store._put(blob_id, n, bytes(data[start : start + CHUNK_BYTES]))  # noqa: SLF001
        self._blob_id, self._data = blob_id, None

    async def discard(self) -> None:
        """Remove what was staged, unless its row already took it. Harmless twice."""
        self._gone, self._data = True, None
        if self._blob_id is not None:
            await self._store.drop_staged(self._blob_id)

"""The inbox cache's attachment files (see BLOB_CHUNK): each written and read back encrypted in
chunks, and owned by one draft or outbox item, with which it goes. Mixed into InboxCache
(hub/inbox/cache.py) through the drafts and the outbox that own the files."""

from __future__ import annotations

import asyncio
import os
from typing import IO, TYPE_CHECKING, Self

from hub import files
from hub.crypto import primitives as p

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    import aiosqlite


# Attachments are kept apart from the rows that name them, as files of their own, encrypted in
# chunks (XChaCha20-Poly1305 secretstream, the last chunk marked) under a key derived from the
# cache key and the file's id: a draft or an outbox item holds only {name, media_type, size,
# blob}, so neither a row nor the agent's memory holds a large file whole. Each file has one
# owner, "draft:<id>" or "outbox:<id>" ("pending" between the form and the outbox), and goes
# with it.
BLOB_CHUNK = 64 * 1024
PENDING = "pending"


class BlobFiles:
    """The host class gives `_db`, `folder` and `_key`."""

    _db: aiosqlite.Connection
    folder: Path
    _key: bytes

    def blob_path(self, blob_id: str) -> Path:
        if not blob_id.isalnum():
            raise ValueError("not an attachment id")
        return self.folder / "blobs" / f"{blob_id}.blob"

    def _blob_key(self, blob_id: str) -> bytes:
        return p.blake2b(blob_id.encode(), key=self._key, person=b"hub-cache-blob")

    async def put_blob(self, source: IO[bytes]) -> tuple[str, int]:
        """Encrypt what `source` holds from where it stands into a new file, chunk by chunk,
        off the event loop; (its id, its size). It is "pending" until a draft or an outbox item
        takes it (save_draft, add_outbox), and is dropped at the next start if none does."""
        blob_id = p.random_bytes(16).hex()
        await self._db.execute(
            "INSERT INTO blobs (blob_id, owner) VALUES (?, ?)", (blob_id, PENDING)
        )
        await self._db.commit()
        size = await asyncio.to_thread(
            _encrypt_file, source, self.blob_path(blob_id), self._blob_key(blob_id)
        )
        return blob_id, size

    def open_blob(self, blob_id: str) -> BlobReader:
        """A reader of the attachment's bytes, checked chunk by chunk (blocking: for a thread)."""
        return BlobReader(self.blob_path(blob_id), self._blob_key(blob_id))

    async def _own_blobs(self, owner: str, blobs: Sequence[str], *, drop_others: bool) -> None:
        if drop_others:
            keep = set(blobs)
            async with self._db.execute(
                "SELECT blob_id FROM blobs WHERE owner = ?", (owner,)
            ) as cur:
                dropped = [r[0] for r in await cur.fetchall() if r[0] not in keep]
            await self._drop_blobs(dropped)
        await self._db.executemany(
            "UPDATE blobs SET owner = ? WHERE blob_id = ?", [(owner, b) for b in blobs]
        )

    async def _drop_blobs(self, blob_ids: Sequence[str]) -> None:
        await self._db.executemany("DELETE FROM blobs WHERE blob_id = ?", [(b,) for b in blob_ids])
        await asyncio.to_thread(_unlink_all, [self.blob_path(b) for b in blob_ids])

    async def _drop_owned_by(self, owner: str) -> None:
        async with self._db.execute("SELECT blob_id FROM blobs WHERE owner = ?", (owner,)) as cur:
            await self._drop_blobs([r[0] for r in await cur.fetchall()])

    async def _collect_blobs(self, *, startup: bool) -> None:
        """Drop attachments whose draft or outbox item is gone; at start also those still
        pending (a form that never became a draft or an outbox item), files no row names,
        sealed envelopes left half-sent (they are sealed again) and envelopes left
        half-downloaded (they are fetched again)."""
        orphaned = (
            "SELECT blob_id FROM blobs WHERE"
            " (owner LIKE 'draft:%' AND substr(owner, 7) NOT IN (SELECT draft_id FROM drafts))"
            " OR (owner LIKE 'outbox:%' AND substr(owner, 8) NOT IN (SELECT item_id FROM outbox))"
        )
        if startup:
            orphaned += f" OR owner = '{PENDING}'"
        async with self._db.execute(orphaned) as cur:
            await self._drop_blobs([r[0] for r in await cur.fetchall()])
        await self._db.commit()
        if startup:
            async with self._db.execute("SELECT blob_id FROM blobs") as cur:
                named = {r[0] for r in await cur.fetchall()}
            async with self._db.execute("SELECT item_id FROM outbox") as cur:
                waiting = {r[0] for r in await cur.fetchall()}
            await asyncio.to_thread(_sweep, self.folder, named, waiting)


class AttachmentUnreadable(Exception):  # noqa: N818 - a condition, as AuthenticationFailed
    """An attachment file is missing, or is not what this cache wrote (changed, cut, swapped)."""


class BlobReader:
    """An attachment file read back: each chunk authenticated before its bytes are given out,
    and the end must be the marked last chunk (a cut file is refused, not shortened)."""

    def __init__(self, path: Path, key: bytes) -> None:
        try:
            self._file = path.open("rb")
        except FileNotFoundError:
            raise AttachmentUnreadable from None
        header = self._file.read(p.STREAM_HEADER_BYTES)
        if len(header) != p.STREAM_HEADER_BYTES:
            self._file.close()
            raise AttachmentUnreadable
        self._stream = p.StreamDecryptor(key, header)
        self._buffer = bytearray(BLOB_CHUNK)
        self._ready = memoryview(self._buffer)[:0]
        self._final = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def _pull(self) -> None:
        sealed = self._file.read(BLOB_CHUNK + p.STREAM_OVERHEAD)
        if not sealed:
            raise AttachmentUnreadable  # ended before the marked last chunk: cut short
        try:
            n, tag = self._stream.pull_into(self._buffer, sealed)
        except p.AuthenticationFailed:
            raise AttachmentUnreadable from None
        self._ready = memoryview(self._buffer)[:n]
        if tag == p.STREAM_TAG_FINAL:
            self._final = True
            if self._file.read(1):
                raise AttachmentUnreadable  # something after the last chunk

    def readinto(self, buffer: memoryview, /) -> int:
        while not self._ready and not self._final:
            self._pull()
        n = min(len(buffer), len(self._ready))
        buffer[:n] = self._ready[:n]
        self._ready = self._ready[n:]
        return n

    def read(self, size: int = -1, /) -> bytes:
        out = bytearray()
        while size < 0 or len(out) < size:
            chunk = bytearray(BLOB_CHUNK if size < 0 else min(BLOB_CHUNK, size - len(out)))
            n = self.readinto(memoryview(chunk))
            if not n:
                break
            out += chunk[:n]
        return bytes(out)


def _encrypt_file(source: IO[bytes], path: Path, key: bytes) -> int:
    """Write `source` to `path` encrypted in chunks (the last one marked); its size."""
    header = p.random_bytes(p.STREAM_HEADER_BYTES)
    stream = p.StreamEncryptor(key, header)
    sealed = bytearray(BLOB_CHUNK + p.STREAM_OVERHEAD)
    size = 0
    temp = path.with_suffix(".tmp")
    fd = files.open_private(temp, truncate=True)
    with os.fdopen(fd, "wb") as out:
        out.write(header)
        chunk = source.read(BLOB_CHUNK)
        while True:
            following = source.read(BLOB_CHUNK) if len(chunk) == BLOB_CHUNK else b""
            tag = p.STREAM_TAG_MESSAGE if following else p.STREAM_TAG_FINAL
            n = stream.push_into(sealed, chunk, tag)
            out.write(memoryview(sealed)[:n])
            size += len(chunk)
            if not following:
                break
            chunk = following
    temp.replace(path)
    return size


def _unlink_all(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _sweep(folder: Path, named: set[str], waiting: set[str]) -> None:
    for path in (folder / "blobs").iterdir():
        if path.suffix != ".blob" or path.stem not in named:
            path.unlink(missing_ok=True)
    for path in (folder / "outgoing").iterdir():
        # A sealed envelope of an item still waiting is uploaded again as it is, never
        # sealed anew (hub.inbox.outbox); any other is left over.
        if path.suffix != ".env" or path.stem.rpartition("-")[0] not in waiting:
            path.unlink(missing_ok=True)
    for path in (folder / "envelopes").iterdir():
        if path.suffix in {".part", ".tmp"}:  # a download, or an earlier version's write, cut off
            path.unlink(missing_ok=True)

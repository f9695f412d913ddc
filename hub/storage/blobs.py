"""Envelope blobs on a filesystem path: streamed to a temporary file, fsynced and renamed into
place on commit, so a blob is either whole under its final name or not there at all.

Layout: `root/<first 2 hex of the message id>/<message id hex>`; uploads in progress live in
`root/tmp/` and whatever is left there at start-up (a crash mid-upload) is removed.

A blob smaller than FLUSH_BYTES stays in memory until it is committed, and `commit_all` places
many blobs in one trip to a worker thread (each file fsynced, renamed, each directory fsynced
once): under load the hub commits its uploads in groups (hub/server/ingest.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from typing import TYPE_CHECKING, BinaryIO, TypeVar

from hub.storage.base import (
    AlreadyExists,
    BlobTooLarge,
    NotFound,
    PendingBlob,
    StagedBlob,
    StorageError,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Sequence
    from pathlib import Path

T = TypeVar("T")

FLUSH_BYTES = 1024 * 1024  # bytes gathered per trip to the worker thread
READ_BYTES = 256 * 1024  # bytes read per trip to the worker thread when streaming a blob out
_COMPARE_BYTES = 1024 * 1024
_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


async def _in_thread(fn: Callable[..., T], *args: object) -> T:
    """Run blocking file I/O in a worker thread.

    If the caller is cancelled, the thread still runs to its end; wait for it before passing
    the cancellation on, so nobody closes or unlinks a file while a write is still on it.
    """
    task = asyncio.ensure_future(asyncio.to_thread(fn, *args))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        while not task.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({task})
        if not task.cancelled():
            task.exception()  # retrieved: the cancellation is what the caller gets
        raise


def _write_all(fd: int, data: bytearray) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _same_content(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with a.open("rb") as fa, b.open("rb") as fb:
        while True:
            block_a, block_b = fa.read(_COMPARE_BYTES), fb.read(_COMPARE_BYTES)
            if block_a != block_b:
                return False
            if not block_a:
                return True


def _sync_and_close(fd: int) -> None:
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _open_for_reading(path: Path) -> BinaryIO:
    return path.open("rb")


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def _close_and_remove(fd: int, path: Path) -> None:
    try:
        os.close(fd)
    finally:
        path.unlink(missing_ok=True)


def _open_and_write(path: Path, data: bytearray) -> int:
    fd = os.open(path, _OPEN_FLAGS, 0o600)
    try:
        _write_all(fd, data)
    except BaseException:
        _close_and_remove(fd, path)
        raise
    return fd


class FileBlobStore:
    def __init__(self, root: Path, *, clean_uploads: bool = True) -> None:
        """Create the layout if needed and remove half-written uploads left by a crash (unless
        `clean_uploads` is False: another process, the serving hub, may be writing them).

        Blocking: call at start-up (SqliteStorage.open runs it in a worker thread)."""
        self.root = root
        self.tmp = root / "tmp"
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.tmp.mkdir(mode=0o700, exist_ok=True)
        if clean_uploads:
            for leftover in self.tmp.iterdir():
                leftover.unlink(missing_ok=True)
        # Checking "is that name taken" and renaming onto it must not interleave between two
        # uploads of one message id in this process.
        self._placing = asyncio.Lock()

    def path_of(self, message_id: bytes) -> Path:
        if not message_id:
            raise ValueError("a message id is needed")
        name = message_id.hex()
        return self.root / name[:2] / name

    async def read(self, message_id: bytes) -> AsyncIterator[bytes]:
        """The blob's bytes, a piece at a time (NotFound if no such blob is stored)."""
        try:
            file = await _in_thread(_open_for_reading, self.path_of(message_id))
        except FileNotFoundError:
            raise NotFound("blob") from None
        try:
            while piece := await _in_thread(file.read, READ_BYTES):
                yield piece
        finally:
            await _in_thread(file.close)

    async def write(self, chunks: AsyncIterator[bytes], *, max_size: int) -> PendingFileBlob:
        """Take `chunks` in memory and, past FLUSH_BYTES, stream them to a new temporary file;
        BlobTooLarge as soon as max_size is passed.

        On any failure (too large, the chunks' own error, cancellation) the file is removed."""
        path = self.tmp / secrets.token_hex(16)
        fd: int | None = None
        size = 0
        buffer = bytearray()
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_size:
                    raise BlobTooLarge(f"more than {max_size} bytes")
                buffer += chunk
                if len(buffer) >= FLUSH_BYTES:
                    full, buffer = buffer, bytearray()
                    if fd is None:
                        fd = await _in_thread(_open_and_write, path, full)
                    else:
                        await _in_thread(_write_all, fd, full)
            if buffer and fd is not None:
                await _in_thread(_write_all, fd, buffer)
                buffer = bytearray()
        except BaseException:
            if fd is not None:
                await _in_thread(_close_and_remove, fd, path)
            raise
        return PendingFileBlob(self, fd, path, size, buffer)

    async def commit_all(self, blobs: Sequence[tuple[PendingBlob, bytes]]) -> list[bool]:
        """Make each (blob, message id) durable under its final name, in one trip to a worker
        thread: each file written and fsynced, renamed into place, each directory fsynced
        once. True where the blob is now stored, also when the same bytes already were; False
        where different bytes are stored under that id (this blob is then removed).

        On a failure, cancellation included, every temporary file of the group is removed."""
        if not blobs:
            return []
        files = [(_temp_of(blob), message_id) for blob, message_id in blobs]
        try:
            async with self._placing:
                return await _in_thread(self._place_all, files)
        except BaseException:
            await _in_thread(_remove_all, files)
            raise

    def _place_all(self, files: list[tuple[_Temp, bytes]]) -> list[bool]:
        for temp, _ in files:
            temp.sync_and_close()
        placed: list[bool] = []
        directories: set[Path] = set()
        created = False
        for temp, message_id in files:
            final = self.path_of(message_id)
            if not final.parent.is_dir():
                with contextlib.suppress(FileExistsError):
                    final.parent.mkdir(mode=0o700)
                    created = True
            if final.exists():
                # The same envelope again (a retry after a lost answer) is fine. Different
                # bytes under a taken id would overwrite an envelope already stored: refused.
                placed.append(_same_content(final, temp.path))
                temp.path.unlink(missing_ok=True)
                continue
            temp.path.replace(final)  # os.replace: atomic within the file system
            directories.add(final.parent)
            placed.append(True)
        for directory in sorted(directories):
            _fsync_dir(directory)
        if created:
            _fsync_dir(self.root)  # a new directory's own name must survive too
        return placed

    async def remove(self, message_ids: Sequence[bytes]) -> int:
        """Remove the blobs of `message_ids` (retention, after their rows were committed gone);
        the number of files removed. A missing one is not an error: a run cut short may have
        removed it already."""
        return await _in_thread(self._remove_files, list(message_ids))

    def _remove_files(self, message_ids: list[bytes]) -> int:
        removed = 0
        directories: set[Path] = set()
        for message_id in message_ids:
            path = self.path_of(message_id)
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            removed += 1
            directories.add(path.parent)
        for directory in sorted(directories):
            _fsync_dir(directory)
        return removed

    async def stored_before(self, at: float) -> list[bytes]:
        """The message ids of the blobs placed before `at` (their files' modification time):
        for retention to find blobs no row refers to (a run cut short between the commit and
        the removal). A newer blob may belong to an upload whose row is not committed yet."""
        return await _in_thread(self._stored_before, at)

    def _stored_before(self, at: float) -> list[bytes]:
        found: list[bytes] = []
        for directory in self.root.iterdir():
            if directory == self.tmp or not directory.is_dir() or len(directory.name) != 2:
                continue
            for path in directory.iterdir():
                try:
                    message_id = bytes.fromhex(path.name)
                    if path.stat().st_mtime < at:
                        found.append(message_id)
                except (ValueError, FileNotFoundError):
                    continue
        return sorted(found)


class _Temp:
    """A blob's temporary file: open as `fd`, or not yet written (its bytes in `data`)."""

    def __init__(self, path: Path, fd: int | None, data: bytearray) -> None:
        self.path = path
        self.fd = fd
        self.data = data

    def sync_and_close(self) -> None:
        if self.fd is None:
            self.fd = _open_and_write(self.path, self.data)
        fd, self.fd = self.fd, None
        _sync_and_close(fd)

    def remove(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            _close_and_remove(fd, self.path)
        else:
            self.path.unlink(missing_ok=True)


def _temp_of(blob: PendingBlob) -> _Temp:
    if not isinstance(blob, PendingFileBlob):
        raise TypeError("a blob written by another store")
    return blob.take()


def _remove_all(files: list[tuple[_Temp, bytes]]) -> None:
    for temp, _ in files:
        temp.remove()


class PendingFileBlob:
    """A blob under a temporary name, or still in memory; invisible until committed."""

    def __init__(
        self, store: FileBlobStore, fd: int | None, path: Path, size: int, data: bytearray
    ) -> None:
        self._store = store
        self._temp: _Temp | None = _Temp(path, fd, data)
        self.size = size

    def in_memory(self) -> bytes | None:
        """Its bytes, if none were written to a file (it is under FLUSH_BYTES)."""
        if self._temp is None or self._temp.fd is not None:
            return None
        return bytes(self._temp.data)

    def staged(self) -> StagedBlob | None:
        """Never: a file blob is placed by commit_all, not by the row's transaction."""
        return None

    def take(self) -> _Temp:
        """For the store's commit: the temporary file, once."""
        if self._temp is None:
            raise StorageError("this blob was already committed or discarded")
        temp, self._temp = self._temp, None
        return temp

    async def commit(self, message_id: bytes) -> None:
        """fsync the file, rename it to its final name, fsync the directory.

        AlreadyExists if different bytes are already stored under `message_id` (this blob is
        then removed); identical bytes count as committed."""
        (placed,) = await self._store.commit_all([(self, message_id)])
        if not placed:
            raise AlreadyExists("a different blob is stored under this message id")

    async def discard(self) -> None:
        """Remove the temporary file; harmless after commit or a previous discard."""
        if self._temp is None:
            return
        temp = self.take()
        if temp.fd is not None:  # else nothing of it is on disk
            await _in_thread(temp.remove)

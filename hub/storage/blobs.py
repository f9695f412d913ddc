"""Envelope blobs on a filesystem path: streamed to a temporary file, fsynced and renamed into
place on commit, so a blob is either whole under its final name or not there at all.

Layout: `root/<first 2 hex of the message id>/<message id hex>`; uploads in progress live in
`root/tmp/` and whatever is left there at start-up (a crash mid-upload) is removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from typing import TYPE_CHECKING, TypeVar

from hub.storage.base import AlreadyExists, BlobTooLarge, StorageError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

T = TypeVar("T")

FLUSH_BYTES = 1024 * 1024  # bytes gathered per trip to the worker thread
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


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def _close_and_remove(fd: int, path: Path) -> None:
    try:
        os.close(fd)
    finally:
        path.unlink(missing_ok=True)


class FileBlobStore:
    def __init__(self, root: Path) -> None:
        """Create the layout if needed and remove half-written uploads left by a crash.

        Blocking: call at start-up (SqliteStorage.open runs it in a worker thread)."""
        self.root = root
        self.tmp = root / "tmp"
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.tmp.mkdir(mode=0o700, exist_ok=True)
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

    async def write(self, chunks: AsyncIterator[bytes], *, max_size: int) -> PendingFileBlob:
        """Stream `chunks` to a new temporary file; BlobTooLarge as soon as max_size is passed.

        On any failure (too large, the chunks' own error, cancellation) the file is removed."""
        path = self.tmp / secrets.token_hex(16)
        fd = await _in_thread(os.open, path, _OPEN_FLAGS, 0o600)
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
                    await _in_thread(_write_all, fd, full)
            if buffer:
                await _in_thread(_write_all, fd, buffer)
        except BaseException:
            await _in_thread(_close_and_remove, fd, path)
            raise
        return PendingFileBlob(self, fd, path, size)

    async def place(self, fd: int, temp: Path, message_id: bytes) -> None:
        """PendingFileBlob.commit: make `temp` (open as `fd`) durable under its final name.

        On any failure, cancellation included, the temporary file is closed and removed."""
        try:
            await _in_thread(_sync_and_close, fd)
            async with self._placing:
                await _in_thread(self._place, temp, message_id)
        except BaseException:
            await _in_thread(_remove, temp)
            raise

    def _place(self, temp: Path, message_id: bytes) -> None:
        final = self.path_of(message_id)
        directory = final.parent
        created = False
        if not directory.is_dir():
            with contextlib.suppress(FileExistsError):
                directory.mkdir(mode=0o700)
                created = True
        if final.exists():
            # The same envelope again (a retry after a lost answer) is fine. Different bytes
            # under a taken id would overwrite an envelope already stored: refused.
            same = _same_content(final, temp)
            temp.unlink(missing_ok=True)
            if not same:
                raise AlreadyExists("a different blob is stored under this message id")
            return
        temp.replace(final)  # os.replace: atomic within the file system
        _fsync_dir(directory)
        if created:
            _fsync_dir(self.root)  # the new directory's own name must survive too


class PendingFileBlob:
    """A blob under a temporary name; invisible until `commit`."""

    def __init__(self, store: FileBlobStore, fd: int, path: Path, size: int) -> None:
        self._store = store
        self._fd: int | None = fd
        self._path = path
        self.size = size

    def _take_fd(self) -> int:
        if self._fd is None:
            raise StorageError("this blob was already committed or discarded")
        fd, self._fd = self._fd, None
        return fd

    async def commit(self, message_id: bytes) -> None:
        """fsync the file, rename it to its final name, fsync the directory.

        AlreadyExists if different bytes are already stored under `message_id` (this blob is
        then removed); identical bytes count as committed."""
        await self._store.place(self._take_fd(), self._path, message_id)

    async def discard(self) -> None:
        """Remove the temporary file; harmless after commit or a previous discard."""
        if self._fd is None:
            return
        await _in_thread(_close_and_remove, self._take_fd(), self._path)

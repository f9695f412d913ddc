"""Storing checked uploads in groups: one group commit for every upload that is waiting.

An upload handler checks its envelope as it streams in, then hands the blob and the row to
`GroupCommit.store` and waits. One worker takes every upload waiting at that moment (up to
MAX_GROUP) and commits them together: the blobs in one trip to a worker thread (each file
fsynced and renamed, each directory fsynced once), then the rows, their recipients, their
audit records and notices in one transaction (one fsync of the WAL, synchronous=FULL). Only
then is each upload answered. While one group's transaction commits, the next group's blobs
are placed. Under light load a group is one upload; under load the uploads that arrive during
a commit share the next one, so the fsyncs and the trips to the database's thread are paid
once a group instead of once an upload. Durability is as before: nothing is answered before
its blob and row are durable, and a group that fails answers each of its uploads with that
failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final

from hub.errors import ApiError
from hub.storage.base import AuditEntry

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from hub.storage.base import EnvelopeRow, PendingBlob, StagedBlob, Storage, Transaction

    OnNew = Callable[[Transaction, EnvelopeRow, int], Awaitable[int]]

MAX_GROUP: Final = 64
# An envelope up to this size is stored in the database with its row (no file, no fsync of its
# own); a larger one is a file under blobs/ (hub/storage/blobs.py) or, on PostgreSQL, chunks
# (hub/storage/pg_blobs.py).
INLINE_BYTES: Final = 256 * 1024
log = logging.getLogger("hub.server")


@dataclass(frozen=True)
class Upload:
    """A checked upload: its blob (not yet placed), its row (seq not yet given) and who sent it
    (the audit record's actor)."""

    row: EnvelopeRow
    blob: PendingBlob
    actor: str


@dataclass(frozen=True)
class Stored:
    """The row as stored, with its seq; `new` is False for the same upload again (the row is
    then the first one's); `notices` is how many e-mail notices it queued."""

    row: EnvelopeRow
    new: bool
    notices: int = 0


@dataclass
class _Waiting:
    upload: Upload
    answer: asyncio.Future[Stored]


class GroupCommit:
    def __init__(self, storage: Storage, on_new: OnNew, *, max_group: int = MAX_GROUP) -> None:
        """`on_new(tx, row, at)` runs in the group's transaction for each new row (the
        notices it queues); it returns how many it queued."""
        self._storage = storage
        self._on_new = on_new
        self._max_group = max_group
        self._waiting: list[_Waiting] = []
        self._worker: asyncio.Task[None] | None = None
        self.groups = 0  # committed so far, for tests and the benchmark's notes

    async def store(self, upload: Upload) -> Stored:
        """Commit the upload with the next group; ApiError envelope_id_taken if other bytes or
        another sender's envelope are stored under its message id (nothing is then stored)."""
        answer: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(upload, answer))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._run(), name="group-commit")
        # A handler cancelled while it waits (a dropped connection) does not take its upload
        # out of the group: it is committed all the same, as when an answer is lost.
        return await asyncio.shield(answer)

    async def close(self) -> None:
        """Wait for the groups already taken; nothing new may be stored after this."""
        if self._worker is not None:
            with contextlib.suppress(Exception):
                await self._worker

    async def _run(self) -> None:
        """Two stages: the next group's blobs are placed while the previous group's
        transaction commits (each row still only after its own blob); rows commit in order."""
        rows: asyncio.Task[None] | None = None
        try:
            while self._waiting or rows is not None:
                if not self._waiting:
                    # Uploads that arrive while the last group commits are taken after it: the
                    # worker ends only with nothing waiting and nothing committing.
                    assert rows is not None  # noqa: S101 - the loop's condition
                    await rows
                    rows = None
                    continue
                group = self._waiting[: self._max_group]
                del self._waiting[: self._max_group]
                bodies = [_inline(w.upload) for w in group]
                files = [w.upload for w, body in zip(group, bodies, strict=True) if body is None]
                try:
                    on_disk = iter(
                        await self._storage.blobs.commit_all(
                            [(u.blob, u.row.message_id) for u in files]
                        )
                    )
                except Exception as exc:  # noqa: BLE001 - each upload of the group answers it
                    _fail(group, exc)
                    continue
                placed = [next(on_disk) if body is None else body for body in bodies]
                if rows is not None:
                    await rows
                rows = asyncio.create_task(self._store(group, placed))
        except BaseException:
            if rows is not None:
                rows.cancel()
            raise

    async def _store(self, group: list[_Waiting], placed: list[bytes | bool]) -> None:
        try:
            results = await self._commit([w.upload for w in group], placed)
        except Exception as exc:  # noqa: BLE001 - each upload of the group answers it
            _fail(group, exc)
            return
        except BaseException:
            for waiting in group:
                waiting.answer.cancel()
            raise
        self.groups += 1
        for waiting, result in zip(group, results, strict=True):
            if waiting.answer.done():
                continue
            if isinstance(result, Stored):
                waiting.answer.set_result(result)
            else:
                waiting.answer.set_exception(result)

    async def _commit(
        self, group: list[Upload], placed: list[bytes | bool]
    ) -> list[Stored | ApiError]:
        """`placed`: each upload's bytes to keep in the database, or whether its file is now
        stored (False: other bytes are stored under its message id)."""
        results: list[Stored | ApiError] = []
        fresh: list[Upload] = []
        bodies: list[bytes | StagedBlob | None] = []
        async with self._storage.transaction() as tx:
            stored = await tx.find_envelopes([u.row.message_id for u in group])
            for upload, blob_placed in zip(group, placed, strict=True):
                row = upload.row
                earlier = stored.get(row.message_id)
                if earlier is not None:
                    results.append(_again(earlier, row))
                elif blob_placed is False:
                    results.append(ApiError("envelope_id_taken"))
                else:
                    stored[row.message_id] = row  # a second of the same id in this group
                    fresh.append(upload)
                    # Kept with the row, or chunks staged in the database that the row's
                    # transaction makes visible, or (neither) a file already in place.
                    body = blob_placed if isinstance(blob_placed, bytes) else None
                    bodies.append(body if body is not None else upload.blob.staged())
                    results.append(Stored(row, new=True))
            seqs = await tx.add_envelopes([u.row for u in fresh], bodies)
            numbered = {u.row.message_id: seq for u, seq in zip(fresh, seqs, strict=True)}
            await tx.append_audits([_audit_entry(u) for u in fresh])
            notices = {
                u.row.message_id: await self._on_new(tx, u.row, u.row.received_at) for u in fresh
            }
        for upload, result in zip(group, results, strict=True):
            if not (isinstance(result, Stored) and result.new):
                await upload.blob.discard()  # a repeat or a refusal: what it staged goes
        return [_numbered(result, numbered, notices) for result in results]


def _inline(upload: Upload) -> bytes | None:
    """The upload's bytes if it is stored in the database (small and still in memory)."""
    if upload.blob.size > INLINE_BYTES:
        return None
    return upload.blob.in_memory()


def _fail(group: list[_Waiting], exc: Exception) -> None:
    for waiting in group:
        if not waiting.answer.done():
            waiting.answer.set_exception(exc)


def _again(earlier: EnvelopeRow, row: EnvelopeRow) -> Stored | ApiError:
    """The same sender's same bytes are the same upload; anything else under the id is not."""
    if earlier.sender_key_id != row.sender_key_id or earlier.digest != row.digest:
        return ApiError("envelope_id_taken")
    return Stored(earlier, new=False)


def _numbered(
    result: Stored | ApiError, seqs: dict[bytes, int], notices: dict[bytes, int]
) -> Stored | ApiError:
    """Give a row stored in this group its seq (also where it is the earlier row of a repeat)."""
    if isinstance(result, ApiError) or result.row.seq:
        return result
    message_id = result.row.message_id
    return replace(
        result,
        row=replace(result.row, seq=seqs[message_id]),
        notices=notices.get(message_id, 0) if result.new else 0,
    )


def _audit_entry(upload: Upload) -> AuditEntry:
    row = upload.row
    return AuditEntry(
        at=row.received_at,
        actor=upload.actor,
        action="envelope_uploaded",
        subject={
            "message_id": row.message_id.hex(),
            "kind": row.kind,
            "to": list(row.recipient_municipalities),
            "size": row.size,
        },
    )

"""Sending: the outbox, where everything a person sends waits until the hub has taken it.

Each item is a list of steps (create the case, send an envelope and its case event, an event
alone, close without a move). One flush runs at a time; each step moves through its states
and each state is kept on disk before the next one starts, so a step is done once however
often the outbox is flushed, interrupted or answered with an error:

    envelope:  waiting -> sealed (message id, signed bytes on disk) -> uploaded
               [-> signed (its case steps, hub.inbox.stepping)] -> done
    event:     waiting -> signed -> done
    create:    waiting -> done

Case steps are signed once, when their turn comes (so they continue the chain as it then
stands), and resent unchanged after a lost answer: the hub takes the same bytes as the same.

An envelope is sealed once. A retry uploads the same signed bytes again, under the same
message id, and the hub takes a repeated upload from the same sender as the same one
(docs/api.md). Only when the hub refuses the sealed envelope's recipients (a key changed in
between) is it sealed anew, under a new id: the hub never took the first.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from hub.client.api import RemoteError
from hub.crypto.directory import Role as DirectoryRole
from hub.crypto.format import MessageKind
from hub.inbox.cache_outbox import StepProgress

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from pathlib import Path

    from hub.client.api import HubClient
    from hub.inbox.cache import InboxCache

UPLOAD_CHUNK = 256 * 1024


class Op(enum.StrEnum):
    CREATE_CASE = "create_case"
    CLOSE_NOT_MOVED = "close_not_moved"
    EVENT = "event"
    ENVELOPE = "envelope_event"


@dataclass(frozen=True)
class Step:
    """One step of an outbox item, as kept (encrypted) in the cache."""

    op: Op
    municipality: str = ""  # the request the event is about
    event: str | None = None
    details: dict[str, Any] | None = None
    kind: MessageKind | None = None  # an envelope's
    to: str = ""  # the municipality an envelope is sealed to (besides our own)
    role: DirectoryRole = DirectoryRole.CONTACT_PERSON  # the role of its keys
    document: dict[str, Any] | None = None
    attachments: tuple[dict[str, Any], ...] = ()

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Step:
        op = Op(value["op"])
        if op is Op.CLOSE_NOT_MOVED:  # a step on the case itself, in its own batch
            value = {**value, "event": "close_not_moved"}
        kind = value.get("kind")
        return cls(
            op=op,
            municipality=str(value.get("municipality", "")),
            event=value.get("event"),
            details=value.get("details") or None,
            kind=None if kind is None else MessageKind(kind),
            to=str(value.get("to") or value.get("municipality", "")),
            role=DirectoryRole(value.get("role", DirectoryRole.CONTACT_PERSON)),
            document=value.get("document"),
            attachments=tuple(value.get("attachments", ())),
        )


@dataclass
class SendProgress:
    """What the outbox is sending now, in counts only (for /status.json): never content."""

    envelopes: int  # envelopes in the item being sent (one per receiving municipality)
    done: int = 0  # of them uploaded
    stage: str = "encrypting"  # the current one: "encrypting", then "uploading"
    sent: int = 0  # its bytes handed to the connection so far
    size: int = 0  # its size once sealed

    def as_json(self) -> dict[str, int | str]:
        return {
            "envelopes": self.envelopes,
            "done": self.done,
            "stage": self.stage,
            "sent": self.sent,
            "size": self.size,
        }


@dataclass
class ItemRunner:
    """Runs one outbox item's steps against the hub, keeping each step's state in the cache."""

    cache: InboxCache
    client: HubClient
    # Seal a step's envelope for the case into the file at the path: (its message id, its
    # size). The agent's, since only it holds the keys and the verified directory.
    seal: Callable[[Step, bytes, Path], Awaitable[tuple[bytes, int]]]
    # Sign a step's case steps, naming the envelope that carries it (hub.inbox.stepping).
    sign: Callable[[Step, bytes, bytes | None], Awaitable[list[dict[str, str]]]]
    progress: SendProgress

    async def run(self, item_id: str, case_id: bytes, steps: list[Step]) -> None:
        for index, step in enumerate(steps):
            state = await self.cache.step_progress(item_id, index)
            if state.done:
                self.progress.done += step.op is Op.ENVELOPE
                continue  # done before an interruption: never twice
            if step.op is Op.CREATE_CASE:
                with contextlib.suppress(RemoteError):  # ours already (a retry)
                    await self.client.create_case(case_id)
            elif step.op in {Op.CLOSE_NOT_MOVED, Op.EVENT}:
                await self._steps(item_id, index, case_id, step, state, message_id=None)
            else:
                await self._envelope(item_id, index, case_id, step, state)
            await self.cache.set_step_progress(item_id, index, StepProgress(done=True))

    async def _envelope(
        self, item_id: str, index: int, case_id: bytes, step: Step, state: StepProgress
    ) -> None:
        sealed = self.cache.outgoing_path(f"{item_id}-{index}")
        if state.uploaded is None:
            message_id = state.sealed
            if message_id is None or not await asyncio.to_thread(sealed.exists):
                message_id = await self._seal(item_id, index, case_id, step, sealed)
            try:
                await self._upload(sealed, step)
            except RemoteError as exc:
                if exc.code != "envelope_recipients_mismatch":
                    raise
                # A key changed since it was sealed; the hub took nothing: seal it anew.
                message_id = await self._seal(item_id, index, case_id, step, sealed)
                await self._upload(sealed, step)
            state = StepProgress(sealed=message_id, uploaded=message_id)
            await self.cache.set_step_progress(item_id, index, state)
            await asyncio.to_thread(sealed.unlink, missing_ok=True)
        self.progress.done += 1
        if step.event is not None:
            await self._steps(item_id, index, case_id, step, state, message_id=state.uploaded)

    async def _steps(  # noqa: PLR0913 - the step, where it stands, and its envelope
        self,
        item_id: str,
        index: int,
        case_id: bytes,
        step: Step,
        state: StepProgress,
        *,
        message_id: bytes | None,
    ) -> None:
        """Sign the step's case steps once, keep them, and send them until the hub has them."""
        if state.signed is None:
            signed = await self.sign(step, case_id, message_id)
            state = replace(state, signed=tuple(signed))
            await self.cache.set_step_progress(item_id, index, state)
        assert state.signed is not None  # noqa: S101 - signed above or before an interruption
        await self.client.post_steps(case_id, list(state.signed))

    async def _seal(
        self, item_id: str, index: int, case_id: bytes, step: Step, sealed: Path
    ) -> bytes:
        self.progress.stage, self.progress.sent, self.progress.size = "encrypting", 0, 0
        message_id, size = await self.seal(step, case_id, sealed)
        self.progress.size = size
        await self.cache.set_step_progress(item_id, index, StepProgress(sealed=message_id))
        return message_id

    async def _upload(self, sealed: Path, step: Step) -> None:
        self.progress.stage, self.progress.sent = "uploading", 0
        self.progress.size = self.progress.size or (await asyncio.to_thread(sealed.stat)).st_size
        await self.client.upload(_read_counted(sealed, self.progress), [step.to])


async def _read_counted(path: Path, progress: SendProgress) -> AsyncIterator[bytes]:
    """A sealed envelope from its file in chunks for the upload, counting what has gone."""
    with path.open("rb") as envelope:
        while chunk := await asyncio.to_thread(envelope.read, UPLOAD_CHUNK):
            yield chunk
            progress.sent += len(chunk)

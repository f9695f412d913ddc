"""Sending: what a person sends becomes an outbox item (hub.inbox.outbox) at once, and goes
to the hub when it can. Envelopes are sealed here, on this machine, to the keys the verified
directory makes valid now for the addressed municipality and for our own (so colleagues and
successors can read what was sent).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import secrets
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

import aiohttp

from hub.client.api import RemoteError
from hub.crypto.directory import Role as DirectoryRole
from hub.crypto.envelope import AttachmentSource, seal
from hub.crypto.format import MessageKind
from hub.errors import MESSAGES, AuthorityError, HubError, LifecycleError
from hub.inbox.cache_blobs import AttachmentUnreadable
from hub.inbox.outbox import ItemRunner, Op, SendProgress, Step
from hub.inbox.receiving import create_private
from hub.inbox.stepping import Stepper

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence
    from pathlib import Path

    from hub.crypto.keys import PrivateIdentity
    from hub.inbox.cache import InboxCache
    from hub.inbox.session import Session

UNREADABLE_ATTACHMENT = (
    "En bilaga i utkorgen gick inte att läsa: filen saknas eller har ändrats på den här datorn. "
    "Det som skulle skickas med den har tagits bort ur utkorgen. Skicka det igen."
)
# Nothing with content is sealed to a directory no quorum of witnesses has cosigned lately
# (docs/protocol.md §12.4); steps without content (a withdrawal, a cancel) go meanwhile.
STALE_VIEW = "checkpoint_stale"
# An attachment kept in the cache until it is sent: {"name", "media_type", "size", "blob"}, the
# last the id of its encrypted file (InboxCache.put_blob). Rows name it; they never hold it.
StoredFile = dict[str, Any]


@dataclass
class Attachment:
    name: str
    media_type: str
    data: bytes


@dataclass
class Sender:
    session: Session
    cache: InboxCache
    identity: PrivateIdentity
    clock: Callable[[], float]
    after_queue: Callable[[], Awaitable[None]] | None = None  # e.g. flush, then sync
    sending: SendProgress | None = None  # the outbox item on its way to the hub, if any
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one flush at a time

    def __post_init__(self) -> None:
        self.stepper = Stepper(self.session, self.cache, self.identity, self.clock)

    # --- what a person sends, queued ------------------------------------------------------

    async def inquiry(
        self,
        document: dict[str, Any],
        attachments: Sequence[Attachment | StoredFile],
        municipalities: list[str],
        *,
        pre: bool = False,
        case_id: bytes | None = None,
    ) -> bytes:
        """Create the case and one envelope per asked municipality (so none of them learns who
        else was asked). Returns the case id. `pre`: a förhandsförfrågan (kind PRE_INQUIRY);
        `case_id`: the formal inquiry in our open case, to those that said yes to one."""
        steps: list[dict[str, Any]] = [] if case_id else [{"op": "create_case"}]
        case_id = case_id or secrets.token_bytes(16)
        stored = await self._stored(attachments)
        kind, event = (
            (MessageKind.PRE_INQUIRY, "send_pre_inquiry")
            if pre
            else (MessageKind.INQUIRY, "send_inquiry")
        )
        steps += [
            {
                "op": "envelope_event",
                "municipality": municipality,
                "kind": int(kind),
                "event": event,
                "document": document,
                "attachments": stored,  # each file once, named by every envelope
            }
            for municipality in municipalities
        ]
        await self._queue(case_id, steps, stored)
        return case_id

    async def answer(  # noqa: PLR0913 - each is part of the one action
        self,
        case_id: bytes,
        event: str,
        *,
        target: str,
        document: dict[str, Any] | None,
        details: dict[str, Any] | None = None,
        attachments: Sequence[Attachment | StoredFile] = (),
    ) -> None:
        """An event on a case; with a document it travels sealed to the other side first."""
        step: dict[str, Any] = {
            "op": "event",
            "municipality": target,
            "event": event,
            "details": details or {},
        }
        stored: list[StoredFile] = []
        if document is not None:
            stored = await self._stored(attachments)
            step = {
                **step,
                "op": "envelope_event",
                "kind": int(_kind_for(event)),
                "document": document,
                "to": await self._other_side(case_id, target),
                "attachments": stored,
            }
        await self._queue(case_id, [step], stored)

    async def message(
        self,
        case_id: bytes,
        target: str,
        document: dict[str, Any],
        attachments: Sequence[Attachment | StoredFile],
    ) -> None:
        """A free-text message in the case thread, sealed to the other side."""
        stored = await self._stored(attachments)
        step = {
            "op": "envelope_event",
            "municipality": target,
            "to": await self._other_side(case_id, target),
            "event": None,
            "kind": int(MessageKind.MESSAGE),
            "document": document,
            "attachments": stored,
        }
        await self._queue(case_id, [step], stored)

    async def close_not_moved(self, case_id: bytes) -> None:
        """End our case without a move: every open request withdrawn and the case closed, in
        one signed batch."""
        await self._queue(case_id, [{"op": "close_not_moved"}])

    def county_board(self) -> str | None:
        """The county board an outcome note goes to: the directory name with valid keys of
        role county_board now (the first by name, should a network list two); None if none."""
        directory = self.session.directory
        if directory is None:
            return None
        now = int(self.clock())
        board = DirectoryRole.COUNTY_BOARD
        boards = sorted(directory.municipalities(role=board))
        return next((b for b in boards if directory.valid_keys(b, now, role=board)), None)

    async def outcome_note(self, case_id: bytes, text: str) -> bool:
        """The outcome report's reasons in words, sealed end to end to the county board's own
        keys (kind OUTCOME_NOTE; never in the report the hub reads). False when the directory
        has no county-board key: nothing is queued."""
        board = self.county_board()
        if board is None:
            return False
        step: dict[str, Any] = {
            "op": "envelope_event",
            "municipality": board,
            "to": board,
            "role": str(DirectoryRole.COUNTY_BOARD),
            "event": None,
            "kind": int(MessageKind.OUTCOME_NOTE),
            "document": {"outcome_note": {"v": 1, "text": text}},
            "attachments": [],
        }
        await self._queue(case_id, [step])
        return True

    async def store_attachment(self, name: str, media_type: str, source: IO[bytes]) -> StoredFile:
        """Keep an attachment in the cache (encrypted, off the event loop) until it is sent."""
        blob, size = await self.cache.put_blob(source)
        return {"name": name, "media_type": media_type, "size": size, "blob": blob}

    async def _stored(self, attachments: Sequence[Attachment | StoredFile]) -> list[StoredFile]:
        return [
            await self.store_attachment(a.name, a.media_type, io.BytesIO(a.data))
            if isinstance(a, Attachment)
            else a
            for a in attachments
        ]

    async def _other_side(self, case_id: bytes, target: str) -> str:
        """Whom an answer or a message in this case is sealed to: the case's sender when we
        were asked, else the asked municipality it names."""
        view = await self.cache.get_case(case_id)
        sender = view["from"] if view else target
        return str(sender) if sender != self.session.municipality else target

    async def queue_quietly(self, case_id: bytes, steps: list[dict[str, Any]]) -> None:
        """Queue an item the agent makes itself (a colleague's handover, hub.inbox.handover),
        to go with the next flush rather than flushing from inside a sync."""
        await self._queue(case_id, steps, flush=False)

    async def _queue(
        self,
        case_id: bytes,
        steps: list[dict[str, Any]],
        attachments: Sequence[StoredFile] = (),
        *,
        flush: bool = True,
    ) -> None:
        item_id = f"{int(self.clock() * 1000):015d}-{secrets.token_hex(4)}"
        await self.cache.add_outbox(
            item_id,
            {"case_id": case_id.hex(), "steps": steps},
            int(self.clock()),
            blobs=[a["blob"] for a in attachments],
        )
        if flush and self.after_queue is not None:
            await self.after_queue()

    # --- the outbox, flushed ------------------------------------------------------------

    async def flush(self) -> None:
        """Send what waits, in order; stop at the first failure and keep the rest. One flush
        at a time: a second waits for the first, then finds its steps done."""
        async with self._lock:
            await self._flush()

    async def _flush(self) -> None:
        notices = self.session.notices
        for item_id, body in await self.cache.outbox():
            steps = [Step.from_json(step) for step in body["steps"]]
            self.sending = SendProgress(sum(1 for s in steps if s.op is Op.ENVELOPE))
            try:
                client = await self.session.hub()
                runner = ItemRunner(
                    self.cache, client, self._seal_step, self._sign_step, self.sending
                )
                await runner.run(item_id, bytes.fromhex(body["case_id"]), steps)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                self.session.online = False
                await self.cache.outbox_failed(item_id, type(exc).__name__)
                return
            except RemoteError as exc:
                await self.cache.outbox_failed(item_id, exc.code)
                if exc.status >= 500:  # the hub failed, not the item: try again later
                    return
                said = MESSAGES.get(exc.code, f"Koden är {exc.code}.")
                notices.append({"level": "warning", "text": f"Hubben avvisade en åtgärd. {said}"})
                await self.cache.outbox_done(item_id)
                continue
            except LifecycleError as exc:  # overtaken here: the chain no longer allows it
                await self.cache.outbox_failed(item_id, exc.code)
                notices.append({"level": "warning", "text": exc.message})
                await self.cache.outbox_done(item_id)
                continue
            except AttachmentUnreadable:  # gone or changed on this disk: it can never go
                await self.cache.outbox_failed(item_id, "attachment_unreadable")
                notices.append({"level": "warning", "text": UNREADABLE_ATTACHMENT})
                await self.cache.outbox_done(item_id)
                continue
            except HubError as exc:  # refused here, before the hub saw it: keep it, say why
                await self.cache.outbox_failed(item_id, exc.code)
                notice = {"level": "warning", "text": exc.message}
                if notice not in notices:
                    notices.append(notice)
                if exc.code == STALE_VIEW:
                    continue  # content waits for a fresh view; what carries none still goes
                return
            finally:
                self.sending = None
            await self.cache.outbox_done(item_id)

    async def _sign_step(
        self, step: Step, case_id: bytes, message_id: bytes | None
    ) -> list[dict[str, str]]:
        assert step.event is not None  # noqa: S101 - only steps with an event are signed
        return await self.stepper.sign(
            await self.session.hub(),
            case_id,
            municipality=step.municipality,
            event=step.event,
            details=step.details,
            message_id=message_id,
        )

    async def _seal_step(self, step: Step, case_id: bytes, path: Path) -> tuple[bytes, int]:
        """Seal off the event loop (the pages and /status.json keep answering), to the keys
        the hub will check: the directory fetched again first, and only to a view a quorum of
        the network's witnesses has cosigned within its limit (else checkpoint_stale: the item
        waits in the outbox and the person is told why; a step without content still goes)."""
        await self.session.refresh_directory()
        self.session.require_fresh()
        seen = await self._thread_seen(case_id, step.to)
        return await asyncio.to_thread(self._seal_to_file, step, case_id, path, seen)

    async def _thread_seen(self, case_id: bytes, other: str) -> list[bytes]:
        """The messages of this case between us and `other` that we hold, sent or received:
        the thread the envelope names as seen, so that `other` can tell when one never reached
        it. Never another municipality's: B must not learn whom else A asked."""
        me = self.session.municipality
        return [
            e.message_id
            for e in await self.cache.envelopes_of_case(case_id)
            if (e.sender == me and other in e.recipients)
            or (e.sender == other and me in e.recipients)
        ]

    def _seal_to_file(
        self, step: Step, case_id: bytes, path: Path, seen: Sequence[bytes]
    ) -> tuple[bytes, int]:
        """Seal the step's envelope to every key valid now of `step.to` (its keys in
        `step.role`: the county board's for an outcome note) and of our own municipality, into
        the file at `path`, reading each attachment from its encrypted file as it goes
        (blocking: for a thread). Returns its message id and size."""
        directory, me = self.session.directory, self.session.municipality
        assert directory is not None  # noqa: S101 - _seal_step fetched it
        assert step.kind is not None  # noqa: S101 - an envelope step names its kind
        now = int(self.clock())
        if step.role == DirectoryRole.CONTACT_PERSON:
            recipients = directory.recipients_for([step.to, me], now)
        else:
            addressed = directory.valid_keys(step.to, now, role=step.role)
            if not addressed:
                raise AuthorityError("recipient_no_valid_key", "the addressee has no valid key")
            own = directory.recipients_for([me], now)
            found = {e.key_id: e.identity for e in addressed} | {i.key_id: i for i in own}
            recipients = [found[k] for k in sorted(found)]
        with contextlib.ExitStack() as open_files:
            sources = [
                AttachmentSource(
                    a["name"],
                    a["media_type"],
                    a["size"],
                    open_files.enter_context(self.cache.open_blob(a["blob"])),
                )
                if "blob" in a
                else _from_row(a)  # kept in the row itself by an earlier version
                for a in step.attachments
            ]
            out = open_files.enter_context(create_private(path))
            sealed = seal(
                out,
                sender=self.identity,
                recipients=recipients,
                kind=step.kind,
                case_id=case_id,
                document=step.document or {},
                attachments=sources,
                created_at=now,
                seen=seen,
            )
            return sealed.header.message_id, out.tell()


def _kind_for(event: str) -> MessageKind:
    if event in {"accept", "decline", "pre_inquiry_yes", "pre_inquiry_no"}:
        return MessageKind.ANSWER
    if event == "withdraw":
        return MessageKind.WITHDRAWAL
    return MessageKind.MESSAGE


def _from_row(a: dict[str, Any]) -> AttachmentSource:
    """An attachment an earlier version kept base64 inside the outbox row itself."""
    data = base64.b64decode(a["data"])
    return AttachmentSource(a["name"], a["media_type"], len(data), io.BytesIO(data))

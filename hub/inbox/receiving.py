"""Receiving: fetch what the hub lists, verify it, and file it by its signed header.

The listing only says where to fetch. Each envelope is downloaded to a private file, opened
against the directory verified with the administrator's pinned key (off the event loop), and
judged on its signed message id: one seen before is a replay, whatever id the hub gave it. What
is kept, and the receipt signed for it, come from the verified envelope alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from hub import files
from hub.client.api import RemoteError
from hub.crypto.envelope import OpenedMessage, open_envelope, read_header
from hub.crypto.receipts import make_receipt, verify_receipt
from hub.crypto.rewrap import may_hand_across
from hub.errors import HubError
from hub.inbox.facts import EnvelopeFacts, Listed, envelope_facts

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Container, Generator, Iterator

    from hub.client.api import HubClient
    from hub.crypto.directory import Directory
    from hub.crypto.format import Header
    from hub.crypto.keys import PrivateIdentity
    from hub.crypto.rewrap import HandedAcross, HandedKey
    from hub.inbox.cache import InboxCache

log = logging.getLogger("hub.inbox")


ATTACHMENT_BLOCK = 256 * 1024  # an opened attachment is given out in blocks of this size


@dataclass(frozen=True)
class OpenedAttachment:
    """One attachment of a verified message, given out in chunks (Receiver.open_attachment)."""

    name: str
    media_type: str
    size: int
    chunks: AsyncIterator[bytes]


async def _off_the_loop(blocks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Each block read in a thread, so a large attachment never stalls the pages."""
    while block := await asyncio.to_thread(next, blocks, b""):
        yield block


def stored_header(path: Path) -> Header:
    """The header of a stored envelope: its first bytes only, not the whole file."""
    with path.open("rb") as src:
        return read_header(src)


@dataclass(frozen=True)
class Opened:
    """A verified envelope: its facts, and its content as kept in the cache (the document as
    the sender's JSON, the attachment list)."""

    facts: EnvelopeFacts
    content: dict[str, Any]


@dataclass(frozen=True)
class Refused:
    """An envelope that did not verify, or a replay: why, by its error code."""

    code: str


def create_private(path: Path) -> BinaryIO:
    """A new file only this user can read (0600), for ciphertext on its way in or out."""
    return os.fdopen(files.open_private(path, truncate=True), "wb")


def open_file(  # noqa: PLR0913 - what opens it, and against what
    path: Path,
    workdir: Path,
    *,
    identity: PrivateIdentity,
    directory: Directory,
    now: int,
    seen: Container[bytes] = frozenset(),
    file_key: bytes | None = None,
) -> OpenedMessage:
    """open_envelope reading the file as it goes (blocking: for a thread); with `file_key`,
    as a successor opens what a colleague handed over (docs/protocol.md §6)."""
    with path.open("rb") as src:
        if file_key is not None:
            return open_envelope(
                src, file_key=file_key, sender_keys=directory, workdir=workdir, now=now, seen=seen
            )
        return open_envelope(
            src, recipient=identity, sender_keys=directory, workdir=workdir, now=now, seen=seen
        )


@dataclass
class Receiver:
    identity: PrivateIdentity
    network: str
    cache: InboxCache
    clock: Callable[[], float]
    # Our keys from before a stolen machine (hub.localagent.previous_keys): only to open.
    previous: tuple[PrivateIdentity, ...] = ()

    def key_for(self, path: Path) -> PrivateIdentity:
        """Which of our keys the stored envelope at `path` is sealed to: the current one, else
        an earlier one of ours (blocking: reads its header)."""
        if not self.previous:
            return self.identity
        named = set(stored_header(path).recipient_key_ids)
        for key in (self.identity, *self.previous):
            if key.key_id in named:
                return key
        return self.identity

    async def fetch(
        self,
        client: HubClient,
        listed: Listed,
        directory: Directory,
        *,
        handed: HandedKey | None = None,
        across: HandedAcross | None = None,
    ) -> tuple[Path, Opened | Refused]:
        """Download the listed envelope into the cache's incoming file and verify it there;
        the file stays for the caller to keep (InboxCache.put_received) or drop."""
        received = self.cache.incoming_path(listed.message_id)
        try:
            with await asyncio.to_thread(create_private, received) as target:
                await client.download_to(listed.message_id, target)
        except BaseException:
            await asyncio.to_thread(received.unlink, missing_ok=True)
            raise
        return received, await self.verify(
            received, listed, directory, handed=handed, across=across
        )

    async def verify(
        self,
        path: Path,
        listed: Listed,
        directory: Directory,
        *,
        handed: HandedKey | None = None,
        across: HandedAcross | None = None,
    ) -> Opened | Refused:
        """Open the envelope at `path` off the event loop, against `directory` and the ids
        seen so far; its facts come from its header and the directory, never from `listed`."""
        seen = await self.cache.seen_message_ids()
        now = int(self.clock())

        def check() -> Opened | Refused:
            with tempfile.TemporaryDirectory(prefix="inkorg-") as work:
                try:
                    opened = open_file(
                        path,
                        Path(work),
                        identity=self.key_for(path),
                        directory=directory,
                        now=now,
                        seen=seen,
                        file_key=None if handed is None else handed.file_key,
                    )
                    with opened:
                        if handed is not None and opened.digest != handed.digest:
                            return Refused("envelope_handed_digest_mismatch")
                        facts = envelope_facts(opened.header, opened.digest, directory, listed)
                        if across is not None and not may_hand_across(
                            across,
                            case_id=facts.case_id,
                            sender=facts.sender,
                            recipients=facts.recipients,
                        ):
                            return Refused("envelope_handover_not_allowed")
                        return Opened(facts, _content(opened))
                except HubError as exc:
                    log.warning("envelope refused: %s", exc.code)
                    return Refused(exc.code)

        return await asyncio.to_thread(check)

    async def take_new(self, client: HubClient, directory: Directory, me: str) -> int:
        """Fetch what is new in both boxes, past each box's cursor; how many were kept."""
        kept = 0
        for box in ("inbox", "sent"):
            cursor = int(await self.cache.get_value(f"cursor:{box}", "0"))
            for entry in await client.envelopes(box, after=cursor):
                try:
                    listed = Listed.from_wire(entry)
                except ValueError:
                    log.warning("listing entry refused: no id or seq")
                    continue
                if not await self.cache.is_listed(listed.message_id):
                    kept += await self.take(client, listed, box, directory, me)
                cursor = max(cursor, listed.seq)
            await self.cache.set_value(f"cursor:{box}", str(cursor))
        return kept

    async def take(  # noqa: PLR0913 - the listing, where, against what, and a handed key
        self,
        client: HubClient,
        listed: Listed,
        box: str,
        directory: Directory,
        me: str,
        *,
        handed: HandedKey | None = None,
        across: HandedAcross | None = None,
    ) -> int:
        """Fetch, verify and keep one listed envelope by its signed header; sign the delivered
        receipt for one that another municipality sent. 1 if it was kept, else 0 (refused, or
        a replay: recorded as the hub's claim)."""
        received, result = await self.fetch(client, listed, directory, handed=handed, across=across)
        if isinstance(result, Refused):
            await asyncio.to_thread(received.unlink, missing_ok=True)
            await self.cache.put_refused(
                listed.message_id,
                box=box,
                case_hint=listed.case_id,
                error=result.code,
                at=int(self.clock()),
            )
            return 0
        facts = result.facts
        if facts.listing_mismatch:
            log.warning("listing contradicts the signed header: %s", ",".join(facts.disagreements))
        # Which box is ours to say: what our municipality signed was sent, the rest received.
        signed_box = "sent" if facts.sender == me else "inbox"
        kept = await self.cache.put_received(
            facts,
            box=signed_box,
            seq=listed.seq,
            received=received,
            opened=result.content,
            listing_id=listed.message_id,
        )
        if kept and signed_box == "inbox":
            await self.acknowledge(client, facts, "delivered")
        return int(kept)

    async def mark_read(self, client: HubClient, case_id: bytes) -> None:
        """The person opened the case: sign read receipts for what they have not read yet,
        each over the message id and digest of the envelope verified here."""
        for envelope in await self.cache.envelopes_of_case(case_id):
            if envelope.box != "inbox" or envelope.document is None:
                continue
            if await self.cache.mark_read(envelope.message_id, int(self.clock())):
                wire = make_receipt(
                    self.identity,
                    network=self.network,
                    message_id=envelope.message_id,
                    envelope_digest=envelope.digest,
                    event="read",
                    time=int(self.clock()),
                )
                await post_receipt(client, envelope.message_id, wire)

    async def refresh_receipts(
        self, client: HubClient, directory: Directory, case_id: bytes
    ) -> None:
        """Fetch the signed receipts for what we sent in this case; keep only those that verify
        against our own envelope's digest and recipients."""
        for envelope in await self.cache.envelopes_of_case(case_id):
            if envelope.box != "sent":
                continue
            path = self.cache.envelope_path(envelope.message_id)
            header = await asyncio.to_thread(stored_header, path)
            for signed in await client.receipts(envelope.message_id):
                try:
                    receipt = verify_receipt(
                        signed,
                        directory=directory,
                        message_id=envelope.message_id,
                        envelope_digest=envelope.digest,
                        recipient_key_ids=header.recipient_key_ids,
                    )
                except HubError as exc:
                    log.warning("receipt refused: %s", exc.code)
                    continue
                await self.cache.put_receipt(
                    envelope.message_id, receipt.municipality, str(receipt.event), receipt.time
                )

    @contextlib.asynccontextmanager
    async def open_attachment(
        self, directory: Directory, message_id: bytes, index: int
    ) -> AsyncIterator[OpenedAttachment]:
        """Open the stored envelope again (verifying it again, off the event loop) and give out
        one attachment in chunks. Its plaintext is in a private temporary file (0600) until the
        block ends; raises IndexError for an attachment the message does not have."""
        path, now = self.cache.envelope_path(message_id), int(self.clock())
        with tempfile.TemporaryDirectory(prefix="inkorg-") as work:
            opened = await asyncio.to_thread(
                functools.partial(
                    open_file,
                    path,
                    Path(work),
                    identity=await asyncio.to_thread(self.key_for, path),
                    directory=directory,
                    now=now,
                )
            )
            with opened:
                info = opened.attachments[index]
                # A generator (typed as an iterator): closed below, so its file is shut
                # before the plaintext is removed, however far the reader got.
                blocks = cast(
                    "Generator[bytes, None, None]",
                    opened.iter_attachment(index, ATTACHMENT_BLOCK),
                )
                try:
                    yield OpenedAttachment(
                        info.name, info.media_type, info.size, _off_the_loop(blocks)
                    )
                finally:
                    blocks.close()  # its file, before the plaintext goes

    async def acknowledge(self, client: HubClient, facts: EnvelopeFacts, event: str) -> None:
        """Sign a receipt over the message id and the digest this agent computed from the
        envelope it verified (never the hub's listing) and hand it to the hub."""
        wire = make_receipt(
            self.identity,
            network=self.network,
            message_id=facts.message_id,
            envelope_digest=facts.digest,
            event=event,
            time=int(self.clock()),
        )
        await post_receipt(client, facts.message_id, wire)


async def post_receipt(client: HubClient, message_id: bytes, wire: dict[str, str]) -> None:
    with contextlib.suppress(RemoteError):  # already acknowledged: nothing to do
        await client.post_receipt(message_id, wire)


def _content(opened: OpenedMessage) -> dict[str, Any]:
    return {
        "document": opened.document,
        "seen": [m.hex() for m in opened.seen],
        "attachments": [
            {"name": a.name, "media_type": a.media_type, "size": a.size} for a in opened.attachments
        ],
    }

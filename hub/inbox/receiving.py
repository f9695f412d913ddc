"""Receiving: fetch what the hub lists, verify it, and file it by its signed header.

The listing only says where to fetch. Each envelope is downloaded to a private file, opened
against the directory verified with the administrator's pinned key (off the event loop), and
judged on its signed message id: one seen before is a replay, whatever id the hub gave it. What
is kept, and the receipt signed for it, come from the verified envelope alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from hub.client.api import RemoteError
from hub.crypto.envelope import OpenedMessage, open_envelope
from hub.crypto.receipts import make_receipt
from hub.errors import HubError
from hub.inbox.facts import EnvelopeFacts, Listed, envelope_facts

if TYPE_CHECKING:
    from collections.abc import Callable, Container

    from hub.client.api import HubClient
    from hub.crypto.directory import Directory
    from hub.crypto.keys import PrivateIdentity
    from hub.inbox.cache import InboxCache

log = logging.getLogger("hub.inbox")


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
    return os.fdopen(os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600), "wb")


def open_file(  # noqa: PLR0913 - what opens it, and against what
    path: Path,
    workdir: Path,
    *,
    identity: PrivateIdentity,
    directory: Directory,
    now: int,
    seen: Container[bytes] = frozenset(),
) -> OpenedMessage:
    """open_envelope reading the file as it goes (blocking: for a thread)."""
    with path.open("rb") as src:
        return open_envelope(
            src, recipient=identity, sender_keys=directory, workdir=workdir, now=now, seen=seen
        )


@dataclass
class Receiver:
    identity: PrivateIdentity
    network: str
    cache: InboxCache
    clock: Callable[[], float]

    async def fetch(
        self, client: HubClient, listed: Listed, directory: Directory
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
        return received, await self.verify(received, listed, directory)

    async def verify(self, path: Path, listed: Listed, directory: Directory) -> Opened | Refused:
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
                        identity=self.identity,
                        directory=directory,
                        now=now,
                        seen=seen,
                    )
                    with opened:
                        facts = envelope_facts(opened.header, opened.digest, directory, listed)
                        return Opened(facts, _content(opened))
                except HubError as exc:
                    log.warning("envelope refused: %s", exc.code)
                    return Refused(exc.code)

        return await asyncio.to_thread(check)

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
        "attachments": [
            {"name": a.name, "media_type": a.media_type, "size": a.size} for a in opened.attachments
        ],
    }

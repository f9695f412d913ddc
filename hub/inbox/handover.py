"""Colleagues hand over by themselves (issue 17; docs/protocol.md §6): nothing is asked of
the people involved.

- **The holder.** At a sync, when the verified directory gives our municipality a contact
  person's key that is not ours and that we have not handed to yet, this inbox opens again
  every envelope of our open cases that was sealed before that key existed, and sends, per case,
  one REWRAP envelope (kind 7, sealed to our municipality's keys, the new one among them) with
  each envelope's digest and file key. It goes through the outbox, so an interrupted handover
  resumes as the same sealed bytes; a second REWRAP of the same keys (a stop between queueing and
  noting the key) changes nothing for the successor.
- **The successor.** A REWRAP from our own municipality's key, verified as any envelope, names
  envelopes this inbox could not open (not sealed to its key). Each is fetched again and opened
  with the handed file key: the key commitment proves the key, the original sender's signature
  is checked as always, and the digest must be the one handed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from hub.crypto.format import MessageKind
from hub.crypto.rewrap import HandedKey, parse_rewrap_document, rewrap_document
from hub.errors import HubError
from hub.inbox.facts import Listed
from hub.inbox.receiving import open_file, stored_header

if TYPE_CHECKING:
    from collections.abc import Callable

    from hub.client.api import HubClient
    from hub.crypto.directory import Directory
    from hub.crypto.keys import PrivateIdentity
    from hub.inbox.cache import InboxCache
    from hub.inbox.receiving import Receiver
    from hub.inbox.sending import Sender

log = logging.getLogger("hub.inbox")
HANDED_TO: Final = "handover:handed_to"  # the key ids (hex) this inbox has handed to
NOT_OURS: Final = "envelope_not_recipient"  # how a successor's inbox first refuses them


@dataclass
class Handover:
    cache: InboxCache
    identity: PrivateIdentity
    clock: Callable[[], float]

    async def hand_over(self, sender: Sender, directory: Directory, me: str) -> int:
        """As a remaining holder: queue a REWRAP per open case for each new colleague's key;
        the number queued."""
        now = int(self.clock())
        done = set(json.loads(await self.cache.get_value(HANDED_TO, "[]") or "[]"))
        new = [
            e.key_id
            for e in directory.valid_keys(me, now)
            if e.key_id != self.identity.key_id and e.key_id.hex() not in done
        ]
        if not new:
            return 0
        queued = 0
        for view in await self.cache.list_cases("inbox", limit=100_000):
            case_id = bytes.fromhex(view["case_id"])
            keys = await self._keys_to_hand(case_id, directory, set(new))
            if keys:
                await sender.queue_quietly(
                    case_id,
                    [
                        {
                            "op": "envelope_event",
                            "municipality": me,
                            "to": me,
                            "event": None,
                            "kind": int(MessageKind.REWRAP),
                            "document": rewrap_document(keys),
                            "attachments": [],
                        }
                    ],
                )
                queued += 1
        await self.cache.set_value(HANDED_TO, json.dumps(sorted(done | {k.hex() for k in new})))
        log.info("handed %d open cases to %d new keys of our municipality", queued, len(new))
        return queued

    async def _keys_to_hand(
        self, case_id: bytes, directory: Directory, new: set[bytes]
    ) -> list[HandedKey]:
        """The file keys of this case's envelopes that a new key cannot open yet."""
        handed = []
        for envelope in await self.cache.envelopes_of_case(case_id):
            if envelope.document is None or envelope.kind == MessageKind.REWRAP:
                continue
            path = self.cache.envelope_path(envelope.message_id)
            header = await asyncio.to_thread(stored_header, path)
            if new <= set(header.recipient_key_ids):
                continue  # sealed to every new key already
            key = await asyncio.to_thread(self._file_key, path, directory, envelope.created_at)
            if key is not None:
                handed.append(HandedKey(envelope.message_id, envelope.digest, key))
        return handed

    def _file_key(self, path: Path, directory: Directory, created_at: int) -> bytes | None:
        """Open our stored copy again, as when it arrived (blocking: for a thread)."""
        with tempfile.TemporaryDirectory(prefix="inkorg-") as work:
            try:
                with open_file(
                    path, Path(work), identity=self.identity, directory=directory, now=created_at
                ) as opened:
                    return opened.file_key
            except HubError as exc:
                log.warning("not handed over: %s", exc.code)
                return None

    async def take_handed(
        self, client: HubClient, receiver: Receiver, directory: Directory, me: str
    ) -> int:
        """As a successor: open, with the keys colleagues handed over, the envelopes refused
        before as not sealed to our key; the number taken."""
        refused = await self.cache.refused_ids(NOT_OURS)
        if not refused:
            return 0
        taken = 0
        for document in await self.cache.documents_of_kind(int(MessageKind.REWRAP), sender=me):
            for key in _handed(document):
                if key.message_id not in refused:
                    continue
                meta = await client.envelope(key.message_id)
                listed = Listed.from_wire(meta)
                box = "sent" if meta.sender == me else "inbox"
                await self.cache.forget_refused(key.message_id)
                taken += await receiver.take(client, listed, box, directory, me, handed=key)
                refused.discard(key.message_id)
        return taken


def _handed(document: object) -> list[HandedKey]:
    try:
        return parse_rewrap_document(document) if isinstance(document, dict) else []
    except HubError:
        return []

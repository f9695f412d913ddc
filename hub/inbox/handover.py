"""Colleagues hand over by themselves (issue 17; docs/protocol.md §6): nothing is asked of
the people involved.

- **The holder.** At a sync, when the verified directory gives our municipality a contact
  person's key that is not ours and that we have not handed to yet, this inbox opens again
  every envelope of our open cases that was sealed before that key existed, and sends, per case,
  one REWRAP envelope (kind 7, sealed to our municipality's keys, the new one among them) with
  each envelope's digest and file key. It goes through the outbox, so an interrupted handover
  resumes as the same sealed bytes; a second REWRAP of the same keys (a stop between queueing and
  noting the key) changes nothing for the successor.
- **The other side, when nobody at home can.** The administrator signs a handover record for a
  municipality that lost every holder (`hub admin handover`). At a sync, the inbox of every
  municipality with an open case towards it queues, per such case, one REWRAP addressed to that
  municipality with the file keys of what passed between the two, only envelopes whose stanzas
  name a key of that municipality. What it cannot hand (its own copy gone) is noted, and shown
  on the case page for both sides. No one re-seals: the successor opens the originals.
- **The successor.** A REWRAP from our own municipality's key, or from the other side of the
  case under a handover record naming our key, verified as any envelope, names envelopes this
  inbox could not open (not sealed to its key). Each is fetched again and opened with the
  handed file key: the key commitment proves the key, the original sender's signature is
  checked as always, and the digest must be the one handed. From the other side it must also be
  of the REWRAP's case, between that municipality and ours, and sealed to a key of ours.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from hub.crypto.format import MessageKind
from hub.crypto.rewrap import HandedAcross, HandedKey, parse_rewrap_document, rewrap_document
from hub.errors import HubError
from hub.inbox.facts import Listed
from hub.inbox.receiving import open_file, stored_header
from hub.protocol.case_reference import case_reference

if TYPE_CHECKING:
    from collections.abc import Callable

    from hub.client.api import HubClient
    from hub.crypto.directory import Directory
    from hub.crypto.keys import PrivateIdentity
    from hub.crypto.registry import Registry
    from hub.inbox.cache import InboxCache
    from hub.inbox.cache_envelopes import StoredEnvelope
    from hub.inbox.receiving import Receiver
    from hub.inbox.sending import Sender

log = logging.getLogger("hub.inbox")
HANDED_TO: Final = "handover:handed_to"  # the key ids (hex) this inbox has handed to
# "serial:case": the administrator's handovers this inbox has acted on, case by case
ACROSS_DONE: Final = "handover:across_done"
NOT_HANDED: Final = "handover:not_handed"  # case (hex) -> what we could not hand over
NOT_OURS: Final = "envelope_not_recipient"  # how a successor's inbox first refuses them


@dataclass
class Handover:
    cache: InboxCache
    identity: PrivateIdentity
    clock: Callable[[], float]
    # Which of our keys opens a stored envelope (Receiver.key_for): an earlier key of ours
    # after a stolen machine, so what it alone opens can still be handed on.
    key_for: Callable[[Path], PrivateIdentity] | None = None

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
                identity = self.identity if self.key_for is None else self.key_for(path)
                with open_file(
                    path, Path(work), identity=identity, directory=directory, now=created_at
                ) as opened:
                    return opened.file_key
            except HubError as exc:
                log.warning("not handed over: %s", exc.code)
                return None
            except OSError:  # our copy is gone from this disk
                return None

    async def take_handed(
        self,
        client: HubClient,
        receiver: Receiver,
        directory: Directory,
        me: str,
        *,
        across: bool = False,
    ) -> int:
        """As a successor: open, with the keys handed over, the envelopes refused before as not
        sealed to our key; the number taken. A colleague's REWRAP always counts; one from the
        other side of a case only when `across` (a verified handover record names our key)."""
        refused = await self.cache.refused_ids(NOT_OURS)
        if not refused:
            return 0
        taken = 0
        for by, case_id, document in await self.cache.rewraps_kept():
            if by != me and not across:
                continue
            handed_across = None if by == me else HandedAcross(by, me, case_id)
            for key in _handed(document):
                if key.message_id not in refused:
                    continue
                meta = await client.envelope(key.message_id)
                listed = Listed.from_wire(meta)
                box = "sent" if meta.sender == me else "inbox"
                await self.cache.forget_refused(key.message_id)
                taken += await receiver.take(
                    client, listed, box, directory, me, handed=key, across=handed_across
                )
                refused.discard(key.message_id)
        return taken

    # --- the other side, under the administrator's handover record ----------------------

    async def hand_over_across(self, sender: Sender, registry: Registry, me: str) -> int:
        """As the other side of a municipality's open cases, for each handover record naming
        another municipality: queue per open case between us one REWRAP with the file keys of
        what passed between us, to the record's keys still valid; the number queued. Each case
        is noted as done when queued, so a restart resumes where it stopped."""
        done = set(json.loads(await self.cache.get_value(ACROSS_DONE, "[]") or "[]"))
        records = [
            h for h in registry.handovers if h.municipality != me and str(h.serial) not in done
        ]
        if not records:
            return 0
        now = int(self.clock())
        views = await self.cache.list_cases("inbox", limit=100_000)
        colleagues = await self._handed_to_us(me)
        queued = 0
        for record in records:
            other = record.municipality
            valid = {e.key_id for e in registry.directory.valid_keys(other, now)}
            targets = record.to_keys & valid  # none: revoked since; a new record is signed
            for view in views:
                mark = f"{record.serial}:{view['case_id']}"
                if not targets or mark in done or not _faces(view, other, me):
                    continue
                queued += await self._hand_case_across(
                    sender,
                    view,
                    other=other,
                    targets=frozenset(targets),
                    directory=registry.directory,
                    colleagues=colleagues,
                    me=me,
                )
                done.add(mark)
                await self.cache.set_value(ACROSS_DONE, json.dumps(sorted(done)))
            done = {d for d in done if not d.startswith(f"{record.serial}:")} | {str(record.serial)}
            await self.cache.set_value(ACROSS_DONE, json.dumps(sorted(done)))
        if queued:
            log.info("handed %d open cases over to another municipality's successor", queued)
        return queued

    async def _hand_case_across(  # noqa: PLR0913 - the case, to whom, which keys, by what
        self,
        sender: Sender,
        view: dict[str, Any],
        *,
        other: str,
        targets: frozenset[bytes],
        directory: Directory,
        colleagues: dict[bytes, HandedKey],
        me: str,
    ) -> int:
        case_id = bytes.fromhex(view["case_id"])
        handed: list[HandedKey] = []
        missing: list[dict[str, Any]] = []
        for envelope in await self.cache.envelopes_of_case(case_id):
            if envelope.kind == MessageKind.REWRAP or not _between(envelope, other, me):
                continue
            key = colleagues.get(envelope.message_id) or await self._key_across(
                envelope, targets, directory
            )
            if key is None:
                missing.append(
                    {"message_id": envelope.message_id.hex(), "created_at": envelope.created_at}
                )
            elif key is not _COVERED:
                handed.append(key)
        if missing:
            await self._note_not_handed(case_id, other, missing)
        if not handed:
            return 0
        await sender.queue_quietly(
            case_id,
            [
                {
                    "op": "envelope_event",
                    "municipality": other if view["from"] == me else me,  # the request's
                    "to": other,
                    "event": None,
                    "kind": int(MessageKind.REWRAP),
                    "document": rewrap_document(handed),
                    "attachments": [],
                }
            ],
        )
        return 1

    async def _key_across(
        self, envelope: StoredEnvelope, targets: frozenset[bytes], directory: Directory
    ) -> HandedKey | None:
        """The envelope's file key from our own stored copy; _COVERED when it is sealed to the
        successor already; None when our copy is gone or no longer opens."""
        if envelope.document is None:
            return None
        path = self.cache.envelope_path(envelope.message_id)
        try:
            header = await asyncio.to_thread(stored_header, path)
        except (OSError, HubError):
            return None
        if targets <= set(header.recipient_key_ids):
            return _COVERED
        file_key = await asyncio.to_thread(self._file_key, path, directory, envelope.created_at)
        return (
            None if file_key is None else HandedKey(envelope.message_id, envelope.digest, file_key)
        )

    async def _handed_to_us(self, me: str) -> dict[bytes, HandedKey]:
        """The file keys our own colleagues handed this inbox (a key of ours since then cannot
        open those originals itself): handed on as they were verified when taken."""
        return {
            key.message_id: key
            for by, _, document in await self.cache.rewraps_kept()
            if by == me
            for key in _handed(document)
        }

    async def _note_not_handed(
        self, case_id: bytes, other: str, missing: list[dict[str, Any]]
    ) -> None:
        noted = json.loads(await self.cache.get_value(NOT_HANDED, "{}") or "{}")
        noted[case_id.hex()] = {"to": other, "items": missing}
        await self.cache.set_value(NOT_HANDED, json.dumps(noted))

    async def not_handed(self) -> dict[bytes, tuple[str, list[int]]]:
        """What this inbox could not hand over, by case: (to whom, each one's signed time)."""
        noted = json.loads(await self.cache.get_value(NOT_HANDED, "{}") or "{}")
        return {
            bytes.fromhex(case): (str(entry["to"]), [int(i["created_at"]) for i in entry["items"]])
            for case, entry in noted.items()
        }

    async def not_received(self) -> dict[bytes, list[tuple[bytes, int]]]:
        """As a successor: the envelopes of each case that a REWRAP came for and that still
        cannot be opened with our key (what was handed over did not include them), by the
        case the hub listed them under: (id, when refused)."""
        refused = await self.cache.refused_by_case(NOT_OURS)
        if not refused:
            return {}
        handed_cases = await self.cache.rewrap_cases()
        return {case_id: ids for case_id, ids in refused.items() if case_id in handed_cases}


_COVERED: Final = HandedKey(b"", b"", b"")  # sealed to the successor already: nothing to hand


def _faces(view: dict[str, Any], other: str, me: str) -> bool:
    """The case is between us and `other`: it asked us, or we asked it."""
    if view["from"] == other:
        return True
    return view["from"] == me and any(r["municipality"] == other for r in view["requests"])


def _between(envelope: StoredEnvelope, other: str, me: str) -> bool:
    """The envelope passed between us and `other` (its signed sender and the municipalities of
    the keys it was sealed to): never a thread with a third municipality."""
    return (envelope.sender == me and other in envelope.recipients) or (
        envelope.sender == other and me in envelope.recipients
    )


def _handed(document: object) -> list[HandedKey]:
    try:
        return parse_rewrap_document(document) if isinstance(document, dict) else []
    except HubError:
        return []


def handed_to(registry: Registry, me: str, key_id: bytes) -> bool:
    """A verified handover record names our key: the other side may hand us file keys."""
    return any(h.municipality == me and key_id in h.to_keys for h in registry.handovers)


RESEND_ADVICE: Final = "på nytt om det behövs."  # every handover gap's notice ends so


def gap_notices(
    not_handed: dict[bytes, tuple[str, list[int]]],
    not_received: dict[bytes, list[tuple[bytes, int]]],
    *,
    name_of: Callable[[str], str],
    day_of: Callable[[int], str],
) -> list[dict[str, str]]:
    """What could not be handed over, in plain Swedish, for both sides (issue 17): what our
    inbox could not hand (its copy gone), and what a successor still cannot open after a
    handover came for the case (that case named by the hub's listing, and said so)."""
    notices = []
    for case_id, (other, items) in sorted(not_handed.items()):
        days = ", ".join(sorted({day_of(at) for at in items}))
        notices.append(
            {
                "level": "warning",
                "text": f"Ärende {case_reference(case_id)}: {_messages(len(items))} mellan er "
                f"och {name_of(other)} (skickade {days}) kunde inte lämnas över till den nya "
                "kontaktpersonen där, eftersom kopian inte finns kvar i den här inkorgen. "
                f"Skicka innehållet {RESEND_ADVICE}",
            }
        )
    for case_id, ids in sorted(not_received.items()):
        notices.append(
            {
                "level": "warning",
                "text": f"Ärende {case_reference(case_id)} (enligt hubben): {_messages(len(ids))} "
                "i ärendet kan inte öppnas med din nyckel och lämnades inte över till dig. Be "
                f"den andra kommunen skicka det {RESEND_ADVICE}",
            }
        )
    return notices


def _messages(count: int) -> str:
    return "1 meddelande" if count == 1 else f"{count} meddelanden"

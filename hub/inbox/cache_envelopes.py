"""The inbox cache's envelopes: each verified one kept under its signed message id (the file as
received, its row from the signed facts, its opened document sealed), what the hub listed noted
beside it (refused ones with their reason), and the signed ids seen, so that a replay is refused.
Mixed into InboxCache (hub/inbox/cache.py), as hub/storage/sqlite_envelopes.py is into the
hub's storage."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hub.crypto.format import MessageKind
from hub.inbox.facts import Parties, parties_of

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    import aiosqlite

    from hub.inbox.facts import EnvelopeFacts


class EnvelopeRows:
    """The host class gives `_db`, `folder`, and `_seal` and `_unseal` under its key."""

    _db: aiosqlite.Connection
    folder: Path

    def _seal(self, table: str, row_id: str, value: object) -> bytes:
        raise NotImplementedError

    def _unseal(self, table: str, row_id: str, blob: bytes) -> Any:  # noqa: ANN401
        raise NotImplementedError

    def envelope_path(self, message_id: bytes) -> Path:
        return self.folder / "envelopes" / f"{message_id.hex()}.env"

    async def is_listed(self, listing_id: bytes) -> bool:
        """The hub's listing named this id before (fetched then, whatever it turned out to be):
        it is not fetched again, however often the hub lists it."""
        async with self._db.execute(
            "SELECT 1 FROM listed WHERE listing_id = ? UNION ALL"
            " SELECT 1 FROM envelopes WHERE message_id = ?",
            (listing_id, listing_id),
        ) as cur:
            return await cur.fetchone() is not None

    def incoming_path(self, message_id: bytes) -> Path:
        """Where an envelope is written as it downloads (as received: ciphertext), until
        put_received moves it into place; one left by a stop midway goes at the next start."""
        return self.folder / "envelopes" / f"{message_id.hex()}.part"

    async def put_received(  # noqa: PLR0913 - the envelope, where it came from, what it said
        self,
        facts: EnvelopeFacts,
        *,
        box: str,
        seq: int,
        received: Path,
        opened: dict[str, Any],
        listing_id: bytes,
    ) -> bool:
        """Keep a verified envelope under its signed message id: the file downloaded to
        `received` moved into place whole (a rename), its row from the signed facts, the
        document encrypted, and its id among those seen, so that it is never taken twice even
        after its case is gone. False (and nothing kept) if that id was seen already."""
        if await self._seen(facts.message_id):
            await asyncio.to_thread(received.unlink, missing_ok=True)
            return False
        await asyncio.to_thread(received.replace, self.envelope_path(facts.message_id))
        key = facts.message_id
        await self._db.execute(
            "INSERT INTO envelopes (message_id, case_id, kind, sender, recipients, seq, box,"
            " created_at, received_at, digest, document, listing_mismatch)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                facts.case_id,
                int(facts.kind),
                facts.sender,
                json.dumps(list(facts.recipients)),
                seq,
                box,
                facts.created_at,
                facts.hub_received_at or 0,
                facts.digest,
                self._seal("envelopes", key.hex(), opened),
                int(facts.listing_mismatch),
            ),
        )
        await self._db.execute(
            "INSERT INTO seen_messages (message_id, seen_at) VALUES (?, ?)",
            (key, facts.created_at),
        )
        await self._note_listed(
            listing_id,
            box=box,
            case_hint=facts.case_id,
            message_id=key,
            error=None,
            at=facts.created_at,
        )
        await self._db.commit()
        return True

    async def remember_seen(self, facts: EnvelopeFacts, *, listing_id: bytes) -> None:
        """An envelope taken without keeping it (a county board keeps only the note it
        carried): its signed id is seen, so a replay of it is refused."""
        await self._db.execute(
            "INSERT OR IGNORE INTO seen_messages (message_id, seen_at) VALUES (?, ?)",
            (facts.message_id, facts.created_at),
        )
        await self._note_listed(
            listing_id,
            box="inbox",
            case_hint=facts.case_id,
            message_id=facts.message_id,
            error=None,
            at=facts.created_at,
        )
        await self._db.commit()

    async def put_refused(
        self, listing_id: bytes, *, box: str, case_hint: bytes | None, error: str, at: int
    ) -> None:
        """An envelope the hub listed that did not verify (or was a replay): kept as the hub's
        claim with the reason, shown on no case as fact."""
        await self._note_listed(
            listing_id, box=box, case_hint=case_hint, message_id=None, error=error, at=at
        )
        await self._db.commit()

    async def _note_listed(  # noqa: PLR0913 - one row
        self,
        listing_id: bytes,
        *,
        box: str,
        case_hint: bytes | None,
        message_id: bytes | None,
        error: str | None,
        at: int,
    ) -> None:
        await self._db.execute(
            "INSERT OR IGNORE INTO listed (listing_id, box, case_hint, message_id, error, at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (listing_id, box, case_hint, message_id, error, at),
        )

    async def forget_refused(self, listing_id: bytes) -> None:
        """A listed envelope refused before is about to be taken after all (opened with a key
        a colleague handed over, docs/protocol.md §6): its refusal goes."""
        await self._db.execute(
            "DELETE FROM listed WHERE listing_id = ? AND error IS NOT NULL", (listing_id,)
        )
        await self._db.commit()

    async def refused_ids(self, error: str) -> set[bytes]:
        """The listed ids refused with `error` (for a successor: not sealed to its key yet)."""
        async with self._db.execute(
            "SELECT listing_id FROM listed WHERE error = ?", (error,)
        ) as cur:
            return {bytes(r[0]) for r in await cur.fetchall()}

    async def rewraps_kept(self) -> list[tuple[str, bytes, object]]:
        """Every kept REWRAP (docs/protocol.md §6) as (the municipality that signed it, from the
        signing key's directory entry; its signed case; its opened document)."""
        async with self._db.execute(
            "SELECT message_id, sender, case_id, document FROM envelopes"
            " WHERE kind = ? AND document IS NOT NULL ORDER BY created_at, seq",
            (int(MessageKind.REWRAP),),
        ) as cur:
            rows = await cur.fetchall()
        return [
            (str(r[1]), bytes(r[2]), self._unseal("envelopes", bytes(r[0]).hex(), r[3])["document"])
            for r in rows
        ]

    async def rewrap_cases(self) -> set[bytes]:
        """The cases a kept REWRAP belongs to (by its signed header), without opening any."""
        async with self._db.execute(
            "SELECT DISTINCT case_id FROM envelopes WHERE kind = ? AND document IS NOT NULL",
            (int(MessageKind.REWRAP),),
        ) as cur:
            return {bytes(r[0]) for r in await cur.fetchall()}

    async def refused_by_case(self, error: str) -> dict[bytes, list[tuple[bytes, int]]]:
        """The listed ids refused with `error`, by the case the hub said (a hint): (id, when)."""
        found: dict[bytes, list[tuple[bytes, int]]] = {}
        async with self._db.execute(
            "SELECT listing_id, case_hint, at FROM listed"
            " WHERE error = ? AND case_hint IS NOT NULL ORDER BY at",
            (error,),
        ) as cur:
            for r in await cur.fetchall():
                found.setdefault(bytes(r[1]), []).append((bytes(r[0]), int(r[2])))
        return found

    async def first_document_ids(self) -> set[bytes]:
        """The message ids of the opened inquiries and förhandsförfrågningar kept."""
        async with self._db.execute(
            "SELECT message_id FROM envelopes WHERE kind IN (?, ?) AND document IS NOT NULL",
            (int(MessageKind.PRE_INQUIRY), int(MessageKind.INQUIRY)),
        ) as cur:
            return {bytes(r[0]) for r in await cur.fetchall()}

    async def first_documents(
        self, message_ids: Sequence[bytes]
    ) -> list[tuple[bytes, bytes, int, list[str], object]]:
        """Those of `message_ids` kept, opened: (message id, case id, kind, the sender and
        the recipients, the document), for the search index the pages hold in memory
        (hub/inbox/search_index.py); a few hundred at a time (one parameter each)."""
        marks = ",".join("?" * len(message_ids))
        async with self._db.execute(
            "SELECT message_id, case_id, kind, sender, recipients, document"  # noqa: S608 - marks
            f" FROM envelopes WHERE message_id IN ({marks}) AND document IS NOT NULL",
            list(message_ids),
        ) as cur:
            rows = await cur.fetchall()
        return [
            (
                bytes(r[0]),
                bytes(r[1]),
                int(r[2]),
                [str(r[3]), *json.loads(r[4])],
                self._unseal("envelopes", bytes(r[0]).hex(), r[5])["document"],
            )
            for r in rows
        ]

    async def refused_of_case(self, case_id: bytes) -> list[tuple[str, int]]:
        """What the hub listed for this case that was refused here: (the error code, when)."""
        async with self._db.execute(
            "SELECT error, at FROM listed WHERE case_hint = ? AND error IS NOT NULL ORDER BY at",
            (case_id,),
        ) as cur:
            return [(str(r[0]), int(r[1])) for r in await cur.fetchall()]

    async def refused_count(self) -> int:
        async with self._db.execute("SELECT COUNT(*) FROM listed WHERE error IS NOT NULL") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def mark_read(self, message_id: bytes, at: int) -> bool:
        """True the first time: the caller then sends the signed read receipt."""
        cursor = await self._db.execute(
            "UPDATE envelopes SET read_at = ? WHERE message_id = ? AND read_at IS NULL",
            (at, message_id),
        )
        await self._db.commit()
        return cursor.rowcount == 1

    async def envelopes_of_case(self, case_id: bytes) -> list[StoredEnvelope]:
        """The case's envelopes as verified, in the order their senders signed them."""
        async with self._db.execute(
            "SELECT message_id, case_id, kind, sender, recipients, box, created_at, received_at,"
            " digest, document, error, read_at, listing_mismatch FROM envelopes"
            " WHERE case_id = ? ORDER BY created_at, seq",
            (case_id,),
        ) as cur:
            rows = await cur.fetchall()
        return [self._stored_envelope(r) for r in rows]

    def _stored_envelope(self, r: Sequence[Any]) -> StoredEnvelope:
        message_id = bytes(r[0])
        opened = None if r[9] is None else self._unseal("envelopes", message_id.hex(), r[9])
        return StoredEnvelope(
            message_id=message_id,
            case_id=bytes(r[1]),
            kind=int(r[2]),
            sender=str(r[3]),
            recipients=tuple(json.loads(r[4])),
            box=str(r[5]),
            created_at=int(r[6]),
            hub_received_at=int(r[7]) or None,
            digest=bytes(r[8]),
            document=None if opened is None else opened["document"],
            attachments=()
            if opened is None
            else tuple(
                AttachmentInfo(str(a["name"]), str(a["media_type"]), int(a["size"]))
                for a in opened["attachments"]
            ),
            error=r[10],
            read_at=r[11],
            listing_mismatch=bool(r[12]),
            seen=() if opened is None else tuple(bytes.fromhex(m) for m in opened.get("seen", ())),
        )

    async def case_parties(self, case_id: bytes) -> Parties | None:
        """Who sent the case and whom it asked, from its verified inquiries alone (the signed
        sender and recipient keys, placed with the directory): None if none has arrived."""
        async with self._db.execute(
            "SELECT sender, recipients FROM envelopes WHERE case_id = ? AND kind IN (?, ?)"
            " AND document IS NOT NULL ORDER BY created_at, seq",
            (case_id, int(MessageKind.PRE_INQUIRY), int(MessageKind.INQUIRY)),
        ) as cur:
            rows = list(await cur.fetchall())
        return parties_of((str(r[0]), json.loads(r[1])) for r in rows)

    async def unread_cases(self) -> set[bytes]:
        async with self._db.execute(
            "SELECT DISTINCT case_id FROM envelopes WHERE box = 'inbox' AND read_at IS NULL"
        ) as cur:
            return {bytes(r[0]) for r in await cur.fetchall()}

    async def _seen(self, message_id: bytes) -> bool:
        async with self._db.execute(
            "SELECT 1 FROM seen_messages WHERE message_id = ?", (message_id,)
        ) as cur:
            return await cur.fetchone() is not None

    async def seen_message_ids(self) -> set[bytes]:
        """Every signed message id taken so far: a second envelope with one is a replay."""
        async with self._db.execute("SELECT message_id FROM seen_messages") as cur:
            return {bytes(r[0]) for r in await cur.fetchall()}


@dataclass(frozen=True)
class AttachmentInfo:
    name: str
    media_type: str
    size: int


@dataclass(frozen=True)
class StoredEnvelope:
    """A received envelope as kept: its signed facts, the hub's receive time (labelled as the
    hub's wherever shown), and its opened document, still as the sender's JSON (read it with
    hub.inbox.documents before showing it)."""

    message_id: bytes
    case_id: bytes
    kind: int
    sender: str
    recipients: tuple[str, ...]
    box: str  # "sent" when our own municipality signed it, else "inbox"
    created_at: int
    hub_received_at: int | None
    digest: bytes
    document: object | None  # None: it could not be opened (an earlier version kept those)
    attachments: tuple[AttachmentInfo, ...]
    error: str | None
    read_at: int | None
    listing_mismatch: bool
    seen: tuple[bytes, ...] = ()  # the thread's messages its sender had (manifest v2)

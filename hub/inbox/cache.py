"""The inbox's local cache (aiosqlite), on the contact person's own machine.

What the hub also knows (ids, kinds, municipality ids, states, times) is kept in clear so that
lists stay fast; everything a person wrote (documents, drafts, outbox requests) is encrypted
with a key derived from the unlocked private key (XChaCha20-Poly1305, the row's table and id
as associated data), attachments waiting in a draft or the outbox as files of their own
encrypted in chunks (see BLOB_CHUNK), and envelopes are kept exactly as received: encrypted to
this key.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Self

import aiosqlite

from hub.crypto import primitives as p
from hub.crypto.format import MessageKind

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence
    from pathlib import Path

    from hub.inbox.facts import EnvelopeFacts

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS envelopes (
    message_id BLOB PRIMARY KEY, case_id BLOB NOT NULL, kind INTEGER NOT NULL,
    sender TEXT NOT NULL, recipients TEXT NOT NULL, seq INTEGER NOT NULL, box TEXT NOT NULL,
    created_at INTEGER NOT NULL, received_at INTEGER NOT NULL, digest BLOB NOT NULL,
    document BLOB, error TEXT, read_at INTEGER, listing_mismatch INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS seen_messages (message_id BLOB PRIMARY KEY, seen_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS listed (listing_id BLOB PRIMARY KEY, box TEXT NOT NULL,
    case_hint BLOB, message_id BLOB, error TEXT, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS listed_by_case ON listed (case_hint);
CREATE INDEX IF NOT EXISTS envelopes_by_case ON envelopes (case_id, created_at);
CREATE TABLE IF NOT EXISTS cases (
    case_id BLOB PRIMARY KEY, view TEXT NOT NULL, sort_key INTEGER NOT NULL,
    closed INTEGER NOT NULL, mine INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS cases_by_sort ON cases (closed, mine, sort_key);
CREATE TABLE IF NOT EXISTS dues (case_id BLOB NOT NULL, kind TEXT NOT NULL,
    due_at INTEGER NOT NULL, alarm_from INTEGER NOT NULL, due TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS dues_by_case ON dues (case_id);
CREATE INDEX IF NOT EXISTS dues_by_alarm ON dues (alarm_from);
CREATE INDEX IF NOT EXISTS dues_by_due ON dues (due_at);
CREATE TABLE IF NOT EXISTS receipts (
    message_id BLOB NOT NULL, municipality TEXT NOT NULL, event TEXT NOT NULL,
    time INTEGER NOT NULL, PRIMARY KEY (message_id, municipality, event)
);
CREATE TABLE IF NOT EXISTS drafts (draft_id TEXT PRIMARY KEY, body BLOB NOT NULL,
    updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (item_id TEXT PRIMARY KEY, created_at INTEGER NOT NULL,
    body BLOB NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT);
CREATE TABLE IF NOT EXISTS blobs (blob_id TEXT PRIMARY KEY, owner TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS blobs_by_owner ON blobs (owner);
"""
# Attachments are kept apart from the rows that name them, as files of their own, encrypted in
# chunks (XChaCha20-Poly1305 secretstream, the last chunk marked) under a key derived from the
# cache key and the file's id: a draft or an outbox item holds only {name, media_type, size,
# blob}, so neither a row nor the agent's memory holds a large file whole. Each file has one
# owner, "draft:<id>" or "outbox:<id>" ("pending" between the form and the outbox), and goes
# with it.
BLOB_CHUNK = 64 * 1024
PENDING = "pending"


class InboxCache:
    def __init__(self, db: aiosqlite.Connection, folder: Path, key: bytes) -> None:
        self._db = db
        self.folder = folder
        self._key = key

    @classmethod
    async def open(cls, folder: Path, key: bytes) -> Self:
        path = await asyncio.to_thread(_prepare, folder)
        db = await aiosqlite.connect(path)
        await db.execute("PRAGMA journal_mode=WAL")
        await db.executescript(SCHEMA)
        await _migrate(db)
        await db.commit()
        cache = cls(db, folder, key)
        await cache._collect_blobs(startup=True)
        return cache

    async def close(self) -> None:
        await self._db.close()

    # --- sealing rows -------------------------------------------------------------------

    def _seal(self, table: str, row_id: str, value: object) -> bytes:
        nonce = p.random_bytes(p.AEAD_NONCE_BYTES)
        plain = json.dumps(value, ensure_ascii=False).encode()
        return nonce + p.aead_encrypt(self._key, nonce, plain, f"{table}\n{row_id}".encode())

    def _unseal(self, table: str, row_id: str, blob: bytes) -> Any:  # noqa: ANN401
        nonce, body = blob[: p.AEAD_NONCE_BYTES], blob[p.AEAD_NONCE_BYTES :]
        plain = p.aead_decrypt(self._key, nonce, body, f"{table}\n{row_id}".encode())
        return json.loads(plain)

    # --- key-value ----------------------------------------------------------------------

    async def get_value(self, key: str, default: str = "") -> str:
        async with self._db.execute("SELECT value FROM kv WHERE key = ?", (key,)) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else default

    async def set_value(self, key: str, value: str) -> None:
        await self._db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (key, value))
        await self._db.commit()

    # --- envelopes ----------------------------------------------------------------------

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
        if facts.message_id in await self.seen_message_ids():
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
        )

    async def case_parties(self, case_id: bytes) -> tuple[str, frozenset[str]] | None:
        """Who sent the case and whom it asked, from its verified inquiries alone (the signed
        sender and recipient keys, placed with the directory): None if none has arrived."""
        async with self._db.execute(
            "SELECT sender, recipients FROM envelopes WHERE case_id = ? AND kind IN (?, ?)"
            " AND document IS NOT NULL ORDER BY created_at, seq",
            (case_id, int(MessageKind.PRE_INQUIRY), int(MessageKind.INQUIRY)),
        ) as cur:
            rows = list(await cur.fetchall())
        if not rows:
            return None
        sender = str(rows[0][0])
        asked = {m for r in rows if r[0] == sender for m in json.loads(r[1])} - {sender}
        return sender, frozenset(asked)

    async def unread_cases(self) -> set[bytes]:
        async with self._db.execute(
            "SELECT DISTINCT case_id FROM envelopes WHERE box = 'inbox' AND read_at IS NULL"
        ) as cur:
            return {bytes(r[0]) for r in await cur.fetchall()}

    async def seen_message_ids(self) -> set[bytes]:
        """Every signed message id taken so far: a second envelope with one is a replay."""
        async with self._db.execute("SELECT message_id FROM seen_messages") as cur:
            return {bytes(r[0]) for r in await cur.fetchall()}

    # --- cases and receipts -------------------------------------------------------------

    async def put_case(
        self,
        view: dict[str, Any],
        *,
        mine: bool,
        sort_key: int,
        closed: bool,
        dues: Sequence[tuple[int, dict[str, Any]]] = (),
    ) -> None:
        """Store the hub's view of a case, and replace its running deadlines: each as
        (the instant its first notice fires, the deadline as JSON with at least its "kind" and
        its due instant "at"), for the inbox's banners. A closed case keeps none."""
        case_id = bytes.fromhex(view["case_id"])
        await self._db.execute(
            "INSERT OR REPLACE INTO cases (case_id, view, sort_key, closed, mine)"
            " VALUES (?, ?, ?, ?, ?)",
            (case_id, json.dumps(view), sort_key, int(closed), int(mine)),
        )
        await self._db.execute("DELETE FROM dues WHERE case_id = ?", (case_id,))
        await self._db.executemany(
            "INSERT INTO dues (case_id, kind, due_at, alarm_from, due) VALUES (?, ?, ?, ?, ?)",
            [
                (case_id, d["kind"], d["at"], alarm_from, json.dumps(d))
                for alarm_from, d in ([] if closed else dues)
            ],
        )
        await self._db.commit()

    async def alarmed_dues(self, now: int) -> list[tuple[bytes, str]]:
        """The deadlines (of open cases: a closed one keeps none) whose first notice has fired
        by `now` and whose last day has not yet ended, as stored (JSON text): with the passed
        ones (below), all a banner can count, so a page need not look at every case."""
        async with self._db.execute(
            "SELECT case_id, due FROM dues WHERE alarm_from <= ? AND due_at >= ?", (now, now)
        ) as cur:
            return [(bytes(r[0]), str(r[1])) for r in await cur.fetchall()]

    async def cases_past_due(self, now: int, *, ignore: str) -> set[bytes]:
        """Open cases with a deadline whose last day ended before `now`, of any kind but
        `ignore`."""
        async with self._db.execute(
            "SELECT DISTINCT case_id FROM dues WHERE due_at < ? AND kind != ?", (now, ignore)
        ) as cur:
            return {bytes(r[0]) for r in await cur.fetchall()}

    async def get_case(self, case_id: bytes) -> dict[str, Any] | None:
        async with self._db.execute("SELECT view FROM cases WHERE case_id = ?", (case_id,)) as cur:
            row = await cur.fetchone()
        return None if row is None else dict(json.loads(row[0]))

    async def list_cases(
        self, box: str, limit: int = 200, only: Collection[bytes] | None = None
    ) -> list[dict[str, Any]]:
        """box: "inbox" (open cases, nearest deadline first), "sent" (mine), "closed";
        `only`: of these cases alone (a banner's list)."""
        where = {"inbox": "closed = 0", "sent": "closed = 0 AND mine = 1", "closed": "closed = 1"}[
            box
        ]
        params: list[object] = [limit]
        if only is not None:  # one parameter however many: a JSON list of the ids in hex
            where += " AND hex(case_id) IN (SELECT value FROM json_each(?))"
            params.insert(0, json.dumps([c.hex().upper() for c in only]))
        async with self._db.execute(
            f"SELECT view FROM cases WHERE {where} ORDER BY sort_key LIMIT ?",  # noqa: S608 - fixed text
            params,
        ) as cur:
            return [json.loads(r[0]) for r in await cur.fetchall()]

    async def put_receipt(
        self, message_id: bytes, municipality: str, event: str, time: int
    ) -> None:
        await self._db.execute(
            "INSERT OR IGNORE INTO receipts (message_id, municipality, event, time)"
            " VALUES (?, ?, ?, ?)",
            (message_id, municipality, event, time),
        )
        await self._db.commit()

    async def receipts_of(self, message_ids: list[bytes]) -> list[tuple[bytes, str, str, int]]:
        if not message_ids:
            return []
        marks = ",".join("?" * len(message_ids))
        async with self._db.execute(
            f"SELECT message_id, municipality, event, time FROM receipts"  # noqa: S608
            f" WHERE message_id IN ({marks}) ORDER BY time",
            message_ids,
        ) as cur:
            return [(bytes(r[0]), r[1], r[2], r[3]) for r in await cur.fetchall()]

    async def read_receipts_by_case(
        self, case_ids: list[bytes]
    ) -> dict[bytes, list[tuple[int, int, str, int]]]:
        """For a page of cases at once: who signed a read receipt for what we sent, and when,
        with the message it names: (its kind, its created_at, municipality, time)."""
        found: dict[bytes, list[tuple[int, int, str, int]]] = {c: [] for c in case_ids}
        if not case_ids:
            return found
        marks = ",".join("?" * len(case_ids))
        async with self._db.execute(
            "SELECT e.case_id, e.kind, e.created_at, r.municipality, r.time"  # noqa: S608 - marks
            " FROM receipts r JOIN envelopes e ON e.message_id = r.message_id"
            f" WHERE e.box = 'sent' AND r.event = 'read' AND e.case_id IN ({marks})"
            " ORDER BY r.time",
            case_ids,
        ) as cur:
            for case_id, kind, created_at, municipality, time in await cur.fetchall():
                found[bytes(case_id)].append((kind, created_at, municipality, time))
        return found

    # --- attachments, each a file of its own (see BLOB_CHUNK) ------------------------------

    def blob_path(self, blob_id: str) -> Path:
        if not blob_id.isalnum():
            raise ValueError("not an attachment id")
        return self.folder / "blobs" / f"{blob_id}.blob"

    def _blob_key(self, blob_id: str) -> bytes:
        return p.blake2b(blob_id.encode(), key=self._key, person=b"hub-cache-blob")

    async def put_blob(self, source: IO[bytes]) -> tuple[str, int]:
        """Encrypt what `source` holds from where it stands into a new file, chunk by chunk,
        off the event loop; (its id, its size). It is "pending" until a draft or an outbox item
        takes it (save_draft, add_outbox), and is dropped at the next start if none does."""
        blob_id = p.random_bytes(16).hex()
        await self._db.execute(
            "INSERT INTO blobs (blob_id, owner) VALUES (?, ?)", (blob_id, PENDING)
        )
        await self._db.commit()
        size = await asyncio.to_thread(
            _encrypt_file, source, self.blob_path(blob_id), self._blob_key(blob_id)
        )
        return blob_id, size

    def open_blob(self, blob_id: str) -> BlobReader:
        """A reader of the attachment's bytes, checked chunk by chunk (blocking: for a thread)."""
        return BlobReader(self.blob_path(blob_id), self._blob_key(blob_id))

    async def _own_blobs(self, owner: str, blobs: Sequence[str], *, drop_others: bool) -> None:
        if drop_others:
            keep = set(blobs)
            async with self._db.execute(
                "SELECT blob_id FROM blobs WHERE owner = ?", (owner,)
            ) as cur:
                dropped = [r[0] for r in await cur.fetchall() if r[0] not in keep]
            await self._drop_blobs(dropped)
        await self._db.executemany(
            "UPDATE blobs SET owner = ? WHERE blob_id = ?", [(owner, b) for b in blobs]
        )

    async def _drop_blobs(self, blob_ids: Sequence[str]) -> None:
        await self._db.executemany("DELETE FROM blobs WHERE blob_id = ?", [(b,) for b in blob_ids])
        await asyncio.to_thread(_unlink_all, [self.blob_path(b) for b in blob_ids])

    async def _drop_owned_by(self, owner: str) -> None:
        async with self._db.execute("SELECT blob_id FROM blobs WHERE owner = ?", (owner,)) as cur:
            await self._drop_blobs([r[0] for r in await cur.fetchall()])

    async def _collect_blobs(self, *, startup: bool) -> None:
        """Drop attachments whose draft or outbox item is gone; at start also those still
        pending (a form that never became a draft or an outbox item), files no row names,
        sealed envelopes left half-sent (they are sealed again) and envelopes left
        half-downloaded (they are fetched again)."""
        orphaned = (
            "SELECT blob_id FROM blobs WHERE"
            " (owner LIKE 'draft:%' AND substr(owner, 7) NOT IN (SELECT draft_id FROM drafts))"
            " OR (owner LIKE 'outbox:%' AND substr(owner, 8) NOT IN (SELECT item_id FROM outbox))"
        )
        if startup:
            orphaned += f" OR owner = '{PENDING}'"
        async with self._db.execute(orphaned) as cur:
            await self._drop_blobs([r[0] for r in await cur.fetchall()])
        await self._db.commit()
        if startup:
            async with self._db.execute("SELECT blob_id FROM blobs") as cur:
                named = {r[0] for r in await cur.fetchall()}
            async with self._db.execute("SELECT item_id FROM outbox") as cur:
                waiting = {r[0] for r in await cur.fetchall()}
            await asyncio.to_thread(_sweep, self.folder, named, waiting)

    def outgoing_path(self, name: str) -> Path:
        """Where a sealed envelope waits until the hub has taken it ("<item id>-<step>":
        ciphertext, kept across restarts while its item waits; removed after)."""
        return self.folder / "outgoing" / f"{name}.env"

    # --- drafts and outbox --------------------------------------------------------------

    async def save_draft(
        self, draft_id: str, body: dict[str, Any], at: int, *, blobs: Sequence[str] | None = None
    ) -> None:
        """`blobs`: the attachment files the draft now names (it takes them, and drops any
        other it had); None leaves its attachments as they are."""
        await self._db.execute(
            "INSERT OR REPLACE INTO drafts (draft_id, body, updated_at) VALUES (?, ?, ?)",
            (draft_id, self._seal("drafts", draft_id, body), at),
        )
        if blobs is not None:
            await self._own_blobs(f"draft:{draft_id}", blobs, drop_others=True)
        await self._db.commit()

    async def get_draft(self, draft_id: str) -> dict[str, Any] | None:
        async with self._db.execute(
            "SELECT body FROM drafts WHERE draft_id = ?", (draft_id,)
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else dict(self._unseal("drafts", draft_id, row[0]))

    async def list_drafts(self) -> list[tuple[str, int, dict[str, Any]]]:
        async with self._db.execute(
            "SELECT draft_id, updated_at, body FROM drafts ORDER BY updated_at DESC"
        ) as cur:
            rows = await cur.fetchall()
        return [(r[0], r[1], dict(self._unseal("drafts", r[0], r[2]))) for r in rows]

    async def take_draft(self, draft_id: str) -> dict[str, Any] | None:
        """The draft, removed at once, for sending it: a second Skicka finds nothing. Its
        attachment files wait ("pending") for the outbox item that sends them."""
        draft = await self.get_draft(draft_id)
        if draft is not None:
            await self._db.execute("DELETE FROM drafts WHERE draft_id = ?", (draft_id,))
            await self._db.execute(
                "UPDATE blobs SET owner = ? WHERE owner = ?", (PENDING, f"draft:{draft_id}")
            )
            await self._db.commit()
        return draft

    async def delete_draft(self, draft_id: str) -> None:
        """The draft and the attachment files it still owns (not those an outbox item took)."""
        await self._db.execute("DELETE FROM drafts WHERE draft_id = ?", (draft_id,))
        await self._drop_owned_by(f"draft:{draft_id}")
        await self._db.commit()

    async def add_outbox(
        self, item_id: str, body: dict[str, Any], at: int, *, blobs: Sequence[str] = ()
    ) -> None:
        """`blobs`: the attachment files the item sends; it takes them from their draft."""
        await self._db.execute(
            "INSERT INTO outbox (item_id, created_at, body) VALUES (?, ?, ?)",
            (item_id, at, self._seal("outbox", item_id, body)),
        )
        await self._own_blobs(f"outbox:{item_id}", blobs, drop_others=False)
        await self._db.commit()

    async def outbox(self) -> list[tuple[str, dict[str, Any]]]:
        async with self._db.execute("SELECT item_id, body FROM outbox ORDER BY created_at") as cur:
            rows = await cur.fetchall()
        return [(r[0], self._unseal("outbox", r[0], r[1])) for r in rows]

    async def outbox_failed(self, item_id: str, error: str) -> None:
        await self._db.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE item_id = ?",
            (error, item_id),
        )
        await self._db.commit()

    async def outbox_done(self, item_id: str) -> None:
        """The item is sent (or can never go): it, its steps' states, its attachment files and
        any sealed envelope of it left on disk go."""
        await self._db.execute("DELETE FROM outbox WHERE item_id = ?", (item_id,))
        await self._db.execute(
            "DELETE FROM kv WHERE key >= ? AND key < ?",
            (f"outbox:{item_id}:", f"outbox:{item_id};"),  # ';' follows ':'
        )
        await self._drop_owned_by(f"outbox:{item_id}")
        await self._db.commit()
        sealed = list((self.folder / "outgoing").glob(f"{item_id}-*.env"))
        await asyncio.to_thread(_unlink_all, sealed)

    async def step_progress(self, item_id: str, index: int) -> StepProgress:
        stored = await self.get_value(f"outbox:{item_id}:{index}")
        return StepProgress.from_text(stored)

    async def set_step_progress(self, item_id: str, index: int, state: StepProgress) -> None:
        await self.set_value(f"outbox:{item_id}:{index}", state.to_text())

    async def outbox_count(self) -> int:
        async with self._db.execute("SELECT COUNT(*) FROM outbox") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0


@dataclass(frozen=True)
class StepProgress:
    """Where one outbox step stands, kept before the next state is entered: sealed (the
    envelope's message id; its signed bytes wait in outgoing/), uploaded (the hub took it),
    done."""

    sealed: bytes | None = None
    uploaded: bytes | None = None
    done: bool = False

    def to_text(self) -> str:
        return json.dumps(
            {
                "sealed": None if self.sealed is None else self.sealed.hex(),
                "uploaded": None if self.uploaded is None else self.uploaded.hex(),
                "done": self.done,
            }
        )

    @classmethod
    def from_text(cls, text: str) -> StepProgress:
        if text in {"", "1"}:  # nothing yet; or "1", an earlier version's "done"
            return cls(done=text == "1")
        value = json.loads(text)
        return cls(
            sealed=None if value["sealed"] is None else bytes.fromhex(value["sealed"]),
            uploaded=None if value["uploaded"] is None else bytes.fromhex(value["uploaded"]),
            done=bool(value["done"]),
        )


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


async def _migrate(db: aiosqlite.Connection) -> None:
    """A cache written by an earlier version: the listing flag, and every id it had opened
    among those seen (before, a replay was judged on the envelopes table alone)."""
    async with db.execute("PRAGMA table_info(envelopes)") as cur:
        columns = {r[1] for r in await cur.fetchall()}
    if "listing_mismatch" not in columns:
        await db.execute(
            "ALTER TABLE envelopes ADD COLUMN listing_mismatch INTEGER NOT NULL DEFAULT 0"
        )
    await db.execute(
        "INSERT OR IGNORE INTO seen_messages (message_id, seen_at)"
        " SELECT message_id, created_at FROM envelopes WHERE document IS NOT NULL"
    )


class AttachmentUnreadable(Exception):  # noqa: N818 - a condition, as AuthenticationFailed
    """An attachment file is missing, or is not what this cache wrote (changed, cut, swapped)."""


class BlobReader:
    """An attachment file read back: each chunk authenticated before its bytes are given out,
    and the end must be the marked last chunk (a cut file is refused, not shortened)."""

    def __init__(self, path: Path, key: bytes) -> None:
        try:
            self._file = path.open("rb")
        except FileNotFoundError:
            raise AttachmentUnreadable from None
        header = self._file.read(p.STREAM_HEADER_BYTES)
        if len(header) != p.STREAM_HEADER_BYTES:
            self._file.close()
            raise AttachmentUnreadable
        self._stream = p.StreamDecryptor(key, header)
        self._buffer = bytearray(BLOB_CHUNK)
        self._ready = memoryview(self._buffer)[:0]
        self._final = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def _pull(self) -> None:
        sealed = self._file.read(BLOB_CHUNK + p.STREAM_OVERHEAD)
        if not sealed:
            raise AttachmentUnreadable  # ended before the marked last chunk: cut short
        try:
            n, tag = self._stream.pull_into(self._buffer, sealed)
        except p.AuthenticationFailed:
            raise AttachmentUnreadable from None
        self._ready = memoryview(self._buffer)[:n]
        if tag == p.STREAM_TAG_FINAL:
            self._final = True
            if self._file.read(1):
                raise AttachmentUnreadable  # something after the last chunk

    def readinto(self, buffer: memoryview, /) -> int:
        while not self._ready and not self._final:
            self._pull()
        n = min(len(buffer), len(self._ready))
        buffer[:n] = self._ready[:n]
        self._ready = self._ready[n:]
        return n

    def read(self, size: int = -1, /) -> bytes:
        out = bytearray()
        while size < 0 or len(out) < size:
            chunk = bytearray(BLOB_CHUNK if size < 0 else min(BLOB_CHUNK, size - len(out)))
            n = self.readinto(memoryview(chunk))
            if not n:
                break
            out += chunk[:n]
        return bytes(out)


def _encrypt_file(source: IO[bytes], path: Path, key: bytes) -> int:
    """Write `source` to `path` encrypted in chunks (the last one marked); its size."""
    header = p.random_bytes(p.STREAM_HEADER_BYTES)
    stream = p.StreamEncryptor(key, header)
    sealed = bytearray(BLOB_CHUNK + p.STREAM_OVERHEAD)
    size = 0
    temp = path.with_suffix(".tmp")
    fd = os.open(temp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(header)
        chunk = source.read(BLOB_CHUNK)
        while True:
            following = source.read(BLOB_CHUNK) if len(chunk) == BLOB_CHUNK else b""
            tag = p.STREAM_TAG_MESSAGE if following else p.STREAM_TAG_FINAL
            n = stream.push_into(sealed, chunk, tag)
            out.write(memoryview(sealed)[:n])
            size += len(chunk)
            if not following:
                break
            chunk = following
    temp.replace(path)
    return size


def _unlink_all(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _sweep(folder: Path, named: set[str], waiting: set[str]) -> None:
    for path in (folder / "blobs").iterdir():
        if path.suffix != ".blob" or path.stem not in named:
            path.unlink(missing_ok=True)
    for path in (folder / "outgoing").iterdir():
        # A sealed envelope of an item still waiting is uploaded again as it is, never
        # sealed anew (hub.inbox.outbox); any other is left over.
        if path.suffix != ".env" or path.stem.rpartition("-")[0] not in waiting:
            path.unlink(missing_ok=True)
    for path in (folder / "envelopes").iterdir():
        if path.suffix in {".part", ".tmp"}:  # a download, or an earlier version's write, cut off
            path.unlink(missing_ok=True)


def _prepare(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    (folder / "envelopes").mkdir(exist_ok=True, mode=0o700)
    (folder / "blobs").mkdir(exist_ok=True, mode=0o700)
    (folder / "outgoing").mkdir(exist_ok=True, mode=0o700)
    path = folder / "cache.sqlite3"
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    return path

"""The inbox's local cache (aiosqlite), on the contact person's own machine.

What the hub also knows (ids, kinds, municipality ids, states, times) is kept in clear so that
lists stay fast; everything a person wrote (documents, drafts, outbox requests) is encrypted
with a key derived from the unlocked private key (XChaCha20-Poly1305, the row's table and id
as associated data), attachments waiting in a draft or the outbox as files of their own
encrypted in chunks (see hub.inbox.cache_blobs.BLOB_CHUNK), and envelopes are kept exactly as
received: encrypted to this key.

InboxCache is the one object its callers use. It holds the connection, the schema, sealed rows,
key-value rows, cases and receipts; the rest is mixed in, as hub/storage/sqlite_*.py are into the
hub's storage:

    cache_envelopes  the envelopes received, what the hub listed, the signed ids seen
    cache_drafts     the drafts
    cache_outbox     the outbox: its items, their steps' progress, sealed envelopes waiting
    cache_blobs      the attachment files that a draft or an outbox item owns
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import TYPE_CHECKING, Any, Self

import aiosqlite

from hub import files
from hub.crypto import primitives as p
from hub.inbox.cache_drafts import DraftRows
from hub.inbox.cache_envelopes import EnvelopeRows
from hub.inbox.cache_outbox import OutboxRows
from hub.inbox.cache_retention import RetentionRows

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence
    from pathlib import Path


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
CREATE INDEX IF NOT EXISTS envelopes_unread ON envelopes (case_id)
    WHERE box = 'inbox' AND read_at IS NULL;
CREATE TABLE IF NOT EXISTS cases (
    case_id BLOB PRIMARY KEY, view TEXT NOT NULL, sort_key INTEGER NOT NULL,
    closed INTEGER NOT NULL, mine INTEGER NOT NULL,
    states TEXT NOT NULL DEFAULT '', parties TEXT NOT NULL DEFAULT ''
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


class InboxCache(EnvelopeRows, DraftRows, OutboxRows, RetentionRows):
    def __init__(self, db: aiosqlite.Connection, folder: Path, key: bytes) -> None:
        self._db = db
        self.folder = folder
        self._key = key

    @classmethod
    async def open(cls, folder: Path, key: bytes) -> Self:
        path = await asyncio.to_thread(_prepare, folder)
        db = await aiosqlite.connect(path)
        await db.execute("PRAGMA journal_mode=WAL")
        # What is deleted (a removed case: hub.inbox.cache_retention) is overwritten, not left
        # in the file's free pages.
        await db.execute("PRAGMA secure_delete=ON")
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
            "INSERT OR REPLACE INTO cases (case_id, view, sort_key, closed, mine, states, parties)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (case_id, json.dumps(view), sort_key, int(closed), int(mine), *_filter_words(view)),
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

    async def list_cases(  # noqa: PLR0913 - the list's filters, each optional and named
        self,
        box: str,
        limit: int = 200,
        only: Collection[bytes] | None = None,
        *,
        without: Collection[bytes] | None = None,
        state: str | None = None,
        municipality: str | None = None,
    ) -> list[dict[str, Any]]:
        """box: "inbox" (open cases, nearest deadline first), "sent" (mine), "closed";
        `only`: of these cases alone (a banner's list, a search's hits); `without`: but
        these (a search that found nearly all: the few it did not); `state`: with a request
        in that state; `municipality`: that municipality sent or was asked."""
        where = {"inbox": "closed = 0", "sent": "closed = 0 AND mine = 1", "closed": "closed = 1"}[
            box
        ]
        params: list[object] = []
        for ids, test in ((only, "IN"), (without, "NOT IN")):
            if ids is not None:  # one parameter however many: a JSON list of the ids in hex
                where += f" AND hex(case_id) {test} (SELECT value FROM json_each(?))"  # noqa: S608
                params.append(json.dumps([c.hex().upper() for c in ids]))
        for column, word in (("states", state), ("parties", municipality)):
            if word is not None:  # the column is its words between spaces: " read accepted "
                where += f" AND instr({column}, ?) > 0"
                params.append(f" {word} ")
        params.append(limit)
        async with self._db.execute(
            f"SELECT view FROM cases WHERE {where} ORDER BY sort_key LIMIT ?",  # noqa: S608 - fixed text
            params,
        ) as cur:
            return [json.loads(r[0]) for r in await cur.fetchall()]

    async def case_states(self) -> set[str]:
        """Every request state some kept case is in (the list's Läge filter offers these)."""
        async with self._db.execute("SELECT DISTINCT states FROM cases") as cur:
            return {state for r in await cur.fetchall() for state in str(r[0]).split()}

    async def case_municipalities(self) -> set[str]:
        """Every municipality that sent or was asked in some kept case (Kommun's choices)."""
        async with self._db.execute("SELECT DISTINCT parties FROM cases") as cur:
            return {m for r in await cur.fetchall() for m in str(r[0]).split()}

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


def _filter_words(view: dict[str, Any]) -> tuple[str, str]:
    """A case's request states and its municipalities (sender and asked), each as words
    between spaces, for the list's filters: what the hub knows too, so kept in clear."""
    states = {str(r["state"]) for r in view["requests"]}
    parties = {str(view["from"]), *(str(r["municipality"]) for r in view["requests"])}
    return f" {' '.join(sorted(states))} ", f" {' '.join(sorted(parties))} "


async def _migrate(db: aiosqlite.Connection) -> None:
    """A cache written by an earlier version: the listing flag, every id it had opened
    among those seen (before, a replay was judged on the envelopes table alone), and the
    cases' filter words."""
    async with db.execute("PRAGMA table_info(cases)") as cur:
        case_columns = {r[1] for r in await cur.fetchall()}
    if "states" not in case_columns:
        await db.execute("ALTER TABLE cases ADD COLUMN states TEXT NOT NULL DEFAULT ''")
        await db.execute("ALTER TABLE cases ADD COLUMN parties TEXT NOT NULL DEFAULT ''")
        async with db.execute("SELECT case_id, view FROM cases") as cur:
            rows = list(await cur.fetchall())
        await db.executemany(
            "UPDATE cases SET states = ?, parties = ? WHERE case_id = ?",
            [(*_filter_words(json.loads(view)), case_id) for case_id, view in rows],
        )
    # Each on its own: Läge's and Kommun's choices without reading every case's view.
    await db.execute("CREATE INDEX IF NOT EXISTS cases_by_states ON cases (states)")
    await db.execute("CREATE INDEX IF NOT EXISTS cases_by_parties ON cases (parties)")
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


def _prepare(folder: Path) -> Path:
    files.private_folder(folder)
    for inner in ("envelopes", "blobs", "outgoing"):
        files.private_folder(folder / inner)
    path = folder / "cache.sqlite3"
    if not path.exists():
        os.close(files.open_private(path))
    return path

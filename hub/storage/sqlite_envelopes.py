"""The SQLite side of envelopes (rows and their recipients): mixed into SqliteTransaction
(writes) and SqliteStorage (reads), as sqlite_notices.py is."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TypeVar

from hub.storage.base import EnvelopeRow, NotFound, StagedBlob, StorageError
from hub.storage.sqlite_codec import ReadHost, WriteHost

if TYPE_CHECKING:
    from collections.abc import Sequence


T = TypeVar("T")
_ENVELOPE_COLUMNS = (
    "seq, message_id, network_id, case_id, kind, sender_key_id, sender_municipality, "
    "recipient_municipalities, recipient_key_ids, size, digest, created_at, received_at"
)


def _envelope(row: Sequence[Any]) -> EnvelopeRow:
    return EnvelopeRow(
        seq=row[0],
        message_id=bytes(row[1]),
        network_id=row[2],
        case_id=bytes(row[3]),
        kind=row[4],
        sender_key_id=bytes(row[5]),
        sender_municipality=row[6],
        recipient_municipalities=tuple(json.loads(row[7])),
        recipient_key_ids=tuple(bytes.fromhex(k) for k in json.loads(row[8])),
        size=row[9],
        digest=bytes(row[10]),
        created_at=row[11],
        received_at=row[12],
    )


# Bound values per statement stay under SQLite's oldest limit of 999.
_ROWS_PER_INSERT = 999 // 12
_RECIPIENTS_PER_INSERT = 999 // 3
_IDS_PER_SELECT = 500
_BODIES_PER_INSERT = 16  # bodies of up to INLINE_BYTES each: a few MB a statement at most


def _values(row: EnvelopeRow) -> tuple[Any, ...]:
    return (
        row.message_id,
        row.network_id,
        row.case_id,
        row.kind,
        row.sender_key_id,
        row.sender_municipality,
        json.dumps(list(row.recipient_municipalities)),
        json.dumps([k.hex() for k in row.recipient_key_ids]),
        row.size,
        row.digest,
        row.created_at,
        row.received_at,
    )


def _parts(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


class EnvelopeWrites(WriteHost):
    """Writes; the host class gives `_fetch` inside its transaction. A group of uploads is a
    few statements, not a few per upload: each statement is a trip to the connection's
    thread."""

    async def add_envelope(self, envelope: EnvelopeRow) -> int:
        """Store the row and return its seq (assigned here; `envelope.seq` is not used)."""
        (seq,) = await self.add_envelopes([envelope])
        return seq

    async def add_envelopes(
        self, envelopes: Sequence[EnvelopeRow], bodies: Sequence[bytes | StagedBlob | None] = ()
    ) -> list[int]:
        """Store the rows and their recipients, and with each the envelope's bytes where
        `bodies` gives them, or the link to its staged chunks (None: its blob is a file
        already in place); their seqs in the same order."""
        seqs: dict[bytes, int] = {}
        for part in _parts(envelopes, _ROWS_PER_INSERT):
            rows = await self._fetch(
                "INSERT INTO envelopes (message_id, network_id, case_id, kind, sender_key_id,"  # noqa: S608 - placeholders only
                " sender_municipality, recipient_municipalities, recipient_key_ids, size, digest,"
                " created_at, received_at) VALUES "
                + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(part))
                + " RETURNING message_id, seq",
                [value for row in part for value in _values(row)],
            )
            seqs.update((bytes(message_id), seq) for message_id, seq in rows)
        if len(seqs) != len(envelopes):
            raise StorageError("a message id twice in one group")
        recipients = [
            (e.network_id, municipality, seqs[e.message_id])
            for e in envelopes
            for municipality in sorted(set(e.recipient_municipalities) - {e.sender_municipality})
        ]
        for some in _parts(recipients, _RECIPIENTS_PER_INSERT):
            await self._fetch(
                "INSERT INTO envelope_recipients (network_id, municipality_id, seq) VALUES "  # noqa: S608 - placeholders only
                + ", ".join(["(?, ?, ?)"] * len(some)),
                [value for row in some for value in row],
            )
        numbered = [(seqs[e.message_id], body) for e, body in zip(envelopes, bodies, strict=False)]
        kept = [(seq, body) for seq, body in numbered if isinstance(body, bytes)]
        staged = [(seq, body) for seq, body in numbered if isinstance(body, StagedBlob)]
        if staged:
            await self._link_staged(staged)
        for few in _parts(kept, _BODIES_PER_INSERT):
            await self._fetch(
                "INSERT INTO envelope_bodies (seq, body) VALUES "  # noqa: S608 - placeholders only
                + ", ".join(["(?, ?)"] * len(few)),
                [value for row in few for value in row],
            )
        return [seqs[e.message_id] for e in envelopes]

    async def _link_staged(self, blobs: Sequence[tuple[int, StagedBlob]]) -> None:
        """Make staged chunks the blobs of these seqs: only a database blob store stages."""
        del blobs
        raise StorageError("this backend keeps large envelopes as files")

    async def find_envelope(self, message_id: bytes) -> EnvelopeRow | None:
        """The row stored under `message_id`, read under this transaction's write lock (so
        nobody can store one between this look and the caller's insert); None if there is
        none."""
        return (await self.find_envelopes([message_id])).get(message_id)

    async def find_envelopes(self, message_ids: Sequence[bytes]) -> dict[bytes, EnvelopeRow]:
        """The rows stored under any of `message_ids`, as find_envelope reads them."""
        found: dict[bytes, EnvelopeRow] = {}
        for part in _parts(list(dict.fromkeys(message_ids)), _IDS_PER_SELECT):
            rows = await self._fetch(
                f"SELECT {_ENVELOPE_COLUMNS} FROM envelopes WHERE message_id IN"  # noqa: S608 - constant columns
                f" ({', '.join(['?'] * len(part))})",
                part,
            )
            found.update((bytes(row[1]), _envelope(row)) for row in rows)
        return found


class EnvelopeReads(ReadHost):
    """Reads; the host class gives `_read` and `_one` on its read-only connection."""

    async def get_envelope(self, message_id: bytes) -> EnvelopeRow:
        row = await self._one(
            "envelope",
            f"SELECT {_ENVELOPE_COLUMNS} FROM envelopes WHERE message_id = ?",  # noqa: S608
            (message_id,),
        )
        return _envelope(row)

    async def get_envelope_body(self, message_id: bytes) -> bytes | None:
        """The envelope's bytes if they are kept in the database; None if its blob is a file
        (NotFound if there is no such envelope)."""
        rows = await self._read(
            "SELECT b.body FROM envelopes AS e LEFT JOIN envelope_bodies AS b ON b.seq = e.seq"
            " WHERE e.message_id = ?",
            (message_id,),
        )
        if not rows:
            raise NotFound("envelope")
        return None if rows[0][0] is None else bytes(rows[0][0])

    async def list_envelopes(
        self, network_id: str, municipality_id: str, *, box: str, after: int = 0, limit: int = 200
    ) -> Sequence[EnvelopeRow]:
        """Inbox: envelopes addressed to the municipality by another one. Sent: those it sent.
        In seq order, those with seq > `after`, at most `limit`."""
        if box == "inbox":
            rows = await self._read(
                f"SELECT {', '.join('e.' + c for c in _ENVELOPE_COLUMNS.split(', '))}"  # noqa: S608
                " FROM envelope_recipients AS r JOIN envelopes AS e ON e.seq = r.seq"
                " WHERE r.network_id = ? AND r.municipality_id = ? AND r.seq > ?"
                " AND e.sender_municipality != ? ORDER BY r.seq LIMIT ?",
                (network_id, municipality_id, after, municipality_id, limit),
            )
        elif box == "sent":
            rows = await self._read(
                f"SELECT {_ENVELOPE_COLUMNS} FROM envelopes"  # noqa: S608
                " WHERE network_id = ? AND sender_municipality = ? AND seq > ?"
                " ORDER BY seq LIMIT ?",
                (network_id, municipality_id, after, limit),
            )
        else:
            raise ValueError("box is 'inbox' or 'sent'")
        return [_envelope(r) for r in rows]

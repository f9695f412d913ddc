"""The SQLite side of envelopes (rows and their recipients): mixed into SqliteTransaction
(writes) and SqliteStorage (reads), as sqlite_notices.py is."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from hub.storage.base import EnvelopeRow, StorageError

if TYPE_CHECKING:
    from collections.abc import Sequence

    import aiosqlite

_ENVELOPE_COLUMNS = (
    "seq, message_id, network_id, case_id, kind, sender_key_id, sender_municipality, "
    "recipient_municipalities, recipient_key_ids, size, digest, created_at, received_at"
)


def _envelope(row: Sequence[Any]) -> EnvelopeRow:
    return EnvelopeRow(
        seq=row[0],
        message_id=row[1],
        network_id=row[2],
        case_id=row[3],
        kind=row[4],
        sender_key_id=row[5],
        sender_municipality=row[6],
        recipient_municipalities=tuple(json.loads(row[7])),
        recipient_key_ids=tuple(bytes.fromhex(k) for k in json.loads(row[8])),
        size=row[9],
        digest=row[10],
        created_at=row[11],
        received_at=row[12],
    )


class EnvelopeWrites:
    """Writes; the host class gives `_exec`, `_changed` and `_rows` inside its transaction."""

    async def _exec(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Cursor:
        raise NotImplementedError

    async def _changed(self, sql: str, params: Sequence[Any]) -> int:
        raise NotImplementedError

    async def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    async def add_envelope(self, envelope: EnvelopeRow) -> int:
        """Store the row and return its seq (assigned here; `envelope.seq` is not used)."""
        e = envelope
        cursor = await self._exec(
            "INSERT INTO envelopes (message_id, network_id, case_id, kind, sender_key_id,"
            " sender_municipality, recipient_municipalities, recipient_key_ids, size, digest,"
            " created_at, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                e.message_id,
                e.network_id,
                e.case_id,
                e.kind,
                e.sender_key_id,
                e.sender_municipality,
                json.dumps(list(e.recipient_municipalities)),
                json.dumps([k.hex() for k in e.recipient_key_ids]),
                e.size,
                e.digest,
                e.created_at,
                e.received_at,
            ),
        )
        seq = cursor.lastrowid
        await cursor.close()
        if seq is None:
            raise StorageError("no seq for the new envelope")
        for municipality in sorted(set(e.recipient_municipalities) - {e.sender_municipality}):
            await self._changed(
                "INSERT INTO envelope_recipients (network_id, municipality_id, seq)"
                " VALUES (?, ?, ?)",
                (e.network_id, municipality, seq),
            )
        return seq

    async def find_envelope(self, message_id: bytes) -> EnvelopeRow | None:
        """The row stored under `message_id`, read under this transaction's write lock (so
        nobody can store one between this look and the caller's insert); None if there is
        none."""
        rows = await self._rows(
            f"SELECT {_ENVELOPE_COLUMNS} FROM envelopes WHERE message_id = ?",  # noqa: S608 - constant columns
            (message_id,),
        )
        return _envelope(rows[0]) if rows else None


class EnvelopeReads:
    """Reads; the host class gives `_read` and `_one` on its read-only connection."""

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    async def _one(self, what: str, sql: str, params: Sequence[Any]) -> Any:  # noqa: ANN401
        raise NotImplementedError

    async def get_envelope(self, message_id: bytes) -> EnvelopeRow:
        row = await self._one(
            "envelope",
            f"SELECT {_ENVELOPE_COLUMNS} FROM envelopes WHERE message_id = ?",  # noqa: S608
            (message_id,),
        )
        return _envelope(row)

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

"""The SQLite side of who may act: directory records, invites, enrolments, sign-in challenges
and sessions (migrations/0001_initial.sql): mixed into SqliteTransaction (writes) and
SqliteStorage (reads), as sqlite_notices.py is."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.protocol.roles import AccountRole
from hub.storage.base import (
    DirectoryRecord,
    Enrolment,
    Invite,
    NotFound,
    Session,
    StorageError,
    erased_wire,
)
from hub.storage.sqlite_codec import ReadHost, WriteHost
from hub.storage.sqlite_codec import json_object as _object
from hub.storage.sqlite_codec import json_text as _json

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hub.crypto.leaves import Erased


_ENROLMENT_COLUMNS = (
    "id, network_id, municipality_id, person, role, public_identity, key_id, status, created_at,"
    " code_hash, proof"
)


def _enrolment(row: Sequence[Any]) -> Enrolment:
    return Enrolment(
        id=row[0],
        network_id=row[1],
        municipality_id=row[2],
        person=row[3],
        role=row[4],
        public_identity=_object(row[5]),
        key_id=row[6],
        status=row[7],
        created_at=row[8],
        code_hash=row[9],
        proof=row[10],
    )


class AccessWrites(WriteHost):
    """Writes; the host class gives `_changed`, `_rows` and `_fetch` inside its transaction."""

    async def add_directory_record(self, record: DirectoryRecord) -> None:
        await self._changed(
            "INSERT INTO directory_records (network_id, serial, kind, key_id, wire)"
            " VALUES (?, ?, ?, ?, ?)",
            (record.network_id, record.serial, record.kind, record.key_id, _json(record.wire)),
        )

    async def erase_directory_record(self, network_id: str, item: Erased) -> None:
        """Drop a record's body for good: its leaf hash stays, as the log needs it."""
        await self._changed(
            "UPDATE directory_records SET wire = ? WHERE network_id = ? AND serial = ?",
            (_json(erased_wire(item)), network_id, item.serial),
        )

    async def add_invite(self, invite: Invite) -> None:
        i = invite
        await self._changed(
            "INSERT INTO invites (code_hash, network_id, municipality_id, person, role,"
            " expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                i.code_hash,
                i.network_id,
                i.municipality_id,
                i.person,
                i.role,
                i.expires_at,
                i.created_at,
            ),
        )

    async def take_invite(self, code_hash: bytes, at: int) -> Invite:
        """The invite, marked used; NotFound if unknown, already used or expired."""
        rows = await self._rows(
            "SELECT code_hash, network_id, municipality_id, person, role, expires_at, created_at"
            " FROM invites WHERE code_hash = ? AND used_at IS NULL AND expires_at > ?",
            (code_hash, at),
        )
        if not rows:
            raise NotFound("invite")
        await self._changed("UPDATE invites SET used_at = ? WHERE code_hash = ?", (at, code_hash))
        return Invite(*rows[0])

    async def add_enrolment(self, enrolment: Enrolment) -> int:
        """Store a new enrolment; its id is assigned here (`enrolment.id` is not used)."""
        e = enrolment
        rows = await self._fetch(
            "INSERT INTO enrolments (network_id, municipality_id, person, role,"
            " public_identity, key_id, status, created_at, code_hash, proof)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                e.network_id,
                e.municipality_id,
                e.person,
                e.role,
                _json(e.public_identity),
                e.key_id,
                e.status,
                e.created_at,
                e.code_hash,
                e.proof,
            ),
        )
        if not rows:
            raise StorageError("no id for the new enrolment")
        return int(rows[0][0])

    async def set_enrolment_status(self, enrolment_id: int, status: str) -> None:
        changed = await self._changed(
            "UPDATE enrolments SET status = ? WHERE id = ?", (status, enrolment_id)
        )
        if changed == 0:
            raise NotFound("enrolment")

    async def add_challenge(self, nonce: bytes, key_id: bytes, expires_at: int) -> None:
        await self._changed(
            "INSERT INTO challenges (nonce, key_id, expires_at) VALUES (?, ?, ?)",
            (nonce, key_id, expires_at),
        )

    async def take_challenge(self, nonce: bytes, key_id: bytes, at: int) -> None:
        """Use up a challenge; NotFound if unknown, for another key, used or expired."""
        # Challenges are handed out to anyone (rate-limited): expired ones are swept here, on
        # the sign-in path, so the table cannot grow without bound.
        await self._changed("DELETE FROM challenges WHERE expires_at <= ?", (at,))
        taken = await self._changed(
            "DELETE FROM challenges WHERE nonce = ? AND key_id = ? AND expires_at > ?",
            (nonce, key_id, at),
        )
        if taken == 0:
            raise NotFound("challenge")

    async def add_session(self, session: Session) -> None:
        s = session
        await self._changed(
            "INSERT INTO sessions (token_hash, network_id, key_id, municipality_id, role,"
            " expires_at) VALUES (?, ?, ?, ?, ?, ?)",
            (s.token_hash, s.network_id, s.key_id, s.municipality_id, s.role, s.expires_at),
        )

    async def purge_expired(self, at: int) -> int:
        """Forget sign-in challenges and sessions that can no longer be used."""
        purged = await self._changed("DELETE FROM challenges WHERE expires_at <= ?", (at,))
        return purged + await self._changed("DELETE FROM sessions WHERE expires_at <= ?", (at,))


class AccessReads(ReadHost):
    """Reads; the host class gives `_read` and `_one` on its read-only connection."""

    async def list_directory_records(self, network_id: str) -> list[DirectoryRecord]:
        rows = await self._read(
            "SELECT network_id, serial, kind, key_id, wire FROM directory_records"
            " WHERE network_id = ? ORDER BY serial",
            (network_id,),
        )
        return [DirectoryRecord(r[0], r[1], r[2], r[3], _object(r[4])) for r in rows]

    async def keeps_signatures_of(self, network_id: str, key_id: bytes) -> bool:
        """Whether an envelope or a receipt the hub still keeps was signed with `key_id`: its
        directory entry is still needed (docs/protocol.md §12.11)."""
        rows = await self._read(
            "SELECT 1 FROM envelopes WHERE network_id = ? AND sender_key_id = ?"
            " UNION ALL SELECT 1 FROM receipts r JOIN envelopes e ON e.message_id = r.message_id"
            " WHERE e.network_id = ? AND r.signer_key_id = ? LIMIT 1",
            (network_id, key_id, network_id, key_id),
        )
        return bool(rows)

    async def next_directory_serial(self, network_id: str) -> int:
        """One more than the highest serial stored (1 for an empty directory)."""
        rows = await self._read(
            "SELECT COALESCE(MAX(serial), 0) + 1 FROM directory_records WHERE network_id = ?",
            (network_id,),
        )
        return int(rows[0][0])

    async def list_enrolments(self, network_id: str, status: str) -> list[Enrolment]:
        rows = await self._read(
            f"SELECT {_ENROLMENT_COLUMNS} FROM enrolments"  # noqa: S608 - constant columns
            " WHERE network_id = ? AND status = ? ORDER BY id",
            (network_id, status),
        )
        return [_enrolment(r) for r in rows]

    async def get_enrolment(self, enrolment_id: int) -> Enrolment:
        row = await self._one(
            "enrolment",
            f"SELECT {_ENROLMENT_COLUMNS} FROM enrolments WHERE id = ?",  # noqa: S608
            (enrolment_id,),
        )
        return _enrolment(row)

    async def get_session(self, token_hash: bytes, at: int) -> Session:
        """The session if it exists and has not expired at `at`; NotFound otherwise."""
        row = await self._one(
            "session",
            "SELECT token_hash, network_id, key_id, municipality_id, role, expires_at"
            " FROM sessions WHERE token_hash = ? AND expires_at > ?",
            (token_hash, at),
        )
        return Session(row[0], row[1], row[2], row[3], AccountRole(row[4]), row[5])

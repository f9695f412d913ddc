"""Recovery copies kept on the hub (migrations/0012_recovery_copies.sql, docs/protocol.md §3.8):
mixed into both backends' transaction and storage, as sqlite_notices.py is."""

from __future__ import annotations

from hub.storage.base import NotFound, RecoveryCopy
from hub.storage.sqlite_codec import ReadHost, WriteHost

_COLUMNS = "network_id, lookup, key_id, municipality_id, copy, stored_at"


class RecoveryWrites(WriteHost):
    async def put_recovery_copy(self, copy: RecoveryCopy) -> None:
        """Store `copy` as its key's one copy: the key's earlier copy goes, so its code fetches
        nothing any more. AlreadyExists if another key's copy has the same lookup id."""
        c = copy
        await self._changed(
            "DELETE FROM recovery_copies WHERE network_id = ? AND key_id = ?",
            (c.network_id, c.key_id),
        )
        await self._changed(
            f"INSERT INTO recovery_copies ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",  # noqa: S608 - constant columns
            (c.network_id, c.lookup, c.key_id, c.municipality_id, c.copy, c.stored_at),
        )

    async def remove_recovery_copy(self, network_id: str, key_id: bytes) -> bool:
        return (
            await self._changed(
                "DELETE FROM recovery_copies WHERE network_id = ? AND key_id = ?",
                (network_id, key_id),
            )
            > 0
        )


class RecoveryReads(ReadHost):
    async def get_recovery_copy(self, network_id: str, lookup: bytes) -> RecoveryCopy:
        rows = await self._read(
            f"SELECT {_COLUMNS} FROM recovery_copies WHERE network_id = ? AND lookup = ?",  # noqa: S608 - constant columns
            (network_id, lookup),
        )
        if not rows:
            raise NotFound("recovery copy")
        r = rows[0]
        return RecoveryCopy(r[0], bytes(r[1]), bytes(r[2]), r[3], r[4], int(r[5]))

    async def list_recovery_copies(self, network_id: str) -> list[tuple[bytes, int]]:
        rows = await self._read(
            "SELECT key_id, stored_at FROM recovery_copies WHERE network_id = ? ORDER BY key_id",
            (network_id,),
        )
        return [(bytes(r[0]), int(r[1])) for r in rows]

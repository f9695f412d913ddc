"""The SQLite side of the directory log (migrations/0009_transparency.sql): the checkpoints the
administrator's tools signed and the witnesses' cosignature lines on them. The leaves are the
directory records themselves. Mixed into SqliteTransaction (writes) and SqliteStorage (reads)."""

from __future__ import annotations

from hub.storage.base import LogCheckpoint
from hub.storage.sqlite_codec import ReadHost, WriteHost


class LogWrites(WriteHost):
    async def add_checkpoint(self, checkpoint: LogCheckpoint) -> None:
        c = checkpoint
        await self._changed(
            "INSERT INTO log_checkpoints (network_id, size, note, added_at) VALUES (?, ?, ?, ?)",
            (c.network_id, c.size, c.note, c.added_at),
        )

    async def put_cosignature(
        self, network_id: str, size: int, witness: str, line: str, signed_at: int
    ) -> None:
        """Keep a witness's line on a checkpoint unless one of a later time is kept already."""
        await self._changed(
            "INSERT INTO log_cosignatures (network_id, size, witness, line, signed_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (network_id, size, witness) DO UPDATE"
            " SET line = excluded.line, signed_at = excluded.signed_at"
            " WHERE excluded.signed_at > log_cosignatures.signed_at",
            (network_id, size, witness, line, signed_at),
        )


class LogReads(ReadHost):
    async def latest_checkpoint(self, network_id: str) -> LogCheckpoint | None:
        rows = await self._read(
            "SELECT network_id, size, note, added_at FROM log_checkpoints WHERE network_id = ?"
            " ORDER BY size DESC LIMIT 1",
            (network_id,),
        )
        return LogCheckpoint(*rows[0]) if rows else None

    async def list_cosignatures(self, network_id: str, size: int) -> list[str]:
        """The witnesses' lines on one checkpoint, in the witnesses' name order."""
        rows = await self._read(
            "SELECT line FROM log_cosignatures WHERE network_id = ? AND size = ? ORDER BY witness",
            (network_id, size),
        )
        return [row[0] for row in rows]

    async def log_networks(self) -> list[str]:
        """The networks with a directory log (at least one checkpoint)."""
        rows = await self._read("SELECT DISTINCT network_id FROM log_checkpoints ORDER BY 1")
        return [row[0] for row in rows]

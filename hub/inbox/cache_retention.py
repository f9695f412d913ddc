"""The inbox cache's retention (gallring): a case's decrypted copy removed from this machine.
Mixed into InboxCache (hub/inbox/cache.py); hub/inbox/inbox_retention.py decides when.

A removed case leaves no row, envelope file or attachment of it in the cache's folder: its
envelopes (their documents), the envelope files as received, receipts, the listing's hints,
the kept case with its signed steps, its deadlines and its filed outcome report. The cache
overwrites what it deletes (secure_delete) and empties its write-ahead log afterwards. What
stays is each message id among those seen, so a replay of a removed message is still refused
(an id says nothing of the case's content).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from hub.inbox.cache_blobs import _unlink_all

if TYPE_CHECKING:
    from pathlib import Path

    import aiosqlite

OUTCOME_REPORT_KEY = "outcome_report:"  # hub.inbox.outcomes keeps the filed report under it


class RetentionRows:
    """The host class gives `_db`, `folder` and `envelope_path`."""

    _db: aiosqlite.Connection

    def envelope_path(self, message_id: bytes) -> Path:
        raise NotImplementedError

    async def remove_case(self, case_id: bytes) -> int:
        """Remove the case's decrypted copy; the number of its messages removed."""
        async with self._db.execute(
            "SELECT message_id FROM envelopes WHERE case_id = ?", (case_id,)
        ) as cur:
            message_ids = [bytes(r[0]) for r in await cur.fetchall()]
        marks = ",".join("?" * len(message_ids))
        if message_ids:
            await self._db.execute(
                f"DELETE FROM receipts WHERE message_id IN ({marks})",  # noqa: S608 - marks
                message_ids,
            )
            await self._db.execute(
                f"DELETE FROM listed WHERE message_id IN ({marks})",  # noqa: S608 - marks
                message_ids,
            )
        await self._db.execute("DELETE FROM listed WHERE case_hint = ?", (case_id,))
        await self._db.execute("DELETE FROM envelopes WHERE case_id = ?", (case_id,))
        await self._db.execute("DELETE FROM dues WHERE case_id = ?", (case_id,))
        await self._db.execute("DELETE FROM cases WHERE case_id = ?", (case_id,))
        await self._db.execute(
            "DELETE FROM kv WHERE key = ?", (OUTCOME_REPORT_KEY + case_id.hex(),)
        )
        await self._db.commit()
        await asyncio.to_thread(_unlink_all, [self.envelope_path(m) for m in message_ids])
        await self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return len(message_ids)

"""The inbox cache's drafts: what was typed into Ny förfrågan, sealed, with the attachment
files the draft owns. Mixed into InboxCache (hub/inbox/cache.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.inbox.cache_blobs import PENDING, BlobFiles

if TYPE_CHECKING:
    from collections.abc import Sequence


class DraftRows(BlobFiles):
    """The host class gives `_db`, `folder`, `_key`, and `_seal` and `_unseal` under its key."""

    def _seal(self, table: str, row_id: str, value: object) -> bytes:
        raise NotImplementedError

    def _unseal(self, table: str, row_id: str, blob: bytes) -> Any:  # noqa: ANN401
        raise NotImplementedError

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

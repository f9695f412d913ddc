"""The inbox cache's outbox: each item sealed until the hub has taken it, the progress of its
steps, its sealed envelopes waiting on disk and the attachment files it sends. Mixed into
InboxCache (hub/inbox/cache.py); hub/inbox/outbox.py sends the items."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hub.inbox.cache_blobs import BlobFiles, _unlink_all

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path


class OutboxRows(BlobFiles):
    """The host class gives `_db`, `folder`, `_key`, `_seal` and `_unseal` under its key, and
    its key-value rows."""

    def _seal(self, table: str, row_id: str, value: object) -> bytes:
        raise NotImplementedError

    def _unseal(self, table: str, row_id: str, blob: bytes) -> Any:  # noqa: ANN401
        raise NotImplementedError

    async def get_value(self, key: str, default: str = "") -> str:
        raise NotImplementedError

    async def set_value(self, key: str, value: str) -> None:
        raise NotImplementedError

    def outgoing_path(self, name: str) -> Path:
        """Where a sealed envelope waits until the hub has taken it ("<item id>-<step>":
        ciphertext, kept across restarts while its item waits; removed after)."""
        return self.folder / "outgoing" / f"{name}.env"

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

    async def cases_waiting(self) -> set[str]:
        """The cases (hex ids) with something still in the outbox: kept, whatever retention says."""
        return {body["case_id"] for _, body in await self.outbox()}

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
    signed (the case steps, as signed: resent unchanged until the hub has them), done."""

    sealed: bytes | None = None
    uploaded: bytes | None = None
    done: bool = False
    signed: tuple[dict[str, str], ...] | None = None

    def to_text(self) -> str:
        return json.dumps(
            {
                "sealed": None if self.sealed is None else self.sealed.hex(),
                "uploaded": None if self.uploaded is None else self.uploaded.hex(),
                "done": self.done,
                "signed": None if self.signed is None else list(self.signed),
            }
        )

    @classmethod
    def from_text(cls, text: str) -> StepProgress:
        if text in {"", "1"}:  # nothing yet; or "1", an earlier version's "done"
            return cls(done=text == "1")
        value = json.loads(text)
        signed = value.get("signed")  # absent in an earlier version's
        return cls(
            sealed=None if value["sealed"] is None else bytes.fromhex(value["sealed"]),
            uploaded=None if value["uploaded"] is None else bytes.fromhex(value["uploaded"]),
            done=bool(value["done"]),
            signed=None if signed is None else tuple(signed),
        )

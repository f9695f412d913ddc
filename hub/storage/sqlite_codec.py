"""JSON in text columns (one compact, sorted encoding; objects read back checked), and what the
mixins of the transaction and the storage need from their host class. The mixins' SQL is
written in what SQLite and PostgreSQL both understand (`?` placeholders, which the PostgreSQL
host rewrites), so both backends share them (hub/storage/sqlite.py, hub/storage/postgres.py)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from hub.storage.base import StorageError

if TYPE_CHECKING:
    from collections.abc import Sequence


def json_text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def json_object(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise StorageError("a stored JSON object is not an object")
    return value


class WriteHost:
    """What a mixin of the transaction's writes needs from it, inside its transaction."""

    async def _changed(self, sql: str, params: Sequence[Any]) -> int:
        raise NotImplementedError

    async def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError


class ReadHost:
    """What a mixin of the storage's reads needs from it, outside any transaction."""

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    async def _one(self, what: str, sql: str, params: Sequence[Any]) -> Any:  # noqa: ANN401
        raise NotImplementedError

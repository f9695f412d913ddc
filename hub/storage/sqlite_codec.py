"""JSON in SQLite text columns (one compact, sorted encoding; objects read back checked), and
what the mixins of sqlite.py's transaction and storage need from their host class."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from hub.storage.base import StorageError

if TYPE_CHECKING:
    from collections.abc import Sequence

    import aiosqlite


def json_text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def json_object(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise StorageError("a stored JSON object is not an object")
    return value


class WriteHost:
    """What a mixin of SqliteTransaction's writes needs from it, inside its transaction."""

    async def _exec(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Cursor:
        raise NotImplementedError

    async def _changed(self, sql: str, params: Sequence[Any]) -> int:
        raise NotImplementedError

    async def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError


class ReadHost:
    """What a mixin of SqliteStorage's reads needs from it, on its read-only connection."""

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    async def _one(self, what: str, sql: str, params: Sequence[Any]) -> Any:  # noqa: ANN401
        raise NotImplementedError

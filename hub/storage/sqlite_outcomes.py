"""The SQLite side of outcome reports (migrations/0004_outcome_reports.sql): mixed into
SqliteTransaction (writes) and SqliteStorage (reads), as sqlite_notices.py is.

A report is stored as the JSON object OutcomeReport.to_json() gives: categories only, in clear
by explicit design (docs/api.md, "Cases"). Checking it against the case is the server's job."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from hub.storage.base import StorageError
from hub.storage.sqlite_codec import json_text

if TYPE_CHECKING:
    from collections.abc import Sequence


_text = json_text


def _report(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise StorageError("a stored outcome report is not a JSON object")
    return value


class OutcomeWrites:
    """Writes; the host class gives `_changed` inside its transaction."""

    async def _changed(self, sql: str, params: Sequence[Any]) -> int:
        raise NotImplementedError

    async def put_outcome_report(
        self,
        case_id: bytes,
        network_id: str,
        sender_municipality: str,
        report: dict[str, Any],
        at: int,
    ) -> None:
        """File the case's report, replacing one filed before (the sender may correct it)."""
        await self._changed(
            "INSERT INTO outcome_reports"
            " (case_id, network_id, sender_municipality, report, filed_at)"
            " VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (case_id) DO UPDATE SET network_id = excluded.network_id,"
            " sender_municipality = excluded.sender_municipality,"
            " report = excluded.report, filed_at = excluded.filed_at",
            (case_id, network_id, sender_municipality, _text(report), at),
        )


class OutcomeReads:
    """Reads; the host class gives `_read` on its read-only connection."""

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    async def get_outcome_report(self, case_id: bytes) -> dict[str, Any] | None:
        rows = await self._read("SELECT report FROM outcome_reports WHERE case_id = ?", (case_id,))
        return _report(rows[0][0]) if rows else None

    async def list_outcome_reports(
        self, network_id: str
    ) -> list[tuple[bytes, dict[str, Any], int]]:
        """(case_id, report, filed_at) of every report in the network, oldest filing first."""
        rows = await self._read(
            "SELECT case_id, report, filed_at FROM outcome_reports WHERE network_id = ?"
            " ORDER BY filed_at, case_id",
            (network_id,),
        )
        return [(bytes(r[0]), _report(r[1]), int(r[2])) for r in rows]

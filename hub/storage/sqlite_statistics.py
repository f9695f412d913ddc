"""The SQLite side of the coordinator's statistics: every case of a network, for one pass by
hub/report/statistics.py. Mixed into SqliteStorage, as sqlite_notices.py's NoticeReads is.

A case row holds lifecycle metadata only (migrations/0002_cases.sql): states, events, times,
decline reason codes and moving dates, never content."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from hub.storage.base import CaseRow, StorageError

if TYPE_CHECKING:
    from collections.abc import Sequence


def _object(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise StorageError("a stored case is not a JSON object")
    return value


class StatisticsReads:
    """Reads; the host class gives `_read` on its read-only connection."""

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    async def list_network_cases(self, network_id: str) -> list[CaseRow]:
        """Every case of the network, oldest first, with its requests: two queries, whatever
        the number of cases (one for the cases, one for all their requests)."""
        rows = await self._read(
            "SELECT case_id, network_id, sender_municipality, data, version, created_at,"
            " updated_at FROM cases WHERE network_id = ? ORDER BY created_at, case_id",
            (network_id,),
        )
        requests: dict[bytes, list[tuple[str, str, int]]] = {}
        for case_id, municipality, state, entered_at in await self._read(
            "SELECT r.case_id, r.municipality, r.state, r.entered_at FROM case_requests r"
            " JOIN cases c ON c.case_id = r.case_id WHERE c.network_id = ?"
            " ORDER BY r.case_id, r.municipality",
            (network_id,),
        ):
            requests.setdefault(bytes(case_id), []).append((municipality, state, entered_at))
        return [
            CaseRow(
                case_id=bytes(r[0]),
                network_id=r[1],
                sender_municipality=r[2],
                data=_object(r[3]),
                requests=tuple(requests.get(bytes(r[0]), ())),
                created_at=r[5],
                updated_at=r[6],
                version=r[4],
            )
            for r in rows
        ]

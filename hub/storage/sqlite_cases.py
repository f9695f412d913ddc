"""The SQLite side of cases and their requests (migrations/0002_cases.sql): mixed into
SqliteTransaction (writes) and SqliteStorage (reads), as sqlite_notices.py is."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.storage.base import AlreadyExists, CaseRow, CaseStepRow, StaleVersion
from hub.storage.sqlite_codec import ReadHost, WriteHost
from hub.storage.sqlite_codec import json_object as _object
from hub.storage.sqlite_codec import json_text as _json

if TYPE_CHECKING:
    from collections.abc import Sequence


class CaseWrites(WriteHost):
    """Writes; the host class gives `_changed` and `_rows` inside its transaction."""

    async def add_case(self, case: CaseRow) -> None:
        await self._changed(
            "INSERT INTO cases (case_id, network_id, sender_municipality, data, version,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                case.case_id,
                case.network_id,
                case.sender_municipality,
                _json(case.data),
                case.version,
                case.created_at,
                case.updated_at,
            ),
        )
        await self._put_case_requests(case)

    async def update_case(self, case: CaseRow) -> None:
        changed = await self._changed(
            "UPDATE cases SET data = ?, version = ?, updated_at = ?"
            " WHERE case_id = ? AND version = ?",
            (_json(case.data), case.version, case.updated_at, case.case_id, case.version - 1),
        )
        if changed != 1:
            raise StaleVersion("the case changed since it was read")
        await self._put_case_requests(case)

    async def add_case_steps(self, steps: Sequence[CaseStepRow]) -> None:
        for step in steps:
            taken = await self._rows(
                "SELECT 1 FROM case_steps WHERE case_id = ? AND municipality = ? AND parent = ?",
                (step.case_id, step.municipality, step.parent or b""),
            )
            if taken:
                raise AlreadyExists("a step already follows that parent")
            await self._changed(
                "INSERT INTO case_steps (case_id, municipality, parent, digest, step,"
                " received_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    step.case_id,
                    step.municipality,
                    step.parent or b"",
                    step.digest,
                    _json(step.step),
                    step.received_at,
                ),
            )

    async def _put_case_requests(self, case: CaseRow) -> None:
        await self._changed("DELETE FROM case_requests WHERE case_id = ?", (case.case_id,))
        for municipality, state, entered_at in case.requests:
            await self._changed(
                "INSERT INTO case_requests (case_id, municipality, state, entered_at)"
                " VALUES (?, ?, ?, ?)",
                (case.case_id, municipality, state, entered_at),
            )


class CaseReads(ReadHost):
    """Reads; the host class gives `_read` and `_one` on its read-only connection."""

    async def get_case(self, case_id: bytes) -> CaseRow:
        row = await self._one(
            "case",
            "SELECT case_id, network_id, sender_municipality, data, version, created_at,"
            " updated_at FROM cases WHERE case_id = ?",
            (case_id,),
        )
        return await self._case(row)

    async def list_cases(self, network_id: str, municipality_id: str) -> list[CaseRow]:
        rows = await self._read(
            "SELECT case_id, network_id, sender_municipality, data, version, created_at,"
            " updated_at FROM cases WHERE network_id = ? AND (sender_municipality = ?"
            " OR case_id IN (SELECT case_id FROM case_requests WHERE municipality = ?))"
            " ORDER BY created_at, case_id",
            (network_id, municipality_id, municipality_id),
        )
        return [await self._case(r) for r in rows]

    async def list_case_steps(self, case_id: bytes) -> list[CaseStepRow]:
        rows = await self._read(
            "SELECT municipality, parent, digest, step, received_at FROM case_steps"
            " WHERE case_id = ? ORDER BY seq",
            (case_id,),
        )
        return [
            CaseStepRow(
                case_id=case_id,
                municipality=municipality,
                parent=bytes(parent) or None,
                digest=bytes(digest),
                step=_object(step),
                received_at=received_at,
            )
            for municipality, parent, digest, step, received_at in rows
        ]

    async def _case(self, row: Sequence[Any]) -> CaseRow:
        requests = await self._read(
            "SELECT municipality, state, entered_at FROM case_requests WHERE case_id = ?"
            " ORDER BY municipality",
            (row[0],),
        )
        return CaseRow(
            case_id=bytes(row[0]),
            network_id=row[1],
            sender_municipality=row[2],
            data=_object(row[3]),
            requests=tuple((m, st, at) for m, st, at in requests),
            created_at=row[5],
            updated_at=row[6],
            version=row[4],
        )

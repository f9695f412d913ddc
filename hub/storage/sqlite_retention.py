"""The SQLite side of retention (gallring, migration 0008): removing one ended case with every
row that names it or its messages, freezing a year's report, and reading both back. Mixed into
SqliteTransaction and SqliteStorage, as sqlite_cases.py is. What is due, and when, is decided in
hub/server/retention.py; this only removes what it is told to, in the caller's transaction."""

from __future__ import annotations

from typing import Any

from hub.protocol.notices import clock_cause_prefix, delivery_cause_prefix
from hub.storage.base import NotFound, RemovedCase, StaleVersion
from hub.storage.sqlite_audit import AuditWrites
from hub.storage.sqlite_codec import ReadHost
from hub.storage.sqlite_codec import json_object as _object
from hub.storage.sqlite_codec import json_text as _json


def _starting_with(prefix: str) -> tuple[str, str]:
    """The range of the texts that start with `prefix` (which ends in "/"), for `>= ? AND < ?`:
    SQLite's LIKE would not use the index, this does."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


class RetentionWrites(AuditWrites):
    """Writes; the host class gives `_fetch` and `_changed` inside its transaction."""

    async def remove_case(self, case_id: bytes, version: int) -> RemovedCase:
        """Remove the case, its requests, envelopes (rows and the bodies kept in the database),
        receipts, outcome report, alarms, fired alarms and notices, and erase the subjects of
        the audit records that name it or one of its messages. StaleVersion if the case is no
        longer at `version` (it changed since retention read it: it may have been re-opened);
        NotFound if it is gone. The caller removes the blob files after the commit."""
        found = await self._fetch("SELECT version FROM cases WHERE case_id = ?", (case_id,))
        if not found:
            raise NotFound("case")
        if found[0][0] != version:
            raise StaleVersion("the case changed since retention read it")
        return await self._remove(case_id)

    async def remove_caseless(self, case_id: bytes, received_by: int) -> RemovedCase:
        """As remove_case, for envelopes naming a case the hub has no row for
        (list_caseless_envelopes). StaleVersion if one has arrived after `received_by` or the
        case has a row now: retention read them before that."""
        if await self._fetch("SELECT 1 FROM cases WHERE case_id = ?", (case_id,)):
            raise StaleVersion("the case has a row now")
        last = await self._fetch(
            "SELECT MAX(received_at) FROM envelopes WHERE case_id = ?", (case_id,)
        )
        if last[0][0] is None:
            raise NotFound("envelopes")
        if last[0][0] > received_by:
            raise StaleVersion("an envelope arrived since retention read them")
        return await self._remove(case_id)

    async def _remove(self, case_id: bytes) -> RemovedCase:
        envelopes = await self._fetch(
            "SELECT e.message_id, EXISTS (SELECT 1 FROM envelope_bodies AS b WHERE b.seq = e.seq)"
            " FROM envelopes AS e WHERE e.case_id = ? ORDER BY e.seq",
            (case_id,),
        )
        message_ids = [bytes(m) for m, _ in envelopes]
        erased = await self._erase_audit_subjects([case_id, *message_ids])
        notices = 0
        for message_id in message_ids:
            await self._changed("DELETE FROM receipts WHERE message_id = ?", (message_id,))
            notices += await self._changed(
                "DELETE FROM notices WHERE cause >= ? AND cause < ?",
                _starting_with(delivery_cause_prefix(message_id.hex())),
            )
        clock = _starting_with(clock_cause_prefix(case_id.hex()))
        notices += await self._changed("DELETE FROM notices WHERE cause >= ? AND cause < ?", clock)
        await self._changed("DELETE FROM fired_alarms WHERE key >= ? AND key < ?", clock)
        await self._changed("DELETE FROM deadline_alarms WHERE case_id = ?", (case_id,))
        # envelope_recipients and envelope_bodies go with their envelope (ON DELETE CASCADE).
        await self._changed("DELETE FROM envelopes WHERE case_id = ?", (case_id,))
        await self._changed("DELETE FROM outcome_reports WHERE case_id = ?", (case_id,))
        await self._changed("DELETE FROM case_steps WHERE case_id = ?", (case_id,))
        await self._changed("DELETE FROM case_requests WHERE case_id = ?", (case_id,))
        await self._changed("DELETE FROM cases WHERE case_id = ?", (case_id,))
        return RemovedCase(
            case_id=case_id,
            envelopes=len(message_ids),
            blob_files=tuple(bytes(m) for m, inline in envelopes if not inline),
            audit_subjects=erased,
            notices=notices,
        )

    async def freeze_report(
        self, network_id: str, year: int, report: dict[str, Any], at: int
    ) -> bool:
        """Keep the year's suppressed report for good; False (and nothing changes) if the year
        was frozen already: the first freeze stands."""
        changed = await self._changed(
            "INSERT INTO frozen_reports (network_id, year, report, frozen_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (network_id, year) DO NOTHING",
            (network_id, year, _json(report), at),
        )
        return changed == 1


class RetentionReads(ReadHost):
    """Reads; the host class gives `_read` on its read-only connection."""

    async def get_frozen_report(self, network_id: str, year: int) -> dict[str, Any] | None:
        rows = await self._read(
            "SELECT report FROM frozen_reports WHERE network_id = ? AND year = ?",
            (network_id, year),
        )
        return _object(rows[0][0]) if rows else None

    async def list_caseless_envelopes(self, network_id: str) -> list[tuple[bytes, int]]:
        """(case id, when the last of them arrived) of the envelopes whose case the hub has no
        row for: uploaded for a case never created here, or after their case was removed."""
        rows = await self._read(
            "SELECT e.case_id, MAX(e.received_at) FROM envelopes AS e WHERE e.network_id = ?"
            " AND NOT EXISTS (SELECT 1 FROM cases AS c WHERE c.case_id = e.case_id)"
            " GROUP BY e.case_id ORDER BY e.case_id",
            (network_id,),
        )
        return [(bytes(case_id), int(last)) for case_id, last in rows]

    async def list_network_ids(self) -> list[str]:
        return [row[0] for row in await self._read("SELECT id FROM networks ORDER BY id")]

"""The SQLite side of deadlines and notices (migrations/0003_notices.sql): mixed into
SqliteTransaction (writes) and SqliteStorage (reads), so hub/storage/sqlite.py stays one
concept per part."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.storage.base import AlarmRow, ContactAddress, NoticeRow

if TYPE_CHECKING:
    from collections.abc import Sequence

ALARM_COLUMNS = (
    "case_id, network_id, sender_municipality, municipality, kind, stage, fire_at, due_at"
)
NOTICE_COLUMNS = (
    "key, cause, network_id, municipality_id, audience, address, topic, created_at,"
    " next_attempt_at, status, attempts, batch, last_error, finished_at, id"
)
FINISHED = frozenset({"sent", "failed", "pending"})  # what a claimed notice can become
# Rows (8 values) and keys (4 values) per statement: under SQLite's oldest limit of 999 bound
# values a statement.
_ROWS_PER_STATEMENT = 100
_KEYS_PER_STATEMENT = 200


def _alarm(row: Sequence[Any]) -> AlarmRow:
    return AlarmRow(*row)


def _notice(row: Sequence[Any]) -> NoticeRow:
    return NoticeRow(*row)


class NoticeWrites:
    """Writes; the host class gives `_changed` and `_rows` inside its transaction."""

    async def _changed(self, sql: str, params: Sequence[Any]) -> int:
        raise NotImplementedError

    async def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    async def replace_alarms(
        self, case_id: bytes, alarms: Sequence[AlarmRow]
    ) -> set[tuple[str, str, int]]:
        """Put the case's alarms as they are now; returns the clocks (municipality, kind,
        due_at) that had alarms before and have none now, so the caller can cancel their
        notices."""
        if any(a.case_id != case_id for a in alarms):
            raise ValueError("an alarm of another case")
        old = await self._rows(
            "SELECT DISTINCT municipality, kind, due_at FROM deadline_alarms WHERE case_id = ?",
            (case_id,),
        )
        if old:
            await self._changed("DELETE FROM deadline_alarms WHERE case_id = ?", (case_id,))
        # A few rows per statement rather than one statement per row: each statement is a trip
        # to the connection's thread (benchmarks/deadline_clock.py).
        for start in range(0, len(alarms), _ROWS_PER_STATEMENT):
            part = alarms[start : start + _ROWS_PER_STATEMENT]
            await self._changed(
                f"INSERT INTO deadline_alarms ({ALARM_COLUMNS}) VALUES "  # noqa: S608 - constant columns, placeholders only
                + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * len(part)),
                [
                    value
                    for a in part
                    for value in (
                        a.case_id,
                        a.network_id,
                        a.sender_municipality,
                        a.municipality,
                        a.kind,
                        a.stage,
                        a.fire_at,
                        a.due_at,
                    )
                ],
            )
        running = {(a.municipality, a.kind, a.due_at) for a in alarms}
        return {(m, k, d) for m, k, d in old} - running

    async def take_due_alarms(self, at: int, limit: int) -> list[AlarmRow]:
        """Remove and return the alarms due at `at`, earliest first."""
        rows = await self._rows(
            f"SELECT {ALARM_COLUMNS} FROM deadline_alarms WHERE fire_at <= ?"  # noqa: S608 - constant columns
            " ORDER BY fire_at LIMIT ?",
            (at, limit),
        )
        alarms = [_alarm(r) for r in rows]
        # The rows just read, by primary key: each term is one search of the key (SQLite's
        # multi-index OR), where a row-value IN (VALUES …) would scan the table.
        term = "(case_id = ? AND municipality = ? AND kind = ? AND stage = ?)"
        for start in range(0, len(alarms), _KEYS_PER_STATEMENT):
            part = alarms[start : start + _KEYS_PER_STATEMENT]
            await self._changed(
                "DELETE FROM deadline_alarms WHERE " + " OR ".join([term] * len(part)),  # noqa: S608 - placeholders only
                [v for a in part for v in (a.case_id, a.municipality, a.kind, a.stage)],
            )
        return alarms

    async def mark_fired(self, key: str, at: int) -> bool:
        return (
            await self._changed(
                "INSERT INTO fired_alarms (key, fired_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (key, at),
            )
            == 1
        )

    async def add_notice(self, notice: NoticeRow) -> bool:
        n = notice
        return (
            await self._changed(
                "INSERT INTO notices (key, cause, network_id, municipality_id, audience,"
                " address, topic, created_at, next_attempt_at, status)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending') ON CONFLICT DO NOTHING",
                (
                    n.key,
                    n.cause,
                    n.network_id,
                    n.municipality_id,
                    n.audience,
                    n.address,
                    n.topic,
                    n.created_at,
                    n.next_attempt_at,
                ),
            )
            == 1
        )

    async def cancel_notices(self, cause: str, at: int) -> int:
        return await self._changed(
            "UPDATE notices SET status = 'cancelled', finished_at = ?"
            " WHERE cause = ? AND status = 'pending'",
            (at, cause),
        )

    async def claim_notices(self, at: int, limit: int, batch: str) -> list[NoticeRow]:
        """Mark the pending notices due at `at` as being sent in `batch`, and return them.
        Committed before the e-mail goes: a crash after this cannot send them a second time."""
        rows = await self._rows(
            "SELECT id FROM notices WHERE status = 'pending' AND next_attempt_at <= ?"
            " ORDER BY next_attempt_at, id LIMIT ?",
            (at, limit),
        )
        ids = [r[0] for r in rows]
        for notice_id in ids:
            await self._changed(
                "UPDATE notices SET status = 'sending', batch = ?, attempts = attempts + 1"
                " WHERE id = ?",
                (batch, notice_id),
            )
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        claimed = await self._rows(
            f"SELECT {NOTICE_COLUMNS} FROM notices WHERE id IN ({marks}) ORDER BY id",  # noqa: S608 - placeholders only
            ids,
        )
        return [_notice(r) for r in claimed]

    async def finish_notices(
        self,
        ids: Sequence[int],
        *,
        status: str,
        at: int,
        error: str | None = None,
        retry_at: int | None = None,
    ) -> None:
        """sent or failed for good; or pending again, to be retried at `retry_at`."""
        if status not in FINISHED or (status == "pending") != (retry_at is not None):
            raise ValueError("a sent notice is finished; a retried one needs retry_at")
        for notice_id in ids:
            await self._changed(
                "UPDATE notices SET status = ?, last_error = ?, next_attempt_at ="
                " COALESCE(?, next_attempt_at), finished_at = ?"
                " WHERE id = ? AND status = 'sending'",
                (status, error, retry_at, None if retry_at else at, notice_id),
            )

    async def mark_interrupted_sends(self, at: int) -> int:
        """At start-up: a notice left 'sending' may or may not have gone. It is never sent
        again (at most once); the administrator sees it as 'unknown'."""
        return await self._changed(
            "UPDATE notices SET status = 'unknown', finished_at = ?,"
            " last_error = 'hubben stannade medan meddelandet skickades'"
            " WHERE status = 'sending'",
            (at,),
        )

    async def put_contact_address(self, address: ContactAddress) -> None:
        a = address
        await self._changed(
            "INSERT INTO contact_addresses (network_id, municipality_id, person, email)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (network_id, municipality_id, person)"
            " DO UPDATE SET email = excluded.email",
            (a.network_id, a.municipality_id, a.person, a.email),
        )

    async def delete_contact_address(
        self, network_id: str, municipality_id: str, person: str
    ) -> None:
        await self._changed(
            "DELETE FROM contact_addresses"
            " WHERE network_id = ? AND municipality_id = ? AND person = ?",
            (network_id, municipality_id, person),
        )


class NoticeReads:
    """Reads; the host class gives `_read` on its read-only connection."""

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    async def next_alarm_at(self) -> int | None:
        rows = await self._read("SELECT MIN(fire_at) FROM deadline_alarms")
        return None if rows[0][0] is None else int(rows[0][0])

    async def next_notice_at(self) -> int | None:
        rows = await self._read("SELECT MIN(next_attempt_at) FROM notices WHERE status = 'pending'")
        return None if rows[0][0] is None else int(rows[0][0])

    async def list_alarms(self, case_id: bytes) -> list[AlarmRow]:
        rows = await self._read(
            f"SELECT {ALARM_COLUMNS} FROM deadline_alarms WHERE case_id = ?"  # noqa: S608 - constant columns
            " ORDER BY fire_at, municipality, kind",
            (case_id,),
        )
        return [_alarm(r) for r in rows]

    async def list_notices(self, network_id: str, statuses: Sequence[str]) -> list[NoticeRow]:
        marks = ", ".join("?" * len(statuses))
        rows = await self._read(
            f"SELECT {NOTICE_COLUMNS} FROM notices"  # noqa: S608 - placeholders only
            f" WHERE network_id = ? AND status IN ({marks}) ORDER BY id",
            (network_id, *statuses),
        )
        return [_notice(r) for r in rows]

    async def list_contact_addresses(self, network_id: str) -> list[ContactAddress]:
        rows = await self._read(
            "SELECT network_id, municipality_id, person, email FROM contact_addresses"
            " WHERE network_id = ? ORDER BY municipality_id, person",
            (network_id,),
        )
        return [ContactAddress(*r) for r in rows]

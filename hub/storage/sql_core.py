"""The rows every backend stores alike: networks, municipalities, receipts and the audit log's
hash chain. Mixed into each backend's transaction (CoreWrites) and storage (CoreReads), with the
other mixins of hub/storage/sqlite_*.py; the SQL is what SQLite and PostgreSQL both take."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.crypto.records import canonical_bytes
from hub.storage.audit import GENESIS, record_hash
from hub.storage.base import AuditEntry, AuditRecord, Municipality, Network, ReceiptRow
from hub.storage.sqlite_codec import ReadHost, WriteHost
from hub.storage.sqlite_codec import json_object as _object
from hub.storage.sqlite_codec import json_text as _json

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

AUDIT_PAGE = 500
_AUDITS_PER_INSERT = 999 // 7  # bound values per statement: under SQLite's oldest limit

_RECEIPT_COLUMNS = "message_id, signer_key_id, municipality_id, event, time, wire, received_at"


def _receipt(row: Sequence[Any]) -> ReceiptRow:
    return ReceiptRow(bytes(row[0]), bytes(row[1]), row[2], row[3], row[4], _object(row[5]), row[6])


def _audit(row: Sequence[Any]) -> AuditRecord:
    return AuditRecord(
        row[0], row[1], row[2], row[3], _object(row[4]), bytes(row[5]), bytes(row[6])
    )


class CoreWrites(WriteHost):
    """Writes; the host class gives `_changed` and `_fetch` inside its transaction, and
    `_lock_chain`, taken before the chain's end is read."""

    async def _lock_chain(self) -> None:
        """Hold the audit chain's end until the transaction ends (SQLite: its write lock is
        held already)."""

    async def add_network(self, network: Network) -> None:
        await self._changed(
            "INSERT INTO networks (id, name, admin_public, settings, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                network.id,
                network.name,
                network.admin_public,
                _json(network.settings),
                network.created_at,
            ),
        )

    async def set_network_settings(self, network_id: str, settings: dict[str, Any]) -> None:
        """The agreement's settings, as the administrator's signed settings record states them."""
        await self._changed(
            "UPDATE networks SET settings = ? WHERE id = ?", (_json(settings), network_id)
        )

    async def put_municipality(self, municipality: Municipality) -> None:
        m = municipality
        await self._changed(
            "INSERT INTO municipalities"
            " (network_id, id, name, population, manager_email, template)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (network_id, id) DO UPDATE SET name = excluded.name,"
            " population = excluded.population, manager_email = excluded.manager_email,"
            " template = excluded.template",
            (m.network_id, m.id, m.name, m.population, m.manager_email, _json(m.template)),
        )

    async def add_receipt(self, receipt: ReceiptRow) -> None:
        r = receipt
        await self._changed(
            f"INSERT INTO receipts ({_RECEIPT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",  # noqa: S608 - constant columns
            (
                r.message_id,
                r.signer_key_id,
                r.municipality_id,
                r.event,
                r.time,
                _json(r.wire),
                r.received_at,
            ),
        )

    async def append_audit(
        self, *, at: int, actor: str, action: str, subject: dict[str, Any]
    ) -> AuditRecord:
        """Append the next record of the hash chain (see append_audits)."""
        (record,) = await self.append_audits([AuditEntry(at, actor, action, subject)])
        return record

    async def append_audits(self, entries: Sequence[AuditEntry]) -> list[AuditRecord]:
        """Append the next records of the hash chain, in order; seq and hashes are computed
        here, under the transaction's write lock, so no two records can claim the same place.
        One read of the chain's end and one insert per group of records."""
        await self._lock_chain()
        last = await self._fetch("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
        seq, prev_hash = (int(last[0][0]), bytes(last[0][1])) if last else (0, GENESIS)
        records: list[tuple[AuditRecord, str]] = []  # with the subject's canonical text
        for entry in entries:
            seq += 1
            subject_text = canonical_bytes(entry.subject).decode("utf-8")
            stored_subject = _object(subject_text)  # a copy: the record cannot change afterwards
            digest = record_hash(
                prev_hash, seq, entry.at, entry.actor, entry.action, stored_subject
            )
            record = AuditRecord(
                seq, entry.at, entry.actor, entry.action, stored_subject, prev_hash, digest
            )
            records.append((record, subject_text))
            prev_hash = digest
        for start in range(0, len(records), _AUDITS_PER_INSERT):
            part = records[start : start + _AUDITS_PER_INSERT]
            await self._fetch(
                "INSERT INTO audit (seq, at, actor, action, subject, prev_hash, hash) VALUES "  # noqa: S608 - placeholders only
                + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(part)),
                [
                    value
                    for r, text in part
                    for value in (r.seq, r.at, r.actor, r.action, text, r.prev_hash, r.hash)
                ],
            )
        return [record for record, _ in records]


class CoreReads(ReadHost):
    """Reads; the host class gives `_read` and `_one`."""

    async def get_network(self, network_id: str) -> Network:
        row = await self._one(
            "network",
            "SELECT id, name, admin_public, settings, created_at FROM networks WHERE id = ?",
            (network_id,),
        )
        return Network(row[0], row[1], row[2], _object(row[3]), row[4])

    async def list_municipalities(self, network_id: str) -> list[Municipality]:
        rows = await self._read(
            "SELECT network_id, id, name, population, manager_email, template"
            " FROM municipalities WHERE network_id = ? ORDER BY id",
            (network_id,),
        )
        return [Municipality(r[0], r[1], r[2], r[3], r[4], _object(r[5])) for r in rows]

    async def list_receipts(self, message_id: bytes) -> list[ReceiptRow]:
        rows = await self._read(
            f"SELECT {_RECEIPT_COLUMNS} FROM receipts WHERE message_id = ? ORDER BY id",  # noqa: S608
            (message_id,),
        )
        return [_receipt(r) for r in rows]

    async def audit_records(self, after_seq: int = 0) -> AsyncIterator[AuditRecord]:
        """The audit log from `after_seq` on, in seq order, read a page at a time (no lock is
        held between pages, so the consumer may write while it reads)."""
        while True:
            rows = await self._read(
                "SELECT seq, at, actor, action, subject, prev_hash, hash FROM audit"
                " WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, AUDIT_PAGE),
            )
            for row in rows:
                yield _audit(row)
            if len(rows) < AUDIT_PAGE:
                return
            after_seq = rows[-1][0]

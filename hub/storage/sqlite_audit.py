"""The SQLite side of the audit log (migrations 0001 and 0008): appending version-2 records,
reading the chain back, and erasing the subjects retention removes. Mixed into SqliteTransaction
(writes) and SqliteStorage (reads), as sqlite_cases.py is; `AUDIT_SELECT` and `audit_from_row`
also serve hub/storage/backup.py, which reads a copy with the standard library."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from hub.crypto.records import canonical_bytes
from hub.storage.audit import (
    GENESIS,
    new_salt,
    record_hash_v2,
    subject_commitment,
    subject_ref,
)
from hub.storage.base import AuditEntry, AuditRecord
from hub.storage.sqlite_codec import ReadHost, WriteHost
from hub.storage.sqlite_codec import json_object as _object

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

AUDIT_PAGE: Final = 500
_ROWS_PER_INSERT: Final = 999 // 7  # seven values a row: under SQLite's oldest limit of 999

# Every record with its subject wherever it is kept (version 1: audit.subject, '' once erased;
# version 2: audit_subjects, no row once erased).
AUDIT_SELECT: Final = (
    "SELECT a.seq, a.at, a.actor, a.action, a.subject, a.prev_hash, a.hash, a.version,"
    " a.subject_hash, s.salt, s.subject FROM audit AS a"
    " LEFT JOIN audit_subjects AS s ON s.seq = a.seq"
)
# A database from before migration 0008: version-1 records only.
AUDIT_SELECT_V1: Final = (
    "SELECT seq, at, actor, action, subject, prev_hash, hash, 1, NULL, NULL, NULL FROM audit"
)


def audit_from_row(row: Sequence[Any]) -> AuditRecord:
    seq, at, actor, action, v1_subject, prev_hash, digest, version, subject_hash = row[:9]
    salt, v2_subject = row[9], row[10]
    text = v1_subject if version == 1 else v2_subject
    return AuditRecord(
        seq,
        at,
        actor,
        action,
        _object(text) if text else None,
        bytes(prev_hash),
        bytes(digest),
        version,
        None if subject_hash is None else bytes(subject_hash),
        None if salt is None else bytes(salt),
    )


class AuditWrites(WriteHost):
    """Writes; the host class gives `_fetch` and `_changed` inside its transaction."""

    async def append_audit(
        self, *, at: int, actor: str, action: str, subject: dict[str, Any]
    ) -> AuditRecord:
        """Append the next record of the hash chain (see append_audits)."""
        (record,) = await self.append_audits([AuditEntry(at, actor, action, subject)])
        return record

    async def append_audits(self, entries: Sequence[AuditEntry]) -> list[AuditRecord]:
        """Append the next records of the hash chain, in order, as version 2; seq and hashes are
        computed here, under the transaction's write lock, so no two records can claim the same
        place. One read of the chain's end and two inserts per group of records."""
        last = await self._fetch("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
        seq, prev_hash = (last[0][0], bytes(last[0][1])) if last else (0, GENESIS)
        records: list[tuple[AuditRecord, str, bytes | None]] = []
        for entry in entries:
            seq += 1
            subject_text = canonical_bytes(entry.subject).decode("utf-8")
            stored_subject = _object(subject_text)  # a copy: the record cannot change afterwards
            salt = new_salt()
            commitment = subject_commitment(salt, stored_subject)
            digest = record_hash_v2(prev_hash, seq, entry.at, entry.actor, entry.action, commitment)
            record = AuditRecord(
                seq,
                entry.at,
                entry.actor,
                entry.action,
                stored_subject,
                prev_hash,
                digest,
                2,
                commitment,
                salt,
            )
            records.append((record, subject_text, subject_ref(stored_subject)))
            prev_hash = digest
        for start in range(0, len(records), _ROWS_PER_INSERT):
            part = records[start : start + _ROWS_PER_INSERT]
            await self._fetch(
                "INSERT INTO audit (seq, at, actor, action, subject, prev_hash, hash, version,"  # noqa: S608 - placeholders only
                " subject_hash) VALUES " + ", ".join(["(?, ?, ?, ?, '', ?, ?, 2, ?)"] * len(part)),
                [
                    value
                    for r, _, _ in part
                    for value in (
                        r.seq,
                        r.at,
                        r.actor,
                        r.action,
                        r.prev_hash,
                        r.hash,
                        r.subject_hash,
                    )
                ],
            )
            await self._fetch(
                "INSERT INTO audit_subjects (seq, case_ref, salt, subject) VALUES "  # noqa: S608
                + ", ".join(["(?, ?, ?, ?)"] * len(part)),
                [value for r, text, ref in part for value in (r.seq, ref, r.salt, text)],
            )
        return [record for record, _, _ in records]

    async def _erase_audit_subjects(self, refs: Sequence[bytes]) -> int:
        """Erase the subject of every record that names one of `refs` (a case id, its message
        ids): version 2 by deleting the subject and its salt, version 1 (written before 0008)
        by emptying it, which leaves only its link proven. The number erased."""
        erased = 0
        for ref in refs:
            erased += await self._changed("DELETE FROM audit_subjects WHERE case_ref = ?", (ref,))
            # Version-1 subjects are JSON with the id in hex; hex has no LIKE wildcards.
            erased += await self._changed(
                "UPDATE audit SET subject = '' WHERE version = 1 AND subject <> ''"
                " AND subject LIKE ?",
                (f'%"{ref.hex()}"%',),
            )
        return erased


class AuditReads(ReadHost):
    """Reads; the host class gives `_read` on its read-only connection."""

    async def audit_records(self, after_seq: int = 0) -> AsyncIterator[AuditRecord]:
        """The audit log from `after_seq` on, in seq order, read a page at a time (no lock is
        held between pages, so the consumer may write while it reads)."""
        while True:
            rows = await self._read(
                f"{AUDIT_SELECT} WHERE a.seq > ? ORDER BY a.seq LIMIT ?",
                (after_seq, AUDIT_PAGE),
            )
            for row in rows:
                yield audit_from_row(row)
            if len(rows) < AUDIT_PAGE:
                return
            after_seq = rows[-1][0]

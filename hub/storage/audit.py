"""The audit log's hash chain: pure functions, no I/O.

Each record's hash covers the previous record's hash and the record's own fields, so changing,
removing or reordering any stored record breaks the chain at that record (or, for a removal, at
the next one). Removing records from the *end* is not caught by the chain alone: that needs the
latest hash kept somewhere else (an anchor), which is for later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.crypto import primitives as p
from hub.crypto.records import canonical_bytes

if TYPE_CHECKING:
    from collections.abc import Iterable

    from hub.storage.base import AuditRecord

GENESIS = bytes(32)
AUDIT_PERSON = b"hub-audit/v1"


def record_hash(  # noqa: PLR0913, PLR0917 - the record's fields, in order
    prev_hash: bytes, seq: int, at: int, actor: str, action: str, subject: dict[str, Any]
) -> bytes:
    """BLAKE2b-256 over the previous hash and the canonical JSON of this record's fields."""
    if len(prev_hash) != 32:
        raise ValueError("an audit hash is 32 bytes")
    body = canonical_bytes(
        {"seq": seq, "at": at, "actor": actor, "action": action, "subject": subject}
    )
    return p.blake2b(prev_hash + body, size=32, person=AUDIT_PERSON)


def verify_chain(records: Iterable[AuditRecord]) -> int | None:
    """The seq of the first broken record, or None if the chain from genesis holds.

    Broken: its seq is not one more than the previous (the first must be 1), its prev_hash is not
    the previous record's hash (genesis for the first), or its hash is not what its fields give.
    """
    expected_seq, expected_prev = 1, GENESIS
    for record in records:
        if record.seq != expected_seq or record.prev_hash != expected_prev:
            return record.seq
        try:
            computed = record_hash(
                record.prev_hash, record.seq, record.at, record.actor, record.action, record.subject
            )
        except (ValueError, TypeError):  # a field that cannot even be encoded was altered
            return record.seq
        if computed != record.hash:
            return record.seq
        expected_seq, expected_prev = record.seq + 1, record.hash
    return None

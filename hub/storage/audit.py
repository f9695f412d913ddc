"""The audit log's hash chain: pure functions, no I/O.

Each record's hash covers the previous record's hash and the record's own fields, so changing,
removing or reordering any stored record breaks the chain at that record (or, for a removal, at
the next one). Removing records from the *end* is not caught by the chain alone: that needs the
latest hash kept somewhere else (an anchor), which is for later.

Two versions of record (docs/operations.md, "Gallring"):
- Version 2 (from migration 0008 on). The hash covers a commitment to the subject instead of
  the subject: BLAKE2b keyed with a random salt over the subject's canonical JSON. The subject
  and its salt are stored beside the record and can be erased when its case is removed
  (retention); the record's time, actor, action and place in the chain stay proven, and without
  the salt the commitment tells nothing about the erased subject.
- Version 1 (records written before 0008). The hash covers the subject itself, and such a
  record verifies by that rule while its subject is there. Once retention has erased its
  subject, only its place in the chain is proven (its hash is still what the next record
  points to): `ChainCheck.unproven` counts them, and `hub audit verify` says so. No version-1
  record may follow a version-2 one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from hub.crypto import primitives as p
from hub.crypto.records import canonical_bytes

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from hub.storage.base import AuditRecord

GENESIS: Final = bytes(32)
AUDIT_PERSON: Final = b"hub-audit/v1"
AUDIT_PERSON_V2: Final = b"hub-audit/v2"
SUBJECT_PERSON: Final = b"hub-audit-subj"
SALT_BYTES: Final = 32
# The subject keys that name a case or one of its messages: retention erases the subjects of
# the records that name the case it removes (hub/server/retention.py).
REF_KEYS: Final = ("case_id", "message_id")


def record_hash(  # noqa: PLR0913, PLR0917 - the record's fields, in order
    prev_hash: bytes, seq: int, at: int, actor: str, action: str, subject: Mapping[str, Any]
) -> bytes:
    """Version 1: BLAKE2b-256 over the previous hash and the canonical JSON of the fields."""
    if len(prev_hash) != 32:
        raise ValueError("an audit hash is 32 bytes")
    body = canonical_bytes(
        {"seq": seq, "at": at, "actor": actor, "action": action, "subject": dict(subject)}
    )
    return p.blake2b(prev_hash + body, size=32, person=AUDIT_PERSON)


def new_salt() -> bytes:
    return secrets.token_bytes(SALT_BYTES)


def subject_commitment(salt: bytes, subject: Mapping[str, Any]) -> bytes:
    """BLAKE2b-256 keyed with `salt` over the subject's canonical JSON."""
    if len(salt) != SALT_BYTES:
        raise ValueError("an audit subject's salt is 32 bytes")
    return p.blake2b(canonical_bytes(dict(subject)), size=32, key=salt, person=SUBJECT_PERSON)


def record_hash_v2(  # noqa: PLR0913, PLR0917 - the record's fields, in order
    prev_hash: bytes, seq: int, at: int, actor: str, action: str, subject_hash: bytes
) -> bytes:
    """Version 2: BLAKE2b-256 over the previous hash and the canonical JSON of the fields, with
    the subject's commitment (hex) in place of the subject."""
    if len(prev_hash) != 32 or len(subject_hash) != 32:
        raise ValueError("an audit hash is 32 bytes")
    body = canonical_bytes(
        {
            "seq": seq,
            "at": at,
            "actor": actor,
            "action": action,
            "subject_hash": subject_hash.hex(),
        }
    )
    return p.blake2b(prev_hash + body, size=32, person=AUDIT_PERSON_V2)


def subject_ref(subject: Mapping[str, Any]) -> bytes | None:
    """The case or message id a subject names (its first REF_KEYS value), or None."""
    for key in REF_KEYS:
        value = subject.get(key)
        if isinstance(value, str):
            try:
                return bytes.fromhex(value)
            except ValueError:
                return None
    return None


@dataclass(frozen=True)
class ChainCheck:
    records: int
    broken: int | None  # the seq of the first broken record, or None if the chain holds
    erased: int  # version-2 records whose subject was erased: still proven but for it
    unproven: int  # version-1 records whose subject was erased: only their link is proven


def _own_hash(record: AuditRecord) -> tuple[bytes | None, bool]:
    """The hash the record's fields give (None: a version-1 record without its subject), and
    whether its stored subject (if any) matches its commitment."""
    if record.version == 1:
        if record.subject is None:
            return None, True
        return record_hash(
            record.prev_hash, record.seq, record.at, record.actor, record.action, record.subject
        ), True
    if record.version != 2 or record.subject_hash is None:
        raise ValueError("an unknown audit record version")
    matches = record.subject is None or (
        record.salt is not None
        and subject_commitment(record.salt, record.subject) == record.subject_hash
    )
    own = record_hash_v2(
        record.prev_hash, record.seq, record.at, record.actor, record.action, record.subject_hash
    )
    return own, matches


def check_chain(records: Iterable[AuditRecord]) -> ChainCheck:
    """Walk the chain from genesis: the first broken record, and how many subjects are erased.

    Broken: its seq is not one more than the previous (the first must be 1), its prev_hash is not
    the previous record's hash (genesis for the first), its hash is not what its fields give, its
    stored subject is not the one its commitment names, or it claims version 1 after a version-2
    record (the migration happens once: a later "version 1" would be a record downgraded to hide
    a change of its fields)."""
    expected_seq, expected_prev = 1, GENESIS
    count = erased = unproven = 0
    seen_v2 = False
    for record in records:
        count += 1
        if (
            record.seq != expected_seq
            or record.prev_hash != expected_prev
            or (seen_v2 and record.version == 1)
        ):
            return ChainCheck(count, record.seq, erased, unproven)
        seen_v2 = seen_v2 or record.version == 2
        try:
            computed, matches = _own_hash(record)
        except (ValueError, TypeError):  # a field that cannot even be encoded was altered
            return ChainCheck(count, record.seq, erased, unproven)
        if not matches or (computed is not None and computed != record.hash):
            return ChainCheck(count, record.seq, erased, unproven)
        if record.subject is None:
            if computed is None:
                unproven += 1
            else:
                erased += 1
        expected_seq, expected_prev = record.seq + 1, record.hash
    return ChainCheck(count, None, erased, unproven)


def verify_chain(records: Iterable[AuditRecord]) -> int | None:
    """The seq of the first broken record, or None if the chain from genesis holds."""
    return check_chain(records).broken

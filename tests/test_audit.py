"""The audit log's hash chain (hub/storage/audit.py), without storage."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import Any

import pytest

from hub.storage.audit import (
    GENESIS,
    ChainCheck,
    check_chain,
    record_hash,
    record_hash_v2,
    subject_commitment,
    subject_ref,
    verify_chain,
)
from hub.storage.base import AuditRecord


def chain(count: int) -> list[AuditRecord]:
    records: list[AuditRecord] = []
    prev = GENESIS
    for seq in range(1, count + 1):
        subject: dict[str, Any] = {"message_id": f"{seq:032x}", "size": seq * 10}
        digest = record_hash(prev, seq, 1000 + seq, "admin", "envelope_uploaded", subject)
        records.append(
            AuditRecord(seq, 1000 + seq, "admin", "envelope_uploaded", subject, prev, digest)
        )
        prev = digest
    return records


def test_hash_is_blake2b_over_prev_and_canonical_json() -> None:
    """The record hash is BLAKE2b-256, personalised, over the previous hash and the record's
    sorted compact JSON: anyone can recompute it with a standard library."""
    subject = {"b": [1, "å"], "a": {"z": True, "y": None}}
    expected = hashlib.blake2b(
        GENESIS
        + json.dumps(
            {"seq": 1, "at": 5, "actor": "system", "action": "x", "subject": subject},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode(),
        digest_size=32,
        person=b"hub-audit/v1",
    ).digest()
    assert record_hash(GENESIS, 1, 5, "system", "x", subject) == expected


def test_hash_covers_every_field() -> None:
    """Changing any one field of a record changes its hash."""
    base = (GENESIS, 3, 100, "admin", "sign_in", {"role": "county_admin"})
    reference = record_hash(*base)
    variants = [
        (b"\x01" * 32, *base[1:]),
        (GENESIS, 4, *base[2:]),
        (*base[:2], 101, *base[3:]),
        (*base[:3], "system", *base[4:]),
        (*base[:4], "sign_out", base[5]),
        (*base[:5], {"role": "coordinator"}),
    ]
    for variant in variants:
        assert record_hash(*variant) != reference


def test_hash_refuses_bad_input() -> None:
    """A previous hash of the wrong size or a subject that is not strict JSON is refused."""
    with pytest.raises(ValueError):
        record_hash(b"short", 1, 1, "a", "b", {})
    with pytest.raises(TypeError):
        record_hash(GENESIS, 1, 1, "a", "b", {"f": 0.5})
    with pytest.raises(ValueError):
        record_hash(GENESIS, 1, 1, "a", "b", {"big": 2**53})


def test_intact_chain_verifies() -> None:
    """An untouched chain, and an empty one, verify."""
    assert verify_chain(chain(20)) is None
    assert verify_chain([]) is None


@pytest.mark.parametrize(
    "change",
    [
        {"at": 0},
        {"actor": "someone"},
        {"action": "other"},
        {"subject": {"message_id": "00", "size": 1}},
        {"hash": bytes(32)},
        {"prev_hash": b"\x09" * 32},
    ],
)
def test_changed_record_is_found(change: dict[str, Any]) -> None:
    """A record with any field changed is named as the first broken one."""
    records = chain(10)
    records[5] = replace(records[5], **change)
    assert verify_chain(records) == 6


def test_gap_reorder_and_start_are_found() -> None:
    """A missing record, two swapped records, or a chain not starting at seq 1 is found."""
    records = chain(10)
    assert verify_chain(records[:3] + records[4:]) == 5
    assert verify_chain([*records[:3], records[4], records[3], *records[5:]]) == 5
    assert verify_chain(records[1:]) == 2


def test_rehashed_record_still_breaks_the_next() -> None:
    """Rewriting a record and recomputing its own hash is still found, at the next record."""
    records = chain(10)
    forged = replace(records[3], actor="someone")
    forged = replace(
        forged,
        hash=record_hash(
            forged.prev_hash, forged.seq, forged.at, forged.actor, forged.action, forged.subject
        ),
    )
    records[3] = forged
    assert verify_chain(records) == 5


def test_undecodable_subject_is_a_break() -> None:
    """A stored subject the hash cannot even encode counts as broken, not as a crash."""
    records = chain(3)
    records[1] = replace(records[1], subject={"x": float("nan")})
    assert verify_chain(records) == 2


# --- version 2: the chain commits to a salted hash of the subject (migration 0008) -----------


def chain_v2(count: int, *, start: int = 1, prev: bytes = GENESIS) -> list[AuditRecord]:
    records: list[AuditRecord] = []
    for seq in range(start, start + count):
        subject: dict[str, Any] = {"case_id": f"{seq:032x}", "event": "accept"}
        salt = bytes([seq]) * 32
        commitment = subject_commitment(salt, subject)
        digest = record_hash_v2(prev, seq, 1000 + seq, "system", "case_event", commitment)
        records.append(
            AuditRecord(
                seq, 1000 + seq, "system", "case_event", subject, prev, digest, 2, commitment, salt
            )
        )
        prev = digest
    return records


def erased(record: AuditRecord) -> AuditRecord:
    return replace(record, subject=None, salt=None)


def test_v2_commitment_is_keyed_blake2b_of_the_canonical_subject() -> None:
    """The commitment is BLAKE2b-256 keyed with the record's salt, personalised, over the
    subject's canonical JSON: recomputable with a standard library, and without the salt it
    does not tell which case it was."""
    subject = {"case_id": "c1" * 16, "event": "accept"}
    salt = b"\x07" * 32
    expected = hashlib.blake2b(
        json.dumps(subject, sort_keys=True, separators=(",", ":")).encode(),
        digest_size=32,
        key=salt,
        person=b"hub-audit-subj",
    ).digest()
    assert subject_commitment(salt, subject) == expected
    assert subject_commitment(b"\x08" * 32, subject) != expected


def test_erasing_a_v2_subject_keeps_the_whole_chain_proven() -> None:
    """Retention erases a subject and its salt; every record still verifies, and the check
    counts what was erased."""
    records = chain_v2(8)
    records[2], records[5] = erased(records[2]), erased(records[5])
    check = check_chain(records)
    assert check == ChainCheck(records=8, broken=None, erased=2, unproven=0)


@pytest.mark.parametrize(
    "change",
    [
        {"at": 0},
        {"actor": "someone"},
        {"action": "other"},
        {"subject": {"case_id": "00" * 16, "event": "accept"}},
        {"salt": b"\x01" * 32},
        {"subject_hash": bytes(32)},
        {"version": 1},
        {"version": 3},
    ],
)
def test_a_changed_v2_record_is_found_even_with_its_subject_erased(change: dict[str, Any]) -> None:
    """Any field changed, a subject swapped, or a record downgraded to version 1 is found."""
    records = chain_v2(10)
    records[5] = replace(records[5], **change)
    assert verify_chain(records) == 6
    if "subject" not in change and "salt" not in change:
        records[5] = erased(records[5])
        assert verify_chain(records) == 6


def test_an_upgraded_chain_verifies_old_records_by_the_old_rule() -> None:
    """Version-1 records (before 0008) followed by version-2 ones verify as one chain; an old
    record whose subject was erased is proven by its link only, and counted as such."""
    old = chain(5)
    records = old + chain_v2(4, start=6, prev=old[-1].hash)
    assert check_chain(records) == ChainCheck(records=9, broken=None, erased=0, unproven=0)
    records[1] = replace(records[1], subject=None)
    assert check_chain(records) == ChainCheck(records=9, broken=None, erased=0, unproven=1)
    records[2] = replace(records[2], actor="someone")
    assert verify_chain(records) == 3


def test_subject_ref_names_the_case_or_the_message() -> None:
    assert subject_ref({"case_id": "ab" * 16, "municipality": "x"}) == b"\xab" * 16
    assert subject_ref({"message_id": "cd" * 16, "kind": 1}) == b"\xcd" * 16
    assert subject_ref({"municipality": "x"}) is None
    assert subject_ref({"case_id": "not hex"}) is None


def test_v2_hash_is_blake2b_over_prev_and_the_fields_with_the_subjects_hash():
    """As docs/api.md ("Operations") states it: anyone can recompute a version-2 record's hash
    with a standard library, with or without its subject."""
    commitment = bytes(range(32))
    expected = hashlib.blake2b(
        GENESIS
        + json.dumps(
            {
                "seq": 1,
                "at": 5,
                "actor": "system",
                "action": "x",
                "subject_hash": commitment.hex(),
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode(),
        digest_size=32,
        person=b"hub-audit/v2",
    ).digest()
    assert record_hash_v2(GENESIS, 1, 5, "system", "x", commitment) == expected
    assert record_hash_v2(GENESIS, 1, 5, "system", "x", commitment) != record_hash(
        GENESIS, 1, 5, "system", "x", {}
    )

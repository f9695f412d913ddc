"""Write tests/vectors/directory.json: a signed directory, queries on it, and broken records.

Run from the repository root: `python -m tests.vectors.gen_directory`. Every key comes from
SeededRng and Ed25519 signatures are deterministic, so the file is the same on every run
(tests/test_directory.py checks that). The cases are described in docs/protocol.md ("Test
vectors"); each broken one changes exactly one thing and names the error code it must raise.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from hub.crypto.directory import (
    ENTRY_KIND,
    REVOCATION_KIND,
    Directory,
    Role,
    make_entry,
    make_revocation,
)
from hub.crypto.keys import PrivateIdentity, SigningKey, b64
from hub.crypto.records import sign_record, signed_message, signer_id
from hub.errors import HubError
from tests.vectors import _write
from tests.vectors._rng import SeededRng

GENERATOR = "tests/vectors/gen_directory.py"
OUTPUT = Path(__file__).with_name("directory.json")
NETWORK = "vastmanland-test"
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
DAY = 86_400

# (name, municipality, person, role): each person's keys come from the seeded rng in this order.
PEOPLE = [
    ("anna", "Västerås", "Anna Andersson", Role.CONTACT_PERSON),
    ("bertil", "Västerås", "Bertil Berg", Role.CONTACT_PERSON),
    ("cecilia", "Köping", "Cecilia Carlsson", Role.CONTACT_PERSON),
    ("david", "Köping", "David Dahl", Role.CONTACT_PERSON),
    ("eva", "Sala", "Eva Ek", Role.CONTACT_PERSON),
    ("fredrik", "Sala", "Fredrik Fors", Role.CONTACT_PERSON),
    ("gun", "Länsstyrelsen Västmanland", "Gun Gran", Role.COUNTY_BOARD),
    ("harald", "Västerås", "Harald Holm", Role.COORDINATOR),
]

# serial, person, not_before, not_after (entries); the serials run on into the revocations.
ENTRIES = [
    (1, "anna", T0, T0 + 365 * DAY),
    (2, "bertil", T0, T0 + 365 * DAY),
    (3, "cecilia", T0, T0 + 180 * DAY),
    (4, "david", T0 + 150 * DAY, T0 + 545 * DAY),  # Cecilia's successor, overlapping
    (5, "eva", T0, T0 + 365 * DAY),
    (6, "gun", T0, T0 + 730 * DAY),
    (7, "harald", T0, T0 + 730 * DAY),  # the coordinator: never a recipient of cases
    (8, "fredrik", T0 + 40 * DAY, T0 + 405 * DAY),  # replaces Eva after the compromise
    (9, "anna", T0 + 365 * DAY, T0 + 730 * DAY),  # Anna's key renewed for a second year
]
# serial, person, revoked_at, reason
REVOCATIONS = [
    (10, "bertil", T0 + 100 * DAY, "left"),
    (11, "eva", T0 + 30 * DAY, "compromised"),  # issued later, backdated to the suspected time
    (12, "cecilia", T0 + 170 * DAY, "superseded"),
]


def _people(rng: SeededRng) -> dict[str, PrivateIdentity]:
    return {name: PrivateIdentity.generate(rng) for name, *_ in PEOPLE}


def _entry(
    admin: SigningKey,
    ids: dict[str, PrivateIdentity],
    serial: int,
    name: str,
    *,
    not_before: int = T0,
    not_after: int = T0 + 365 * DAY,
    **override: Any,
) -> dict[str, str]:
    _, municipality, person, role = next(p for p in PEOPLE if p[0] == name)
    fields: dict[str, Any] = {
        "network": NETWORK,
        "municipality": municipality,
        "person": person,
        "role": role,
        "identity": ids[name].public,
        "not_before": not_before,
        "not_after": not_after,
        "serial": serial,
    }
    fields.update(override)
    return make_entry(admin, **fields)


def _body(admin: SigningKey, ids: dict[str, PrivateIdentity], **override: Any) -> dict[str, Any]:
    """Anna's first entry as a body, with fields replaced (None removes a field)."""
    anna = ids["anna"].public
    body: dict[str, Any] = {
        "kind": ENTRY_KIND,
        "network": NETWORK,
        "municipality": "Västerås",
        "person": "Anna Andersson",
        "role": "contact_person",
        "signing_key": b64(anna.signing_key),
        "encryption_key": b64(anna.encryption_key),
        "key_id": anna.key_id.hex(),
        "not_before": T0,
        "not_after": T0 + 365 * DAY,
        "serial": 1,
        "signed_by": signer_id(admin.public).hex(),
    }
    for name, value in override.items():
        if value is None:
            del body[name]
        else:
            body[name] = value
    return body


def sign_raw(signer: SigningKey | PrivateIdentity, kind: str, raw: bytes) -> dict[str, str]:
    """A correct signature over bytes that need not be canonical: only the encoding is wrong."""
    return {"record": b64(raw), "signature": b64(signer.sign(signed_message(kind, raw)))}


def _flip_signature_bit(wire: dict[str, str]) -> dict[str, str]:
    signature = bytearray(base64.b64decode(wire["signature"]))
    signature[10] ^= 0x01
    return {"record": wire["record"], "signature": b64(bytes(signature))}


def _replace_in_record(wire: dict[str, str], old: bytes, new: bytes) -> dict[str, str]:
    record = base64.b64decode(wire["record"])
    assert record.count(old) == 1, old
    return {"record": b64(record.replace(old, new)), "signature": wire["signature"]}


def _invalid_cases(
    admin: SigningKey, other_admin: SigningKey, ids: dict[str, PrivateIdentity]
) -> list[dict[str, Any]]:
    anna = _entry(admin, ids, 1, "anna")
    body = _body(admin, ids)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    raw = canonical.encode()
    revocation = make_revocation(
        admin, network=NETWORK, key_id=ids["anna"].key_id, revoked_at=T0, reason="left", serial=2
    )

    def case(
        name: str,
        description: str,
        expect: str,
        entries: list[Any],
        revocations: list[Any] | None = None,
    ) -> dict[str, Any]:
        return {
            "name": name,
            "description": description,
            "entries": entries,
            "revocations": revocations or [],
            "expect": expect,
        }

    def raw_case(name: str, description: str, expect: str, data: bytes) -> dict[str, Any]:
        return case(name, description, expect, [sign_raw(admin, ENTRY_KIND, data)])

    def body_case(name: str, description: str, expect: str, **override: Any) -> dict[str, Any]:
        return case(name, description, expect, [sign_record(_body(admin, ids, **override), admin)])

    unordered = (
        "{"
        + ",".join(
            f"{json.dumps(k)}:{json.dumps(body[k], ensure_ascii=False)}"
            for k in sorted(body, reverse=True)
        )
        + "}"
    )
    return [
        case(
            "signature_bit_flipped",
            "One bit of the signature is flipped.",
            "record_bad_signature",
            [_flip_signature_bit(anna)],
        ),
        case(
            "record_byte_flipped",
            "One byte of the signed record is changed (the person's name); the JSON stays valid.",
            "record_bad_signature",
            [_replace_in_record(anna, b"Anna Andersson", b"Anna Anderssom")],
        ),
        case(
            "signed_by_other_admin",
            "A well-formed entry signed by another administrator key, naming that key.",
            "record_wrong_signer",
            [
                _entry(other_admin, ids, 1, "anna"),
            ],
        ),
        case(
            "other_admin_claims_pinned_admin",
            "Names the pinned administrator in signed_by but is signed by another key.",
            "record_bad_signature",
            [sign_raw(other_admin, ENTRY_KIND, raw)],
        ),
        case(
            "entry_wrong_network",
            "Signed by the pinned administrator, but for another network.",
            "record_wrong_network",
            [_entry(admin, ids, 1, "anna", network="skane-test")],
        ),
        case(
            "revocation_wrong_network",
            "A revocation signed by the pinned administrator for another network.",
            "record_wrong_network",
            [],
            [
                make_revocation(
                    admin,
                    network="skane-test",
                    key_id=ids["anna"].key_id,
                    revoked_at=T0,
                    reason="compromised",
                    serial=1,
                )
            ],
        ),
        raw_case(
            "not_canonical_whitespace",
            "Correctly signed, but encoded with spaces after separators.",
            "record_not_canonical",
            json.dumps(body, sort_keys=True, separators=(", ", ": "), ensure_ascii=False).encode(),
        ),
        raw_case(
            "not_canonical_trailing_newline",
            "Correctly signed canonical JSON followed by a newline.",
            "record_not_canonical",
            raw + b"\n",
        ),
        raw_case(
            "not_canonical_key_order",
            "Correctly signed, but the members are in reverse order.",
            "record_not_canonical",
            unordered.encode(),
        ),
        raw_case(
            "not_canonical_escaped_letters",
            "Correctly signed, but non-ASCII letters are written as \\u escapes.",
            "record_not_canonical",
            json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode(),
        ),
        raw_case(
            "duplicate_member",
            "The person member appears twice (the reader must not pick one).",
            "record_malformed",
            raw.replace(b'"person":', b'"person":"Mallory","person":', 1),
        ),
        raw_case(
            "fraction_in_body",
            "The serial is written as 1.0: records hold integers only.",
            "record_malformed",
            raw.replace(b'"serial":1,', b'"serial":1.0,', 1),
        ),
        raw_case(
            "integer_beyond_2_53",
            "not_after is 2^53, beyond what every JSON reader holds exactly.",
            "record_malformed",
            raw.replace(str(T0 + 365 * DAY).encode(), str(2**53).encode(), 1),
        ),
        raw_case(
            "invalid_utf8",
            "A byte that is not UTF-8 inside the person's name.",
            "record_malformed",
            raw.replace(b"Anna Andersson", b"Anna \xff", 1),
        ),
        raw_case(
            "record_not_object",
            "The record is a JSON array.",
            "record_malformed",
            b"[]",
        ),
        case(
            "wrong_kind",
            "A revocation handed over where a directory entry belongs.",
            "record_wrong_kind",
            [revocation],
        ),
        case(
            "bad_base64_record",
            "The record is not base64.",
            "record_malformed",
            [{"record": "!" + anna["record"][1:], "signature": anna["signature"]}],
        ),
        case(
            "base64_without_padding",
            "The signature's base64 lacks its padding.",
            "record_malformed",
            [{"record": anna["record"], "signature": anna["signature"].rstrip("=")}],
        ),
        case(
            "signature_63_bytes",
            "The signature is one byte short.",
            "record_malformed",
            [
                {
                    "record": anna["record"],
                    "signature": b64(base64.b64decode(anna["signature"])[:63]),
                }
            ],
        ),
        case(
            "wire_extra_member",
            "The wire object has a member besides record and signature.",
            "record_malformed",
            [{**anna, "note": "x"}],
        ),
        case(
            "wire_not_object",
            "The wire form is a string.",
            "record_malformed",
            [anna["record"]],
        ),
        body_case(
            "missing_field",
            "A correctly signed entry without not_after.",
            "record_malformed",
            not_after=None,
        ),
        body_case(
            "extra_field",
            "A correctly signed entry with a member this version does not know.",
            "record_malformed",
            comment="hej",
        ),
        body_case(
            "key_id_not_matching_keys",
            "The key_id is Bertil's while the keys are Anna's.",
            "record_malformed",
            key_id=ids["bertil"].key_id.hex(),
        ),
        body_case(
            "validity_reversed",
            "not_before equals not_after: an empty validity period.",
            "record_malformed",
            not_after=T0,
        ),
        body_case(
            "unknown_role",
            "The role is not one of the three.",
            "record_malformed",
            role="manager",
        ),
        body_case(
            "municipality_not_nfc",
            "The municipality is written in decomposed form (NFD).",
            "record_malformed",
            municipality="Va\u0308stera\u030as",
        ),
        body_case(
            "serial_zero",
            "Serials start at 1.",
            "record_malformed",
            serial=0,
        ),
        case(
            "unknown_reason",
            "A revocation whose reason is not one of the three.",
            "record_malformed",
            [],
            [
                sign_record(
                    {
                        "kind": REVOCATION_KIND,
                        "network": NETWORK,
                        "key_id": ids["anna"].key_id.hex(),
                        "revoked_at": T0,
                        "reason": "lost",
                        "serial": 2,
                    },
                    admin,
                )
            ],
        ),
        case(
            "conflicting_serial",
            "Two different entries carry serial 1.",
            "directory_conflict",
            [anna, _entry(admin, ids, 1, "bertil")],
        ),
        case(
            "serial_shared_by_entry_and_revocation",
            "A revocation reuses the serial of an entry.",
            "directory_conflict",
            [anna],
            [
                make_revocation(
                    admin,
                    network=NETWORK,
                    key_id=ids["bertil"].key_id,
                    revoked_at=T0,
                    reason="left",
                    serial=1,
                )
            ],
        ),
        case(
            "key_in_two_municipalities",
            "Anna's key is listed again, for Köping.",
            "directory_conflict",
            [anna, _entry(admin, ids, 2, "anna", municipality="Köping")],
        ),
        case(
            "key_for_two_people",
            "Anna's key is listed again under another person's name.",
            "directory_conflict",
            [anna, _entry(admin, ids, 2, "anna", person="Mallory")],
        ),
    ]


def generate() -> dict[str, Any]:
    rng = SeededRng("directory")
    admin = SigningKey.generate(rng)
    other_admin = SigningKey.generate(rng)
    ids = _people(rng)
    outsider = PrivateIdentity.generate(rng)
    kid = {name: ident.key_id.hex() for name, ident in ids.items()}

    entries = [
        _entry(admin, ids, s, name, not_before=nb, not_after=na) for s, name, nb, na in ENTRIES
    ]
    revocations = [
        make_revocation(
            admin, network=NETWORK, key_id=ids[name].key_id, revoked_at=at, reason=why, serial=s
        )
        for s, name, at, why in REVOCATIONS
    ]

    def query(
        municipality: str, at: int, names: list[str], role: str = "contact_person"
    ) -> dict[str, Any]:
        return {
            "municipality": municipality,
            "role": role,
            "at": at,
            "expect_key_ids": sorted(kid[n] for n in names),
        }

    def signer(name: str, at: int, expect: str, serial: int | None = None) -> dict[str, Any]:
        key_id = kid[name] if name in kid else outsider.key_id.hex()
        vector: dict[str, Any] = {"name": name, "key_id": key_id, "at": at, "expect": expect}
        if serial is not None:
            vector["expect_serial"] = serial
        return vector

    data = {
        "generator": GENERATOR,
        "description": (
            "A directory of one network signed by its administrator, queries on it, and broken "
            "records that Directory.load must refuse with the named error code."
        ),
        "network": NETWORK,
        "admin_public": b64(admin.public),
        "admin_signer_id": signer_id(admin.public).hex(),
        "entries": entries,
        "revocations": revocations,
        "valid_keys": [
            query("Västerås", T0, ["anna", "bertil"]),
            query("Västerås", T0 + 100 * DAY - 1, ["anna", "bertil"]),
            query("Västerås", T0 + 100 * DAY, ["anna"]),
            query("Västerås", T0 + 400 * DAY, ["anna"]),
            query("Västerås", T0 + 730 * DAY, []),
            query("Västerås", T0, ["harald"], role="coordinator"),
            query("Köping", T0 - 1, []),
            query("Köping", T0 + 149 * DAY, ["cecilia"]),
            query("Köping", T0 + 160 * DAY, ["cecilia", "david"]),
            query("Köping", T0 + 170 * DAY, ["david"]),
            query("Sala", T0 + 30 * DAY - 1, ["eva"]),
            query("Sala", T0 + 30 * DAY, []),
            query("Sala", T0 + 40 * DAY, ["fredrik"]),
            query("Länsstyrelsen Västmanland", T0, []),
            query("Länsstyrelsen Västmanland", T0, ["gun"], role="county_board"),
            query("Uppsala", T0, []),
        ],
        "recipients_for": [
            {
                "name": "vasteras_and_sala_at_start",
                "municipalities": ["Västerås", "Sala"],
                "at": T0,
                "expect_key_ids": sorted([kid["anna"], kid["bertil"], kid["eva"]]),
            },
            {
                "name": "koping_during_handover_and_vasteras",
                "municipalities": ["Köping", "Västerås"],
                "at": T0 + 160 * DAY,
                "expect_key_ids": sorted([kid["anna"], kid["cecilia"], kid["david"]]),
            },
            {
                "name": "sala_between_compromise_and_successor",
                "municipalities": ["Västerås", "Sala"],
                "at": T0 + 35 * DAY,
                "expect": "recipient_no_valid_key",
            },
            {
                "name": "municipality_not_in_network",
                "municipalities": ["Uppsala"],
                "at": T0,
                "expect": "recipient_no_valid_key",
            },
        ],
        "check_signer": [
            signer("anna", T0, "ok", 1),
            signer("anna", T0 + 400 * DAY, "ok", 9),
            signer("harald", T0, "ok", 7),
            signer("bertil", T0 + 100 * DAY - 1, "ok", 2),
            signer("anna", T0 - 1, "sender_key_expired"),
            signer("anna", T0 + 730 * DAY, "sender_key_expired"),
            signer("david", T0 + 149 * DAY, "sender_key_expired"),
            signer("bertil", T0 + 100 * DAY, "sender_key_revoked"),
            signer("eva", T0 + 31 * DAY, "sender_key_revoked"),
            signer("cecilia", T0 + 175 * DAY, "sender_key_revoked"),
            signer("outsider", T0, "sender_key_unknown"),
        ],
        "invalid": _invalid_cases(admin, other_admin, ids),
    }
    _check_expectations(data)
    return data


def render() -> str:
    return _write.render(generate())


def _outcome(call: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except HubError as exc:
        return exc.code


def _check_expectations(data: dict[str, Any]) -> None:
    """Refuse to write a file whose hand-written expectations this implementation does not meet."""
    admin, network = base64.b64decode(data["admin_public"]), data["network"]
    directory = Directory.load(admin, network, data["entries"], data["revocations"])
    failures = []
    for q in data["valid_keys"]:
        found = directory.valid_keys(q["municipality"], q["at"], role=Role(q["role"]))
        if [e.key_id.hex() for e in found] != q["expect_key_ids"]:
            failures.append(f"valid_keys {q['municipality']} at {q['at']}")
    for q in data["recipients_for"]:
        got = _outcome(directory.recipients_for, q["municipalities"], q["at"])
        if not isinstance(got, str):
            got = [i.key_id.hex() for i in got]
        if got != q.get("expect", q.get("expect_key_ids")):
            failures.append(f"recipients_for {q['name']}")
    for v in data["check_signer"]:
        got = _outcome(directory.check_signer, bytes.fromhex(v["key_id"]), v["at"])
        if not isinstance(got, str):
            got = "ok" if got.serial == v.get("expect_serial") else f"serial {got.serial}"
        if got != v["expect"]:
            failures.append(f"check_signer {v['name']} at {v['at']}: {got}")
    for case in data["invalid"]:
        got = _outcome(Directory.load, admin, network, case["entries"], case["revocations"])
        if got != case["expect"]:
            failures.append(f"invalid {case['name']}: {got}")
    _write.refuse_failures(failures)


if __name__ == "__main__":
    _write.write_vectors(OUTPUT, render())

"""Write tests/vectors/receipts.json: a small directory, one message, good and bad receipts.

Run from the repository root: `python -m tests.vectors.gen_receipts`. Deterministic like
gen_directory.py (SeededRng keys, deterministic Ed25519); tests/test_receipts.py checks that a
fresh run gives the same bytes. Each bad receipt changes one thing and names its error code.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from hub.crypto.directory import Directory, Role, make_entry, make_revocation
from hub.crypto.keys import PrivateIdentity, SigningKey, b64
from hub.crypto.receipts import RECEIPT_KIND, make_receipt, verify_receipt
from hub.crypto.records import sign_record
from hub.errors import HubError
from tests.vectors import _write
from tests.vectors._rng import SeededRng
from tests.vectors.gen_directory import DAY, NETWORK, T0, sign_raw  # the same test network

GENERATOR = "tests/vectors/gen_receipts.py"
OUTPUT = Path(__file__).with_name("receipts.json")

# name, municipality, person, not_before, not_after; serials follow this order from 1.
PEOPLE = [
    ("anna", "Västerås", "Anna Andersson", T0, T0 + 365 * DAY),  # the sender
    ("bertil", "Köping", "Bertil Berg", T0, T0 + 365 * DAY),
    ("cecilia", "Köping", "Cecilia Carlsson", T0, T0 + 180 * DAY),
    ("david", "Sala", "David Dahl", T0, T0 + 365 * DAY),  # revoked: compromised at T0 + 30 days
    ("eva", "Arboga", "Eva Ek", T0, T0 + 365 * DAY),  # valid, but not addressed by the message
]
# Addressed by the message: Västerås (the sender's own), Köping and Sala, and "frank", a key
# in the envelope that the directory does not know.
RECIPIENTS = ["anna", "bertil", "cecilia", "david", "frank"]


def generate() -> dict[str, Any]:
    rng = SeededRng("receipts")
    admin = SigningKey.generate(rng)
    ids = {name: PrivateIdentity.generate(rng) for name, *_ in PEOPLE}
    ids["frank"] = PrivateIdentity.generate(rng)  # in the envelope, not in the directory
    mallory = PrivateIdentity.generate(rng)
    message_id, digest = rng(16), rng(32)
    other_message_id, other_digest = rng(16), rng(32)

    entries = [
        make_entry(
            admin,
            network=NETWORK,
            municipality=municipality,
            person=person,
            role=Role.CONTACT_PERSON,
            identity=ids[name].public,
            not_before=not_before,
            not_after=not_after,
            serial=serial,
        )
        for serial, (name, municipality, person, not_before, not_after) in enumerate(PEOPLE, 1)
    ]
    revocations = [
        make_revocation(
            admin,
            network=NETWORK,
            key_id=ids["david"].key_id,
            revoked_at=T0 + 30 * DAY,
            reason="compromised",
            serial=len(PEOPLE) + 1,
        )
    ]

    def receipt(name: str, event: str, time: int, **override: Any) -> dict[str, str]:
        fields: dict[str, Any] = {
            "network": NETWORK,
            "message_id": message_id,
            "envelope_digest": digest,
            "event": event,
            "time": time,
        }
        fields.update(override)
        return make_receipt(ids[name], **fields)

    def body(name: str, **override: Any) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "kind": RECEIPT_KIND,
            "network": NETWORK,
            "message_id": message_id.hex(),
            "envelope_digest": digest.hex(),
            "event": "read",
            "time": T0 + 11 * DAY,
            "signed_by": ids[name].key_id.hex(),
        }
        fields.update(override)
        return fields

    def ok(name: str, wire: dict[str, str], event: str, time: int, municipality: str) -> Any:
        return {
            "name": name,
            "receipt": wire,
            "expect": "ok",
            "expect_event": event,
            "expect_time": time,
            "expect_municipality": municipality,
            "expect_signed_by": json.loads(base64.b64decode(wire["record"]))["signed_by"],
        }

    def bad(name: str, description: str, wire: object, expect: str, **context: Any) -> Any:
        return {
            "name": name,
            "description": description,
            "receipt": wire,
            "expect": expect,
            **context,
        }

    good = receipt("bertil", "read", T0 + 11 * DAY)
    flipped = bytearray(base64.b64decode(good["signature"]))
    flipped[0] ^= 0x80
    canonical = json.dumps(body("bertil"), sort_keys=True, separators=(",", ":")).encode()

    data = {
        "generator": GENERATOR,
        "description": (
            "Receipts for one message under a small directory; verify_receipt must accept the "
            "valid ones and refuse each invalid one with the named error code."
        ),
        "network": NETWORK,
        "admin_public": b64(admin.public),
        "entries": entries,
        "revocations": revocations,
        "message": {
            "message_id": message_id.hex(),
            "envelope_digest": digest.hex(),
            "recipient_key_ids": [ids[n].key_id.hex() for n in RECIPIENTS],
        },
        "valid": [
            ok(
                "delivered_to_koping",
                receipt("bertil", "delivered", T0 + 10 * DAY),
                "delivered",
                T0 + 10 * DAY,
                "Köping",
            ),
            ok("read_by_koping", good, "read", T0 + 11 * DAY, "Köping"),
            ok(
                "decided_by_second_koping_key",
                receipt("cecilia", "decided", T0 + 12 * DAY),
                "decided",
                T0 + 12 * DAY,
                "Köping",
            ),
            ok(
                "read_by_sala_before_compromise",
                receipt("david", "read", T0 + 30 * DAY - 1),
                "read",
                T0 + 30 * DAY - 1,
                "Sala",
            ),
            ok(
                "read_by_senders_colleague",
                receipt("anna", "read", T0 + 1 * DAY),
                "read",
                T0 + 1 * DAY,
                "Västerås",
            ),
        ],
        "invalid": [
            bad(
                "signer_not_recipient",
                "Signed by Arboga's valid key, which the message was not encrypted to.",
                receipt("eva", "read", T0 + 11 * DAY),
                "receipt_signer_not_recipient",
            ),
            bad(
                "wrong_envelope_digest",
                "Bertil's receipt names another envelope digest.",
                receipt("bertil", "read", T0 + 11 * DAY, envelope_digest=other_digest),
                "receipt_mismatch",
            ),
            bad(
                "wrong_message_id",
                "Bertil's receipt names another message id.",
                receipt("bertil", "read", T0 + 11 * DAY, message_id=other_message_id),
                "receipt_mismatch",
            ),
            bad(
                "replayed_to_other_message",
                "A valid receipt checked against another message (the hub moved it).",
                good,
                "receipt_mismatch",
                message={
                    "message_id": other_message_id.hex(),
                    "envelope_digest": other_digest.hex(),
                    "recipient_key_ids": [ids[n].key_id.hex() for n in RECIPIENTS],
                },
            ),
            bad(
                "revoked_signer",
                "Signed by Sala's key a day after its compromise.",
                receipt("david", "read", T0 + 31 * DAY),
                "sender_key_revoked",
            ),
            bad(
                "expired_signer",
                "Signed by Cecilia's key after its validity ended.",
                receipt("cecilia", "read", T0 + 200 * DAY),
                "sender_key_expired",
            ),
            bad(
                "signer_not_in_directory",
                "Signed by a key the envelope lists but the directory does not know.",
                receipt("frank", "read", T0 + 11 * DAY),
                "sender_key_unknown",
            ),
            bad(
                "forged_signature",
                "Names Bertil as signer but is signed by another key.",
                sign_raw(mallory, RECEIPT_KIND, canonical),
                "record_bad_signature",
            ),
            bad(
                "signature_bit_flipped",
                "One bit of Bertil's signature is flipped.",
                {"record": good["record"], "signature": b64(bytes(flipped))},
                "record_bad_signature",
            ),
            bad(
                "unknown_event",
                "A correctly signed receipt for the event 'opened', which does not exist.",
                sign_record(body("bertil", event="opened"), ids["bertil"]),
                "record_malformed",
            ),
            bad(
                "wrong_network",
                "A correctly signed receipt for another network.",
                sign_record(body("bertil", network="skane-test"), ids["bertil"]),
                "record_wrong_network",
            ),
            bad(
                "message_id_too_short",
                "The message id is 15 bytes.",
                sign_record(body("bertil", message_id=message_id[:15].hex()), ids["bertil"]),
                "record_malformed",
            ),
            bad(
                "time_negative",
                "The time is before 1970.",
                sign_record(body("bertil", time=-1), ids["bertil"]),
                "record_malformed",
            ),
            bad(
                "not_canonical",
                "Correctly signed, but with spaces after separators.",
                sign_raw(
                    ids["bertil"],
                    RECEIPT_KIND,
                    json.dumps(body("bertil"), sort_keys=True, separators=(", ", ": ")).encode(),
                ),
                "record_not_canonical",
            ),
            bad(
                "directory_entry_as_receipt",
                "A directory entry handed over as a receipt.",
                entries[1],
                "record_wrong_kind",
            ),
            bad(
                "wire_missing_signature",
                "The wire object has no signature.",
                {"record": good["record"]},
                "record_malformed",
            ),
        ],
    }
    _check_expectations(data)
    return data


def render() -> str:
    return _write.render(generate())


def _check_expectations(data: dict[str, Any]) -> None:
    """Refuse to write a file whose hand-written expectations this implementation does not meet."""
    directory = Directory.load(
        base64.b64decode(data["admin_public"]),
        data["network"],
        data["entries"],
        data["revocations"],
    )
    failures = []
    for v in data["valid"] + data["invalid"]:
        message = v.get("message", data["message"])
        try:
            receipt = verify_receipt(
                v["receipt"],
                directory=directory,
                message_id=bytes.fromhex(message["message_id"]),
                envelope_digest=bytes.fromhex(message["envelope_digest"]),
                recipient_key_ids={bytes.fromhex(k) for k in message["recipient_key_ids"]},
            )
        except HubError as exc:
            got = exc.code
        else:
            expected = (v.get("expect_event"), v.get("expect_time"), v.get("expect_municipality"))
            got = "ok" if (receipt.event, receipt.time, receipt.municipality) == expected else "?"
        if got != v["expect"]:
            failures.append(f"{v['name']}: {got}")
    _write.refuse_failures(failures)


if __name__ == "__main__":
    _write.write_vectors(OUTPUT, render())

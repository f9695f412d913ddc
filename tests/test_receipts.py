"""Receipts: the vectors in tests/vectors/receipts.json, then a message's whole round trip."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from hub.crypto.directory import Directory, Role, make_entry
from hub.crypto.envelope import open_envelope, seal
from hub.crypto.format import MessageKind
from hub.crypto.keys import PrivateIdentity, SigningKey, unb64
from hub.crypto.receipts import ReceiptEvent, make_receipt, verify_receipt
from hub.errors import MESSAGES, HubError
from tests.vectors import gen_receipts
from tests.vectors._rng import SeededRng

VECTORS_PATH = Path(__file__).parent / "vectors" / "receipts.json"
VECTORS: dict[str, Any] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def directory() -> Directory:
    return Directory.load(
        unb64(VECTORS["admin_public"], 32),
        VECTORS["network"],
        VECTORS["entries"],
        VECTORS["revocations"],
    )


def _verify(directory: Directory, vector: dict[str, Any]) -> Any:
    message = vector.get("message", VECTORS["message"])
    return verify_receipt(
        vector["receipt"],
        directory=directory,
        message_id=bytes.fromhex(message["message_id"]),
        envelope_digest=bytes.fromhex(message["envelope_digest"]),
        recipient_key_ids={bytes.fromhex(k) for k in message["recipient_key_ids"]},
    )


def test_vectors_regenerate_byte_for_byte():
    """Running the generator again writes exactly the committed vectors file."""
    assert gen_receipts.render() == VECTORS_PATH.read_text(encoding="utf-8")
    assert VECTORS["generator"] == "tests/vectors/gen_receipts.py"


def test_vectors_cover_every_required_failure():
    """The file holds at least 8 bad receipts, each naming a code the project defines."""
    codes = {v["expect"] for v in VECTORS["invalid"]}
    assert len(VECTORS["invalid"]) >= 8
    assert codes <= set(MESSAGES)
    assert {
        "receipt_signer_not_recipient",
        "receipt_mismatch",
        "sender_key_revoked",
        "sender_key_expired",
        "record_bad_signature",
        "record_malformed",
        "record_wrong_network",
    } <= codes


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=lambda v: v["name"])
def test_vector_valid_receipts(directory: Directory, vector: dict[str, Any]):
    """A genuine receipt shows which municipality did what, and when."""
    receipt = _verify(directory, vector)
    assert receipt.event == vector["expect_event"]
    assert receipt.time == vector["expect_time"]
    assert receipt.municipality == vector["expect_municipality"]
    assert receipt.signed_by.hex() == vector["expect_signed_by"]
    assert receipt.network == VECTORS["network"]


@pytest.mark.parametrize("vector", VECTORS["invalid"], ids=lambda v: v["name"])
def test_vector_invalid_receipts(directory: Directory, vector: dict[str, Any]):
    """A forged, moved, foreign or ill-timed receipt is never shown as proof."""
    with pytest.raises(HubError) as info:
        _verify(directory, vector)
    assert info.value.code == vector["expect"], info.value


def test_make_receipt_refuses_what_a_verifier_would_refuse():
    """An inbox cannot sign a receipt with a wrong-sized id or an unknown event."""
    me = PrivateIdentity.generate(SeededRng("test-receipts/me"))
    good: dict[str, Any] = {
        "network": "n",
        "message_id": bytes(16),
        "envelope_digest": bytes(32),
        "event": ReceiptEvent.READ,
        "time": 1,
    }
    make_receipt(me, **good)
    for bad in ({"message_id": bytes(15)}, {"envelope_digest": bytes(31)}, {"event": "seen"}):
        with pytest.raises(ValueError):
            make_receipt(me, **{**good, **bad})


def test_message_round_trip_with_receipt(tmp_path: Path):
    """A message sealed to the directory's keys opens for the recipient, whose signed receipt
    then verifies for the sender as "read by <municipality>"."""
    rng = SeededRng("test-receipts/round-trip")
    admin = SigningKey.generate(rng)
    anna, bertil = PrivateIdentity.generate(rng), PrivateIdentity.generate(rng)
    network, now = "test-network", 1_800_000_000
    entries = [
        make_entry(
            admin,
            network=network,
            municipality=municipality,
            person=person,
            role=Role.CONTACT_PERSON,
            identity=who.public,
            not_before=now - 1000,
            not_after=now + 1000,
            serial=serial,
        )
        for serial, (who, municipality, person) in enumerate(
            [(anna, "Västerås", "Anna"), (bertil, "Köping", "Bertil")], start=1
        )
    ]
    directory = Directory.load(admin.public, network, entries, [])

    out = io.BytesIO()
    sealed = seal(
        out,
        sender=anna,
        recipients=directory.recipients_for(["Köping", "Västerås"], now),
        kind=MessageKind.INQUIRY,
        case_id=bytes(16),
        document={"text": "hej"},
        created_at=now,
        rng=rng,
    )
    with open_envelope(
        io.BytesIO(out.getvalue()),
        recipient=bertil,
        sender_keys=directory,
        workdir=tmp_path,
        now=now,
    ) as opened:
        assert opened.document == {"text": "hej"}
        wire = make_receipt(
            bertil,
            network=network,
            message_id=opened.header.message_id,
            envelope_digest=opened.digest,
            event=ReceiptEvent.READ,
            time=now + 5,
        )

    receipt = verify_receipt(
        wire,
        directory=directory,
        message_id=sealed.header.message_id,
        envelope_digest=sealed.digest,
        recipient_key_ids=sealed.header.recipient_key_ids,
    )
    assert (receipt.municipality, receipt.event, receipt.time) == ("Köping", "read", now + 5)

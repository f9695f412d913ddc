"""Receipts: a recipient's signed statement that a message was delivered, read or decided on.

docs/protocol.md ("Receipts") is the specification; `verify_receipt` follows its checks in
order. A receipt is proof, not a database flag: it is a signed record (hub.crypto.records) under
the recipient contact person's own key, bound to the message id and to the digest of the exact
envelope, so the hub can neither invent one nor move one to another message.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from hub.crypto.format import ID_SIZE
from hub.crypto.keys import KEY_ID_BYTES
from hub.crypto.records import (
    enum_field,
    exact_fields,
    hex_field,
    read_unverified,
    sign_record,
    text_field,
    uint_field,
)
from hub.errors import RecordFormatError, RecordVerificationError

if TYPE_CHECKING:
    from collections.abc import Collection

    from hub.crypto.directory import Directory
    from hub.crypto.keys import PrivateIdentity

__all__ = ["RECEIPT_KIND", "Receipt", "ReceiptEvent", "make_receipt", "verify_receipt"]

RECEIPT_KIND: Final = "receipt"
DIGEST_BYTES: Final = 32  # SHA-256 over the envelope's header and ciphertext
_RECEIPT_FIELDS: Final = frozenset(
    {"kind", "network", "message_id", "envelope_digest", "event", "time", "signed_by"}
)


class ReceiptEvent(enum.StrEnum):
    DELIVERED = "delivered"  # the recipient's inbox fetched and verified the envelope
    READ = "read"  # a person opened it
    DECIDED = "decided"  # the recipient sent its answer (accept or decline)


@dataclass(frozen=True)
class Receipt:
    network: str
    message_id: bytes
    envelope_digest: bytes
    event: ReceiptEvent
    time: int  # Unix seconds, UTC, as claimed by the signer (covered by the signature)
    signed_by: bytes  # the recipient's key id
    municipality: str  # from the directory entry of that key: "Läst av <municipality> <time>"


def make_receipt(  # noqa: PLR0913 - past the identity, all keyword-only facts of the receipt
    identity: PrivateIdentity,
    *,
    network: str,
    message_id: bytes,
    envelope_digest: bytes,
    event: ReceiptEvent | str,
    time: int,
) -> dict[str, str]:
    """Sign a receipt as `identity`; ValueError if a verifier would refuse its fields."""
    body = {
        "kind": RECEIPT_KIND,
        "network": network,
        "message_id": message_id.hex(),
        "envelope_digest": envelope_digest.hex(),
        "event": str(event),
        "time": time,
        "signed_by": identity.key_id.hex(),
    }
    _fields(body)
    return sign_record(body, identity)


def verify_receipt(
    wire: object,
    *,
    directory: Directory,
    message_id: bytes,
    envelope_digest: bytes,
    recipient_key_ids: Collection[bytes],
) -> Receipt:
    """Check a receipt for this message (the ids of its envelope's stanzas), or raise.

    Order: wire form, JSON and canonical encoding (record_malformed, record_not_canonical);
    kind (record_wrong_kind); fields (record_malformed); signer among the recipients
    (receipt_signer_not_recipient); signer valid at the receipt's time (sender_key_*);
    signature (record_bad_signature); network (record_wrong_network); message id and envelope
    digest (receipt_mismatch).
    """
    record = read_unverified(wire)
    body = record.unverified_body  # read only to find the key; believed after verify() below
    if body["kind"] != RECEIPT_KIND:
        raise RecordFormatError("record_wrong_kind", f"expected {RECEIPT_KIND}")
    try:
        receipt = _fields(body)
    except ValueError as exc:
        raise RecordFormatError("record_malformed", str(exc)) from None
    if receipt.signed_by not in recipient_key_ids:
        raise RecordVerificationError("receipt_signer_not_recipient")
    entry = directory.check_signer(receipt.signed_by, receipt.time)
    record.verify(expected_kind=RECEIPT_KIND, signer_public=entry.identity)
    if receipt.network != directory.network:
        raise RecordVerificationError("record_wrong_network")
    if receipt.message_id != message_id or receipt.envelope_digest != envelope_digest:
        raise RecordVerificationError("receipt_mismatch")
    return Receipt(
        network=receipt.network,
        message_id=receipt.message_id,
        envelope_digest=receipt.envelope_digest,
        event=receipt.event,
        time=receipt.time,
        signed_by=receipt.signed_by,
        municipality=entry.municipality,
    )


@dataclass(frozen=True)
class _Fields:
    network: str
    message_id: bytes
    envelope_digest: bytes
    event: ReceiptEvent
    time: int
    signed_by: bytes


def _fields(body: dict[str, Any]) -> _Fields:
    exact_fields(body, _RECEIPT_FIELDS)
    return _Fields(
        network=text_field(body, "network"),
        message_id=hex_field(body, "message_id", ID_SIZE),
        envelope_digest=hex_field(body, "envelope_digest", DIGEST_BYTES),
        event=enum_field(ReceiptEvent, body, "event"),
        time=uint_field(body, "time"),
        signed_by=hex_field(body, "signed_by", KEY_ID_BYTES),
    )

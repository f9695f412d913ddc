"""Case steps: a contact person's signed statement that they took one step of a request's
lifecycle. docs/protocol.md ("Case steps") is the specification; `verify_step` follows its checks
in order.

A step is a signed record (hub.crypto.records) under the acting person's own key. It names the
case, the case's sending municipality, the request it moves (the asked municipality; the sender's
own id for a step on the whole case), the event, and the digest of the request's previous step,
so each request is one chain that the hub can order but not forge, reorder or shorten unseen. It
carries no case content: the event, a reason code, dates, and the id of the envelope that
carries the content, if any. Whether the event is allowed is the lifecycle's question
(hub.protocol.chain), not this module's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from hub.crypto import primitives as p
from hub.crypto.directory import Role
from hub.crypto.format import ID_SIZE
from hub.crypto.keys import KEY_ID_BYTES
from hub.crypto.records import (
    exact_fields,
    hex_field,
    read_unverified,
    sign_record,
    text_field,
    uint_field,
)
from hub.errors import RecordFormatError, RecordVerificationError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hub.crypto.directory import Directory
    from hub.crypto.keys import PrivateIdentity

__all__ = ["DIGEST_BYTES", "STEP_KIND", "SignedStep", "make_step", "step_digest", "verify_step"]

STEP_KIND: Final = "case-step"
DIGEST_BYTES: Final = 32
_DIGEST_CONTEXT: Final = b"hub-step/v1\n"
_FIELDS: Final = frozenset(
    {
        "kind",
        "network",
        "case_id",
        "case_sender",
        "municipality",
        "event",
        "parent",
        "time",
        "details",
        "message_id",
        "signed_by",
    }
)
# What a step may say besides its event: a reason code and dates, never free text.
_DETAIL_VALUES: Final[Mapping[str, re.Pattern[str]]] = {
    "reason": re.compile(r"[a-z][a-z_]{0,39}"),
    "moving_date": re.compile(r"\d{4}-\d{2}-\d{2}"),
    "follow_up_date": re.compile(r"\d{4}-\d{2}-\d{2}"),
}
_EVENT: Final = re.compile(r"[a-z][a-z_]{0,39}")


@dataclass(frozen=True)
class SignedStep:
    """A step whose signature, signer and fields were checked (not yet against the lifecycle)."""

    digest: bytes  # what the next step of the same request names as its parent
    network: str
    case_id: bytes
    case_sender: str
    municipality: str  # the request's (the asked municipality), or case_sender for the case
    event: str
    parent: bytes | None  # the previous step of the same request; None for its first
    time: int  # Unix seconds, as the signer claims (covered by the signature)
    details: Mapping[str, str]
    message_id: bytes | None  # the envelope that carries the step's content, if any
    signed_by: bytes
    signer_municipality: str  # from the signing key's directory entry
    wire: Mapping[str, str]  # the exact signed record, kept and resent unchanged

    @property
    def by_sender(self) -> bool:
        """Signed by the case's sending municipality (else by the asked one)."""
        return self.signer_municipality == self.case_sender


def step_digest(wire: Mapping[str, str]) -> bytes:
    """The step's digest: over its canonical body, so one body has one digest whatever the
    signature's bytes. Raises RecordFormatError for a wire form that does not parse."""
    record = read_unverified(dict(wire))
    return _digest(record.canonical)


def _digest(canonical: bytes) -> bytes:
    hasher = p.sha256()
    hasher.update(_DIGEST_CONTEXT + canonical)
    return hasher.digest()


def make_step(  # noqa: PLR0913 - past the identity, every fact of the step is keyword-only
    identity: PrivateIdentity,
    *,
    network: str,
    case_id: bytes,
    case_sender: str,
    municipality: str,
    event: str,
    parent: bytes | None,
    time: int,
    details: Mapping[str, str] | None = None,
    message_id: bytes | None = None,
) -> dict[str, str]:
    """Sign a step as `identity`; ValueError if a verifier would refuse its fields."""
    body: dict[str, Any] = {
        "kind": STEP_KIND,
        "network": network,
        "case_id": case_id.hex(),
        "case_sender": case_sender,
        "municipality": municipality,
        "event": event,
        "parent": None if parent is None else parent.hex(),
        "time": time,
        "details": dict(details or {}),
        "message_id": None if message_id is None else message_id.hex(),
        "signed_by": identity.key_id.hex(),
    }
    _fields(body)
    return sign_record(body, identity)


def verify_step(wire: object, *, directory: Directory) -> SignedStep:
    """Check a step against the verified directory, or raise.

    Order: wire form, JSON and canonical encoding (record_malformed, record_not_canonical);
    kind (record_wrong_kind); fields (record_malformed); the signer is a contact person whose
    key was valid at the step's time (sender_key_unknown, sender_key_revoked: a step signed
    after its key was marked compromised counts for nothing; sender_key_expired); signature
    (record_bad_signature); network (record_wrong_network); the signer is of the case's
    sending municipality or of the request's (step_signer_not_party).
    """
    record = read_unverified(wire)
    body = record.unverified_body  # read only to find the key; believed after verify() below
    if body["kind"] != STEP_KIND:
        raise RecordFormatError("record_wrong_kind", f"expected {STEP_KIND}")
    try:
        fields = _fields(body)
    except ValueError as exc:
        raise RecordFormatError("record_malformed", str(exc)) from None
    entry = directory.check_signer(fields.signed_by, fields.time, roles=(Role.CONTACT_PERSON,))
    record.verify(expected_kind=STEP_KIND, signer_public=entry.identity)
    if fields.network != directory.network:
        raise RecordVerificationError("record_wrong_network")
    if entry.municipality not in {fields.case_sender, fields.municipality}:
        raise RecordVerificationError("step_signer_not_party")
    assert isinstance(wire, dict)  # noqa: S101 - read_unverified accepted it as one
    return SignedStep(
        digest=_digest(record.canonical),
        network=fields.network,
        case_id=fields.case_id,
        case_sender=fields.case_sender,
        municipality=fields.municipality,
        event=fields.event,
        parent=fields.parent,
        time=fields.time,
        details=fields.details,
        message_id=fields.message_id,
        signed_by=fields.signed_by,
        signer_municipality=entry.municipality,
        wire={"record": wire["record"], "signature": wire["signature"]},
    )


@dataclass(frozen=True)
class _Fields:
    network: str
    case_id: bytes
    case_sender: str
    municipality: str
    event: str
    parent: bytes | None
    time: int
    details: dict[str, str]
    message_id: bytes | None
    signed_by: bytes


def _fields(body: Mapping[str, Any]) -> _Fields:
    exact_fields(body, _FIELDS)
    event = body["event"]
    if not isinstance(event, str) or not _EVENT.fullmatch(event):
        raise ValueError("event must be a lower-case token")
    return _Fields(
        network=text_field(body, "network"),
        case_id=hex_field(body, "case_id", ID_SIZE),
        case_sender=text_field(body, "case_sender"),
        municipality=text_field(body, "municipality"),
        event=event,
        parent=None if body["parent"] is None else hex_field(body, "parent", DIGEST_BYTES),
        time=uint_field(body, "time"),
        details=_details(body["details"]),
        message_id=None if body["message_id"] is None else hex_field(body, "message_id", ID_SIZE),
        signed_by=hex_field(body, "signed_by", KEY_ID_BYTES),
    )


def _details(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValueError("details must be an object")
    for name, text in value.items():
        pattern = _DETAIL_VALUES.get(name)
        if pattern is None:
            raise ValueError(f"details may hold only {', '.join(sorted(_DETAIL_VALUES))}")
        if not isinstance(text, str) or not pattern.fullmatch(text):
            raise ValueError(f"details.{name} is not a code or a date")
    return dict(value)

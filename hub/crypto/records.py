"""Signed canonical records: directory entries, revocations and receipts share one wire form.

docs/protocol.md ("Signed records") is the specification; `UnverifiedRecord.verify` follows its
checks in order.

    wire      = {"record": base64(canonical), "signature": base64(sig)}
    canonical = JCS(body)          RFC 8785; body is I-JSON with integers only, ASCII names
    sig       = Ed25519(signer, "hub-record/v1\\n" || kind || "\\n" || canonical)

Every body names its `kind` and who signed it (`signed_by`, a hex key id), so a record cannot be
replayed as another kind or attributed to another key. Exactly one byte string is accepted for
each body: a record whose bytes are not the canonical encoding of what they parse to is refused
before its signature is even looked at, so no two encodings of one body circulate.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, NoReturn, TypeVar

from hub.crypto import primitives as p
from hub.crypto import strictjson
from hub.crypto.keys import KEY_ID_BYTES, PrivateIdentity, PublicIdentity, SigningKey, b64, unb64
from hub.crypto.strictjson import MAX_SAFE_INTEGER
from hub.errors import RecordFormatError, RecordVerificationError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "MAX_RECORD_BYTES",
    "MAX_SAFE_INTEGER",
    "MAX_TEXT_LENGTH",
    "RECORD_CONTEXT",
    "UnverifiedRecord",
    "canonical_bytes",
    "enum_field",
    "exact_fields",
    "hex_field",
    "is_hex",
    "open_record",
    "read_unverified",
    "sign_record",
    "signed_message",
    "signer_id",
    "text_field",
    "uint_field",
]

RECORD_CONTEXT: Final = b"hub-record/v1\n"
_SIGNER_ID_PERSON: Final = b"hub-keyid/v1"
# The largest record is a directory entry of well under 1 KiB; the ceiling leaves room for new
# kinds while bounding what an untrusted hub can make a client parse.
MAX_RECORD_BYTES: Final = 64 * 1024
_MAX_RECORD_B64: Final = 4 * ((MAX_RECORD_BYTES + 2) // 3)
_WIRE_FIELDS: Final = frozenset({"record", "signature"})
_KIND_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
MAX_TEXT_LENGTH: Final = 200  # code points in a network, municipality or person name
_INVISIBLE: Final = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_E = TypeVar("_E", bound=enum.StrEnum)


def signer_id(public: bytes) -> bytes:
    """The key id of a lone Ed25519 key (the county administrator's), as `signed_by` names it."""
    if len(public) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return p.blake2b(public, size=KEY_ID_BYTES, person=_SIGNER_ID_PERSON)


def canonical_bytes(body: dict[str, Any]) -> bytes:
    """The one encoding of `body` that is signed and sent: RFC 8785 for the values allowed here."""
    strictjson.check_value(body, ascii_names=True)
    return strictjson.canonical(body)


def signed_message(kind: str, canonical: bytes) -> bytes:
    """The exact bytes the signature covers: a domain string, the kind, then the record."""
    return RECORD_CONTEXT + kind.encode("utf-8") + b"\n" + canonical


def sign_record(body: dict[str, Any], signer: SigningKey | PrivateIdentity) -> dict[str, str]:
    """Sign `body` as `signer`; `signed_by` is filled in (or must already name this signer)."""
    kind = body.get("kind")
    if not isinstance(kind, str) or not _is_kind(kind):
        raise ValueError("a record body needs a kind of lower-case letters, digits and hyphens")
    expected = _id_of(signer.public).hex()
    if body.get("signed_by", expected) != expected:
        raise ValueError("signed_by does not name the signing key")
    body = {**body, "signed_by": expected}
    canonical = canonical_bytes(body)
    if len(canonical) > MAX_RECORD_BYTES:
        raise ValueError("record too large")
    return {
        "record": b64(canonical),
        "signature": b64(signer.sign(signed_message(kind, canonical))),
    }


def open_record(
    wire: object, *, expected_kind: str, signer_public: bytes | PublicIdentity
) -> dict[str, Any]:
    """Check a wire record in the order of the spec and return its body, or raise."""
    return read_unverified(wire).verify(expected_kind=expected_kind, signer_public=signer_public)


def read_unverified(wire: object) -> UnverifiedRecord:
    """Parse the wire form without checking the signature (checks 1-3 of the spec).

    Only for deciding which key to verify with: nothing in `unverified_body` may be believed
    until `verify` has returned.
    """
    if not isinstance(wire, dict) or set(wire) != _WIRE_FIELDS:
        _malformed("wire form must be an object with exactly record and signature")
    text, signature_text = wire["record"], wire["signature"]
    if not isinstance(text, str) or len(text) > _MAX_RECORD_B64:
        _malformed("record must be base64 of at most the maximum size")
    try:
        record = unb64(text)
        signature = unb64(signature_text, p.ED25519_SIGNATURE_BYTES)
    except ValueError:
        _malformed("record and signature must be strict base64; a signature is 64 bytes")
    body = _parse(record)
    if strictjson.canonical(body) != record:
        raise RecordFormatError("record_not_canonical")
    return UnverifiedRecord(body, record, signature)


@dataclass(frozen=True)
class UnverifiedRecord:
    """A record that parses and is canonical, but whose signature has not been checked."""

    unverified_body: dict[str, Any]
    canonical: bytes = field(repr=False)
    signature: bytes = field(repr=False)

    def verify(
        self, *, expected_kind: str, signer_public: bytes | PublicIdentity
    ) -> dict[str, Any]:
        """Checks 4-6: the kind, the named signer, the signature; then the body may be used."""
        body = self.unverified_body
        if body["kind"] != expected_kind:
            raise RecordFormatError("record_wrong_kind", f"expected {expected_kind}")
        if isinstance(signer_public, PublicIdentity):
            key_id, verify_key = signer_public.key_id, signer_public.signing_key
        else:
            key_id, verify_key = signer_id(signer_public), signer_public
        if body["signed_by"] != key_id.hex():
            raise RecordVerificationError("record_wrong_signer")
        try:
            p.ed25519_verify(
                verify_key, signed_message(expected_kind, self.canonical), self.signature
            )
        except p.AuthenticationFailed:
            raise RecordVerificationError("record_bad_signature") from None
        return body


# --- parsing and encoding ----------------------------------------------------------------


def _id_of(public: bytes | PublicIdentity) -> bytes:
    return public.key_id if isinstance(public, PublicIdentity) else signer_id(public)


def _parse(record: bytes) -> dict[str, Any]:
    """Strict I-JSON: UTF-8, no duplicate or non-ASCII names, integers only and within 2^53 - 1,
    no lone surrogates; an object with a token kind and a 32-digit hex signed_by."""
    try:
        body = strictjson.loads_object(record, ascii_names=True)
    except strictjson.StrictJSONError as exc:
        if exc.reason == strictjson.NOT_OBJECT:
            _malformed("record must be a JSON object")
        if exc.reason == strictjson.NOT_JSON:
            _malformed("record is not UTF-8 JSON")
        _malformed(f"record is not strict JSON: {exc.reason}")
    kind, signed_by = body.get("kind"), body.get("signed_by")
    if not isinstance(kind, str) or not _is_kind(kind):
        _malformed("kind must be 1-64 lower-case letters, digits and hyphens")
    if not isinstance(signed_by, str) or not is_hex(signed_by, KEY_ID_BYTES):
        _malformed("signed_by must be a 32-digit lower-case hex key id")
    return body


def _is_kind(text: str) -> bool:
    # A token, so the kind in the signed prefix reads one way only (it never holds a newline).
    return 0 < len(text) <= 64 and text[0].isalpha() and all(c in _KIND_CHARS for c in text)


def is_hex(text: str, size: int) -> bool:
    """Exactly `size` bytes as lower-case hex: the one spelling of an id in a record."""
    return len(text) == 2 * size and all(c in "0123456789abcdef" for c in text)


# --- reading the fields of a verified body (for each kind's parser) ----------------------
# Each raises ValueError; the caller turns it into record_malformed.


def exact_fields(body: Mapping[str, object], names: frozenset[str]) -> None:
    """Exactly these members: a missing one is an error, and so is one this version does not
    know (a new field means a new kind, never a silently ignored one)."""
    missing, extra = sorted(names - set(body)), sorted(set(body) - names)
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    if extra:
        raise ValueError(f"unexpected {', '.join(extra)}")


def text_field(body: Mapping[str, object], name: str) -> str:
    """A name as people read it: NFC, no control or invisible characters, no outer spaces, so
    that two spellings of one municipality cannot both be in force."""
    value = body[name]
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= MAX_TEXT_LENGTH
        or value != value.strip()
        or unicodedata.normalize("NFC", value) != value
        or any(unicodedata.category(ch) in _INVISIBLE for ch in value)
    ):
        raise ValueError(f"{name} must be 1-{MAX_TEXT_LENGTH} printable characters in NFC")
    return value


def uint_field(body: Mapping[str, object], name: str, minimum: int = 0) -> int:
    value = body[name]
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value:
        raise ValueError(f"{name} must be an integer of at least {minimum}")
    return value  # at most MAX_SAFE_INTEGER: the parser refuses larger ones


def bounded_field(body: Mapping[str, object], name: str, bounds: tuple[int, int]) -> int:
    value = body[name]
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}")
    return value


def hex_field(body: Mapping[str, object], name: str, size: int) -> bytes:
    value = body[name]
    if not isinstance(value, str) or not is_hex(value, size):
        raise ValueError(f"{name} must be {size} bytes of lower-case hex")
    return bytes.fromhex(value)


def enum_field(cls: type[_E], body: Mapping[str, object], name: str) -> _E:
    value = body[name]
    if not isinstance(value, str) or value not in {m.value for m in cls}:
        raise ValueError(f"{name} must be one of {', '.join(m.value for m in cls)}")
    return cls(value)


def _malformed(detail: str) -> NoReturn:
    raise RecordFormatError("record_malformed", detail) from None

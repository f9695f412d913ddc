"""The envelope's byte layout: writing and parsing the header, and the size arithmetic.

This module knows bytes and lengths only; no keys, no decryption (docs/protocol.md §4).

    envelope  = header ciphertext signature
    header    = fixed(134 bytes) stanza{recipient_count}        (96 bytes each)
    ciphertext= chunk{n}   chunk i = secretstream(plain_i)      (plain_i + 17 bytes)
    signature = Ed25519 over the envelope digest                (64 bytes)
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import Final

from hub.crypto.primitives import STREAM_HEADER_BYTES, STREAM_OVERHEAD
from hub.errors import EnvelopeFormatError

MAGIC: Final = b"HUBENV"
VERSION: Final = 1
CHUNK_SIZE: Final = 64 * 1024  # plaintext bytes per chunk; the last may be shorter
CHUNK_CIPHERTEXT_SIZE: Final = CHUNK_SIZE + STREAM_OVERHEAD
SIGNATURE_SIZE: Final = 64
ID_SIZE: Final = 16
KEY_ID_SIZE: Final = 16
COMMITMENT_SIZE: Final = 32
STANZA_SIZE: Final = KEY_ID_SIZE + 32 + 32 + 16  # key id, ephemeral X25519, wrapped key + tag
MAX_HEADER_SIZE: Final = 65536
MAX_RECIPIENTS: Final = 512
# Hard ceiling of the format (2^40 bytes, 1 TiB); deployments set a far lower limit.
MAX_PAYLOAD_LENGTH: Final = 1 << 40

# magic, version, kind, header_length, message_id, case_id, created_at, sender_key_id,
# payload_length, stream_header, key_commitment, recipient_count
_FIXED = struct.Struct(f">6sBBI{ID_SIZE}s{ID_SIZE}sQ{KEY_ID_SIZE}sQ{STREAM_HEADER_BYTES}s32sH")
FIXED_SIZE: Final = _FIXED.size  # 134
PRELUDE_SIZE: Final = 12  # magic, version, kind, header_length: enough to size the header


class MessageKind(enum.IntEnum):
    """What the envelope carries. The hub sees this byte; the content stays sealed."""

    PRE_INQUIRY = 1  # förhandsförfrågan: the short first question
    INQUIRY = 2  # förfrågan with förfrågningsunderlag and attachments
    ANSWER = 3  # accept or decline, with the written motivation
    MESSAGE = 4  # free text between the two municipalities of a case
    WITHDRAWAL = 5  # återkallelse
    OUTCOME_NOTE = 6  # free-text part of the outcome report, to the county board
    REWRAP = 7  # content keys re-wrapped to a successor's key (docs/protocol.md §6)


@dataclass(frozen=True)
class Stanza:
    key_id: bytes
    ephemeral_public: bytes
    wrapped_key: bytes  # 48 bytes: the 32-byte file key and its 16-byte tag


@dataclass(frozen=True)
class Header:
    kind: MessageKind
    message_id: bytes
    case_id: bytes
    created_at: int  # Unix seconds, UTC, as claimed by the sender (covered by the signature)
    sender_key_id: bytes
    payload_length: int  # padded plaintext length
    stream_header: bytes
    key_commitment: bytes
    stanzas: tuple[Stanza, ...]

    @property
    def size(self) -> int:
        return FIXED_SIZE + STANZA_SIZE * len(self.stanzas)

    @property
    def recipient_key_ids(self) -> tuple[bytes, ...]:
        return tuple(s.key_id for s in self.stanzas)

    def stanza_for(self, key_id: bytes) -> Stanza | None:
        return next((s for s in self.stanzas if s.key_id == key_id), None)

    def encode(self) -> bytes:
        fixed = _FIXED.pack(
            MAGIC,
            VERSION,
            int(self.kind),
            self.size,
            self.message_id,
            self.case_id,
            self.created_at,
            self.sender_key_id,
            self.payload_length,
            self.stream_header,
            self.key_commitment,
            len(self.stanzas),
        )
        return fixed + b"".join(s.key_id + s.ephemeral_public + s.wrapped_key for s in self.stanzas)


def chunk_count(payload_length: int) -> int:
    """At least one chunk: an empty payload is one empty final chunk."""
    return max(1, -(-payload_length // CHUNK_SIZE))


def ciphertext_length(payload_length: int) -> int:
    return payload_length + chunk_count(payload_length) * STREAM_OVERHEAD


def envelope_length(header: Header) -> int:
    return header.size + ciphertext_length(header.payload_length) + SIGNATURE_SIZE


def header_length_from_prelude(prelude: bytes) -> int:
    """Check magic, version and the stated header size; return that size.

    `prelude` is whatever the reader has of the first PRELUDE_SIZE bytes (it may be shorter
    when the input is). Checks run in the order of docs/protocol.md §4.5.
    """
    if not prelude:
        raise EnvelopeFormatError("envelope_empty")
    if not MAGIC.startswith(prelude[: len(MAGIC)]):
        raise EnvelopeFormatError("envelope_bad_magic")
    if len(prelude) < PRELUDE_SIZE:
        raise EnvelopeFormatError("envelope_truncated", "shorter than the prelude")
    if prelude[6] != VERSION:
        raise EnvelopeFormatError("envelope_unsupported_version", f"version {prelude[6]}")
    header_length: int = struct.unpack_from(">I", prelude, 8)[0]
    if header_length > MAX_HEADER_SIZE:
        raise EnvelopeFormatError("envelope_header_too_large", f"{header_length} bytes")
    if header_length < FIXED_SIZE + STANZA_SIZE:
        raise EnvelopeFormatError("envelope_header_malformed", "header shorter than one stanza")
    return header_length


def parse_header(data: bytes, *, max_payload_length: int = MAX_PAYLOAD_LENGTH) -> Header:
    """Parse a complete header (exactly the stated header length)."""
    header_length = header_length_from_prelude(data[:PRELUDE_SIZE])
    if len(data) < header_length:
        raise EnvelopeFormatError("envelope_truncated", "inside the header")
    if len(data) != header_length:
        raise EnvelopeFormatError("envelope_header_malformed", "header length mismatch")
    (
        _magic,
        _version,
        kind,
        _length,
        message_id,
        case_id,
        created_at,
        sender_key_id,
        payload_length,
        stream_header,
        key_commitment,
        count,
    ) = _FIXED.unpack_from(data, 0)
    if not 1 <= count <= MAX_RECIPIENTS or header_length != FIXED_SIZE + STANZA_SIZE * count:
        raise EnvelopeFormatError("envelope_header_malformed", "recipient count")
    try:
        message_kind = MessageKind(kind)
    except ValueError:
        raise EnvelopeFormatError("envelope_header_malformed", f"unknown kind {kind}") from None
    if payload_length > min(max_payload_length, MAX_PAYLOAD_LENGTH):
        raise EnvelopeFormatError("envelope_too_large", f"{payload_length} bytes")
    stanzas = []
    for i in range(count):
        off = FIXED_SIZE + i * STANZA_SIZE
        raw = data[off : off + STANZA_SIZE]
        stanzas.append(Stanza(raw[:16], raw[16:48], raw[48:]))
    if len({s.key_id for s in stanzas}) != count:
        raise EnvelopeFormatError("envelope_header_malformed", "a recipient appears twice")
    return Header(
        message_kind,
        message_id,
        case_id,
        created_at,
        sender_key_id,
        payload_length,
        stream_header,
        key_commitment,
        tuple(stanzas),
    )

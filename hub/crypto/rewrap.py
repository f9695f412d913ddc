"""Handing a municipality's in-flight messages to a successor's key (docs/protocol.md §6).

A remaining key holder opens each envelope still open for the municipality and sends the
successor one REWRAP envelope (kind 7) whose document lists, per message, the envelope's digest
and its file key. The successor opens the original with that key: the key commitment proves it
is the sender's key, and the original sender's signature is checked as always. The hub sees
only that one envelope passed between two keys of one municipality.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Final

from hub.errors import EnvelopeVerificationError

REWRAP_VERSION: Final = 1
MAX_KEYS: Final = 10_000


@dataclass(frozen=True, repr=False)
class HandedKey:
    message_id: bytes
    digest: bytes  # the original envelope's digest: what its sender signed
    file_key: bytes

    def __repr__(self) -> str:
        return f"HandedKey(message_id={self.message_id.hex()})"


def rewrap_document(keys: list[HandedKey]) -> dict[str, Any]:
    return {
        "rewrap": {
            "v": REWRAP_VERSION,
            "keys": [
                {
                    "message_id": k.message_id.hex(),
                    "digest": k.digest.hex(),
                    "file_key": base64.b64encode(k.file_key).decode(),
                }
                for k in keys
            ],
        }
    }


def parse_rewrap_document(document: dict[str, Any]) -> list[HandedKey]:
    """The handed keys of an opened REWRAP envelope; envelope_content_malformed otherwise."""

    def malformed(why: str) -> EnvelopeVerificationError:
        return EnvelopeVerificationError("envelope_content_malformed", why)

    body = document.get("rewrap") if set(document) == {"rewrap"} else None
    if not isinstance(body, dict) or set(body) != {"v", "keys"} or body["v"] != REWRAP_VERSION:
        raise malformed("not a rewrap document")
    raw_keys = body["keys"]
    if not isinstance(raw_keys, list) or len(raw_keys) > MAX_KEYS:
        raise malformed("keys")
    keys = []
    for raw in raw_keys:
        if not isinstance(raw, dict) or set(raw) != {"message_id", "digest", "file_key"}:
            raise malformed("key fields")
        try:
            key = HandedKey(
                bytes.fromhex(raw["message_id"]),
                bytes.fromhex(raw["digest"]),
                base64.b64decode(raw["file_key"], validate=True),
            )
        except (TypeError, ValueError, binascii.Error):
            raise malformed("key encoding") from None
        if (len(key.message_id), len(key.digest), len(key.file_key)) != (16, 32, 32):
            raise malformed("key sizes")
        keys.append(key)
    return keys


@dataclass(frozen=True)
class HandedAcross:
    """A REWRAP from the other side of a case, under the administrator's handover record: who
    handed (a municipality, from the REWRAP's signing key) and in which case (its signed header)."""

    by: str
    to: str  # our municipality
    case_id: bytes


def may_hand_across(
    handed: HandedAcross, *, case_id: bytes, sender: str, recipients: tuple[str, ...]
) -> bool:
    """The other side may hand us only what passed between it and us in the REWRAP's own case,
    and was sealed to a key of ours: never another municipality's thread (docs/protocol.md §6).
    The original's facts come from its verified header, never from the hub."""
    if case_id != handed.case_id or handed.to not in recipients:
        return False
    return sender == handed.by or (sender == handed.to and handed.by in recipients)

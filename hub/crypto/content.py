"""What lives inside the encryption: the manifest (the structured document, the attachments'
names, media types and sizes, and the messages of the same thread its sender had seen), the
attachments' bytes, and zero padding (docs/protocol.md §4.3).

    plaintext = u32be(len(manifest)) manifest attachment_1 ... attachment_n zero_padding

Version 2 of the manifest adds "seen"; version 1 (without it) still opens, as seeing nothing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from hub.crypto import strictjson
from hub.crypto.format import ID_SIZE
from hub.errors import EnvelopeVerificationError

if TYPE_CHECKING:
    from collections.abc import Sequence

MANIFEST_VERSION: Final = 2
MAX_SEEN: Final = 10_000  # message ids one message may name: far above any real thread
_ID_HEX: Final = re.compile(r"^[0-9a-f]{32}$")
MAX_MANIFEST_SIZE: Final = 1 << 20  # the form is text; anything larger goes as an attachment
MAX_ATTACHMENTS: Final = 256
MIN_PADDED_LENGTH: Final = 4096  # a short "yes" and a long decline look alike on the wire
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")


def padded_length(content_length: int) -> int:
    """Padmé (Nikitin et al., PETS 2019): at most 12 % overhead and O(log log n) bits leaked
    by the size, above a floor that hides the size of every short message."""
    n = max(content_length, MIN_PADDED_LENGTH)
    e = n.bit_length() - 1
    s = e.bit_length()
    mask = (1 << (e - s)) - 1
    return (n + mask) & ~mask


@dataclass(frozen=True)
class AttachmentInfo:
    name: str
    media_type: str
    size: int

    def __post_init__(self) -> None:
        check_attachment_name(self.name)
        if not _MEDIA_TYPE.match(self.media_type):
            raise ValueError("media type must look like type/subtype, in lower case")
        if self.size < 0:
            raise ValueError("size must not be negative")


def check_attachment_name(name: str) -> None:
    """A file name that cannot climb out of a folder or hide as something else."""
    encoded = name.encode("utf-8", "surrogatepass")
    if not 1 <= len(encoded) <= 255:
        raise ValueError("attachment name must be 1-255 bytes")
    if name in {".", ".."} or "/" in name or "\\" in name:
        raise ValueError("attachment name must not contain a path")
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Zl", "Zp"} for ch in name):
        raise ValueError("attachment name must not contain control characters")
    if name != name.strip() or unicodedata.normalize("NFC", name) != name:
        raise ValueError("attachment name must be NFC without surrounding spaces")


def encode_manifest(
    document: dict[str, Any], attachments: list[AttachmentInfo], seen: Sequence[bytes] = ()
) -> bytes:
    """`seen`: the message ids of the same thread (the case's messages between the same two
    municipalities) the sender had, so that a reader can tell when one never reached it."""
    if len(attachments) > MAX_ATTACHMENTS:
        raise ValueError(f"at most {MAX_ATTACHMENTS} attachments")
    if len({a.name for a in attachments}) != len(attachments):
        raise ValueError("attachment names must be unique")
    if len(set(seen)) > MAX_SEEN or any(len(m) != ID_SIZE for m in seen):
        raise ValueError(f"at most {MAX_SEEN} message ids of 16 bytes")
    manifest = {
        "v": MANIFEST_VERSION,
        "document": document,
        "attachments": [
            {"name": a.name, "media_type": a.media_type, "size": a.size} for a in attachments
        ],
        "seen": sorted({m.hex() for m in seen}),
    }
    encoded = strictjson.canonical(manifest)  # the document may hold floats: not RFC 8785 then
    if len(encoded) > MAX_MANIFEST_SIZE:
        raise ValueError("the document is too large; send long texts as an attachment")
    return len(encoded).to_bytes(4, "big") + encoded


def content_length(manifest_with_prefix: bytes, attachments: list[AttachmentInfo]) -> int:
    return len(manifest_with_prefix) + sum(a.size for a in attachments)


def _strict_json(data: bytes) -> object:
    """JSON that means one thing only: UTF-8, no duplicate keys. Any number and any string: the
    document is a form people fill in."""
    try:
        return strictjson.loads(data, ijson=False)
    except strictjson.StrictJSONError as exc:
        why = "duplicate key" if exc.reason == strictjson.DUPLICATE_NAME else "manifest is not JSON"
        raise EnvelopeVerificationError("envelope_content_malformed", why) from exc


def _parse_attachment(raw: object) -> AttachmentInfo:
    def malformed(why: str) -> EnvelopeVerificationError:
        return EnvelopeVerificationError("envelope_content_malformed", why)

    if not isinstance(raw, dict) or set(raw) != {"name", "media_type", "size"}:
        raise malformed("attachment fields")
    name, media_type, size = raw["name"], raw["media_type"], raw["size"]
    if not (isinstance(name, str) and isinstance(media_type, str)):
        raise malformed("attachment types")
    if not isinstance(size, int) or isinstance(size, bool):
        raise malformed("attachment size")
    try:
        return AttachmentInfo(name, media_type, size)
    except ValueError as exc:
        raise malformed(str(exc)) from exc


def parse_manifest(data: bytes) -> tuple[dict[str, Any], list[AttachmentInfo], tuple[bytes, ...]]:
    """Parse the manifest JSON (without its length prefix): the document, the attachments and
    the message ids its sender had seen (none for version 1). The sender is authenticated by
    now, but a compromised sender must still not be able to crash or mislead the reader."""

    def malformed(why: str) -> EnvelopeVerificationError:
        return EnvelopeVerificationError("envelope_content_malformed", why)

    manifest = _strict_json(data)
    if not isinstance(manifest, dict) or manifest.get("v") not in {1, MANIFEST_VERSION}:
        raise malformed("manifest version")
    fields = {"v", "document", "attachments"} | ({"seen"} if manifest["v"] != 1 else set())
    if set(manifest) != fields:
        raise malformed("manifest fields")
    document, raw_attachments = manifest["document"], manifest["attachments"]
    if not isinstance(document, dict) or not isinstance(raw_attachments, list):
        raise malformed("manifest types")
    if len(raw_attachments) > MAX_ATTACHMENTS:
        raise malformed("too many attachments")
    attachments = [_parse_attachment(raw) for raw in raw_attachments]
    if len({a.name for a in attachments}) != len(attachments):
        raise malformed("attachment names repeat")
    return document, attachments, _parse_seen(manifest.get("seen", []))


def _parse_seen(raw: object) -> tuple[bytes, ...]:
    """Sorted, distinct, lower-case hex message ids: one spelling of one list."""
    if (
        not isinstance(raw, list)
        or len(raw) > MAX_SEEN
        or not all(isinstance(m, str) and _ID_HEX.match(m) for m in raw)
        or raw != sorted(set(raw))
    ):
        raise EnvelopeVerificationError("envelope_content_malformed", "seen")
    return tuple(bytes.fromhex(m) for m in raw)

"""One leaf of the directory log (docs/protocol.md §12.1, §12.11). Pure.

    leaf input = "hub-log-leaf/v1\\n" || signature[64] || canonical record bytes
    served     = the signed record {record, signature}, or, once an erasure record the
                 administrator signed names it, only its leaf hash with its serial (Erased)

An erased body changes no leaf, so the tree, every checkpoint and every proof stay as they were;
whether a hash-only leaf may stand in for its record is hub.crypto.erasure's question.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Final

from hub.crypto import merkle
from hub.crypto.keys import unb64
from hub.errors import RecordFormatError

__all__ = ["LEAF_CONTEXT", "Erased", "Served", "leaf_of", "read_erased", "record_leaf"]

LEAF_CONTEXT: Final = b"hub-log-leaf/v1\n"
_ERASED_FIELDS: Final = frozenset({"serial", "leaf"})


def record_leaf(wire: dict[str, str]) -> bytes:
    """The leaf hash of one signed record in its wire form ({record, signature}, base64)."""
    return merkle.leaf_hash(LEAF_CONTEXT + unb64(wire["signature"]) + unb64(wire["record"]))


@dataclass(frozen=True)
class Erased:
    """A record whose body the hub no longer holds: its serial and its leaf hash."""

    serial: int
    leaf: bytes

    def to_wire(self) -> dict[str, object]:
        return {"serial": self.serial, "leaf": base64.b64encode(self.leaf).decode()}


Served = dict[str, str] | Erased


def leaf_of(item: Served) -> bytes:
    return item.leaf if isinstance(item, Erased) else record_leaf(item)


def read_erased(item: object) -> Erased:
    """The served form {"serial": n, "leaf": base64 of 32 bytes}, exactly, or record_malformed."""
    if isinstance(item, dict) and set(item) == _ERASED_FIELDS:
        serial = item["serial"]
        if isinstance(serial, int) and not isinstance(serial, bool) and serial >= 1:
            try:
                return Erased(serial, unb64(item["leaf"], 32))
            except ValueError:
                pass
    raise RecordFormatError("record_malformed", "an erased leaf is {serial, leaf[32 bytes]}")

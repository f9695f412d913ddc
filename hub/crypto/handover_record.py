"""The administrator's handover record (issue 17, docs/protocol.md §5.10 and §6): a municipality
has lost every holder of its keys, and the other side of each of its open cases may hand the
successor the file keys of what passed between them. Pure: no I/O.

    {"kind": "handover", "network": …, "municipality": "kommun-b",
     "to_keys": [key id hex, …], "serial": n, "signed_by": …}

`to_keys` are the successor's keys, each an entry of that municipality earlier in the sequence:
a record cannot send file keys to a key the administrator has not signed for the municipality,
nor to a key that comes later (a new handover is signed for it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from hub.crypto.keys import KEY_ID_BYTES
from hub.crypto.records import (
    canonical_bytes,
    exact_fields,
    is_hex,
    sign_record,
    signer_id,
    text_field,
    uint_field,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from hub.crypto.keys import SigningKey

HANDOVER_KIND: Final = "handover"
MAX_SUCCESSOR_KEYS: Final = 16
_FIELDS: Final = frozenset({"kind", "network", "serial", "signed_by", "municipality", "to_keys"})


@dataclass(frozen=True)
class HandoverRecord:
    network: str
    municipality: str  # whose open cases the other side hands over
    to_keys: frozenset[bytes]  # the successor's key ids
    serial: int
    record: bytes = field(repr=False)


def make_handover(
    admin: SigningKey,
    *,
    network: str,
    municipality: str,
    to_keys: Iterable[bytes],
    serial: int,
) -> dict[str, str]:
    body: dict[str, Any] = {
        "kind": HANDOVER_KIND,
        "network": network,
        "municipality": municipality,
        "to_keys": sorted(k.hex() for k in to_keys),
        "serial": serial,
        "signed_by": signer_id(admin.public).hex(),
    }
    handover_fields(body)
    return sign_record(body, admin)


def handover_fields(body: dict[str, Any]) -> HandoverRecord:
    """The record's fields, or ValueError (the registry reports it as record_malformed)."""
    exact_fields(body, _FIELDS)
    keys = body["to_keys"]
    if (
        not isinstance(keys, list)
        or not 0 < len(keys) <= MAX_SUCCESSOR_KEYS
        or any(not isinstance(k, str) or not is_hex(k, KEY_ID_BYTES) for k in keys)
        or keys != sorted(set(keys))
    ):
        raise ValueError(
            f"to_keys must be 1 to {MAX_SUCCESSOR_KEYS} key ids in lower-case hex, sorted, "
            "none twice"
        )
    to_keys = frozenset(bytes.fromhex(k) for k in keys)
    return HandoverRecord(
        network=text_field(body, "network"),
        municipality=text_field(body, "municipality"),
        to_keys=to_keys,
        serial=uint_field(body, "serial", minimum=1),
        record=canonical_bytes(body),
    )

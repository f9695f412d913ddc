"""Erasable bodies (issue 14; docs/protocol.md §12.11): the administrator signs an erasure
record, itself a record of the sequence and a leaf of the log, naming each record whose body
may go; the hub then serves that record as its leaf hash and serial (hub.crypto.leaves.Erased).
Pure.

    erasure = {"kind": "erasure", "network", "erased": [item, ...], "erased_at": time,
               "serial", "signed_by"}
    item    = {"serial", "leaf": hex(32), "kind": "directory-entry", "key_id": hex(16),
               "not_after": time}

Only a directory entry may be erased, and only once its not_after lies the network's retention
(the longer of case_retention_days and inbox_retention_days) before erased_at: by then every
case in which the key could have signed anything has been removed from the hub and every
inbox, so no client still checks a signature against it. A revocation must stay (erased, the
key it revokes would be valid again in the entries that remain), and so must every registry and
settings record and every erasure (each says what is in force, or why a leaf has no body).

`ErasureCheck` is what `Registry.load` runs while it reads the sequence: a hash-only leaf is
accepted only if a verified erasure later in the sequence names it with that hash, and an
erasure only if everything it names may go and matches what is served at that serial.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from hub.crypto.directory import ENTRY_KIND, REVOCATION_KIND, DirectoryEntry
from hub.crypto.keys import KEY_ID_BYTES
from hub.crypto.leaves import Erased, Served, record_leaf
from hub.crypto.records import (
    canonical_bytes,
    exact_fields,
    hex_field,
    read_unverified,
    sign_record,
    signer_id,
    text_field,
    uint_field,
)
from hub.errors import LogError, RecordFormatError, RecordVerificationError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from hub.crypto.keys import SigningKey

__all__ = [
    "ERASABLE_KINDS",
    "ERASURE_KIND",
    "KIND_LETTERS",
    "ErasedItem",
    "ErasureCheck",
    "ErasureRecord",
    "erasable_at",
    "item_for",
    "kinds_of",
    "make_erasure",
    "open_erasure",
    "remembered_kinds",
]

ERASURE_KIND: Final = "erasure"
ERASABLE_KINDS: Final = frozenset({ENTRY_KIND})
# Items in one record: at most 200 bytes each with the largest serials, so even then the record
# stays under the 64 KiB a record may be (hub admin erase signs as many records as it needs).
MAX_ERASED: Final = 300
CLOCK_SKEW: Final = 300  # seconds an erasure may be dated ahead of a client's clock
DAY: Final = 86_400
_FIELDS: Final = frozenset({"kind", "network", "erased", "erased_at", "serial", "signed_by"})
_ITEM_FIELDS: Final = frozenset({"serial", "leaf", "kind", "key_id", "not_after"})


@dataclass(frozen=True)
class ErasedItem:
    """One record an erasure names: where it is, its leaf hash, and what it was."""

    serial: int
    leaf: bytes
    kind: str
    key_id: bytes
    not_after: int


@dataclass(frozen=True)
class ErasureRecord:
    network: str
    erased: tuple[ErasedItem, ...]
    erased_at: int
    serial: int
    record: bytes = field(repr=False)


def item_for(entry: DirectoryEntry) -> ErasedItem:
    """What an erasure says of `entry` (its body still at hand)."""
    leaf = record_leaf(entry.to_wire())
    return ErasedItem(entry.serial, leaf, ENTRY_KIND, entry.key_id, entry.not_after)


def erasable_at(not_after: int, retention_days: int) -> int:
    """The first time an entry that ends at `not_after` may be erased."""
    return not_after + retention_days * DAY


def make_erasure(
    admin: SigningKey, *, network: str, erased: Iterable[ErasedItem], erased_at: int, serial: int
) -> dict[str, str]:
    """Sign an erasure; ValueError for an item of a kind that may not be erased, or one a
    client would refuse for its form (when each may go is the sequence's rule, not this)."""
    items = list(erased)
    for item in items:
        if item.kind not in ERASABLE_KINDS:
            raise ValueError(f"a {item.kind} record may never be erased")
    body: dict[str, Any] = {
        "kind": ERASURE_KIND,
        "network": network,
        "erased": [
            {
                "serial": i.serial,
                "leaf": i.leaf.hex(),
                "kind": i.kind,
                "key_id": i.key_id.hex(),
                "not_after": i.not_after,
            }
            for i in items
        ],
        "erased_at": erased_at,
        "serial": serial,
        "signed_by": signer_id(admin.public).hex(),
    }
    _fields(body)
    return sign_record(body, admin)


def open_erasure(wire: object, *, admin_public: bytes, network: str) -> ErasureRecord:
    """Verify one erasure record against the pinned key and this network (§5.3), or raise."""
    body = read_unverified(wire).verify(expected_kind=ERASURE_KIND, signer_public=admin_public)
    try:
        record = _fields(body)
    except ValueError as exc:
        raise RecordFormatError("record_malformed", str(exc)) from None
    if record.network != network:
        raise RecordVerificationError("record_wrong_network")
    return record


def _fields(body: dict[str, Any]) -> ErasureRecord:
    exact_fields(body, _FIELDS)
    value = body["erased"]
    if not isinstance(value, list) or not 0 < len(value) <= MAX_ERASED:
        raise ValueError(f"erased must list 1 to {MAX_ERASED} records")
    items = []
    for item in value:
        if not isinstance(item, dict):
            raise ValueError("an erased record is {serial, leaf, kind, key_id, not_after}")
        exact_fields(item, _ITEM_FIELDS)
        kind = item["kind"]
        if not isinstance(kind, str) or not 0 < len(kind) <= 64 or not kind.isascii():
            raise ValueError("an erased record's kind is a record kind")
        items.append(
            ErasedItem(
                serial=uint_field(item, "serial", minimum=1),
                leaf=hex_field(item, "leaf", 32),
                kind=kind,
                key_id=hex_field(item, "key_id", KEY_ID_BYTES),
                not_after=uint_field(item, "not_after"),
            )
        )
    if any(a.serial >= b.serial for a, b in itertools.pairwise(items)):
        raise ValueError("the erased records' serials must rise")
    return ErasureRecord(
        network=text_field(body, "network"),
        erased=tuple(items),
        erased_at=uint_field(body, "erased_at"),
        serial=uint_field(body, "serial", minimum=1),
        record=canonical_bytes(body),
    )


@dataclass
class ErasureCheck:
    """The erasure rules of §12.11 over one sequence, read in serial order by Registry.load."""

    now: int | None  # this client's clock; None: not checked (the caller has no clock)
    kinds: dict[int, str] = field(default_factory=dict)  # serial -> kind of a body held
    entries: dict[int, DirectoryEntry] = field(default_factory=dict)  # bodies an erasure may name
    hashes: dict[int, bytes] = field(default_factory=dict)  # serial -> leaf served without body
    named: dict[int, ErasedItem] = field(default_factory=dict)  # serial -> what an erasure says

    def body(self, serial: int, kind: str, opened: object) -> None:
        self.kinds[serial] = kind
        if isinstance(opened, DirectoryEntry):
            self.entries[serial] = opened

    def placeholder(self, item: Erased) -> None:
        self.hashes[item.serial] = item.leaf

    def erasure(self, record: ErasureRecord, retention_days: int) -> None:
        """An erasure may name only earlier records, each of an erasable kind, never erased
        before, past its retention at erased_at, and as it is served (else erasure_mismatch)."""
        if self.now is not None and record.erased_at > self.now + CLOCK_SKEW:
            raise _not_allowed("dated in the future")
        for item in record.erased:
            if item.kind not in ERASABLE_KINDS:
                raise _not_allowed(f"a {item.kind} record may never be erased")
            if item.serial >= record.serial or item.serial in self.named:
                raise _not_allowed(f"serial {item.serial}: not earlier, or erased before")
            if erasable_at(item.not_after, retention_days) > record.erased_at:
                raise _not_allowed(f"serial {item.serial}: within the retention of the network")
            self._matches(item)
            self.named[item.serial] = item

    def _matches(self, item: ErasedItem) -> None:
        served = self.hashes.get(item.serial)
        if served is not None:
            if served != item.leaf:
                raise _mismatch(f"serial {item.serial}: another leaf hash")
            return
        entry = self.entries.get(item.serial)
        if entry is None:
            raise _mismatch(f"serial {item.serial} is a {self.kinds.get(item.serial)} record")
        said = (item.leaf, item.key_id, item.not_after)
        if said != (record_leaf(entry.to_wire()), entry.key_id, entry.not_after):
            raise _mismatch(f"serial {item.serial}: another entry")

    def finish(self) -> None:
        """After the last record: every hash-only leaf is one an erasure named."""
        for serial in sorted(self.hashes):
            if serial not in self.named:
                raise LogError("log_erased_unexplained", f"serial {serial}: no body, no erasure")


# What an agent remembers of the records it verified with their bodies: one letter a serial,
# so that an erasure served later cannot say a record was an entry when it was not.
KIND_LETTERS: Final = {
    ENTRY_KIND: "e",
    REVOCATION_KIND: "r",
    "municipality": "m",
    "network-settings": "s",
    "kommunmall": "k",
    ERASURE_KIND: "x",
}
UNSEEN: Final = "?"  # first seen erased: its kind is what the erasure says


def kinds_of(records: Iterable[Served]) -> str:
    """The letters of a verified sequence (its erased records UNSEEN)."""
    return "".join(
        UNSEEN
        if isinstance(wire, Erased)
        else KIND_LETTERS.get(read_unverified(wire).unverified_body["kind"], UNSEEN)
        for wire in records
    )


def remembered_kinds(
    known: str, records: Iterable[Served], erasures: Iterable[ErasureRecord]
) -> str:
    """Check every erasure against the kinds an agent verified before (`known`, from an
    earlier load of the same log: the consistency proof binds each leaf to its place) and
    return what to remember now. An erasure naming a record this agent saw as anything but a
    directory entry is erasure_mismatch, even where the hub no longer serves the body."""
    entry = KIND_LETTERS[ENTRY_KIND]
    for record in erasures:
        for item in record.erased:
            seen = known[item.serial - 1] if item.serial <= len(known) else UNSEEN
            if seen not in (entry, UNSEEN):
                raise _mismatch(f"serial {item.serial} was not an entry when verified here")
    now = kinds_of(records)
    return "".join(
        old if old != UNSEEN else new
        for old, new in itertools.zip_longest(known, now, fillvalue=UNSEEN)
    )


def _not_allowed(detail: str) -> RecordVerificationError:
    return RecordVerificationError("erasure_not_allowed", detail)


def _mismatch(detail: str) -> RecordVerificationError:
    return RecordVerificationError("erasure_mismatch", detail)

"""The directory: which keys the county administrator vouches for, where, and when.

docs/protocol.md ("Directory entries", "Revocations") is the specification. Every entry and
every revocation is a signed record (hub.crypto.records) under the administrator's key, which
each client pins at enrolment; the hub only stores and serves them and cannot forge, move or
revive a key. Pure: no I/O, and time is always an argument (integer Unix seconds, UTC).

    a key is valid at t  <=>  some entry for it has not_before <= t < not_after
                              and no revocation of it has revoked_at <= t
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from hub.crypto.keys import KEY_ID_BYTES, PublicIdentity, b64, unb64
from hub.crypto.records import (
    canonical_bytes,
    enum_field,
    exact_fields,
    hex_field,
    read_unverified,
    sign_record,
    signer_id,
    text_field,
    uint_field,
)
from hub.errors import AuthorityError, RecordFormatError, RecordVerificationError

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable

    from hub.crypto.keys import SigningKey

__all__ = [
    "ENTRY_KIND",
    "REVOCATION_KIND",
    "Directory",
    "DirectoryEntry",
    "Revocation",
    "RevocationReason",
    "Role",
    "make_entry",
    "make_revocation",
    "open_entry",
    "open_revocation",
]

ENTRY_KIND: Final = "directory-entry"
REVOCATION_KIND: Final = "revocation"
_ENTRY_FIELDS: Final = frozenset(
    {
        "kind",
        "network",
        "municipality",
        "person",
        "role",
        "signing_key",
        "encryption_key",
        "key_id",
        "not_before",
        "not_after",
        "serial",
        "signed_by",
    }
)
_REVOCATION_FIELDS: Final = frozenset(
    {"kind", "network", "key_id", "revoked_at", "reason", "serial", "signed_by"}
)


class Role(enum.StrEnum):
    CONTACT_PERSON = "contact_person"
    COUNTY_BOARD = "county_board"
    COORDINATOR = "coordinator"


class RevocationReason(enum.StrEnum):
    SUPERSEDED = "superseded"  # a new key replaces this one (rotation)
    LEFT = "left"  # the person no longer holds the role
    COMPROMISED = "compromised"  # revoked_at is the suspected time of compromise, maybe past


@dataclass(frozen=True)
class DirectoryEntry:
    network: str
    municipality: str
    person: str
    role: Role
    identity: PublicIdentity
    not_before: int
    not_after: int
    serial: int
    signed_by: bytes
    record: bytes = field(repr=False)  # the canonical bytes that were signed
    signature: bytes = field(repr=False)

    @property
    def key_id(self) -> bytes:
        return self.identity.key_id

    @property
    def signing_key(self) -> bytes:
        return self.identity.signing_key

    @property
    def encryption_key(self) -> bytes:
        return self.identity.encryption_key

    def covers(self, at: int) -> bool:
        """The entry's own validity period holds at `at` (revocations aside)."""
        return self.not_before <= at < self.not_after

    def to_wire(self) -> dict[str, str]:
        return {"record": b64(self.record), "signature": b64(self.signature)}


@dataclass(frozen=True)
class Revocation:
    network: str
    key_id: bytes
    revoked_at: int
    reason: RevocationReason
    serial: int
    signed_by: bytes
    record: bytes = field(repr=False)
    signature: bytes = field(repr=False)

    def to_wire(self) -> dict[str, str]:
        return {"record": b64(self.record), "signature": b64(self.signature)}


# --- making records (the administrator's side) --------------------------------------------


def make_entry(  # noqa: PLR0913 - every field of the entry is the administrator's decision
    admin: SigningKey,
    *,
    network: str,
    municipality: str,
    person: str,
    role: Role | str,
    identity: PublicIdentity,
    not_before: int,
    not_after: int,
    serial: int,
) -> dict[str, str]:
    """Sign a directory entry; ValueError if a client would refuse it."""
    body = {
        "kind": ENTRY_KIND,
        "network": network,
        "municipality": municipality,
        "person": person,
        "role": str(role),
        "signing_key": b64(identity.signing_key),
        "encryption_key": b64(identity.encryption_key),
        "key_id": identity.key_id.hex(),
        "not_before": not_before,
        "not_after": not_after,
        "serial": serial,
        "signed_by": signer_id(admin.public).hex(),
    }
    _entry_fields(body)
    return sign_record(body, admin)


def make_revocation(  # noqa: PLR0913 - every field of the revocation is the administrator's decision
    admin: SigningKey,
    *,
    network: str,
    key_id: bytes,
    revoked_at: int,
    reason: RevocationReason | str,
    serial: int,
) -> dict[str, str]:
    """Sign a revocation; for a compromise, `revoked_at` is the suspected time of compromise."""
    body = {
        "kind": REVOCATION_KIND,
        "network": network,
        "key_id": key_id.hex(),
        "revoked_at": revoked_at,
        "reason": str(reason),
        "serial": serial,
        "signed_by": signer_id(admin.public).hex(),
    }
    _revocation_fields(body)
    return sign_record(body, admin)


# --- opening records (every client's side) ------------------------------------------------


def open_entry(wire: object, *, admin_public: bytes, network: str) -> DirectoryEntry:
    """Verify one entry against the pinned administrator key and this network, or raise."""
    record = read_unverified(wire)
    body = record.verify(expected_kind=ENTRY_KIND, signer_public=admin_public)
    try:
        entry = _entry_fields(body, record.signature)
    except ValueError as exc:
        raise RecordFormatError("record_malformed", str(exc)) from None
    if entry.network != network:
        raise RecordVerificationError("record_wrong_network")
    return entry


def open_revocation(wire: object, *, admin_public: bytes, network: str) -> Revocation:
    """Verify one revocation against the pinned administrator key and this network, or raise."""
    record = read_unverified(wire)
    body = record.verify(expected_kind=REVOCATION_KIND, signer_public=admin_public)
    try:
        revocation = _revocation_fields(body, record.signature)
    except ValueError as exc:
        raise RecordFormatError("record_malformed", str(exc)) from None
    if revocation.network != network:
        raise RecordVerificationError("record_wrong_network")
    return revocation


def _entry_fields(body: dict[str, Any], signature: bytes = b"") -> DirectoryEntry:
    exact_fields(body, _ENTRY_FIELDS)
    try:
        identity = PublicIdentity(unb64(body["signing_key"], 32), unb64(body["encryption_key"], 32))
    except ValueError:
        raise ValueError("signing_key and encryption_key are 32 bytes of base64 each") from None
    if body["key_id"] != identity.key_id.hex():
        raise ValueError("key_id does not match the keys")
    not_before, not_after = uint_field(body, "not_before"), uint_field(body, "not_after")
    if not_before >= not_after:
        raise ValueError("not_before must be earlier than not_after")
    return DirectoryEntry(
        network=text_field(body, "network"),
        municipality=text_field(body, "municipality"),
        person=text_field(body, "person"),
        role=enum_field(Role, body, "role"),
        identity=identity,
        not_before=not_before,
        not_after=not_after,
        serial=uint_field(body, "serial", minimum=1),
        signed_by=bytes.fromhex(body["signed_by"]),
        record=canonical_bytes(body),
        signature=signature,
    )


def _revocation_fields(body: dict[str, Any], signature: bytes = b"") -> Revocation:
    exact_fields(body, _REVOCATION_FIELDS)
    return Revocation(
        network=text_field(body, "network"),
        key_id=hex_field(body, "key_id", KEY_ID_BYTES),
        revoked_at=uint_field(body, "revoked_at"),
        reason=enum_field(RevocationReason, body, "reason"),
        serial=uint_field(body, "serial", minimum=1),
        signed_by=bytes.fromhex(body["signed_by"]),
        record=canonical_bytes(body),
        signature=signature,
    )


# --- the directory -------------------------------------------------------------------------


class Directory:
    """Every entry and revocation of one network, verified; answers who may sign and receive.

    Build it with `Directory.load`; it never changes afterwards.
    """

    def __init__(self, admin_public: bytes, network: str) -> None:
        if len(admin_public) != 32:
            raise ValueError("the administrator's public key is 32 bytes")
        self.admin_public = admin_public
        self.network = network
        self._by_serial: dict[int, bytes] = {}
        self._entries: dict[bytes, list[DirectoryEntry]] = {}  # key id -> entries, by serial
        self._revocations: dict[bytes, Revocation] = {}  # key id -> the earliest revocation

    @classmethod
    def load(
        cls,
        admin_public: bytes,
        network: str,
        entries: Iterable[object],
        revocations: Iterable[object],
    ) -> Directory:
        """Verify every record (entries first, then revocations, each in order) or raise on the
        first bad one; a record sent twice is counted once."""
        return cls.from_opened(
            admin_public,
            network,
            [open_entry(wire, admin_public=admin_public, network=network) for wire in entries],
            [
                open_revocation(wire, admin_public=admin_public, network=network)
                for wire in revocations
            ],
        )

    @classmethod
    def from_opened(
        cls,
        admin_public: bytes,
        network: str,
        entries: Iterable[DirectoryEntry],
        revocations: Iterable[Revocation],
    ) -> Directory:
        """The directory of records already verified against `admin_public` and `network`
        (Registry.load opens each once, in the sequence's order); the directory's own rules
        (a conflict, a record sent twice) are applied here as in `load`."""
        directory = cls(admin_public, network)
        for entry in entries:
            directory._add_entry(entry)
        for revocation in revocations:
            directory._add_revocation(revocation)
        return directory

    def _claim_serial(self, serial: int, record: bytes) -> bool:
        """True for a new record, False for one already loaded; a conflict raises."""
        known = self._by_serial.get(serial)
        if known is None:
            self._by_serial[serial] = record
            return True
        if known != record:
            raise RecordVerificationError("directory_conflict", f"two records with serial {serial}")
        return False

    def _add_entry(self, entry: DirectoryEntry) -> None:
        if not self._claim_serial(entry.serial, entry.record):
            return
        same_key = self._entries.setdefault(entry.key_id, [])
        for other in same_key:
            if (other.municipality, other.person, other.role) != (
                entry.municipality,
                entry.person,
                entry.role,
            ):
                raise RecordVerificationError(
                    "directory_conflict", "one key listed for two people or roles"
                )
        same_key.append(entry)
        same_key.sort(key=_serial)

    def _add_revocation(self, revocation: Revocation) -> None:
        if not self._claim_serial(revocation.serial, revocation.record):
            return
        known = self._revocations.get(revocation.key_id)
        if known is None or revocation.revoked_at < known.revoked_at:
            self._revocations[revocation.key_id] = revocation

    # --- queries ---------------------------------------------------------------------------

    @property
    def entries(self) -> tuple[DirectoryEntry, ...]:
        return tuple(sorted((e for es in self._entries.values() for e in es), key=_serial))

    @property
    def revocations(self) -> tuple[Revocation, ...]:
        return tuple(sorted(self._revocations.values(), key=_serial))

    def entry_for_key(self, key_id: bytes) -> DirectoryEntry | None:
        """The latest entry (highest serial) for this key, whatever its validity."""
        entries = self._entries.get(key_id)
        return entries[-1] if entries else None

    def revocation_for(self, key_id: bytes) -> Revocation | None:
        """The revocation that takes effect first for this key, if any."""
        return self._revocations.get(key_id)

    def is_revoked(self, key_id: bytes, at: int) -> bool:
        revocation = self._revocations.get(key_id)
        return revocation is not None and revocation.revoked_at <= at

    def check_signer(
        self, key_id: bytes, at: int, *, roles: Collection[Role] | None = None
    ) -> DirectoryEntry:
        """The entry that lets `key_id` sign at `at`, or AuthorityError: unknown (also for a key
        listed only in another role than `roles`), revoked, or expired (outside validity)."""
        entries = self._entries.get(key_id)
        if not entries:
            raise AuthorityError("sender_key_unknown")
        if roles is not None and entries[-1].role not in roles:
            raise AuthorityError("sender_key_unknown", "the key is listed for another role")
        if self.is_revoked(key_id, at):
            raise AuthorityError("sender_key_revoked")
        covering = [e for e in entries if e.covers(at)]
        if not covering:
            raise AuthorityError("sender_key_expired")
        return covering[-1]

    def signing_key_for(self, key_id: bytes, at: int) -> bytes:
        """hub.crypto.envelope.SenderKeys: open envelopes against the directory."""
        return self.check_signer(key_id, at).signing_key

    def valid_keys(
        self, municipality: str, at: int, *, role: Role = Role.CONTACT_PERSON
    ) -> list[DirectoryEntry]:
        """Every key of `municipality` in `role` that is valid at `at`, sorted by key id."""
        found = []
        for key_id in sorted(self._entries):
            entry = self._valid_entry(key_id, at)
            if entry is not None and entry.municipality == municipality and entry.role == role:
                found.append(entry)
        return found

    def recipients_for(self, municipalities: Iterable[str], at: int) -> list[PublicIdentity]:
        """Every valid contact-person key of every municipality, once each, sorted by key id.

        A municipality without a valid key raises AuthorityError recipient_no_valid_key rather
        than being skipped: a message must never silently miss an addressed municipality. The
        error names the municipality only by its position, never by name (it may reach a log).
        """
        wanted = list(municipalities)
        found: dict[bytes, PublicIdentity] = {}
        for position, municipality in enumerate(wanted, start=1):
            keys = self.valid_keys(municipality, at)
            if not keys:
                raise AuthorityError(
                    "recipient_no_valid_key",
                    f"municipality {position} of {len(wanted)} has no valid key",
                )
            found.update((e.key_id, e.identity) for e in keys)
        return [found[k] for k in sorted(found)]

    def municipalities(self, *, role: Role = Role.CONTACT_PERSON) -> set[str]:
        """Every municipality with an entry in `role`, at any time."""
        return {e.municipality for es in self._entries.values() for e in es if e.role == role}

    def _valid_entry(self, key_id: bytes, at: int) -> DirectoryEntry | None:
        if self.is_revoked(key_id, at):
            return None
        covering = [e for e in self._entries.get(key_id, ()) if e.covers(at)]
        return covering[-1] if covering else None


def _serial(record: DirectoryEntry | Revocation) -> int:
    return record.serial

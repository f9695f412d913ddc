"""The registry: municipalities, their kommunmallar and the network's settings, signed by the
county administrator, in one sequence with the directory's entries and revocations.

docs/protocol.md ("Registry records", "Loading the sequence") is the specification; ADR 004 says
why the administrator, not the municipality, signs a kommunmall. Pure: no I/O.

    the sequence = every directory entry, revocation and registry record of a network, in serial
                   order; serials run 1, 2, 3 ... without a gap or a repeat

A client loads the whole sequence, refuses a gap (registry_gap), a serial out of its place
(registry_out_of_sequence) and a sequence shorter than the highest serial it has verified before
(registry_rolled_back), so a hub can neither hide one record in the middle nor show an older view
after a newer one. The latest record of a kind (per municipality) is the one in force.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from hub.crypto.directory import (
    ENTRY_KIND,
    REVOCATION_KIND,
    Directory,
    DirectoryEntry,
    Revocation,
    open_entry,
    open_revocation,
)
from hub.crypto.erasure import ERASURE_KIND, ErasureCheck, ErasureRecord, open_erasure
from hub.crypto.handover_record import HandoverRecord
from hub.crypto.leaves import Erased
from hub.crypto.records import read_unverified
from hub.crypto.registry_records import (
    KOMMUNMALL_KIND,
    MUNICIPALITY_KIND,
    NATIONAL,
    NATIONAL_CASE_RETENTION_DAYS,
    REGISTRY_KINDS,
    SETTINGS_KIND,
    Kommunmall,
    MunicipalityRecord,
    NationalSettings,
    RegistryRecord,
    SettingsRecord,
    make_kommunmall,
    make_municipality,
    make_settings,
    open_registry_record,
)
from hub.crypto.witness_settings import (
    DEFAULT_FRESHNESS_HOURS,
    WitnessSetting,
    WitnessSettingError,
    witness_address,
)
from hub.errors import RecordFormatError, RecordVerificationError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

# The record kinds are hub.crypto.registry_records' and the witness settings
# hub.crypto.witness_settings'; this module loads the sequence, and is where clients import
# them from.
__all__ = [
    "DEFAULT_FRESHNESS_HOURS",
    "KOMMUNMALL_KIND",
    "MUNICIPALITY_KIND",
    "NATIONAL",
    "NATIONAL_CASE_RETENTION_DAYS",
    "REGISTRY_KINDS",
    "SEQUENCE_KINDS",
    "SETTINGS_KIND",
    "Kommunmall",
    "MunicipalityRecord",
    "NationalSettings",
    "Registry",
    "SettingsRecord",
    "WitnessSetting",
    "WitnessSettingError",
    "make_kommunmall",
    "make_municipality",
    "make_settings",
    "open_registry_record",
    "open_sequence_record",
    "retention_days",
    "witness_address",
]

SEQUENCE_KINDS: Final = REGISTRY_KINDS | {ENTRY_KIND, REVOCATION_KIND, ERASURE_KIND}


# --- the sequence --------------------------------------------------------------------------


@dataclass(frozen=True)
class Registry:
    """The verified sequence of one network: the directory and the registry as the administrator
    signed them, up to `serial`. Build it with `Registry.load`."""

    network: str
    serial: int  # the highest verified serial (0: an empty network)
    directory: Directory
    municipalities: Mapping[str, MunicipalityRecord]  # by id, the latest record of each
    kommunmallar: Mapping[str, Kommunmall]  # by municipality id, the latest of each
    settings: SettingsRecord | None  # None until the administrator has signed settings
    erasures: tuple[ErasureRecord, ...] = ()  # in serial order (docs/protocol.md §12.11)
    # The administrator's handovers (issue 17, docs/protocol.md §6), in the sequence's order.
    handovers: tuple[HandoverRecord, ...] = ()

    @classmethod
    def load(
        cls,
        admin_public: bytes,
        network: str,
        records: Iterable[object],
        *,
        known_serial: int = 0,
        now: int | None = None,
    ) -> Registry:
        """Verify every record in order, or raise on the first one that fails.

        The i-th record (from 1) must carry serial i: a larger one is registry_gap, a smaller one
        registry_out_of_sequence; fewer records than `known_serial` (the highest this client has
        verified before) is registry_rolled_back. A record may be served erased (leaves.Erased)
        only as an erasure record names it (hub.crypto.erasure; `now` bounds its date).
        """
        builder = _Builder(ErasureCheck(now))
        serial = 0
        for serial, wire in enumerate(records, start=1):
            builder.add(wire, serial, admin_public, network)
        builder.erasures.finish()
        builder.check_handover_keys()
        if serial < known_serial:
            raise RecordVerificationError(
                "registry_rolled_back", f"{serial} records, {known_serial} verified before"
            )
        directory = Directory.from_opened(
            admin_public, network, builder.entries, builder.revocations
        )
        return cls(
            network,
            serial,
            directory,
            builder.municipalities,
            builder.kommunmallar,
            builder.settings,
            tuple(builder.erasure_records),
            tuple(builder.handovers),
        )

    def name_of(self, municipality: str) -> str | None:
        """The signed name of a municipality id, or None if no record names it."""
        record = self.municipalities.get(municipality)
        return None if record is None else record.name


@dataclass
class _Builder:
    """The records of a sequence as `Registry.load` checks them, one at a time."""

    erasures: ErasureCheck
    erasure_records: list[ErasureRecord] = field(default_factory=list)
    entries: list[DirectoryEntry] = field(default_factory=list)  # opened once, here
    revocations: list[Revocation] = field(default_factory=list)
    municipalities: dict[str, MunicipalityRecord] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # name -> municipality id
    kommunmallar: dict[str, Kommunmall] = field(default_factory=dict)
    settings: SettingsRecord | None = None
    handovers: list[HandoverRecord] = field(default_factory=list)
    key_owners: dict[bytes, str] = field(default_factory=dict)  # key id -> municipality
    handover_keys_unseen: list[tuple[int, bytes]] = field(default_factory=list)

    def add(self, wire: object, expected: int, admin_public: bytes, network: str) -> None:
        if isinstance(wire, Erased):
            _check_place(wire, expected)
            self.erasures.placeholder(wire)
            return
        kind = read_unverified(wire).unverified_body["kind"]
        opened = open_sequence_record(wire, kind, admin_public, network)
        _check_place(opened, expected)
        self.erasures.body(expected, kind, opened)
        if isinstance(opened, ErasureRecord):
            self.erasures.erasure(opened, retention_days(self.settings))
            self.erasure_records.append(opened)
        elif isinstance(opened, DirectoryEntry):
            self.entries.append(opened)
            self.key_owners.setdefault(opened.key_id, opened.municipality)
        elif isinstance(opened, Revocation):
            self.revocations.append(opened)
        elif isinstance(opened, MunicipalityRecord):
            self._add_municipality(opened)
        elif isinstance(opened, Kommunmall):
            if opened.municipality not in self.municipalities:
                raise RecordVerificationError(
                    "registry_conflict", "a kommunmall for a municipality not registered"
                )
            self.kommunmallar[opened.municipality] = opened
        elif isinstance(opened, HandoverRecord):
            self._add_handover(opened)
        else:
            self.settings = opened

    def _add_handover(self, record: HandoverRecord) -> None:
        """A handover goes to keys the administrator signed for that municipality before it.
        A key whose entry is served erased (§12.11) is checked once the erasures are read."""
        if record.municipality not in self.municipalities:
            raise RecordVerificationError(
                "registry_conflict", "a handover for a municipality not registered"
            )
        for key_id in record.to_keys:
            owner = self.key_owners.get(key_id)
            if owner is None:
                self.handover_keys_unseen.append((record.serial, key_id))
            elif owner != record.municipality:
                raise RecordVerificationError(
                    "registry_conflict", "a handover to a key of another municipality"
                )
        self.handovers.append(record)

    def check_handover_keys(self) -> None:
        """Each handover key whose entry was not read must be named by an erasure as an entry
        that came before the handover (its body since erased): never one signed after it."""
        erased = {
            item.key_id: item.serial
            for record in self.erasure_records
            for item in record.erased
            if item.kind == ENTRY_KIND
        }
        for handover_serial, key_id in self.handover_keys_unseen:
            if erased.get(key_id, handover_serial) >= handover_serial:
                raise RecordVerificationError(
                    "registry_conflict", "a handover to a key not signed before it"
                )

    def _add_municipality(self, record: MunicipalityRecord) -> None:
        holder = self.names.get(record.name)
        if holder is not None and holder != record.municipality:
            raise RecordVerificationError("registry_conflict", "one name for two municipalities")
        previous = self.municipalities.get(record.municipality)
        if previous is not None:
            del self.names[previous.name]
        self.municipalities[record.municipality] = record
        self.names[record.name] = record.municipality


def open_sequence_record(
    wire: object, kind: str, admin_public: bytes, network: str
) -> DirectoryEntry | Revocation | RegistryRecord | ErasureRecord:
    """Verify a record of any kind of the sequence; the directory's own rules (conflicts,
    renewals) run when its lists are loaded."""
    if kind == ENTRY_KIND:
        return open_entry(wire, admin_public=admin_public, network=network)
    if kind == REVOCATION_KIND:
        return open_revocation(wire, admin_public=admin_public, network=network)
    if kind in REGISTRY_KINDS:
        return open_registry_record(wire, admin_public=admin_public, network=network)
    if kind == ERASURE_KIND:
        return open_erasure(wire, admin_public=admin_public, network=network)
    raise RecordFormatError("record_wrong_kind", "not a kind of the sequence")


def retention_days(settings: SettingsRecord | None) -> int:
    """How long after its not_after an entry stays (§12.11): the longer of the two retention
    periods of the settings in force, the national ones until the network signs its own."""
    if settings is None:
        return max(NATIONAL.case_retention_days, NATIONAL.inbox_retention_days)
    return max(settings.case_retention_days, settings.inbox_retention_days)


def _check_place(
    opened: DirectoryEntry | Revocation | RegistryRecord | ErasureRecord | Erased, expected: int
) -> None:
    if opened.serial > expected:
        raise RecordVerificationError(
            "registry_gap", f"serial {opened.serial} where {expected} belongs"
        )
    if opened.serial < expected:
        raise RecordVerificationError(
            "registry_out_of_sequence", f"serial {opened.serial} where {expected} belongs"
        )

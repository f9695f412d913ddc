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

import base64
import ipaddress
import itertools
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

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
from hub.crypto.handover_record import HANDOVER_KIND, HandoverRecord, handover_fields
from hub.crypto.leaves import Erased
from hub.crypto.records import (
    canonical_bytes,
    exact_fields,
    read_unverified,
    sign_record,
    signer_id,
    text_field,
    uint_field,
)
from hub.errors import RecordFormatError, RecordVerificationError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from hub.crypto.keys import SigningKey

__all__ = [
    "KOMMUNMALL_KIND",
    "MUNICIPALITY_KIND",
    "NATIONAL",
    "NATIONAL_CASE_RETENTION_DAYS",
    "REGISTRY_KINDS",
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
]

MUNICIPALITY_KIND: Final = "municipality"


@dataclass(frozen=True)
class NationalSettings:
    """The national network's agreed settings: what a network whose administrator has signed
    none of its own counts with, and what `make_settings` signs unless told otherwise. The one
    place these values are written (hub.protocol.deadlines and hub.protocol.settings read them)."""

    answer_days: int = 14
    offer_response_days: int = 14
    follow_up_months: int | None = 1
    financial_overlap: str = "handover_month_plus_one"
    remind_working_days_before: int = 3
    # Västmanland's fördelningsnyckel: under 10,000 inhabitants 1 case a year,
    # 10,000-20,000: 2, over 20,000: 3, as (from population, cases).
    quota_key: tuple[tuple[int, int], ...] = ((0, 1), (10_000, 2), (20_001, 3))
    outcome_free_text: bool = False
    case_retention_days: int = 365
    inbox_retention_days: int = 90


NATIONAL: Final = NationalSettings()
NATIONAL_CASE_RETENTION_DAYS: Final = NATIONAL.case_retention_days
SETTINGS_KIND: Final = "network-settings"
KOMMUNMALL_KIND: Final = "kommunmall"
REGISTRY_KINDS: Final = frozenset(
    {MUNICIPALITY_KIND, SETTINGS_KIND, KOMMUNMALL_KIND, HANDOVER_KIND}
)
SEQUENCE_KINDS: Final = REGISTRY_KINDS | {ENTRY_KIND, REVOCATION_KIND, ERASURE_KIND}

_COMMON: Final = frozenset({"kind", "network", "serial", "signed_by"})
_MUNICIPALITY_FIELDS: Final = _COMMON | {"municipality", "name", "population"}
_SETTINGS_FIELDS: Final = _COMMON | {
    "answer_days",
    "offer_response_days",
    "follow_up_months",
    "follow_up_days",
    "financial_overlap",
    "remind_working_days_before",
    "quota_key",
    "outcome_free_text",
    "case_retention_days",
    "inbox_retention_days",
}
# The directory log's witnesses (issue 14, docs/protocol.md §12.5): all three or none, so a
# settings record signed before them stays valid and means "no witnesses yet".
_WITNESS_FIELDS: Final = frozenset({"witnesses", "witness_quorum", "freshness_hours"})
_KOMMUNMALL_FIELDS: Final = _COMMON | {"municipality", "offer", "contact"}
MIN_WITNESSES: Final = 3
MAX_WITNESSES: Final = 15
_FRESHNESS_HOURS: Final = (1, 168)
DEFAULT_FRESHNESS_HOURS: Final = 6

# The ranges hub.protocol.deadlines.NetworkDeadlines accepts (tests/test_registry.py keeps them
# equal): a record outside them is refused here, before any deadline is computed from it.
_DAYS: Final = (1, 90)
_MONTHS: Final = (1, 12)
_REMINDER: Final = (0, 10)
_RETENTION: Final = (1, 3650)
FINANCIAL_OVERLAPS: Final = ("handover_month_plus_one", "two_months_after_move")
MAX_POPULATION: Final = 100_000_000
MAX_QUOTA_BANDS: Final = 20
MAX_OFFER_LENGTH: Final = 10_000  # code points
MAX_CONTACT_LENGTH: Final = 2_000
_PROSE_INVISIBLE: Final = frozenset({"Cf", "Cs", "Zl", "Zp"})


@dataclass(frozen=True)
class MunicipalityRecord:
    network: str
    municipality: str  # the id the directory's entries name
    name: str  # as every page shows it
    population: int
    serial: int
    record: bytes = field(repr=False)


@dataclass(frozen=True)
class WitnessSetting:
    """One witness the network counts: its key name, Ed25519 key, and where the hub reaches it
    (the address is only where to send; the key is what a client checks)."""

    name: str
    public: bytes
    url: str


class WitnessSettingError(ValueError):
    """A witness setting a reader refuses: the message for the log, `swedish` for the
    administrator who typed it (hub admin settings)."""

    def __init__(self, detail: str, swedish: str) -> None:
        super().__init__(detail)
        self.swedish = swedish


@dataclass(frozen=True)
class SettingsRecord:
    network: str
    answer_days: int
    offer_response_days: int
    follow_up_months: int | None
    follow_up_days: int | None
    financial_overlap: str
    remind_working_days_before: int
    quota_key: tuple[tuple[int, int], ...] | None  # (from population, cases a year); None: none
    outcome_free_text: bool
    case_retention_days: int  # the hub keeps an ended case this long
    inbox_retention_days: int  # an inbox keeps the decrypted copy of an ended case this long
    serial: int
    record: bytes = field(repr=False)
    witnesses: tuple[WitnessSetting, ...] = ()  # (): none named yet
    witness_quorum: int = 0  # a majority of the witnesses; 0 with none
    freshness_hours: int = DEFAULT_FRESHNESS_HOURS  # nothing with content to an older view

    def deadline_settings(self) -> dict[str, object]:
        """The keys hub.protocol.deadlines.NetworkDeadlines.from_settings reads."""
        values: dict[str, object] = {
            "answer_days": self.answer_days,
            "offer_response_days": self.offer_response_days,
            "follow_up_months": self.follow_up_months,
            "financial_overlap": self.financial_overlap,
            "remind_working_days_before": self.remind_working_days_before,
        }
        if self.follow_up_days is not None:
            values["follow_up_days"] = self.follow_up_days
        return values


@dataclass(frozen=True)
class Kommunmall:
    network: str
    municipality: str
    offer: str  # what the municipality can offer, in its own words
    contact: str  # how contact persons reach it
    serial: int
    record: bytes = field(repr=False)


RegistryRecord = MunicipalityRecord | SettingsRecord | Kommunmall | HandoverRecord


# --- making records (the administrator's side) --------------------------------------------


def make_municipality(  # noqa: PLR0913 - every field is the administrator's decision
    admin: SigningKey, *, network: str, municipality: str, name: str, population: int, serial: int
) -> dict[str, str]:
    body: dict[str, Any] = {
        "kind": MUNICIPALITY_KIND,
        "network": network,
        "municipality": municipality,
        "name": name,
        "population": population,
        "serial": serial,
        "signed_by": signer_id(admin.public).hex(),
    }
    _fields(body)
    return sign_record(body, admin)


def make_settings(  # noqa: PLR0913 - every setting is the administrator's decision
    admin: SigningKey,
    *,
    network: str,
    serial: int,
    answer_days: int = NATIONAL.answer_days,
    offer_response_days: int = NATIONAL.offer_response_days,
    follow_up_months: int | None = NATIONAL.follow_up_months,
    follow_up_days: int | None = None,
    financial_overlap: str = NATIONAL.financial_overlap,
    remind_working_days_before: int = NATIONAL.remind_working_days_before,
    quota_key: Iterable[tuple[int, int]] | None = NATIONAL.quota_key,
    outcome_free_text: bool = NATIONAL.outcome_free_text,
    case_retention_days: int = NATIONAL.case_retention_days,
    inbox_retention_days: int = NATIONAL.inbox_retention_days,
    witnesses: Iterable[WitnessSetting] | None = None,
    witness_quorum: int | None = None,
    freshness_hours: int = DEFAULT_FRESHNESS_HOURS,
) -> dict[str, str]:
    """Sign the network's settings; the defaults are the national network's. With `witnesses`,
    the directory log's witness set, quorum (default: a majority) and freshness limit."""
    body: dict[str, Any] = {
        "kind": SETTINGS_KIND,
        "network": network,
        "answer_days": answer_days,
        "offer_response_days": offer_response_days,
        "follow_up_months": follow_up_months,
        "follow_up_days": follow_up_days,
        "financial_overlap": financial_overlap,
        "remind_working_days_before": remind_working_days_before,
        "quota_key": None
        if quota_key is None
        else [[population, cases] for population, cases in quota_key],
        "outcome_free_text": outcome_free_text,
        "case_retention_days": case_retention_days,
        "inbox_retention_days": inbox_retention_days,
        "serial": serial,
        "signed_by": signer_id(admin.public).hex(),
    }
    if witnesses is not None:
        named = list(witnesses)
        body["witnesses"] = [
            {"name": w.name, "key": base64.b64encode(w.public).decode(), "url": w.url}
            for w in named
        ]
        body["witness_quorum"] = len(named) // 2 + 1 if witness_quorum is None else witness_quorum
        body["freshness_hours"] = freshness_hours
    _fields(body)
    return sign_record(body, admin)


def make_kommunmall(  # noqa: PLR0913 - every field is the administrator's decision
    admin: SigningKey, *, network: str, municipality: str, offer: str, contact: str, serial: int
) -> dict[str, str]:
    body: dict[str, Any] = {
        "kind": KOMMUNMALL_KIND,
        "network": network,
        "municipality": municipality,
        "offer": offer,
        "contact": contact,
        "serial": serial,
        "signed_by": signer_id(admin.public).hex(),
    }
    _fields(body)
    return sign_record(body, admin)


# --- opening records (every client's side) ------------------------------------------------


def open_registry_record(wire: object, *, admin_public: bytes, network: str) -> RegistryRecord:
    """Verify one registry record (any of its kinds) against the pinned key, or raise."""
    unverified = read_unverified(wire)
    kind = unverified.unverified_body["kind"]
    if kind not in REGISTRY_KINDS:
        raise RecordFormatError("record_wrong_kind", "expected a registry record")
    body = unverified.verify(expected_kind=kind, signer_public=admin_public)
    try:
        record = _fields(body)
    except ValueError as exc:
        raise RecordFormatError("record_malformed", str(exc)) from None
    if record.network != network:
        raise RecordVerificationError("record_wrong_network")
    return record


def _fields(body: dict[str, Any]) -> RegistryRecord:
    kind = body.get("kind")
    if kind == MUNICIPALITY_KIND:
        exact_fields(body, _MUNICIPALITY_FIELDS)
        return MunicipalityRecord(
            network=text_field(body, "network"),
            municipality=text_field(body, "municipality"),
            name=text_field(body, "name"),
            population=_bounded(body, "population", (0, MAX_POPULATION)),
            serial=uint_field(body, "serial", minimum=1),
            record=canonical_bytes(body),
        )
    if kind == SETTINGS_KIND:
        return _settings_fields(body)
    if kind == KOMMUNMALL_KIND:
        exact_fields(body, _KOMMUNMALL_FIELDS)
        return Kommunmall(
            network=text_field(body, "network"),
            municipality=text_field(body, "municipality"),
            offer=_prose(body, "offer", MAX_OFFER_LENGTH),
            contact=_prose(body, "contact", MAX_CONTACT_LENGTH),
            serial=uint_field(body, "serial", minimum=1),
            record=canonical_bytes(body),
        )
    if kind == HANDOVER_KIND:
        return handover_fields(body)
    raise ValueError("not a registry record")


def _settings_fields(body: dict[str, Any]) -> SettingsRecord:
    with_witnesses = bool(_WITNESS_FIELDS & set(body))
    exact_fields(body, _SETTINGS_FIELDS | (_WITNESS_FIELDS if with_witnesses else frozenset()))
    months, days = body["follow_up_months"], body["follow_up_days"]
    if months is not None and days is not None:
        raise ValueError("follow_up_months and follow_up_days: one of them is null")
    overlap = body["financial_overlap"]
    if overlap not in FINANCIAL_OVERLAPS:
        raise ValueError(f"financial_overlap must be one of {', '.join(FINANCIAL_OVERLAPS)}")
    if not isinstance(body["outcome_free_text"], bool):
        raise ValueError("outcome_free_text must be true or false")
    return SettingsRecord(
        network=text_field(body, "network"),
        answer_days=_bounded(body, "answer_days", _DAYS),
        offer_response_days=_bounded(body, "offer_response_days", _DAYS),
        follow_up_months=None if months is None else _bounded(body, "follow_up_months", _MONTHS),
        follow_up_days=None if days is None else _bounded(body, "follow_up_days", _DAYS),
        financial_overlap=overlap,
        remind_working_days_before=_bounded(body, "remind_working_days_before", _REMINDER),
        quota_key=None if body["quota_key"] is None else _quota_key(body["quota_key"]),
        outcome_free_text=body["outcome_free_text"],
        case_retention_days=_bounded(body, "case_retention_days", _RETENTION),
        inbox_retention_days=_bounded(body, "inbox_retention_days", _RETENTION),
        serial=uint_field(body, "serial", minimum=1),
        record=canonical_bytes(body),
        **(_witness_fields(body) if with_witnesses else {}),
    )


def _witness_fields(body: Mapping[str, object]) -> dict[str, Any]:
    """3-15 witnesses of distinct names and keys; the quorum a majority of them (so two branches
    of a fork cannot both reach it) and at most all of them."""
    value = body["witnesses"]
    if not isinstance(value, list) or not MIN_WITNESSES <= len(value) <= MAX_WITNESSES:
        raise WitnessSettingError(
            f"witnesses must be {MIN_WITNESSES} to {MAX_WITNESSES}",
            f"nätverket ska ha {MIN_WITNESSES} till {MAX_WITNESSES} vittnen",
        )
    named = []
    for item in value:
        if not isinstance(item, dict):
            raise ValueError("a witness is {name, key, url}")
        exact_fields(item, frozenset({"name", "key", "url"}))
        named.append(_witness(item["name"], item["key"], item["url"]))
    if len({w.name for w in named}) != len(named) or len({w.public for w in named}) != len(named):
        raise WitnessSettingError(
            "two witnesses share a name or a key", "två vittnen har samma namn eller nyckel"
        )
    low = len(named) // 2 + 1
    try:
        quorum = _bounded(body, "witness_quorum", (low, len(named)))
    except ValueError as exc:
        swedish = f"kvorum ska vara {low} till {len(named)}: en majoritet av vittnena"
        raise WitnessSettingError(str(exc), swedish) from None
    try:
        freshness = _bounded(body, "freshness_hours", _FRESHNESS_HOURS)
    except ValueError as exc:
        swedish = "gränsen för hur gammal katalogens bekräftelse får vara ska vara 1-168 timmar"
        raise WitnessSettingError(str(exc), swedish) from None
    return {"witnesses": tuple(named), "witness_quorum": quorum, "freshness_hours": freshness}


def _witness(name: object, key: object, url: object) -> WitnessSetting:
    if (
        not isinstance(name, str)
        or not 0 < len(name) <= 100
        or not name.isascii()
        or any(c in " +" or not c.isprintable() for c in name)
    ):
        raise WitnessSettingError(
            "a witness's name is a key name: ASCII, no space or plus",
            f"vittnets namn {name!r} ska vara ASCII, utan mellanslag och plustecken",
        )
    try:
        public = base64.b64decode(key, validate=True) if isinstance(key, str) else b""
    except ValueError:
        public = b""
    if len(public) != 32 or base64.b64encode(public).decode() != key:
        raise WitnessSettingError(
            "a witness's key is 32 bytes in base64",
            f"vittnet {name}: nyckeln ska vara 32 byte i base64",
        )
    if not isinstance(url, str) or not witness_address(url):
        raise WitnessSettingError(
            "a witness's url is https, or http to this machine only",
            f"vittnet {name}: adressen ska börja med https:// (http:// bara till den egna "
            "datorn, för test)",
        )
    return WitnessSetting(name, public, url)


def witness_address(url: str) -> bool:
    """An https address with a host, or http to this machine (loopback: tests, the demo); no
    user or password in it, printable, at most 200 characters. The address is only where the
    hub and the agents send; a witness's key is what they check."""
    if len(url) > 200 or any(not c.isprintable() or c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return False
    if not host or parts.username is not None or parts.password is not None:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and _loopback(host))


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bounded(body: Mapping[str, object], name: str, bounds: tuple[int, int]) -> int:
    value = body[name]
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}")
    return value


def _quota_key(value: object) -> tuple[tuple[int, int], ...]:
    """[[0, 1], [10000, 2], [20001, 3]]: from population, cases a year; starts at 0, rises."""
    problem = "quota_key must be [[0, cases], [population, cases], ...] with rising populations"
    if not isinstance(value, list) or not 0 < len(value) <= MAX_QUOTA_BANDS:
        raise ValueError(problem)
    bands = []
    for band in value:
        if not isinstance(band, list) or len(band) != 2:
            raise ValueError(problem)
        population, cases = band
        for number in band:
            if isinstance(number, bool) or not isinstance(number, int) or number < 0:
                raise ValueError(problem)
        bands.append((population, cases))
    if bands[0][0] != 0 or any(a[0] >= b[0] for a, b in itertools.pairwise(bands)):
        raise ValueError(problem)
    return tuple(bands)


def _prose(body: Mapping[str, object], name: str, limit: int) -> str:
    """Text people wrote, lines allowed: NFC, at most `limit` code points, no control
    character but the line feed, nothing invisible."""
    value = body[name]
    if (
        not isinstance(value, str)
        or len(value) > limit
        or unicodedata.normalize("NFC", value) != value
        or any(
            (unicodedata.category(ch) == "Cc" and ch != "\n")
            or unicodedata.category(ch) in _PROSE_INVISIBLE
            for ch in value
        )
    ):
        raise ValueError(f"{name} must be at most {limit} printable characters in NFC")
    return value


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

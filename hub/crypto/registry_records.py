"""The registry's kinds of record (docs/protocol.md §5.10): municipalities, the network's
settings, kommunmallar and the administrator's handovers, as the administrator's tools make them
and every client reads them. hub.crypto.registry loads them in the one sequence with the
directory's entries and revocations. ADR 004 says why the administrator, not the municipality,
signs a kommunmall. Pure: no I/O."""

from __future__ import annotations

import base64
import itertools
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from hub.crypto.handover_record import HANDOVER_KIND, HandoverRecord, handover_fields
from hub.crypto.records import (
    bounded_field,
    canonical_bytes,
    exact_fields,
    read_unverified,
    sign_record,
    signer_id,
    text_field,
    uint_field,
)
from hub.crypto.witness_settings import (
    DEFAULT_FRESHNESS_HOURS,
    WITNESS_FIELDS,
    WitnessSetting,
    witness_fields,
)
from hub.errors import RecordFormatError, RecordVerificationError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from hub.crypto.keys import SigningKey

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
_KOMMUNMALL_FIELDS: Final = _COMMON | {"municipality", "offer", "contact"}

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
            population=bounded_field(body, "population", (0, MAX_POPULATION)),
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
    with_witnesses = bool(WITNESS_FIELDS & set(body))
    exact_fields(body, _SETTINGS_FIELDS | (WITNESS_FIELDS if with_witnesses else frozenset()))
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
        answer_days=bounded_field(body, "answer_days", _DAYS),
        offer_response_days=bounded_field(body, "offer_response_days", _DAYS),
        follow_up_months=None
        if months is None
        else bounded_field(body, "follow_up_months", _MONTHS),
        follow_up_days=None if days is None else bounded_field(body, "follow_up_days", _DAYS),
        financial_overlap=overlap,
        remind_working_days_before=bounded_field(body, "remind_working_days_before", _REMINDER),
        quota_key=None if body["quota_key"] is None else _quota_key(body["quota_key"]),
        outcome_free_text=body["outcome_free_text"],
        case_retention_days=bounded_field(body, "case_retention_days", _RETENTION),
        inbox_retention_days=bounded_field(body, "inbox_retention_days", _RETENTION),
        serial=uint_field(body, "serial", minimum=1),
        record=canonical_bytes(body),
        **(witness_fields(body) if with_witnesses else {}),
    )


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

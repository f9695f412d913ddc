"""The signed registry and the one sequence: the vectors in tests/vectors/registry.json, then
rules the vectors do not show (the settings agree with the deadline rules, "ended")."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from hub.crypto.directory import make_entry, open_entry
from hub.crypto.erasure import item_for
from hub.crypto.handover_record import make_handover
from hub.crypto.keys import PrivateIdentity, SigningKey
from hub.crypto.leaves import Erased, record_leaf
from hub.crypto.records import sign_record
from hub.crypto.registry import (
    Registry,
    make_kommunmall,
    make_municipality,
    make_settings,
    open_registry_record,
)
from hub.errors import MESSAGES, HubError, RecordVerificationError
from hub.protocol.deadlines import NetworkDeadlines
from hub.protocol.ended import case_ended_at, ended_for_at, request_ended_at
from hub.protocol.lifecycle import Case, DeclineReason, Event, Role
from tests.vectors import gen_erasure, gen_registry
from tests.vectors._rng import SeededRng

VECTORS_PATH = Path(__file__).parent / "vectors" / "registry.json"
VECTORS: dict[str, Any] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
ADMIN_PUBLIC = base64.b64decode(VECTORS["admin_public"])
NETWORK = VECTORS["network"]


def _load(records: list[Any], known_serial: int = 0) -> Registry:
    return Registry.load(ADMIN_PUBLIC, NETWORK, records, known_serial=known_serial)


def test_vectors_regenerate_byte_for_byte():
    assert gen_registry.render() == VECTORS_PATH.read_text(encoding="utf-8")
    assert VECTORS["generator"] == "tests/vectors/gen_registry.py"


def test_vectors_cover_every_required_failure():
    """Malformed, tampered, wrongly signed, out-of-sequence, gapped and older views, each with a
    code the project defines."""
    codes = {case["expect"] for case in VECTORS["invalid"]}
    assert codes <= set(MESSAGES)
    assert {
        "record_malformed",
        "record_not_canonical",
        "record_bad_signature",
        "record_wrong_signer",
        "record_wrong_network",
        "record_wrong_kind",
        "registry_gap",
        "registry_out_of_sequence",
        "registry_rolled_back",
        "registry_conflict",
    } <= codes


def test_vector_sequence_loads():
    """Directory and registry records in one run of serials; the latest of each is in force."""
    registry = _load(VECTORS["records"])
    assert gen_registry.summary(registry) == VECTORS["expect"]
    assert registry.name_of("koping") == "Köping"
    assert registry.name_of("uppsala") is None


@pytest.mark.parametrize("prefix", VECTORS["prefixes"], ids=lambda p: f"first_{p['length']}")
def test_vector_prefixes(prefix: dict[str, Any]):
    """Until a settings record is in the sequence there are no signed settings."""
    registry = _load(VECTORS["records"][: prefix["length"]])
    assert registry.serial == prefix["expect_serial"]
    assert (registry.settings is not None) == prefix["settings"]
    if registry.settings is not None:
        assert registry.settings.answer_days == prefix["answer_days"]


@pytest.mark.parametrize("case", VECTORS["invalid"], ids=lambda c: c["name"])
def test_vector_invalid_sequences(case: dict[str, Any]):
    with pytest.raises(HubError) as info:
        _load(case["records"], case.get("known_serial", 0))
    assert info.value.code == case["expect"], info.value


def test_vector_handover_loads_after_the_sequence():
    """The administrator's handover (docs/protocol.md §6) names the municipality and the keys
    its open cases go to; a sequence without one has none."""
    handover = VECTORS["handover"]
    registry = _load([*VECTORS["records"], handover["record"]])
    assert gen_registry.handover_summary(registry) == [handover["expect"]]
    assert _load(VECTORS["records"]).handovers == ()


@pytest.mark.parametrize("case", VECTORS["handover"]["invalid"], ids=lambda c: c["name"])
def test_vector_invalid_handovers(case: dict[str, Any]):
    """A handover only to keys the administrator signed for that municipality before it."""
    with pytest.raises(HubError) as info:
        _load([*VECTORS["records"], case["record"]])
    assert info.value.code == case["expect"], info.value


def test_the_same_view_again_and_a_newer_one_are_accepted():
    """known_serial refuses only an older view: the same length or longer passes."""
    records = VECTORS["records"]
    assert _load(records, known_serial=10).serial == 10
    assert _load(records[:7], known_serial=7).serial == 7
    with pytest.raises(RecordVerificationError) as info:
        _load(records[:9], known_serial=10)
    assert info.value.code == "registry_rolled_back"


def test_an_empty_network_has_serial_zero():
    registry = _load([])
    assert (registry.serial, registry.settings, dict(registry.municipalities)) == (0, None, {})


def test_a_renamed_municipality_frees_its_old_name():
    admin = SigningKey.generate(SeededRng("registry-rename"))
    public = admin.public

    def municipality(serial: int, mid: str, name: str) -> Any:
        return make_municipality(
            admin, network=NETWORK, municipality=mid, name=name, population=1, serial=serial
        )

    records = [
        municipality(1, "a", "Ettan"),
        municipality(2, "a", "Etta"),
        municipality(3, "b", "Ettan"),
    ]
    registry = Registry.load(public, NETWORK, records)
    assert {m: r.name for m, r in registry.municipalities.items()} == {"a": "Etta", "b": "Ettan"}


def test_every_signed_settings_record_gives_deadline_rules():
    """The registry's ranges are the deadline rules' ranges: every settings record a client
    accepts gives NetworkDeadlines without error, at each end of every range."""
    admin = SigningKey.generate(SeededRng("registry-ranges"))
    variants: list[dict[str, Any]] = [
        {"answer_days": 1, "offer_response_days": 90, "remind_working_days_before": 0},
        {"answer_days": 90, "offer_response_days": 1, "remind_working_days_before": 10},
        {"follow_up_months": 12},
        {"follow_up_months": None, "follow_up_days": 90},
        {"follow_up_months": None, "financial_overlap": "two_months_after_move"},
    ]
    for variant in variants:
        wire = make_settings(admin, network=NETWORK, serial=1, **variant)
        record = open_registry_record(wire, admin_public=admin.public, network=NETWORK)
        rules = NetworkDeadlines.from_settings(record.deadline_settings())  # type: ignore[union-attr]
        for name, value in variant.items():
            assert getattr(rules, name) == value
    for outside in (
        {"answer_days": 91},
        {"follow_up_months": 13},
        {"remind_working_days_before": 11},
    ):
        with pytest.raises(ValueError):
            make_settings(admin, network=NETWORK, serial=1, **outside)


def test_the_administrator_cannot_sign_a_record_clients_would_refuse():
    admin = SigningKey.generate(SeededRng("registry-refuse"))
    with pytest.raises(ValueError):
        make_municipality(
            admin, network=NETWORK, municipality="a", name=" A", population=1, serial=1
        )
    with pytest.raises(ValueError):
        make_kommunmall(
            admin, network=NETWORK, municipality="a", offer="\u202e", contact="", serial=1
        )
    with pytest.raises(ValueError):
        make_settings(admin, network=NETWORK, serial=1, quota_key=[(5, 1)])


# --- "ended" ---------------------------------------------------------------------------------


def _asked(case: Case, municipality: str, at: int) -> Case:
    case, _ = case.apply(Role.SENDER, municipality, Event.SEND_INQUIRY, at)
    case, _ = case.apply(Role.RECEIVER, municipality, Event.DELIVER, at + 1)
    return case


def test_a_case_ends_when_every_request_has_ended():
    case = _asked(_asked(Case("c1", "A"), "B", 100), "C", 200)
    assert case_ended_at(case) is None
    case, _ = case.apply(Role.RECEIVER, "B", Event.DECLINE, 300, reason=DeclineReason.QUOTA_REACHED)
    assert request_ended_at(case.request("B")) == 300
    assert (case_ended_at(case), ended_for_at(case, "B"), ended_for_at(case, "A")) == (
        None,
        300,
        None,
    )
    case, _ = case.apply(Role.SENDER, "C", Event.WITHDRAW, 400)
    assert (case_ended_at(case), ended_for_at(case, "A"), ended_for_at(case, "C")) == (
        400,
        400,
        400,
    )
    assert ended_for_at(case, "D") is None


def test_a_case_without_requests_has_not_ended():
    assert case_ended_at(Case("c2", "A")) is None


def test_a_handover_to_a_key_whose_entry_was_erased_since_still_loads():
    """Years later the successor's entry expires and its body is erased (docs/protocol.md
    §12.11): the handover that named the key must not make the sequence unloadable. A handover
    naming a key whose entry comes only after it stays refused."""
    admin = SigningKey.generate(SeededRng("registry"))
    records = list(VECTORS["records"])
    anna = open_entry(records[4], admin_public=admin.public, network=NETWORK)
    handover = make_handover(
        admin, network=NETWORK, municipality="vasteras", to_keys=[anna.key_id], serial=11
    )
    erasure = sign_record(
        {
            "kind": "erasure",
            "network": NETWORK,
            "erased": [gen_erasure.item_json(item_for(anna))],
            "erased_at": gen_erasure.ERASED_AT,
            "serial": 12,
        },
        admin,
    )
    served = [*records[:4], Erased(5, record_leaf(records[4])), *records[5:], handover, erasure]
    registry = Registry.load(ADMIN_PUBLIC, NETWORK, served, now=gen_erasure.NOW)
    assert [h.to_keys for h in registry.handovers] == [frozenset({anna.key_id})]

    later = PrivateIdentity.generate(SeededRng("registry/later"))
    ahead = make_handover(
        admin, network=NETWORK, municipality="vasteras", to_keys=[later.key_id], serial=11
    )
    entry = make_entry(
        admin,
        network=NETWORK,
        municipality="vasteras",
        person="Lena Lind",
        role="contact_person",
        identity=later.public,
        not_before=gen_registry.T0,
        not_after=gen_registry.T0 + 365 * gen_registry.DAY,
        serial=12,
    )
    with pytest.raises(RecordVerificationError) as info:
        _load([*records, ahead, entry])
    assert info.value.code == "registry_conflict"

"""Write tests/vectors/registry.json: one network's signed sequence (directory and registry records
in one run of serials) and broken sequences, each naming the error code it must raise.

Run from the repository root: `python -m tests.vectors.gen_registry`. Keys come from SeededRng
and Ed25519 signatures are deterministic, so the file is the same on every run
(tests/test_registry.py checks that). docs/protocol.md ("Registry records", "Test vectors")
describes the cases; each broken one changes one thing.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from hub.crypto.directory import make_entry, make_revocation
from hub.crypto.handover_record import HANDOVER_KIND, make_handover
from hub.crypto.keys import PrivateIdentity, SigningKey, b64
from hub.crypto.records import sign_record, signed_message, signer_id
from hub.crypto.registry import (
    KOMMUNMALL_KIND,
    MUNICIPALITY_KIND,
    SETTINGS_KIND,
    Registry,
    make_kommunmall,
    make_municipality,
    make_settings,
)
from hub.errors import HubError
from tests.vectors import _write
from tests.vectors._rng import SeededRng

GENERATOR = "tests/vectors/gen_registry.py"
OUTPUT = Path(__file__).with_name("registry.json")
NETWORK = "vastmanland-test"
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
DAY = 86_400
OFFER = "Vi kan erbjuda lägenhet med kort varsel.\nKontakt via socialtjänstens mottagning."


def _sequence(admin: SigningKey, anna: PrivateIdentity, cecilia: PrivateIdentity) -> list[Any]:
    def entry(serial: int, person: PrivateIdentity, municipality: str, name: str) -> Any:
        return make_entry(
            admin,
            network=NETWORK,
            municipality=municipality,
            person=name,
            role="contact_person",
            identity=person.public,
            not_before=T0,
            not_after=T0 + 365 * DAY,
            serial=serial,
        )

    def municipality(serial: int, mid: str, name: str, population: int) -> Any:
        return make_municipality(
            admin,
            network=NETWORK,
            municipality=mid,
            name=name,
            population=population,
            serial=serial,
        )

    return [
        municipality(1, "vasteras", "Västerås", 160_000),
        municipality(2, "koping", "Köping", 26_000),
        municipality(3, "sala", "Sala", 23_000),
        make_settings(admin, network=NETWORK, serial=4, answer_days=21),
        entry(5, anna, "vasteras", "Anna Andersson"),
        entry(6, cecilia, "koping", "Cecilia Carlsson"),
        make_kommunmall(
            admin,
            network=NETWORK,
            municipality="vasteras",
            offer=OFFER,
            contact="kontakt@vasteras.example",
            serial=7,
        ),
        municipality(8, "koping", "Köping", 26_500),  # the population updated
        make_revocation(
            admin,
            network=NETWORK,
            key_id=cecilia.key_id,
            revoked_at=T0 + 100 * DAY,
            reason="left",
            serial=9,
        ),
        make_settings(admin, network=NETWORK, serial=10, answer_days=14, outcome_free_text=True),
    ]


def _flip_signature_bit(wire: dict[str, str]) -> dict[str, str]:
    signature = bytearray(base64.b64decode(wire["signature"]))
    signature[10] ^= 0x01
    return {"record": wire["record"], "signature": b64(bytes(signature))}


def _replace_in_record(wire: dict[str, str], old: bytes, new: bytes) -> dict[str, str]:
    record = base64.b64decode(wire["record"])
    assert record.count(old) == 1, old
    return {"record": b64(record.replace(old, new)), "signature": wire["signature"]}


def _body(admin: SigningKey, of: str, serial: int, **override: Any) -> dict[str, Any]:
    """A body of `kind` at `serial` as the valid sequence has it, fields replaced (None removes,
    the string "null" sets JSON null)."""
    common = {"kind": of, "network": NETWORK, "serial": serial}
    own: dict[str, dict[str, Any]] = {
        MUNICIPALITY_KIND: {"municipality": "gotland", "name": "Gotland", "population": 60_000},
        SETTINGS_KIND: {
            "answer_days": 21,
            "offer_response_days": 14,
            "follow_up_months": 1,
            "follow_up_days": None,
            "financial_overlap": "handover_month_plus_one",
            "remind_working_days_before": 3,
            "quota_key": [[0, 1], [10_000, 2], [20_001, 3]],
            "outcome_free_text": True,
            "case_retention_days": 365,
            "inbox_retention_days": 90,
        },
        KOMMUNMALL_KIND: {"municipality": "sala", "offer": OFFER, "contact": "sala@example"},
    }
    body = {**common, **own[of], "signed_by": signer_id(admin.public).hex()}
    for name, value in override.items():
        if value is None:
            del body[name]
        else:
            body[name] = None if value == "null" else value
    return body


def _invalid_cases(
    admin: SigningKey,
    other_admin: SigningKey,
    anna: PrivateIdentity,
    valid: list[Any],
) -> list[dict[str, Any]]:
    head = valid[:3]  # three municipalities: serials 1-3

    def case(
        name: str, description: str, expect: str, records: list[Any], known_serial: int = 0
    ) -> dict[str, Any]:
        vector = {"name": name, "description": description, "records": records, "expect": expect}
        if known_serial:
            vector["known_serial"] = known_serial
        return vector

    def fourth(label: str, description: str, expect: str, of: str, /, **override: Any) -> Any:
        body = _body(admin, of, 4, **override)
        return case(label, description, expect, [*head, sign_record(body, admin)])

    spaced = base64.b64decode(valid[2]["record"]).replace(b'"name":', b'"name": ')
    not_canonical = {
        "record": b64(spaced),
        "signature": b64(admin.sign(signed_message(MUNICIPALITY_KIND, spaced))),
    }
    return [
        case(
            "gap",
            "Serial 4 (the first settings record) is left out: 3 is followed by 5.",
            "registry_gap",
            [*valid[:3], *valid[4:]],
        ),
        case(
            "starts_at_two",
            "The sequence starts at serial 2.",
            "registry_gap",
            valid[1:],
        ),
        case(
            "repeated",
            "Serial 3 is served twice.",
            "registry_out_of_sequence",
            [*valid[:3], valid[2], *valid[3:]],
        ),
        case(
            "reordered",
            "Serials 2 and 3 swap places (3 comes where 2 belongs).",
            "registry_gap",
            [valid[0], valid[2], valid[1], *valid[3:]],
        ),
        case(
            "older_after_newer",
            "A genuine but older view (serials 1-7) after the client verified serial 10.",
            "registry_rolled_back",
            valid[:7],
            known_serial=10,
        ),
        case(
            "name_tampered",
            "One byte of a municipality's name is changed (Köping to Köpinh); the JSON stays valid.",
            "record_bad_signature",
            [valid[0], _replace_in_record(valid[1], "Köping".encode(), "Köpinh".encode())],
        ),
        case(
            "settings_tampered",
            "The answer time of the settings record is changed from 21 to 28 days.",
            "record_bad_signature",
            [*head, _replace_in_record(valid[3], b'"answer_days":21', b'"answer_days":28')],
        ),
        case(
            "signature_bit_flipped",
            "One bit of a kommunmall's signature is flipped.",
            "record_bad_signature",
            [*valid[:6], _flip_signature_bit(valid[6])],
        ),
        case(
            "signed_by_other_admin",
            "A municipality record signed by another administrator key, naming that key.",
            "record_wrong_signer",
            [sign_record(_body(other_admin, MUNICIPALITY_KIND, 1), other_admin)],
        ),
        case(
            "other_key_claims_admin",
            "Signed by another key but naming the pinned administrator in signed_by.",
            "record_bad_signature",
            [
                {
                    "record": valid[0]["record"],
                    "signature": b64(
                        other_admin.sign(
                            signed_message(MUNICIPALITY_KIND, base64.b64decode(valid[0]["record"]))
                        )
                    ),
                }
            ],
        ),
        case(
            "kommunmall_by_contact_person",
            "A kommunmall signed by a contact person's key (as a hub or municipality might write "
            "it), naming that key: only the administrator signs the registry.",
            "record_wrong_signer",
            [
                *head,
                sign_record(
                    {**_body(admin, KOMMUNMALL_KIND, 4), "signed_by": anna.key_id.hex()}, anna
                ),
            ],
        ),
        fourth(
            "wrong_network",
            "A settings record of another network.",
            "record_wrong_network",
            SETTINGS_KIND,
            network="jonkoping-test",
        ),
        fourth(
            "unknown_kind",
            "A record of a kind the sequence does not know, correctly signed.",
            "record_wrong_kind",
            MUNICIPALITY_KIND,
            kind="municipality-v2",
        ),
        case(
            "not_canonical",
            "A municipality record with a space after a member name, correctly signed.",
            "record_not_canonical",
            [*valid[:2], not_canonical],
        ),
        fourth(
            "municipality_missing_population",
            "A municipality record without population.",
            "record_malformed",
            MUNICIPALITY_KIND,
            population=None,
        ),
        fourth(
            "municipality_with_manager_email",
            "A municipality record carrying the manager's e-mail, which stays on the hub.",
            "record_malformed",
            MUNICIPALITY_KIND,
            manager_email="chef@gotland.example",
        ),
        fourth(
            "municipality_name_nfd",
            "A municipality name in NFD (a decomposed ö).",
            "record_malformed",
            MUNICIPALITY_KIND,
            name="Go\u0308tland",
        ),
        fourth(
            "settings_answer_days_zero",
            "An answer time of 0 days.",
            "record_malformed",
            SETTINGS_KIND,
            answer_days=0,
        ),
        fourth(
            "settings_answer_days_too_long",
            "An answer time of 91 days.",
            "record_malformed",
            SETTINGS_KIND,
            answer_days=91,
        ),
        fourth(
            "settings_both_follow_ups",
            "Both follow_up_months and follow_up_days given.",
            "record_malformed",
            SETTINGS_KIND,
            follow_up_days=60,
        ),
        fourth(
            "settings_unknown_overlap",
            "An unknown financial_overlap rule.",
            "record_malformed",
            SETTINGS_KIND,
            financial_overlap="forever",
        ),
        fourth(
            "settings_quota_not_from_zero",
            "A quota key whose first band starts at 100 inhabitants.",
            "record_malformed",
            SETTINGS_KIND,
            quota_key=[[100, 1], [10_000, 2]],
        ),
        fourth(
            "settings_quota_falling",
            "A quota key whose population limits fall.",
            "record_malformed",
            SETTINGS_KIND,
            quota_key=[[0, 1], [20_000, 2], [10_000, 3]],
        ),
        fourth(
            "settings_free_text_as_number",
            "outcome_free_text given as 1 instead of true.",
            "record_malformed",
            SETTINGS_KIND,
            outcome_free_text=1,
        ),
        fourth(
            "settings_retention_zero",
            "A case retention of 0 days.",
            "record_malformed",
            SETTINGS_KIND,
            case_retention_days=0,
        ),
        fourth(
            "settings_missing_inbox_retention",
            "A settings record without inbox_retention_days.",
            "record_malformed",
            SETTINGS_KIND,
            inbox_retention_days=None,
        ),
        fourth(
            "kommunmall_control_character",
            "A kommunmall whose offer holds a control character (ESC).",
            "record_malformed",
            KOMMUNMALL_KIND,
            offer="Erbjudande\u001b[2J",
        ),
        fourth(
            "kommunmall_unregistered",
            "A kommunmall for a municipality no record registers.",
            "registry_conflict",
            KOMMUNMALL_KIND,
            municipality="uppsala",
        ),
        fourth(
            "two_ids_one_name",
            "A fourth municipality under another id with the name Köping.",
            "registry_conflict",
            MUNICIPALITY_KIND,
            name="Köping",
        ),
        case(
            "receipt_in_sequence",
            "A correctly signed record of kind receipt among the sequence.",
            "record_wrong_kind",
            [
                *head,
                sign_record(
                    {"kind": "receipt", "network": NETWORK, "serial": 4, "time": T0}, admin
                ),
            ],
        ),
    ]


def _handover_cases(
    admin: SigningKey, anna: PrivateIdentity, cecilia: PrivateIdentity, valid: list[Any]
) -> dict[str, Any]:
    """The administrator's handover (docs/protocol.md §6): after the valid sequence, a record
    handing Västerås's open cases to Anna's key; then one broken thing each."""
    serial = len(valid) + 1
    record = make_handover(
        admin, network=NETWORK, municipality="vasteras", to_keys=[anna.key_id], serial=serial
    )

    def body(**override: Any) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "kind": HANDOVER_KIND,
            "network": NETWORK,
            "municipality": "vasteras",
            "to_keys": [anna.key_id.hex()],
            "serial": serial,
            "signed_by": signer_id(admin.public).hex(),
        }
        fields.update(override)
        return fields

    def case(name: str, description: str, expect: str, **override: Any) -> dict[str, Any]:
        return {
            "name": name,
            "description": description,
            "record": sign_record(body(**override), admin),
            "expect": expect,
        }

    two = sorted([anna.key_id.hex(), cecilia.key_id.hex()])
    return {
        "record": record,
        "expect": {"municipality": "vasteras", "to_keys": [anna.key_id.hex()], "serial": serial},
        "invalid": [
            case(
                "handover_unregistered",
                "A handover for a municipality no record registers.",
                "registry_conflict",
                municipality="uppsala",
            ),
            case(
                "handover_to_another_municipality_key",
                "A handover for Sala naming Anna's key, an entry of Västerås.",
                "registry_conflict",
                municipality="sala",
            ),
            case(
                "handover_to_unknown_key",
                "A handover naming a key no entry of the sequence signs.",
                "registry_conflict",
                to_keys=["00" * 16],
            ),
            case(
                "handover_to_keys_empty",
                "A handover naming no key.",
                "record_malformed",
                to_keys=[],
            ),
            case(
                "handover_to_keys_unsorted",
                "Two key ids out of order.",
                "record_malformed",
                to_keys=list(reversed(two)),
            ),
            case(
                "handover_to_keys_repeated",
                "One key id twice.",
                "record_malformed",
                to_keys=[anna.key_id.hex(), anna.key_id.hex()],
            ),
            case(
                "handover_to_keys_upper_case",
                "A key id in upper-case hex.",
                "record_malformed",
                to_keys=[anna.key_id.hex().upper()],
            ),
            case(
                "handover_extra_field",
                "A handover carrying a reason, a field the kind does not have.",
                "record_malformed",
                reason="stulen dator",
            ),
        ],
    }


def generate() -> dict[str, Any]:
    rng = SeededRng("registry")
    admin = SigningKey.generate(rng)
    other_admin = SigningKey.generate(rng)
    anna = PrivateIdentity.generate(rng)
    cecilia = PrivateIdentity.generate(rng)
    valid = _sequence(admin, anna, cecilia)
    data = {
        "generator": GENERATOR,
        "description": (
            "One network's sequence of directory and registry records signed by its "
            "administrator, and broken sequences that Registry.load must refuse with the named "
            "error code."
        ),
        "network": NETWORK,
        "admin_public": b64(admin.public),
        "records": valid,
        "expect": {
            "serial": 10,
            "names": {"koping": "Köping", "sala": "Sala", "vasteras": "Västerås"},
            "populations": {"koping": 26_500, "sala": 23_000, "vasteras": 160_000},
            "settings_serial": 10,
            "answer_days": 14,
            "outcome_free_text": True,
            "kommunmallar": {"vasteras": {"offer": OFFER, "contact": "kontakt@vasteras.example"}},
            "entries": 2,
            "revocations": 1,
        },
        "prefixes": [
            {"length": 3, "expect_serial": 3, "settings": False},
            {"length": 4, "expect_serial": 4, "settings": True, "answer_days": 21},
        ],
        "invalid": _invalid_cases(admin, other_admin, anna, valid),
        "handover": _handover_cases(admin, anna, cecilia, valid),
    }
    _check_expectations(data)
    return data


def render() -> str:
    return _write.render(generate())


def _outcome(records: list[Any], admin: bytes, network: str, known: int = 0) -> Any:
    try:
        return Registry.load(admin, network, records, known_serial=known)
    except HubError as exc:
        return exc.code


def summary(registry: Registry) -> dict[str, Any]:
    """What a loaded sequence says, in the shape of the file's "expect"."""
    settings = registry.settings
    assert settings is not None
    return {
        "serial": registry.serial,
        "names": {m: r.name for m, r in sorted(registry.municipalities.items())},
        "populations": {m: r.population for m, r in sorted(registry.municipalities.items())},
        "settings_serial": settings.serial,
        "answer_days": settings.answer_days,
        "outcome_free_text": settings.outcome_free_text,
        "kommunmallar": {
            m: {"offer": k.offer, "contact": k.contact}
            for m, k in sorted(registry.kommunmallar.items())
        },
        "entries": len(registry.directory.entries),
        "revocations": len(registry.directory.revocations),
    }


def _check_expectations(data: dict[str, Any]) -> None:
    """Refuse to write a file whose hand-written expectations this implementation does not meet."""
    admin, network = base64.b64decode(data["admin_public"]), data["network"]
    failures = []
    registry = _outcome(data["records"], admin, network)
    if isinstance(registry, str) or summary(registry) != data["expect"]:
        failures.append(f"valid sequence: {registry}")
    for prefix in data["prefixes"]:
        got = _outcome(data["records"][: prefix["length"]], admin, network)
        if isinstance(got, str) or got.serial != prefix["expect_serial"]:
            failures.append(f"prefix {prefix['length']}")
        elif (got.settings is not None) != prefix["settings"]:
            failures.append(f"prefix {prefix['length']} settings")
    for case in data["invalid"]:
        got = _outcome(case["records"], admin, network, case.get("known_serial", 0))
        if got != case["expect"]:
            failures.append(f"invalid {case['name']}: {got}")
    handover = data["handover"]
    loaded = _outcome([*data["records"], handover["record"]], admin, network)
    if isinstance(loaded, str) or handover_summary(loaded) != [handover["expect"]]:
        failures.append(f"handover: {loaded}")
    for case in handover["invalid"]:
        got = _outcome([*data["records"], case["record"]], admin, network)
        if got != case["expect"]:
            failures.append(f"invalid {case['name']}: {got}")
    _write.refuse_failures(failures)


def handover_summary(registry: Registry) -> list[dict[str, Any]]:
    return [
        {
            "municipality": h.municipality,
            "to_keys": sorted(k.hex() for k in h.to_keys),
            "serial": h.serial,
        }
        for h in registry.handovers
    ]


if __name__ == "__main__":
    _write.write_vectors(OUTPUT, render())

"""Write tests/vectors/erasure.json: registry.json's sequence with erased bodies and the erasure
records that name them (docs/protocol.md §12.11), valid and in every way they can be wrong, each
naming the code `Registry.load` gives, then, for an agent that remembers the kinds of the
records it verified before (`known`, hub.crypto.erasure.KIND_LETTERS), remembered_kinds.

Run from the repository root: `python -m tests.vectors.gen_erasure`. The keys are registry.json's
(SeededRng) and Ed25519 is deterministic, so every run writes the same bytes
(tests/test_erasure_vectors.py checks that).

The sequence: 1-3 municipalities, 4 settings (retention 365 and 90 days: an entry may go 365
days after its not_after), 5 Anna's entry and 6 Cecilia's (both until T0 + 365 days), 7 a
kommunmall, 8 a municipality, 9 the revocation of Cecilia's key, 10 settings; 11 and 12 are the
erasures each case adds.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import msgspec

from hub.crypto import merkle
from hub.crypto.directory import ENTRY_KIND, open_entry
from hub.crypto.erasure import ErasedItem, item_for, kinds_of, remembered_kinds
from hub.crypto.keys import SigningKey, b64
from hub.crypto.leaves import Erased, leaf_of, record_leaf
from hub.crypto.records import sign_record
from hub.crypto.registry import Registry
from hub.errors import HubError
from hub.protocol import wire
from tests.vectors import _write, gen_registry
from tests.vectors._rng import SeededRng

GENERATOR = "tests/vectors/gen_erasure.py"
OUTPUT = Path(__file__).with_name("erasure.json")
NETWORK = gen_registry.NETWORK
DAY = gen_registry.DAY
ENDED = gen_registry.T0 + 365 * DAY  # the not_after of both entries
ERASED_AT = ENDED + 366 * DAY  # a day after the retention of 365 days has passed
NOW = ERASED_AT + DAY


def generate() -> dict[str, Any]:
    admin = SigningKey.generate(SeededRng("registry"))  # registry.json's administrator
    records: list[dict[str, str]] = gen_registry.generate()["records"]
    anna, cecilia = (
        open_entry(records[i], admin_public=admin.public, network=NETWORK) for i in (4, 5)
    )
    anna_item, cecilia_item = item_for(anna), item_for(cecilia)
    revocation_leaf = record_leaf(records[8])

    def erasure(serial: int, *items: ErasedItem, **override: Any) -> dict[str, str]:
        """Signed as the administrator's tools would, or with fields replaced (None removes)
        where they would refuse: a client must refuse it on its own."""
        body: dict[str, Any] = {
            "kind": "erasure",
            "network": NETWORK,
            "erased": [item_json(i) for i in items],
            "erased_at": ERASED_AT,
            "serial": serial,
        }
        for name, value in override.items():
            if value is None:
                del body[name]
            else:
                body[name] = value
        return sign_record(body, admin)

    def erased(serial: int, leaf: bytes | None = None) -> dict[str, Any]:
        return Erased(serial, leaf or record_leaf(records[serial - 1])).to_wire()

    def with_erased(*serials: int) -> list[Any]:
        return [erased(n + 1) if n + 1 in serials else r for n, r in enumerate(records)]

    def flipped(wire_record: dict[str, str]) -> dict[str, str]:
        signature = bytearray(base64.b64decode(wire_record["signature"]))
        signature[7] ^= 1
        return {**wire_record, "signature": b64(bytes(signature))}

    e11 = erasure(11, anna_item)
    as_entry = ErasedItem(9, revocation_leaf, ENTRY_KIND, cecilia.key_id, ENDED)
    other_leaf = bytes(32)
    cases: list[tuple[str, list[Any], str]] = [
        ("an entry erased, its body absent", [*with_erased(5), e11], "ok"),
        ("an entry erased, its body still served", [*records, e11], "ok"),
        (
            "two entries in one erasure, a revoked key's among them",
            [*with_erased(5, 6), erasure(11, anna_item, cecilia_item)],
            "ok",
        ),
        (
            "two erasures, one entry each",
            [*with_erased(5, 6), e11, erasure(12, cecilia_item)],
            "ok",
        ),
        ("a body absent, no erasure", with_erased(5), "log_erased_unexplained"),
        (
            "a body absent, the erasure names another",
            [*with_erased(6), e11],
            "log_erased_unexplained",
        ),
        (
            "a revocation absent beside an erasure of an entry",
            [*with_erased(5, 9), e11],
            "log_erased_unexplained",
        ),
        (
            "a settings record absent",
            [*with_erased(5, 10), e11],
            "log_erased_unexplained",
        ),
        (
            "an erasure naming a revocation",
            [
                *with_erased(9),
                erasure(11, ErasedItem(9, revocation_leaf, "revocation", cecilia.key_id, 0)),
            ],
            "erasure_not_allowed",
        ),
        (
            "an erasure naming a settings record",
            [
                *records,
                erasure(
                    11, ErasedItem(10, record_leaf(records[9]), "network-settings", bytes(16), 0)
                ),
            ],
            "erasure_not_allowed",
        ),
        (
            "an erasure naming a revocation as an entry, its body served",
            [*records, erasure(11, as_entry)],
            "erasure_mismatch",
        ),
        (
            "an erasure naming itself",
            [*records, erasure(11, _at(anna_item, 11))],
            "erasure_not_allowed",
        ),
        (
            "an erasure naming a later record",
            [*records, erasure(11, _at(anna_item, 12)), records[0]],
            "erasure_not_allowed",
        ),
        (
            "an entry erased twice",
            [*with_erased(5), e11, erasure(12, anna_item)],
            "erasure_not_allowed",
        ),
        (
            "an entry within the network's retention",
            [*with_erased(5), erasure(11, anna_item, erased_at=ENDED + 300 * DAY)],
            "erasure_not_allowed",
        ),
        (
            "an erasure dated after this client's clock (5 minutes allowed)",
            [*with_erased(5), erasure(11, anna_item, erased_at=NOW + 301)],
            "erasure_not_allowed",
        ),
        (
            "another leaf hash, the body absent",
            [*with_erased(5), erasure(11, _leaf(anna_item, other_leaf))],
            "erasure_mismatch",
        ),
        (
            "the leaf hash served is not the one named",
            [*records[:4], erased(5, other_leaf), *records[5:], e11],
            "erasure_mismatch",
        ),
        (
            "another leaf hash, the body served",
            [*records, erasure(11, _leaf(anna_item, other_leaf))],
            "erasure_mismatch",
        ),
        (
            "another not_after, the body served",
            [
                *records,
                erasure(11, ErasedItem(5, anna_item.leaf, ENTRY_KIND, anna.key_id, ENDED - DAY)),
            ],
            "erasure_mismatch",
        ),
        (
            "another key id, the body served",
            [
                *records,
                erasure(11, ErasedItem(5, anna_item.leaf, ENTRY_KIND, cecilia.key_id, ENDED)),
            ],
            "erasure_mismatch",
        ),
        ("no erased records", [*records, erasure(11, erased=[])], "record_malformed"),
        (
            "serials not rising",
            [*records, erasure(11, cecilia_item, anna_item)],
            "record_malformed",
        ),
        (
            "a leaf of 31 bytes",
            [
                *records,
                erasure(11, erased=[{**item_json(anna_item), "leaf": anna_item.leaf[:31].hex()}]),
            ],
            "record_malformed",
        ),
        (
            "an item without its key id",
            [
                *records,
                erasure(
                    11, erased=[{k: v for k, v in item_json(anna_item).items() if k != "key_id"}]
                ),
            ],
            "record_malformed",
        ),
        (
            "an unknown field",
            [*records, erasure(11, anna_item, reason="expired")],
            "record_malformed",
        ),
        ("no erased_at", [*records, erasure(11, anna_item, erased_at=None)], "record_malformed"),
        ("a flipped signature bit", [*with_erased(5), flipped(e11)], "record_bad_signature"),
        (
            "another network",
            [*with_erased(5), erasure(11, anna_item, network="annat-natverk")],
            "record_wrong_network",
        ),
        (
            "an erased leaf out of its place",
            [*records[:4], erased(6), *records[5:], e11],
            "registry_gap",
        ),
        (
            "an erased leaf repeated",
            [*records[:5], erased(5), *records[6:], e11],
            "registry_out_of_sequence",
        ),
        (
            "an erased leaf of 31 bytes",
            [*records[:4], {"serial": 5, "leaf": b64(anna_item.leaf[:31])}, *records[5:], e11],
            "record_malformed",
        ),
        (
            "a record and a leaf in one item",
            [*records[:4], {**records[4], **erased(5)}, *records[5:], e11],
            "record_malformed",
        ),
        (
            "an erased leaf of serial 0",
            [*records[:4], {"serial": 0, "leaf": b64(anna_item.leaf)}, *records[5:], e11],
            "record_malformed",
        ),
    ]
    known = kinds_of(records)  # what an agent that verified the ten records remembers
    forged = [*with_erased(9), erasure(11, as_entry)]
    remembered = [
        ("a revocation called an entry, the body absent: a first start", "", forged, "ok"),
        (
            "a revocation called an entry, the body absent: an agent that saw it",
            known,
            forged,
            "erasure_mismatch",
        ),
        ("an entry erased, as this agent saw it", known, [*with_erased(5), e11], "ok"),
        (
            "an entry erased, remembered erased",
            known[:4] + "?" + known[5:],
            [*with_erased(5), e11],
            "ok",
        ),
    ]
    data = {
        "generator": GENERATOR,
        "description": (
            "registry.json's sequence with erased bodies ({serial, leaf}) and the erasure "
            "records (kind 'erasure') that name them; Registry.load at `now` gives `expect`."
        ),
        "network": NETWORK,
        "admin_public": b64(admin.public),
        "retention_days": 365,
        "now": NOW,
        "root_with_erased": merkle.root(
            [leaf_of(served(i)) for i in [*with_erased(5, 6), e11]]
        ).hex(),
        "root_with_bodies": merkle.root([record_leaf(r) for r in [*records, e11]]).hex(),
        "cases": [{"name": n, "known": "", "records": r, "expect": e} for n, r, e in cases]
        + [{"name": n, "known": k, "records": r, "expect": e} for n, k, r, e in remembered],
    }
    _write.refuse_failures(
        [
            f"{c['name']}: {outcome(data, c)} != {c['expect']}"
            for c in data["cases"]
            if outcome(data, c) != c["expect"]
        ]
    )
    return data


def item_json(item: ErasedItem) -> dict[str, Any]:
    return {
        "serial": item.serial,
        "leaf": item.leaf.hex(),
        "kind": item.kind,
        "key_id": item.key_id.hex(),
        "not_after": item.not_after,
    }


def _at(item: ErasedItem, serial: int) -> ErasedItem:
    return ErasedItem(serial, item.leaf, item.kind, item.key_id, item.not_after)


def _leaf(item: ErasedItem, leaf: bytes) -> ErasedItem:
    return ErasedItem(item.serial, leaf, item.kind, item.key_id, item.not_after)


def served(item: Any) -> Any:
    """An item as a client decodes the hub's answer (hub.protocol.wire.SequenceItem)."""
    return msgspec.convert(item, wire.SequenceItem).served()


def outcome(data: dict[str, Any], case: dict[str, Any]) -> str:
    try:
        items = [served(i) for i in case["records"]]
        admin_public = base64.b64decode(data["admin_public"])
        registry = Registry.load(admin_public, data["network"], items, now=data["now"])
        remembered_kinds(case["known"], items, registry.erasures)
    except HubError as exc:
        return exc.code
    return "ok"


def render() -> str:
    return _write.render(generate(), ensure_ascii=False)


if __name__ == "__main__":
    _write.write_vectors(OUTPUT, render())

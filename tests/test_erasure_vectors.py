"""The erasure vectors (tests/vectors/erasure.json; docs/protocol.md §12.11): written by their
generator, each case giving its code, every code of erasure having a case, and an erased body
leaving the log's root as it was."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from hub.client.verified_log import VerifiedLog
from hub.crypto.erasure import MAX_ERASED, ErasedItem, make_erasure, open_erasure
from hub.crypto.keys import SigningKey
from hub.crypto.registry import Registry
from hub.errors import MESSAGES
from hub.protocol.erasing import batches, erasable_now
from tests.vectors import gen_erasure

VECTORS_PATH = Path(__file__).parent / "vectors" / "erasure.json"
VECTORS = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))


def test_the_file_is_what_the_generator_writes():
    assert gen_erasure.render() == VECTORS_PATH.read_text(encoding="utf-8")
    assert VECTORS["generator"] == "tests/vectors/gen_erasure.py"


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: c["name"])
def test_each_case_gives_its_code(case):
    assert gen_erasure.outcome(VECTORS, case) == case["expect"]


def test_every_code_of_erasure_has_a_case():
    codes = {c for c in MESSAGES if c.startswith("erasure_")} | {"log_erased_unexplained"}
    assert codes <= {case["expect"] for case in VECTORS["cases"]}
    assert "ok" in {case["expect"] for case in VECTORS["cases"]}


def test_erasing_a_body_leaves_the_root_as_it_was():
    assert VECTORS["root_with_erased"] == VECTORS["root_with_bodies"]


def test_an_agent_keeps_the_kinds_it_verified_across_a_restart():
    """What an agent remembers goes into the state it keeps (to_json) and comes back."""
    first = VerifiedLog(bytes(32), VECTORS["network"])
    first.kinds = next(c["known"] for c in VECTORS["cases"] if c["known"])
    again = VerifiedLog(bytes(32), VECTORS["network"])
    again.restore(first.to_json())
    assert again.kinds == first.kinds == "mmmseekmrs"


def test_the_largest_erasure_fits_in_a_record():
    """MAX_ERASED items with the largest serials and times, in a network of the longest name:
    still a record the tools can sign and every client open."""
    admin = SigningKey.generate()
    network = "n" * 200
    top = 2**53 - 1
    items = [
        ErasedItem(top - MAX_ERASED + i, bytes(32), "directory-entry", bytes(16), top)
        for i in range(MAX_ERASED)
    ]
    wire = make_erasure(admin, network=network, erased=items, erased_at=top, serial=top)
    assert len(open_erasure(wire, admin_public=admin.public, network=network).erased) == MAX_ERASED


def test_hub_admin_erase_signs_as_many_records_as_it_needs():
    items = [ErasedItem(n, bytes(32), "directory-entry", bytes(16), 0) for n in range(1, 702)]
    signed = batches(items)
    assert [len(b) for b in signed] == [MAX_ERASED, MAX_ERASED, 101]
    assert [i for b in signed for i in b] == items  # in order, each once


def test_what_may_go_leaves_out_what_an_erasure_already_names():
    """A hub that keeps serving a body after its erasure does not make the tools erase it
    again (which every client would refuse as erased twice)."""
    [case] = [c for c in VECTORS["cases"] if c["name"] == "an entry erased, its body still served"]
    items = [gen_erasure.served(i) for i in case["records"]]
    registry = Registry.load(base64.b64decode(VECTORS["admin_public"]), VECTORS["network"], items)
    assert [i.serial for i in erasable_now(registry, VECTORS["now"])] == [6]

"""The directory log's vectors (tests/vectors/log.json, docs/protocol.md §12.6): the file is
what its generator writes, every case gives its code, and Go's sumdb/note and sumdb/tlog agree
with the checkpoint's signature and the log's roots."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from hub.crypto import merkle
from hub.crypto.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint, verifier_key
from hub.crypto.keys import SigningKey
from hub.crypto.transparency import LEAF_CONTEXT, record_leaf
from tests.gotools import go_tree, tlogcheck
from tests.vectors import gen_log

VECTORS_PATH = Path(__file__).parent / "vectors" / "log.json"
VECTORS = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
GROUPS = ("open", "advance", "records_check", "inclusion", "witness")
CASES = [(group, case) for group in GROUPS for case in VECTORS[group]]


def test_the_file_is_what_the_generator_writes():
    assert gen_log.render() == VECTORS_PATH.read_text(encoding="utf-8")
    assert VECTORS["generator"] == "tests/vectors/gen_log.py"


@pytest.mark.parametrize(("group", "case"), CASES, ids=[f"{g}: {c['name']}" for g, c in CASES])
def test_each_case_gives_its_code(group, case):
    assert gen_log.outcome(VECTORS, group, case) == case["expect"]


def test_every_status_a_witness_answers_has_a_case():
    statuses = {case["expect"] for case in VECTORS["witness"]}
    assert statuses == {"200", "400", "403", "404", "409", "422"}


def test_every_error_code_of_the_log_has_a_case():
    codes = {case["expect"] for _, case in CASES}
    assert codes >= {
        "ok",
        "checkpoint_malformed",
        "checkpoint_wrong_origin",
        "checkpoint_unsigned",
        "checkpoint_bad_signature",
        "checkpoint_rolled_back",
        "checkpoint_fork",
        "checkpoint_stale",
        "cosignature_invalid",
        "cosignature_quorum_missing",
        "log_consistency_invalid",
        "log_inclusion_invalid",
        "log_proof_malformed",
        "log_root_mismatch",
    }


def test_the_leaves_and_roots_are_the_records_hashed_as_specified():
    for wire, leaf in zip(VECTORS["records"], VECTORS["leaves"], strict=True):
        data = LEAF_CONTEXT + base64.b64decode(wire["signature"]) + base64.b64decode(wire["record"])
        assert merkle.leaf_hash(data).hex() == leaf == record_leaf(wire).hex()
    leaves = [bytes.fromhex(h) for h in VECTORS["leaves"]]
    assert [merkle.root(leaves[:n]).hex() for n in range(11)] == VECTORS["roots"]


def test_go_computes_the_same_roots(tmp_path_factory):
    inputs = [
        LEAF_CONTEXT + base64.b64decode(w["signature"]) + base64.b64decode(w["record"])
        for w in VECTORS["records"]
    ]
    assert go_tree(tmp_path_factory, inputs)["roots"] == VECTORS["roots"][1:]


def test_go_verifies_the_network_keys_checkpoint_signature(tmp_path_factory):
    note = VECTORS["checkpoint_size_10"]
    text = tlogcheck(tmp_path_factory, "note", VECTORS["admin_vkey"], stdin=note.encode())
    assert text.decode() == note.split("\n\n")[0] + "\n"
    tampered = note.replace("\n10\n", "\n11\n", 1).encode()
    with pytest.raises(ValueError, match=r"invalid signature|verification failed"):
        tlogcheck(tmp_path_factory, "note", VECTORS["admin_vkey"], stdin=tampered)


def test_a_checkpoint_signed_here_opens_here_and_in_go(tmp_path_factory):
    key = SigningKey.generate()
    checkpoint = Checkpoint("hub-directory-log/v1/test", 3, merkle.root([b"\x01" * 32] * 3))
    note = sign_checkpoint(key, checkpoint)
    opened = open_checkpoint(note, admin_public=key.public, network="test")
    assert opened.checkpoint == checkpoint
    vkey = verifier_key(checkpoint.origin, key.public)
    assert tlogcheck(tmp_path_factory, "note", vkey, stdin=note.encode()) == checkpoint.text()

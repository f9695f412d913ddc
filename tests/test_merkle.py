"""The Merkle tree (hub/crypto/merkle.py, RFC 9162 §2.1): every root and proof equal to Go's
sumdb/tlog for every size up to 40, every proof verifies, and a proof wrong in any way (a
changed hash, one too many or too few, another index or size, another root) is refused."""

from __future__ import annotations

import hashlib

import pytest

from hub.crypto import merkle
from hub.errors import LogError
from tests.gotools import go_tree

SIZES = 40
INPUTS = [hashlib.sha256(b"leaf %d" % i).digest()[: 1 + i % 40] for i in range(SIZES)]
LEAVES = [merkle.leaf_hash(data) for data in INPUTS]


def test_roots_and_proofs_equal_gos_sumdb_tlog(tmp_path_factory):
    go = go_tree(tmp_path_factory, INPUTS)
    for size in range(1, SIZES + 1):
        leaves = LEAVES[:size]
        assert merkle.root(leaves).hex() == go["roots"][size - 1], size
        for index in range(size):
            proof = merkle.inclusion_proof(index, leaves)
            assert [h.hex() for h in proof] == go["inclusion"][f"{index}/{size}"]
        for old in range(1, size + 1):
            proof = merkle.consistency_proof(old, leaves)
            assert [h.hex() for h in proof] == go["consistency"][f"{old}/{size}"]


def test_rfc_9162_values():
    assert merkle.root([]) == hashlib.sha256(b"").digest() == merkle.EMPTY_ROOT
    assert merkle.leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    a, b, c = LEAVES[:3]
    assert merkle.root([a]) == a
    assert merkle.root([a, b, c]) == merkle.node_hash(merkle.node_hash(a, b), c)


def test_every_inclusion_proof_verifies_and_every_wrong_one_is_refused():
    for size in range(1, 18):
        leaves = LEAVES[:size]
        top = merkle.root(leaves)
        for index in range(size):
            proof = merkle.inclusion_proof(index, leaves)
            merkle.verify_inclusion(leaves[index], index, size, proof, top)
            for wrong in _wrong_inclusions(leaves, index, size, proof, top):
                with pytest.raises(LogError) as refused:
                    merkle.verify_inclusion(*wrong)
                assert refused.value.code in {"log_inclusion_invalid", "log_proof_malformed"}


def _wrong_inclusions(leaves, index, size, proof, top):
    """Each changes one thing. (A tree size is not among them: a path can be valid for two
    sizes; the size a client checks against is the one the checkpoint signs.)"""
    other = merkle.leaf_hash(b"another record")
    yield other, index, size, proof, top  # another leaf
    yield leaves[index], index, size, proof, other  # another root
    yield leaves[index], index, size, [*proof, other], top  # a hash too many
    if proof:
        yield leaves[index], index, size, proof[:-1], top  # a hash too few
        for at in range(len(proof)):
            changed = bytes([proof[at][0] ^ 1]) + proof[at][1:]
            yield leaves[index], index, size, [*proof[:at], changed, *proof[at + 1 :]], top
    if size > 1:
        yield leaves[index], (index + 1) % size, size, proof, top  # another index
    yield leaves[index], size, size, proof, top  # an index beyond the tree
    yield leaves[index], index, size, [b"short"], top  # not a hash


def test_every_consistency_proof_verifies_and_every_wrong_one_is_refused():
    for size in range(1, 18):
        leaves = LEAVES[:size]
        new = merkle.root(leaves)
        for old_size in range(size + 1):
            old = merkle.root(leaves[:old_size])
            proof = merkle.consistency_proof(old_size, leaves)
            merkle.verify_consistency(old_size, size, proof, old, new)
            for wrong in _wrong_consistencies(old_size, size, proof, old, new):
                with pytest.raises(LogError) as refused:
                    merkle.verify_consistency(*wrong)
                assert refused.value.code in {"log_consistency_invalid", "log_proof_malformed"}


def _wrong_consistencies(old_size, size, proof, old, new):
    other = merkle.leaf_hash(b"a forked tree")
    if old_size:  # every tree extends the empty one
        yield old_size, size, proof, old, other  # a fork: another new root
    yield old_size, size, proof, other, new  # another old root
    yield old_size, size, [*proof, other], old, new  # a hash too many
    if proof:
        yield old_size, size, proof[:-1], old, new
        for at in range(len(proof)):
            changed = bytes([proof[at][0] ^ 1]) + proof[at][1:]
            yield old_size, size, [*proof[:at], changed, *proof[at + 1 :]], old, new
    if 0 < old_size < size:
        yield old_size + 1, size, proof, old, new  # another old size
    yield size + 1, size, proof, old, new  # the old tree larger: a rollback
    yield old_size, size, [b"\x00" * 31], old, new


def test_a_proof_longer_than_63_hashes_is_malformed():
    with pytest.raises(LogError) as refused:
        merkle.verify_inclusion(LEAVES[0], 0, 1, [LEAVES[0]] * 64, LEAVES[0])
    assert refused.value.code == "log_proof_malformed"

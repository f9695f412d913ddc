"""The Merkle tree of RFC 9162 §2.1 (as RFC 6962): tree hashes, inclusion and consistency
proofs, and their verification. Pure; over leaf hashes, so an erased body's leaf stays.

docs/protocol.md §12 ("The directory log") is the specification; tests/test_merkle.py checks
every root and proof against Go's golang.org/x/mod/sumdb/tlog where Go is installed.

    leaf hash   = SHA-256(0x00 || leaf input)
    node hash   = SHA-256(0x01 || left || right)
    MTH({})     = SHA-256("")
    MTH(D[n])   = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two below n

The proofs list hashes from the leaf (or the old tree) upwards, as RFC 9162 §2.1.3 and §2.1.4
give them and c2sp.org/tlog-witness sends them. Verification follows RFC 9162's algorithms
step for step, so a proof with one hash too many or too few is refused, not ignored.

The recursive builders cost O(n) hashes per call: this log holds one leaf per signed record of
a network (thousands, not millions), so the hub rebuilds what it serves rather than storing
every inner node.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Final

from hub.errors import LogError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_BYTES",
    "MAX_PROOF_HASHES",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "verify_consistency",
    "verify_inclusion",
]

HASH_BYTES: Final = 32
MAX_PROOF_HASHES: Final = 63  # a tree of at most 2^63 leaves: tlog-witness's bound on a proof
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()


def leaf_hash(leaf_input: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf_input).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH of the leaf hashes `leaves`."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    # Bottom-up pairing gives RFC 9162's left-balanced tree: an odd last node rises unchanged.
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(index, D[n]) of RFC 9162 §2.1.3.1."""
    if not 0 <= index < len(leaves):
        raise ValueError("the leaf is not in the tree")
    return _path(index, leaves, 0, len(leaves))


def _path(m: int, leaves: Sequence[bytes], lo: int, hi: int) -> list[bytes]:
    n = hi - lo
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*_path(m, leaves, lo, lo + k), root(leaves[lo + k : hi])]
    return [*_path(m - k, leaves, lo + k, hi), root(leaves[lo : lo + k])]


def consistency_proof(old_size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(old_size, D[n]) of RFC 9162 §2.1.4.1; empty when old_size is 0 or n."""
    if not 0 <= old_size <= len(leaves):
        raise ValueError("the old tree is larger than the new one")
    if old_size in (0, len(leaves)):
        return []
    return _subproof(old_size, leaves, 0, len(leaves), complete=True)


def _subproof(m: int, leaves: Sequence[bytes], lo: int, hi: int, *, complete: bool) -> list[bytes]:
    n = hi - lo
    if m == n:
        return [] if complete else [root(leaves[lo:hi])]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves, lo, lo + k, complete=complete), root(leaves[lo + k : hi])]
    return [*_subproof(m - k, leaves, lo + k, hi, complete=False), root(leaves[lo : lo + k])]


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes
) -> None:
    """RFC 9162 §2.1.3.2: `leaf` is leaf `index` of the tree of `size` leaves with
    `expected_root`; else LogError log_inclusion_invalid."""
    _check_hashes(proof)
    if not 0 <= index < size:
        raise LogError("log_inclusion_invalid", "index beyond the tree")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise LogError("log_inclusion_invalid", "proof too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise LogError("log_inclusion_invalid", "proof too short")
    if r != expected_root:
        raise LogError("log_inclusion_invalid", "root differs")


def verify_consistency(
    old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    """RFC 9162 §2.1.4.2: the tree (`new_size`, `new_root`) extends (`old_size`, `old_root`);
    else LogError log_consistency_invalid. Equal sizes need equal roots and no proof; from the
    empty tree, no proof."""
    _check_hashes(proof)
    if not 0 <= old_size <= new_size:
        raise LogError("log_consistency_invalid", "the old tree is larger")
    if old_size in (0, new_size):
        problem = (
            "a proof where none belongs"
            if proof
            else "one size, two roots"
            if old_size == new_size and old_root != new_root
            else "the empty tree's root differs"
            if old_size == 0 and old_root != EMPTY_ROOT
            else None
        )
        if problem:
            raise LogError("log_consistency_invalid", problem)
        return
    if not proof:
        raise LogError("log_consistency_invalid", "proof missing")
    fr, sr = _run_consistency(old_size, new_size, proof, old_root)
    if fr != old_root or sr != new_root:
        raise LogError("log_consistency_invalid", "roots differ")


def _run_consistency(
    old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes
) -> tuple[bytes, bytes]:
    """Steps 2-7 of RFC 9162 §2.1.4.2: the old and the new root the proof leads to."""
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is a node of the new tree
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise LogError("log_consistency_invalid", "proof too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise LogError("log_consistency_invalid", "proof too short")
    return fr, sr


def _check_hashes(proof: Sequence[bytes]) -> None:
    if len(proof) > MAX_PROOF_HASHES or any(len(h) != HASH_BYTES for h in proof):
        raise LogError("log_proof_malformed", "a proof is at most 63 hashes of 32 bytes")

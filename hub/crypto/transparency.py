"""A client's view of the directory log: the leaf of each signed record, and the rules by which
a newer checkpoint replaces the one remembered. Pure; docs/protocol.md §12.

    leaf input = "hub-log-leaf/v1\\n" || signature[64] || canonical record bytes
    leaf i     = the record with serial i + 1 (so a gap-free sequence is the whole tree)

A record's body can later be erased and its leaf hash served in its place (hub.crypto.leaves,
hub.crypto.erasure): the tree, and every proof, stay the same. A client that holds the records
recomputes the root from them (check 11) and so needs no inclusion proof for them; it needs a
consistency proof from the checkpoint it remembers (check 10), and the policy's quorum of
cosignatures (check 9).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hub.crypto import merkle
from hub.crypto.checkpoint import Policy, Witness
from hub.crypto.leaves import LEAF_CONTEXT, Erased, Served, leaf_of, record_leaf
from hub.crypto.records import read_unverified
from hub.crypto.registry import (
    DEFAULT_FRESHNESS_HOURS,
    SETTINGS_KIND,
    SettingsRecord,
    open_registry_record,
)
from hub.errors import LogError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from hub.crypto.checkpoint import Checkpoint, OpenedCheckpoint

__all__ = [
    "LEAF_CONTEXT",
    "ConflictError",
    "Evidence",
    "View",
    "advance",
    "check_records",
    "leaf_of",
    "policy_of",
    "record_leaf",
    "settings_in",
]


@dataclass(frozen=True)
class View:
    """What a client remembers: the newest checkpoint it accepted, the note as received (the
    evidence, should a conflicting one turn up), and when a quorum had cosigned it."""

    checkpoint: Checkpoint
    note: str
    fresh_at: int | None  # None: the network names no witnesses yet


@dataclass(frozen=True)
class Evidence:
    """Two checkpoints, both signed with the network key, that cannot both be true."""

    code: str  # checkpoint_rolled_back, checkpoint_fork, log_consistency_invalid
    remembered: str  # the note this client had accepted
    offered: str  # the note the hub offered instead


class ConflictError(LogError):
    """A refusal that comes with evidence to keep, show and send to the witnesses."""

    def __init__(self, code: str, evidence: Evidence, detail: str | None = None) -> None:
        super().__init__(code, detail)
        self.evidence = evidence


def advance(
    known: View | None, opened: OpenedCheckpoint, proof: Sequence[bytes], policy: Policy
) -> View:
    """Checks 9-10: the offered checkpoint has the quorum's cosignatures, and extends the one
    remembered (a consistency proof from it). With none remembered (a first start, or an agent
    from before this version), the quorum alone. Returns the view to remember, or raises."""
    fresh_at = policy.quorum_time(opened)
    new = opened.checkpoint
    if known is not None:
        old = known.checkpoint
        evidence = Evidence("", known.note, opened.note)
        if new.size < old.size:
            raise ConflictError(
                "checkpoint_rolled_back",
                _as(evidence, "checkpoint_rolled_back"),
                f"{new.size} < {old.size}",
            )
        if new.size == old.size and new.root != old.root:
            raise ConflictError("checkpoint_fork", _as(evidence, "checkpoint_fork"))
        try:
            merkle.verify_consistency(old.size, new.size, proof, old.root, new.root)
        except LogError as exc:
            raise ConflictError(exc.code, _as(evidence, exc.code), exc.detail) from None
        if new == old and known.fresh_at is not None and fresh_at is not None:
            fresh_at = max(fresh_at, known.fresh_at)
    return View(new, opened.note, fresh_at)


def _as(evidence: Evidence, code: str) -> Evidence:
    return Evidence(code, evidence.remembered, evidence.offered)


def check_records(records: Iterable[Served], checkpoint: Checkpoint) -> list[bytes]:
    """Check 11: the records held are exactly the checkpoint's leaves (as many, and their root
    is its root; an erased one by the leaf hash served for it); returns the leaf hashes, or
    raises log_root_mismatch."""
    leaves = [leaf_of(item) for item in records]
    if len(leaves) != checkpoint.size or merkle.root(leaves) != checkpoint.root:
        raise LogError(
            "log_root_mismatch", f"{len(leaves)} records for a tree of {checkpoint.size}"
        )
    return leaves


def policy_of(settings: SettingsRecord | None) -> Policy:
    """The witnesses, quorum and freshness limit the signed settings in force name (§12.5);
    none yet: quorum 0, the tree and the network key are all a client can check."""
    if settings is None or not settings.witnesses:
        return Policy((), 0, DEFAULT_FRESHNESS_HOURS * 3600)
    return Policy(
        tuple(Witness(w.name, w.public) for w in settings.witnesses),
        settings.witness_quorum,
        settings.freshness_hours * 3600,
    )


def settings_in(
    records: Sequence[Served], admin_public: bytes, network: str
) -> SettingsRecord | None:
    """The settings in force after `records`: the last settings record among them, verified
    against the network key (one signature, not the whole sequence's; the caller checks the
    rest of the sequence as it must anyway)."""
    for wire in reversed(records):
        if isinstance(wire, Erased):
            continue  # never a settings record: only directory entries are erased
        if read_unverified(wire).unverified_body["kind"] == SETTINGS_KIND:
            found = open_registry_record(wire, admin_public=admin_public, network=network)
            assert isinstance(found, SettingsRecord)  # noqa: S101 - of the kind just read
            return found
    return None

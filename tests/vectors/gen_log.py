"""Write tests/vectors/log.json: the directory log of registry.json's sequence, its checkpoints
and witness cosignatures, and every way they can be wrong, each naming its error code.

Run from the repository root: `python -m tests.vectors.gen_log`. Keys come from SeededRng (the
administrator's is registry.json's) and Ed25519 is deterministic, so every run writes the same
bytes (tests/test_log_vectors.py checks that). docs/protocol.md §12.6 describes the cases.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from hub.crypto import merkle
from hub.crypto.checkpoint import (
    Checkpoint,
    OpenedCheckpoint,
    Policy,
    Witness,
    cosign,
    open_checkpoint,
    origin_of,
    sign_checkpoint,
    verifier_key,
)
from hub.crypto.keys import SigningKey, b64
from hub.crypto.registry import make_settings
from hub.crypto.transparency import View, advance, check_records, record_leaf
from hub.errors import HubError
from hub.witness.core import KnownLog, Refusal, check_request, parse_request
from tests.vectors import _write, gen_registry
from tests.vectors._rng import SeededRng

GENERATOR = "tests/vectors/gen_log.py"
OUTPUT = Path(__file__).with_name("log.json")
NETWORK = gen_registry.NETWORK
ORIGIN = origin_of(NETWORK)
T1 = gen_registry.T0 + 100 * gen_registry.DAY  # when the size-10 checkpoint is cosigned
HOUR = 3_600
MAX_AGE = 6 * HOUR
QUORUM = 2


def generate() -> dict[str, Any]:
    admin = SigningKey.generate(SeededRng("registry"))  # registry.json's administrator
    assert b64(admin.public) == gen_registry.generate()["admin_public"]
    rng = SeededRng("log")
    other_key = SigningKey.generate(rng)
    keys = [SigningKey.generate(rng) for _ in range(6)]
    names = [f"vittne{i}.example/{NETWORK}" for i in range(1, 7)]
    witnesses = [Witness(n, k.public) for n, k in zip(names, keys, strict=True)]
    old_set, new_set = witnesses[:3], witnesses[3:]
    records: list[dict[str, str]] = gen_registry.generate()["records"]
    leaves = [record_leaf(r) for r in records]

    def checkpoint(size: int, tree: list[bytes] = leaves, origin: str = ORIGIN) -> Checkpoint:
        return Checkpoint(origin, size, merkle.root(tree[:size]))

    def cosigned(cp: Checkpoint, at: int, who: range = range(3), signer: SigningKey = admin) -> str:
        return sign_checkpoint(signer, cp) + "".join(cosign(keys[i], names[i], cp, at) for i in who)

    cp4, cp10 = checkpoint(4), checkpoint(10)
    note4 = cosigned(cp4, gen_registry.T0 + 50 * gen_registry.DAY)
    note10 = cosigned(cp10, T1)
    now = T1 + HOUR
    admin_line = sign_checkpoint(admin, cp10).split("\n\n")[1]
    w = [cosign(keys[i], names[i], cp10, T1) for i in range(6)]
    text10 = cp10.text().decode()

    # A forked branch: the administrator's key signs another record 10, or another record 9.
    fork10 = make_settings(admin, network=NETWORK, serial=10, answer_days=30)
    fork_leaves10 = [*leaves[:9], record_leaf(fork10)]
    fork9 = make_settings(admin, network=NETWORK, serial=9, answer_days=30)
    fork_leaves9 = [*leaves[:8], record_leaf(fork9)]
    fork_note10 = cosigned(checkpoint(10, fork_leaves10), T1)
    fork_note9 = cosigned(checkpoint(9, fork_leaves9), T1)

    def flip_line(line: str, at: int) -> str:
        dash, name, sig = line.rstrip("\n").split(" ")
        raw = bytearray(base64.b64decode(sig))
        raw[at] ^= 1
        return f"{dash} {name} {base64.b64encode(bytes(raw)).decode()}\n"

    timestamp_changed = bytearray(base64.b64decode(w[0].split(" ")[2]))
    timestamp_changed[11] ^= 1  # the timestamp's last byte: one second later

    opening = [
        ("valid", note10, "old", "ok"),
        (
            "two of three witnesses (the quorum)",
            text10 + "\n" + admin_line + w[0] + w[2],
            "old",
            "ok",
        ),
        (
            "one witness offline, the others cosigned",
            text10 + "\n" + admin_line + w[1] + w[2],
            "old",
            "ok",
        ),
        (
            "only one witness",
            text10 + "\n" + admin_line + w[0],
            "old",
            "cosignature_quorum_missing",
        ),
        (
            "one witness twice",
            text10 + "\n" + admin_line + w[0] + w[0],
            "old",
            "cosignature_quorum_missing",
        ),
        (
            "unknown cosigners do not count",
            text10 + "\n" + admin_line + w[0] + w[3] + w[4],
            "old",
            "cosignature_quorum_missing",
        ),
        (
            "witness-set change without the old quorum",
            text10 + "\n" + admin_line + w[3] + w[4] + w[5],
            "old",
            "cosignature_quorum_missing",
        ),
        ("the new set, once in force", text10 + "\n" + admin_line + w[3] + w[4], "new", "ok"),
        (
            "no network-key signature",
            text10 + "\n" + w[0] + w[1] + w[2],
            "old",
            "checkpoint_unsigned",
        ),
        (
            "another key under the origin's name",
            cosigned(cp10, T1, signer=other_key),
            "old",
            "checkpoint_unsigned",
        ),
        (
            "network-key signature bit flipped",
            text10 + "\n" + flip_line(admin_line, 10) + w[0] + w[1],
            "old",
            "checkpoint_bad_signature",
        ),
        (
            "root changed after signing",
            note10.replace(text10.split("\n")[2], base64.b64encode(cp4.root).decode()),
            "old",
            "checkpoint_bad_signature",
        ),
        (
            "size changed after signing",
            note10.replace("\n10\n", "\n11\n", 1),
            "old",
            "checkpoint_bad_signature",
        ),
        (
            "another network's checkpoint",
            cosigned(checkpoint(10, origin=origin_of("annat-natverk")), T1),
            "old",
            "checkpoint_wrong_origin",
        ),
        (
            "a cosignature bit flipped",
            text10 + "\n" + admin_line + flip_line(w[0], 20) + w[1],
            "old",
            "cosignature_invalid",
        ),
        (
            "a cosignature's time changed",
            text10
            + "\n"
            + admin_line
            + f"\u2014 {names[0]} {base64.b64encode(bytes(timestamp_changed)).decode()}\n"
            + w[1],
            "old",
            "cosignature_invalid",
        ),
        (
            "a cosignature of another checkpoint",
            text10 + "\n" + admin_line + note4.split("\n\n")[1].split("\n")[1] + "\n" + w[1],
            "old",
            "cosignature_invalid",
        ),
        (
            "a cosignature from the future",
            text10 + "\n" + admin_line + cosign(keys[0], names[0], cp10, now + 2 * HOUR) + w[1],
            "old",
            "cosignature_invalid",
        ),
        (
            "stale: the quorum cosigned 7 hours ago",
            cosigned(cp10, now - 7 * HOUR),
            "old",
            "checkpoint_stale",
        ),
        (
            "stale quorum, one fresh witness",
            text10
            + "\n"
            + admin_line
            + cosign(keys[0], names[0], cp10, now)
            + cosign(keys[1], names[1], cp10, now - 7 * HOUR)
            + cosign(keys[2], names[2], cp10, now - 8 * HOUR),
            "old",
            "checkpoint_stale",
        ),
        (
            "an extension line",
            note10.replace(text10, text10 + "ext\n"),
            "old",
            "checkpoint_malformed",
        ),
        (
            "a size with a leading zero",
            note10.replace("\n10\n", "\n010\n", 1),
            "old",
            "checkpoint_malformed",
        ),
        (
            "a 31-byte root",
            note10.replace(text10.split("\n")[2], base64.b64encode(cp10.root[:31]).decode()),
            "old",
            "checkpoint_malformed",
        ),
        (
            "no blank line before the signatures",
            note10.replace("\n\n", "\n"),
            "old",
            "checkpoint_malformed",
        ),
        ("a carriage return", note10.replace("\n", "\r\n"), "old", "checkpoint_malformed"),
        ("no signature lines", text10 + "\n", "old", "checkpoint_malformed"),
        ("33 signature lines", text10 + "\n" + admin_line * 33, "old", "checkpoint_malformed"),
        (
            "a signature line without its dash",
            note10.replace("\u2014 ", "- ", 1),
            "old",
            "checkpoint_malformed",
        ),
        ("a signature that is not base64", note10[:-3] + "!=\n", "old", "checkpoint_malformed"),
        ("no final newline", note10[:-1], "old", "checkpoint_malformed"),
    ]
    sets = {"old": old_set, "new": new_set}
    open_cases = [
        {"name": n, "note": note, "witnesses": s, "now": now, "expect": e}
        for n, note, s, e in opening
    ]

    proof4_10 = merkle.consistency_proof(4, leaves)
    flipped = [bytes([proof4_10[0][0] ^ 1]) + proof4_10[0][1:], *proof4_10[1:]]
    advancing = [
        ("first checkpoint, with the quorum", None, note10, [], "ok"),
        (
            "first checkpoint, without the quorum",
            None,
            text10 + "\n" + admin_line + w[0],
            [],
            "cosignature_quorum_missing",
        ),
        ("4 to 10 with its proof", note4, note10, proof4_10, "ok"),
        ("the same checkpoint again", note10, note10, [], "ok"),
        ("rolled back: 10 to 4", note10, note4, [], "checkpoint_rolled_back"),
        ("fork: another tree of 10", note10, fork_note10, [], "checkpoint_fork"),
        (
            "fork: 9 of another branch to 10",
            fork_note9,
            note10,
            merkle.consistency_proof(9, leaves),
            "log_consistency_invalid",
        ),
        ("proof missing", note4, note10, [], "log_consistency_invalid"),
        ("proof one hash short", note4, note10, proof4_10[:-1], "log_consistency_invalid"),
        (
            "proof one hash too many",
            note4,
            note10,
            [*proof4_10, leaves[0]],
            "log_consistency_invalid",
        ),
        ("proof with a hash changed", note4, note10, flipped, "log_consistency_invalid"),
        (
            "proof for another old size",
            note4,
            note10,
            merkle.consistency_proof(5, leaves),
            "log_consistency_invalid",
        ),
        ("a proof of 64 hashes", note4, note10, [leaves[0]] * 64, "log_proof_malformed"),
    ]
    advance_cases = [
        {
            "name": n,
            "known": k,
            "offered": o,
            "proof": [h.hex() for h in pr],
            "now": now,
            "expect": e,
        }
        for n, k, o, pr, e in advancing
    ]

    holding = [
        ("every record", records, "ok"),
        ("the newest record withheld (a revocation)", records[:9], "log_root_mismatch"),
        ("a record left out in the middle", [*records[:4], *records[5:]], "log_root_mismatch"),
        ("record 10 of another branch", [*records[:9], fork10], "log_root_mismatch"),
        (
            "two records swapped",
            [*records[:3], records[4], records[3], *records[5:]],
            "log_root_mismatch",
        ),
    ]
    records_cases = [{"name": n, "records": r, "expect": e} for n, r, e in holding]

    root10 = merkle.root(leaves)
    inclusion = []
    for index in (0, 5, 9):
        proof = merkle.inclusion_proof(index, leaves)
        inclusion.append(
            _inclusion(f"leaf {index} of 10", leaves[index], index, proof, root10, "ok")
        )
    proof5 = merkle.inclusion_proof(5, leaves)
    for name, leaf, index, proof, root in (
        ("another leaf", leaves[4], 5, proof5, root10),
        ("another index", leaves[5], 4, proof5, root10),
        ("another root", leaves[5], 5, proof5, cp4.root),
        (
            "a hash changed",
            leaves[5],
            5,
            [bytes([proof5[0][0] ^ 1]) + proof5[0][1:], *proof5[1:]],
            root10,
        ),
        ("one hash short", leaves[5], 5, proof5[:-1], root10),
        ("one hash too many", leaves[5], 5, [*proof5, leaves[0]], root10),
        ("an index beyond the tree", leaves[5], 10, proof5, root10),
    ):
        inclusion.append(_inclusion(name, leaf, index, proof, root, "log_inclusion_invalid"))

    fork_early = [*leaves[:2], record_leaf(fork9), *leaves[3:]]  # another leaf 2
    witness_cases = _witness_cases(admin, leaves, fork_early)

    data = {
        "generator": GENERATOR,
        "description": (
            "The directory log of registry.json's sequence (RFC 9162 leaves over "
            "'hub-log-leaf/v1\\n' || signature || record), checkpoints signed with the network "
            "key and cosigned by witnesses, and cases that must fail with the named code."
        ),
        "network": NETWORK,
        "origin": ORIGIN,
        "admin_public": b64(admin.public),
        "admin_vkey": verifier_key(ORIGIN, admin.public),
        "witness_sets": {
            k: [{"name": x.name, "public": b64(x.public)} for x in v] for k, v in sets.items()
        },
        "quorum": QUORUM,
        "max_age": MAX_AGE,
        "records": records,
        "leaves": [leaf.hex() for leaf in leaves],
        "roots": [merkle.root(leaves[:n]).hex() for n in range(len(leaves) + 1)],
        "checkpoint_size_10": note10,
        "open": open_cases,
        "advance": advance_cases,
        "records_check": records_cases,
        "inclusion": inclusion,
        "witness": witness_cases,
    }
    _write.refuse_failures(
        [
            f"{group} {c['name']}: {outcome(data, group, c)} != {c['expect']}"
            for group in ("open", "advance", "records_check", "inclusion", "witness")
            for c in data[group]
            if outcome(data, group, c) != c["expect"]
        ]
    )
    return data


def _witness_cases(
    admin: SigningKey, leaves: list[bytes], fork: list[bytes]
) -> list[dict[str, Any]]:
    """tlog-witness add-checkpoint requests (docs/protocol.md §12.8) against what the witness
    last cosigned (`state`: size and root, or null), each with the status it must answer."""

    def note(size: int, tree: list[bytes] = leaves, network: str = NETWORK) -> str:
        return sign_checkpoint(
            admin, Checkpoint(origin_of(network), size, merkle.root(tree[:size]))
        )

    def body(old: int, proof: list[bytes], text: str) -> str:
        return (
            f"old {old}\n"
            + "".join(base64.b64encode(h).decode() + "\n" for h in proof)
            + "\n"
            + text
        )

    proof = merkle.consistency_proof(3, leaves[:5])
    flipped = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
    unsigned = (
        cp_text(5, leaves)
        + "\n\u2014 vittne.example/x "
        + base64.b64encode(b"\x00" * 72).decode()
        + "\n"
    )
    state3 = {"size": 3, "root": merkle.root(leaves[:3]).hex()}
    state5 = {"size": 5, "root": merkle.root(leaves[:5]).hex()}
    cases = [
        ("a first checkpoint", None, body(0, [], note(3)), 200, ""),
        ("another network's log", None, body(0, [], note(3, network="annat-natverk")), 404, ""),
        ("no signature of the log's key", None, body(0, [], unsigned), 403, ""),
        (
            "the log's signature changed",
            None,
            body(0, [], note(3).replace("\n3\n", "\n4\n", 1)),
            403,
            "",
        ),
        ("no old size line", None, "gammal 0\n\n" + note(3), 400, ""),
        (
            "an old size with a leading zero",
            None,
            body(0, [], note(3)).replace("old 0", "old 00", 1),
            400,
            "",
        ),
        ("an old size larger than the checkpoint", state5, body(5, [], note(3)), 400, ""),
        ("64 proof lines", state3, body(3, [leaves[0]] * 64, note(5)), 400, ""),
        ("a proof line that is not a hash", state3, body(3, [b"kort"], note(5)), 400, ""),
        ("an old size other than the one cosigned", state3, body(0, [], note(5)), 409, "3\n"),
        ("a first checkpoint, but one was cosigned", state3, body(0, [], note(3)), 409, "3\n"),
        ("3 to 5 with its proof", state3, body(3, proof, note(5)), 200, ""),
        ("the same checkpoint again", state5, body(5, [], note(5)), 200, ""),
        ("a proof with a hash changed", state3, body(3, flipped, note(5)), 422, ""),
        ("a proof one hash short", state3, body(3, proof[:-1], note(5)), 422, ""),
        ("no proof", state3, body(3, [], note(5)), 422, ""),
        ("a proof from the empty tree", None, body(0, proof, note(5)), 422, ""),
        ("one size, two roots (a fork)", state5, body(5, [], note(5, fork[:5])), 422, ""),
        (
            "a fork that grows",
            state3,
            body(3, merkle.consistency_proof(3, fork[:6]), note(6, fork)),
            422,
            "",
        ),
        ("an empty tree", None, body(0, [], note(0)), 422, ""),
    ]
    return [
        {"name": n, "state": st, "request": rq, "expect": str(status), "expect_body": eb}
        for n, st, rq, status, eb in cases
    ]


def cp_text(size: int, leaves: list[bytes]) -> str:
    return Checkpoint(ORIGIN, size, merkle.root(leaves[:size])).text().decode()


def _inclusion(  # noqa: PLR0917 - one vector's fields
    name: str, leaf: bytes, index: int, proof: list[bytes], root: bytes, expect: str
) -> dict[str, Any]:
    return {
        "name": name,
        "leaf": leaf.hex(),
        "index": index,
        "size": 10,
        "proof": [h.hex() for h in proof],
        "root": root.hex(),
        "expect": expect,
    }


def policy(data: dict[str, Any], which: str) -> Policy:
    witnesses = tuple(
        Witness(w["name"], base64.b64decode(w["public"])) for w in data["witness_sets"][which]
    )
    return Policy(witnesses, data["quorum"], data["max_age"])


def outcome(data: dict[str, Any], group: str, case: dict[str, Any]) -> str:
    """What this implementation says to one case: "ok" or the error code."""
    admin_public = base64.b64decode(data["admin_public"])
    try:
        if group == "open":
            rules = policy(data, case["witnesses"])
            opened = open_checkpoint(
                case["note"],
                admin_public=admin_public,
                network=data["network"],
                witnesses=rules.witnesses,
                now=case["now"],
            )
            rules.require_fresh(rules.quorum_time(opened), case["now"])
        elif group == "advance":
            rules = policy(data, "old")

            def view(note: str) -> OpenedCheckpoint:
                return open_checkpoint(
                    note,
                    admin_public=admin_public,
                    network=data["network"],
                    witnesses=rules.witnesses,
                    now=case["now"],
                )

            known = None
            if case["known"] is not None:
                k = view(case["known"])
                known = View(k.checkpoint, k.note, rules.quorum_time(k))
            proof = [bytes.fromhex(h) for h in case["proof"]]
            accepted = advance(known, view(case["offered"]), proof, rules)
            rules.require_fresh(accepted.fresh_at, case["now"])
        elif group == "records_check":
            opened = open_checkpoint(
                data["checkpoint_size_10"], admin_public=admin_public, network=data["network"]
            )
            check_records(case["records"], opened.checkpoint)
        elif group == "witness":
            return _witness_outcome(admin_public, data["network"], case)
        else:
            merkle.verify_inclusion(
                bytes.fromhex(case["leaf"]),
                case["index"],
                case["size"],
                [bytes.fromhex(h) for h in case["proof"]],
                bytes.fromhex(case["root"]),
            )
    except HubError as exc:
        return exc.code
    return "ok"


def _witness_outcome(admin_public: bytes, network: str, case: dict[str, Any]) -> str:
    """The status hub/witness/core.py answers: "200", or the refusal's status (and, for a 409,
    the size it names is checked against `expect_body`)."""
    log = KnownLog(network, admin_public)
    state = case["state"]
    latest = (
        {}
        if state is None
        else {log.origin: Checkpoint(log.origin, state["size"], bytes.fromhex(state["root"]))}
    )
    try:
        check_request(parse_request(case["request"].encode()), {log.origin: log}, latest)
    except Refusal as refusal:
        if refusal.status == 409 and refusal.body != case["expect_body"]:
            return f"409 {refusal.body!r}"
        return str(refusal.status)
    return "200"


def render() -> str:
    return _write.render(generate(), ensure_ascii=False)


if __name__ == "__main__":
    _write.write_vectors(OUTPUT, render())

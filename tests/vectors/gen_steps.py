"""Write tests/vectors/steps.json: signed case steps and whole chains, good and bad.

Run from the repository root: `python -m tests.vectors.gen_steps`. Deterministic like the other
generators (SeededRng keys, deterministic Ed25519); tests/test_case_steps.py checks that a fresh
run gives the same bytes. Each bad step changes one thing and names its error code; each chain
names the states it proves and the problems it shows (docs/protocol.md, "Case steps").
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from hub.crypto.directory import Directory, Role, make_entry, make_revocation
from hub.crypto.keys import PrivateIdentity, SigningKey, b64
from hub.crypto.records import sign_record
from hub.crypto.steps import STEP_KIND, make_step, step_digest, verify_step
from hub.errors import HubError
from hub.protocol.chain import derive
from tests.vectors import _write
from tests.vectors._rng import SeededRng
from tests.vectors.gen_directory import DAY, NETWORK, T0, sign_raw  # the same test network

GENERATOR = "tests/vectors/gen_steps.py"
OUTPUT = Path(__file__).with_name("steps.json")
SENDER, KOPING, SALA = "Västerås", "Köping", "Sala"
# name, municipality, person; every key valid for a year from T0, serials in this order from 1.
PEOPLE = [
    ("anna", SENDER, "Anna Andersson"),
    ("bertil", KOPING, "Bertil Berg"),
    ("david", SALA, "David Dahl"),  # revoked: compromised at T0 + 30 days
    ("eva", "Arboga", "Eva Ek"),  # valid, but no party to the case
]
COMPROMISED_AT = T0 + 30 * DAY


def generate() -> dict[str, Any]:
    rng = SeededRng("steps")
    admin = SigningKey.generate(rng)
    ids = {name: PrivateIdentity.generate(rng) for name, *_ in PEOPLE}
    mallory = PrivateIdentity.generate(rng)
    case_id, message_id = rng(16), rng(16)
    entries = [
        make_entry(
            admin,
            network=NETWORK,
            municipality=municipality,
            person=person,
            role=Role.CONTACT_PERSON,
            identity=ids[name].public,
            not_before=T0,
            not_after=T0 + 365 * DAY,
            serial=serial,
        )
        for serial, (name, municipality, person) in enumerate(PEOPLE, 1)
    ]
    revocations = [
        make_revocation(
            admin,
            network=NETWORK,
            key_id=ids["david"].key_id,
            revoked_at=COMPROMISED_AT,
            reason="compromised",
            serial=len(PEOPLE) + 1,
        )
    ]

    def step(
        name: str,
        municipality: str,
        event: str,
        parent: dict[str, str] | None,
        day: float,
        *,
        details: dict[str, str] | None = None,
        **override: Any,
    ) -> dict[str, str]:
        fields: dict[str, Any] = {
            "network": NETWORK,
            "case_id": case_id,
            "case_sender": SENDER,
            "municipality": municipality,
            "event": event,
            "parent": None if parent is None else step_digest(parent),
            "time": T0 + int(day * DAY),
            "details": details,
            "message_id": message_id if event in {"send_inquiry", "accept"} else None,
        }
        fields.update(override)
        return make_step(ids[name], **fields)

    def body(name: str, **override: Any) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "kind": STEP_KIND,
            "network": NETWORK,
            "case_id": case_id.hex(),
            "case_sender": SENDER,
            "municipality": KOPING,
            "event": "accept",
            "parent": None,
            "time": T0 + 2 * DAY,
            "details": {},
            "message_id": None,
            "signed_by": ids[name].key_id.hex(),
        }
        fields.update(override)
        return fields

    # Köping's request, step by step to an accept
    send = step("anna", KOPING, "send_inquiry", None, 1)
    deliver = step("bertil", KOPING, "deliver", send, 1.1)
    read = step("bertil", KOPING, "read_receipt", deliver, 1.5)
    accept = step("bertil", KOPING, "accept", read, 2)
    decline = step("bertil", KOPING, "decline", read, 2, details={"reason": "quota_reached"})
    # Sala's request, whose key is compromised at day 30
    send_sala = step("anna", SALA, "send_inquiry", None, 1)
    deliver_sala = step("david", SALA, "deliver", send_sala, 1.2)
    accept_sala_late = step("david", SALA, "accept", deliver_sala, 31)
    accept_sala = step("david", SALA, "accept", deliver_sala, 3)
    # A confirms Köping in one batch with closing Sala elsewhere
    close_sala = step("anna", SALA, "close_elsewhere", accept_sala, 4)
    confirm = step("anna", KOPING, "confirm", accept, 4)
    confirm_sala = step("anna", SALA, "confirm", accept_sala, 4)
    move = step("bertil", KOPING, "record_move", confirm, 5, details={"moving_date": "2026-05-01"})

    both_accepted = [send, deliver, read, accept, send_sala, deliver_sala, accept_sala]
    good = accept
    flipped = bytearray(base64.b64decode(good["signature"]))
    flipped[0] ^= 0x80
    canonical = json.dumps(
        body("bertil"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()

    def ok(name: str, wire: dict[str, str], event: str, municipality: str, signer: str) -> Any:
        return {
            "name": name,
            "step": wire,
            "expect": "ok",
            "expect_event": event,
            "expect_request": municipality,
            "expect_signer_municipality": signer,
            "expect_digest": step_digest(wire).hex(),
        }

    def bad(name: str, description: str, wire: object, expect: str) -> Any:
        return {"name": name, "description": description, "step": wire, "expect": expect}

    def chain(name: str, description: str, steps: list[dict[str, str]], **expect: Any) -> Any:
        return {"name": name, "description": description, "steps": steps, **expect}

    data = {
        "generator": GENERATOR,
        "description": (
            "Signed case steps under a small directory: verify_step must accept the valid ones "
            "and refuse each invalid one with the named code; derive must prove each chain's "
            "states and show its problems."
        ),
        "network": NETWORK,
        "admin_public": b64(admin.public),
        "entries": entries,
        "revocations": revocations,
        "case_id": case_id.hex(),
        "case_sender": SENDER,
        "valid": [
            ok("send_inquiry_by_sender", send, "send_inquiry", KOPING, SENDER),
            ok("deliver_by_receiver", deliver, "deliver", KOPING, KOPING),
            ok("decline_with_reason", decline, "decline", KOPING, KOPING),
            ok("sala_before_compromise", accept_sala, "accept", SALA, SALA),
            ok("move_with_date", move, "record_move", KOPING, KOPING),
        ],
        "invalid": [
            bad(
                "signed_after_compromise",
                "Sala's accept, signed a day after its key was marked compromised.",
                accept_sala_late,
                "sender_key_revoked",
            ),
            bad(
                "not_a_party",
                "Arboga's valid key signs a step on Köping's request of Västerås's case.",
                step("eva", KOPING, "accept", read, 2),
                "step_signer_not_party",
            ),
            bad(
                "forged_signature",
                "Names Bertil as signer but is signed by another key.",
                sign_raw(mallory, STEP_KIND, canonical),
                "record_bad_signature",
            ),
            bad(
                "signature_bit_flipped",
                "One bit of Bertil's signature is flipped.",
                {"record": good["record"], "signature": b64(bytes(flipped))},
                "record_bad_signature",
            ),
            bad(
                "free_text_in_details",
                "A correctly signed step that carries free text among its details.",
                sign_record(body("bertil", details={"motivation": "Fritext"}), ids["bertil"]),
                "record_malformed",
            ),
            bad(
                "wrong_network",
                "A correctly signed step for another network.",
                sign_record(body("bertil", network="skane-test"), ids["bertil"]),
                "record_wrong_network",
            ),
            bad(
                "parent_too_short",
                "The parent digest is 31 bytes.",
                sign_record(body("bertil", parent="ab" * 31), ids["bertil"]),
                "record_malformed",
            ),
            bad(
                "not_canonical",
                "Correctly signed, but with spaces after separators.",
                sign_raw(
                    ids["bertil"],
                    STEP_KIND,
                    json.dumps(
                        body("bertil"), sort_keys=True, separators=(", ", ": "), ensure_ascii=False
                    ).encode(),
                ),
                "record_not_canonical",
            ),
            bad(
                "receipt_as_step",
                "A directory entry handed over as a step.",
                entries[1],
                "record_wrong_kind",
            ),
        ],
        "chains": [
            chain(
                "accepted",
                "Köping's request from the inquiry to its accept.",
                [send, deliver, read, accept],
                expect_states={KOPING: "accepted"},
                expect_problems=[],
            ),
            chain(
                "relayed_out_of_order",
                "The same steps in another order: the chain orders them, not the hub.",
                [accept, send, read, deliver],
                expect_states={KOPING: "accepted"},
                expect_problems=[],
            ),
            chain(
                "confirmed_in_one_batch",
                "A confirms Köping and closes Sala elsewhere, the person moves.",
                [*both_accepted, close_sala, confirm, move],
                expect_states={KOPING: "moved", SALA: "closed_elsewhere"},
                expect_problems=[],
            ),
            chain(
                "forked",
                "Two steps after the same read: an accept and a decline. Neither counts.",
                [send, deliver, read, accept, decline],
                expect_states={},
                expect_problems=[["step_fork", KOPING]],
            ),
            chain(
                "step_dropped",
                "The read is withheld: the chain stops at the delivery.",
                [send, deliver, accept],
                expect_states={KOPING: "delivered"},
                expect_problems=[["step_missing", KOPING]],
            ),
            chain(
                "rolled_back",
                "Only the first two steps: an older view (a client that saw more keeps it).",
                [send, deliver],
                expect_states={KOPING: "delivered"},
                expect_problems=[],
            ),
            chain(
                "signed_after_compromise",
                "Sala's accept signed after its key was compromised counts for nothing.",
                [send_sala, deliver_sala, accept_sala_late],
                expect_states={SALA: "delivered"},
                expect_problems=[["step_refused", SALA, "sender_key_revoked"]],
            ),
            chain(
                "not_allowed_by_the_table",
                "Köping signs an accept before the inquiry was delivered.",
                [send, step("bertil", KOPING, "accept", send, 2)],
                expect_states={KOPING: "sent"},
                expect_problems=[["step_not_allowed", KOPING]],
            ),
            chain(
                "time_runs_backwards",
                "A read signed before the delivery it follows.",
                [send, deliver, step("bertil", KOPING, "read_receipt", deliver, 1.05)],
                expect_states={KOPING: "delivered"},
                expect_problems=[["step_time_backwards", KOPING]],
            ),
            chain(
                "two_confirmed",
                "A hostile sender's agent signs a confirm for both municipalities.",
                [*both_accepted, confirm, confirm_sala],
                expect_states=None,
                expect_problems=[["case_inconsistent", None]],
            ),
        ],
    }
    _check_expectations(data)
    return data


def render() -> str:
    return _write.render(generate())


def load_directory(data: dict[str, Any]) -> Directory:
    return Directory.load(
        base64.b64decode(data["admin_public"]),
        data["network"],
        data["entries"],
        data["revocations"],
    )


def chain_outcome(data: dict[str, Any], vector: dict[str, Any]) -> tuple[Any, list[list[Any]]]:
    """What derive makes of a chain vector: the states ({} when the case is inconsistent: None)
    and the problems, in the vector's spelling."""
    derived = derive(
        bytes.fromhex(data["case_id"]),
        data["case_sender"],
        vector["steps"],
        directory=load_directory(data),
    )
    states = (
        None
        if derived.case is None
        else {r.municipality: r.state.value for r in derived.case.requests}
    )
    problems = [
        [p.problem.value, p.municipality, *([p.code] if p.code else [])] for p in derived.problems
    ]
    return states, problems


def _check_expectations(data: dict[str, Any]) -> None:
    """Refuse to write a file whose hand-written expectations this implementation does not meet."""
    directory = load_directory(data)
    failures = []
    for v in data["valid"] + data["invalid"]:
        try:
            verified = verify_step(v["step"], directory=directory)
            got = "ok"
            if (verified.event, verified.municipality) != (
                v.get("expect_event", verified.event),
                v.get("expect_request", verified.municipality),
            ):
                got = "wrong facts"
        except HubError as exc:
            got = exc.code
        if got != v["expect"]:
            failures.append(f"{v['name']}: expected {v['expect']}, got {got}")
    for v in data["chains"]:
        states, problems = chain_outcome(data, v)
        if (states, problems) != (v["expect_states"], v["expect_problems"]):
            failures.append(f"{v['name']}: got {states}, {problems}")
    _write.refuse_failures(failures)


if __name__ == "__main__":
    _write.write_vectors(OUTPUT, render())

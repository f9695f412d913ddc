"""Signed case steps and their chains: the vectors in tests/vectors/steps.json, then what no
set of signed steps can make an agent believe."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.crypto.directory import Directory, Role, make_entry
from hub.crypto.keys import PrivateIdentity, SigningKey
from hub.crypto.steps import make_step, step_digest, verify_step
from hub.errors import MESSAGES, HubError
from hub.protocol.chain import derive
from hub.protocol.lifecycle import RequestState
from tests.vectors import gen_steps
from tests.vectors._rng import SeededRng

VECTORS_PATH = Path(__file__).parent / "vectors" / "steps.json"
VECTORS: dict[str, Any] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def directory() -> Directory:
    return gen_steps.load_directory(VECTORS)


def test_vectors_regenerate_byte_for_byte():
    """Running the generator again writes exactly the committed vectors file."""
    assert gen_steps.render() == VECTORS_PATH.read_text(encoding="utf-8")


def test_vectors_cover_every_required_failure():
    """Tampered, wrongly signed, compromised and malformed steps; forked, gapped, out of order
    and inconsistent chains: each names a code the project defines."""
    codes = {v["expect"] for v in VECTORS["invalid"]}
    assert codes <= set(MESSAGES)
    assert {
        "sender_key_revoked",
        "step_signer_not_party",
        "record_bad_signature",
        "record_malformed",
        "record_wrong_network",
        "record_not_canonical",
        "record_wrong_kind",
    } <= codes
    problems = {p[0] for v in VECTORS["chains"] for p in v["expect_problems"]}
    assert problems == {
        "step_fork",
        "step_missing",
        "step_refused",
        "step_not_allowed",
        "step_time_backwards",
        "case_inconsistent",
    }


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=lambda v: v["name"])
def test_vector_valid_steps(directory: Directory, vector: dict[str, Any]):
    """A genuine step says which request it moves, what happened and who signed it."""
    step = verify_step(vector["step"], directory=directory)
    assert step.event == vector["expect_event"]
    assert step.municipality == vector["expect_request"]
    assert step.signer_municipality == vector["expect_signer_municipality"]
    assert step.digest.hex() == vector["expect_digest"] == step_digest(vector["step"]).hex()


@pytest.mark.parametrize("vector", VECTORS["invalid"], ids=lambda v: v["name"])
def test_vector_invalid_steps(directory: Directory, vector: dict[str, Any]):
    """Each bad step is refused with exactly its code."""
    with pytest.raises(HubError) as info:
        verify_step(vector["step"], directory=directory)
    assert info.value.code == vector["expect"]


@pytest.mark.parametrize("vector", VECTORS["chains"], ids=lambda v: v["name"])
def test_vector_chains(vector: dict[str, Any]):
    """Each chain proves exactly its states and shows exactly its problems."""
    states, problems = gen_steps.chain_outcome(VECTORS, vector)
    assert states == vector["expect_states"]
    assert problems == vector["expect_problems"]


# -- no set of signed steps confirms two municipalities ------------------------------------------


def _network() -> tuple[Directory, dict[str, PrivateIdentity]]:
    rng = SeededRng("steps-property")
    admin = SigningKey.generate(rng)
    people = {m: PrivateIdentity.generate(rng) for m in ("A", "B", "C")}
    entries = [
        make_entry(
            admin,
            network="net",
            municipality=m,
            person=f"Person {m}",
            role=Role.CONTACT_PERSON,
            identity=key.public,
            not_before=0,
            not_after=10**9,
            serial=serial,
        )
        for serial, (m, key) in enumerate(people.items(), 1)
    ]
    return Directory.load(admin.public, "net", entries, []), people


DIRECTORY, PEOPLE = _network()
CASE_ID = bytes(16)
# Every step either side could sign on B's and C's requests, in chain order.
PATHS = {
    "B": ["send_inquiry", "deliver", "accept", "confirm", "record_move", "close"],
    "C": ["send_inquiry", "deliver", "accept", "confirm", "cancel"],
}
SIGNER = {"send_inquiry": "A", "confirm": "A", "close": "A", "close_elsewhere": "A"}


@st.composite
def signed_steps(draw: st.DrawFn) -> list[dict[str, str]]:
    """A chain per request of random length, with random branches: what a hostile sender and
    a hub that relays anything could put together from genuine signatures."""
    wires: list[dict[str, str]] = []
    for municipality, path in PATHS.items():
        parent: dict[str, str] | None = None
        for index in range(draw(st.integers(0, len(path)))):
            event = draw(st.sampled_from([path[index], "close_elsewhere", "withdraw"]))
            details = {"moving_date": "2026-05-01"} if event == "record_move" else {}
            signer = SIGNER.get(event, "A" if event == "withdraw" else municipality)
            wire = make_step(
                PEOPLE[signer],
                network="net",
                case_id=CASE_ID,
                case_sender="A",
                municipality=municipality,
                event=event,
                parent=None if parent is None else step_digest(parent),
                time=1000 + index,
                details=details,
            )
            wires.append(wire)
            if not draw(st.booleans()) or index == 0:
                parent = wire  # otherwise the next step forks from the same parent
    return draw(st.permutations(wires))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(signed_steps())
def test_no_set_of_signed_steps_confirms_two_municipalities(wires: list[dict[str, str]]):
    """Whatever genuine steps are relayed, in any order, an agent never derives a case where
    two municipalities reached confirmed (or beyond): it derives at most one, or refuses the
    case as inconsistent."""
    derived = derive(CASE_ID, "A", wires, directory=DIRECTORY)
    if derived.case is None:
        assert any(p.problem.value == "case_inconsistent" for p in derived.problems)
        return
    agreed = {RequestState.CONFIRMED, RequestState.MOVED, RequestState.CLOSED}
    ever = [r for r in derived.case.requests if any(h.state in agreed for h in r.history)]
    assert len(ever) <= 1

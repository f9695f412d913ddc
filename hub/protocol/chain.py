"""A case's state from its signed steps: each request's chain verified and replayed through the
lifecycle table, the same table the hub applies. Pure; the agents call `derive` with what the
hub relayed and the verified directory, and show only what it returns.

What a chain can tell that a hub's answer cannot hide (docs/protocol.md, "Case steps"):
- a fork: two steps that name the same parent. The hub accepts only the first, so a fork means
  the hub showed different histories to different people: that request is "Motstridig
  historik", and neither branch counts;
- a gap: a step whose parent is not among the steps. A dropped step cuts its chain there;
- a step that does not verify (for one, signed after its key was marked compromised), that the
  table refuses, or that is older than its parent: it counts for nothing, nor does what follows.
The hub's own account of a state is never an input here.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from hub.crypto.records import read_unverified
from hub.crypto.steps import SignedStep, make_step, step_digest, verify_step
from hub.errors import HubError
from hub.protocol.lifecycle import (
    MAX_OPEN_REQUESTS,
    Case,
    Event,
    Outcome,
    Request,
    RequestState,
    Role,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from hub.crypto.directory import Directory
    from hub.crypto.keys import PrivateIdentity
    from hub.protocol.lifecycle import Action

__all__ = ["ChainProblem", "DerivedCase", "Problem", "derive", "role_of", "sign_batch"]


class Problem(enum.StrEnum):
    FORK = "step_fork"  # two steps name the same parent
    MISSING = "step_missing"  # a step names a parent nobody relayed
    REFUSED = "step_refused"  # does not verify (`code` says why)
    NOT_ALLOWED = "step_not_allowed"  # the lifecycle table refuses it
    TIME_BACKWARDS = "step_time_backwards"  # signed before its parent
    WRONG_CASE = "step_wrong_case"  # names another case or another sender
    CASE_INCONSISTENT = "case_inconsistent"  # the requests together break a case rule


@dataclass(frozen=True)
class ChainProblem:
    problem: Problem
    municipality: str | None  # the request, when known (for REFUSED: as the step claims)
    code: str | None = None  # the verification's error code, for REFUSED


@dataclass(frozen=True)
class DerivedCase:
    """What the verified steps prove of one case."""

    case: Case | None  # None: the requests together break a case rule (CASE_INCONSISTENT)
    steps: Mapping[str, tuple[SignedStep, ...]]  # each request's counted chain, in order
    forked: frozenset[str]  # requests with two histories: neither is shown
    problems: tuple[ChainProblem, ...]

    def head(self, municipality: str) -> bytes | None:
        """The digest a new step on this request names as its parent."""
        chain = self.steps.get(municipality, ())
        return chain[-1].digest if chain else None

    def broken(self, municipality: str) -> bool:
        """Something of this request's history is missing, forked or refused."""
        return municipality in self.forked or any(
            p.municipality == municipality for p in self.problems
        )


def role_of(step: SignedStep) -> Role:
    """The side that signed: the case's sender (its own steps on the case included), or the
    asked municipality."""
    return Role.SENDER if step.by_sender else Role.RECEIVER


def derive(
    case_id: bytes, sender: str, wires: Iterable[object], *, directory: Directory
) -> DerivedCase:
    """Verify every relayed step of the case and replay each request's chain."""
    problems: list[ChainProblem] = []
    by_request: dict[str, dict[bytes, SignedStep]] = defaultdict(dict)
    for wire in wires:
        try:
            step = verify_step(wire, directory=directory)
        except HubError as exc:
            problems.append(ChainProblem(Problem.REFUSED, _claimed_request(wire), exc.code))
            continue
        if step.case_id != case_id or step.case_sender != sender:
            problems.append(ChainProblem(Problem.WRONG_CASE, None))
            continue
        by_request[step.municipality][step.digest] = step
    chains: dict[str, tuple[SignedStep, ...]] = {}
    forked: set[str] = set()
    requests: list[Request] = []
    closed_not_moved: SignedStep | None = None
    for municipality, steps in sorted(by_request.items()):
        chain, fork, found = _walk(municipality, steps)
        problems += found
        if fork:
            forked.add(municipality)
            continue
        if municipality == sender:
            closed_not_moved, counted, found = _case_steps(chain)
        else:
            request, counted, found = _replay(municipality, chain)
            if request is not None:
                requests.append(request)
        problems += found
        chains[municipality] = counted
    case = _case(case_id, sender, requests, closed_not_moved)
    if case is None:
        problems.append(ChainProblem(Problem.CASE_INCONSISTENT, None))
    return DerivedCase(case, chains, frozenset(forked), tuple(problems))


def sign_batch(  # noqa: PLR0913 - the batch, whom it is from, and where it goes on
    identity: PrivateIdentity,
    *,
    network: str,
    case_id: bytes,
    sender: str,
    derived: DerivedCase,
    actions: Sequence[Action],
    time: int,
    message_id: bytes | None = None,
) -> list[dict[str, str]]:
    """Sign `actions` (one step, or a batch: Case.confirm_batch, Case.close_not_moved_batch)
    as steps that continue each request's chain as `derived` proved it. `message_id` names the
    envelope that carries a single step's content. The caller keeps the signed bytes and
    resends them unchanged."""
    if message_id is not None and len(actions) != 1:
        raise ValueError("only a single step names an envelope")
    heads = {m: derived.head(m) for m in {a.municipality for a in actions}}
    signed = []
    for action in actions:
        wire = make_step(
            identity,
            network=network,
            case_id=case_id,
            case_sender=sender,
            municipality=action.municipality,
            event=action.event.value,
            parent=heads[action.municipality],
            time=time,
            details=_detail_text(action.details),
            message_id=message_id,
        )
        heads[action.municipality] = step_digest(wire)
        signed.append(wire)
    return signed


def _detail_text(details: Mapping[str, object]) -> dict[str, str]:
    """A step's details as signed: codes as they are, dates in ISO form."""
    return {
        name: value.isoformat() if isinstance(value, date) else str(value)
        for name, value in details.items()
    }


def _walk(
    municipality: str, steps: Mapping[bytes, SignedStep]
) -> tuple[tuple[SignedStep, ...], bool, list[ChainProblem]]:
    """The request's chain from its first step, whether it forks, and the steps left over."""
    children: dict[bytes | None, list[SignedStep]] = defaultdict(list)
    for step in steps.values():
        children[step.parent].append(step)
    chain: list[SignedStep] = []
    parent: bytes | None = None
    while children.get(parent):
        if len(children[parent]) > 1:
            return tuple(chain), True, [ChainProblem(Problem.FORK, municipality)]
        step = children[parent][0]
        chain.append(step)
        parent = step.digest
    problems = []
    if len(chain) < len(steps):
        problems.append(ChainProblem(Problem.MISSING, municipality))
    return tuple(chain), False, problems


def _replay(
    municipality: str, chain: tuple[SignedStep, ...]
) -> tuple[Request | None, tuple[SignedStep, ...], list[ChainProblem]]:
    """The request the chain proves, and the steps counted: up to the first one refused."""
    request = Request(municipality, RequestState.NOT_ASKED)
    counted: list[SignedStep] = []
    previous_time = 0
    for step in chain:
        if step.time < previous_time:
            return _ended(request, counted, Problem.TIME_BACKWARDS, municipality)
        try:
            request = request.advance(
                role_of(step), Event(step.event), step.time, dict(step.details)
            )
        except (HubError, ValueError):
            return _ended(request, counted, Problem.NOT_ALLOWED, municipality)
        counted.append(step)
        previous_time = step.time
    return (request if counted else None), tuple(counted), []


def _ended(
    request: Request, counted: list[SignedStep], problem: Problem, municipality: str
) -> tuple[Request | None, tuple[SignedStep, ...], list[ChainProblem]]:
    return (request if counted else None), tuple(counted), [ChainProblem(problem, municipality)]


def _case_steps(
    chain: tuple[SignedStep, ...],
) -> tuple[SignedStep | None, tuple[SignedStep, ...], list[ChainProblem]]:
    """The steps on the whole case: only the sender's close_not_moved, once."""
    if not chain:
        return None, (), []
    first = chain[0]
    if first.event != Event.CLOSE_NOT_MOVED or not first.by_sender or len(chain) > 1:
        return None, (), [ChainProblem(Problem.NOT_ALLOWED, first.municipality)]
    return first, (first,), []


def _case(
    case_id: bytes, sender: str, requests: list[Request], closed_not_moved: SignedStep | None
) -> Case | None:
    """The Case the requests make, or None when together they break its rules (two confirmed,
    a confirmed one beside open ones, a close without a move beside an open request)."""
    closed = next((r for r in requests if r.state is RequestState.CLOSED), None)
    outcome, closed_at = None, None
    if closed is not None:
        outcome, closed_at = Outcome.MOVED, closed.entered_at(RequestState.CLOSED)
    elif closed_not_moved is not None:
        outcome, closed_at = Outcome.NOT_MOVED, closed_not_moved.time
    try:
        return Case(
            case_id.hex(),
            sender,
            tuple(requests),
            max_open_requests=max(MAX_OPEN_REQUESTS, len(requests)),
            outcome=outcome,
            closed_at=closed_at,
        )
    except ValueError:
        return None


def _claimed_request(wire: object) -> str | None:
    """The request a refused step says it is about: to place the warning, never believed."""
    try:
        claimed = read_unverified(wire).unverified_body.get("municipality")
    except HubError:
        return None
    return claimed if isinstance(claimed, str) else None

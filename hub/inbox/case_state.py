"""A case as the inbox keeps it, from its verified signed steps (hub.protocol.chain). Pure.

The state, history and allowed actions of each request are what the chain proves, replayed
through the lifecycle table; the hub's view of the case is only compared with them. The signed
time of a delivery is the receiver's choice, so the answer clock counts from the earlier of it
and the hub's receive time plus an allowed skew, and a larger difference is flagged. What the
cache keeps, per case:

    {"case_id", "from", "outcome", "closed_at", "requests": [{"municipality", "state",
     "history", "allowed_events", "broken"}], "can_close_not_moved", "hub_disagrees",
     "problems": [[problem, municipality, code]], "hub_step_count"}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from hub.protocol.case_codec import case_to_json
from hub.protocol.lifecycle import Event, Role

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hub.inbox.facts import Parties
    from hub.protocol import wire
    from hub.protocol.chain import DerivedCase

CONFLICTING: Final = "conflicting"  # a request with two histories: "Motstridig historik"
CLOCK_SKEW: Final = 600  # seconds a signer's clock may differ from the hub's unflagged
# Problems found here, beside hub.protocol.chain.Problem's.
SKEWED: Final = "step_clock_skew"  # a delivery's signed time far from when the hub took it
HUB_DEADLINE: Final = "hub_deadline_differs"  # the hub counts a deadline from another time


def kept_view(
    derived: DerivedCase,
    hub_view: wire.CaseView,
    parties: Parties,
    *,
    me: str,
    received_at: Mapping[bytes, int],
) -> dict[str, Any] | None:
    """The case as the pages show it; None when `me` is not a party of the verified case.
    `received_at`: when the hub says it took each step (by digest), a hint."""
    shown = parties.shown_to(me)
    if shown is None:
        return None
    role = Role.SENDER if me == parties.sender else Role.RECEIVER
    case = derived.case
    stored = {} if case is None else {r["municipality"]: r for r in case_to_json(case)["requests"]}
    problems = [
        [str(p.problem), p.municipality, p.code]
        for p in derived.problems
        if p.municipality is None or p.municipality in shown or p.municipality == parties.sender
    ]
    hub_times = {r.municipality: r for r in hub_view.requests}
    requests = []
    for municipality in sorted(shown):
        if case is None or municipality in derived.forked:
            requests.append(_conflicting(municipality))
            continue
        request = stored.get(municipality)
        if request is None:
            continue  # asked in a verified envelope, but no signed step yet
        history = _counted_times(
            request["history"], derived.steps.get(municipality, ()), received_at, problems
        )
        hub_request = hub_times.get(municipality)
        if hub_request is not None and _deadline_differs(history, hub_request):
            problems.append([HUB_DEADLINE, municipality, None])
        requests.append(
            {
                "municipality": municipality,
                "state": request["state"],
                "history": history,
                "allowed_events": [e.value for e in case.allowed_events(role, municipality)],
                "broken": derived.broken(municipality),
            }
        )
    derived_states = {r["municipality"]: r["state"] for r in requests}
    hub_disagrees = hub_view.sender != parties.sender or any(
        r.municipality not in shown
        or (bool(r.state) and r.state != derived_states.get(r.municipality))
        for r in hub_view.requests
    )
    return {
        "case_id": hub_view.case_id,
        "from": parties.sender,
        "outcome": None if case is None or case.outcome is None else case.outcome.value,
        "closed_at": None if case is None else case.closed_at,
        "requests": requests,
        "can_close_not_moved": role is Role.SENDER
        and case is not None
        and not derived.forked
        and case.can_close_not_moved(Role.SENDER),
        "hub_disagrees": hub_disagrees,
        "problems": problems,
        "hub_step_count": hub_view.step_count,
    }


def _conflicting(municipality: str) -> dict[str, Any]:
    return {
        "municipality": municipality,
        "state": CONFLICTING,
        "history": [],
        "allowed_events": [],
        "broken": True,
    }


def _counted_times(
    history: list[dict[str, Any]],
    chain: tuple[Any, ...],
    received_at: Mapping[bytes, int],
    problems: list[list[Any]],
) -> list[dict[str, Any]]:
    """The history with each delivery counted from the earlier of its signed time and the
    hub's receive time plus the skew (each counted step is one entry, in order)."""
    counted = []
    for entry, step in zip(history, chain, strict=False):
        hub_time = received_at.get(step.digest)
        if entry["event"] != Event.DELIVER or hub_time is None:
            counted.append(entry)
            continue
        if abs(entry["at"] - hub_time) > CLOCK_SKEW:
            problems.append([SKEWED, step.municipality, None])
        at = min(entry["at"], hub_time + CLOCK_SKEW)
        counted.append({**entry, "signed_at": entry["at"], "at": at})
    return counted


def _deadline_differs(history: list[dict[str, Any]], hub_request: wire.RequestView) -> bool:
    """The hub counts the answer clock from a delivery time far from the one counted here."""
    ours = next((h["at"] for h in history if h["event"] == Event.DELIVER), None)
    theirs = next((h.at for h in hub_request.history if h.event == Event.DELIVER), None)
    return ours is not None and theirs is not None and abs(ours - theirs) > CLOCK_SKEW

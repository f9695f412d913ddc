"""A lifecycle Case to and from JSON, for storage. Only states, events, roles, times, reason
codes and the moving and follow-up dates: the lifecycle holds nothing else, nor does this."""

from __future__ import annotations

from datetime import date
from typing import Any

from hub.protocol.lifecycle import (
    Case,
    DeclineReason,
    Event,
    HistoryEntry,
    Outcome,
    Request,
    RequestState,
    Role,
)


def case_to_json(case: Case) -> dict[str, Any]:
    return {
        "case_id": case.case_id,
        "sender": case.sender,
        "max_open_requests": case.max_open_requests,
        "outcome": case.outcome.value if case.outcome else None,
        "closed_at": case.closed_at,
        "requests": [
            {
                "municipality": r.municipality,
                "state": r.state.value,
                "history": [_entry_to_json(h) for h in r.history],
            }
            for r in case.requests
        ],
    }


def _entry_to_json(h: HistoryEntry) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "event": h.event.value,
        "role": h.role.value,
        "at": h.at,
        "state": h.state.value,
    }
    if h.reason is not None:
        entry["reason"] = h.reason.value
    if h.moving_date is not None:
        entry["moving_date"] = h.moving_date.isoformat()
    if h.follow_up_date is not None:
        entry["follow_up_date"] = h.follow_up_date.isoformat()
    return entry


def case_from_json(data: dict[str, Any]) -> Case:
    """Rebuild a Case; the Case checks its own rules as it is built (LifecycleError)."""
    return Case(
        case_id=data["case_id"],
        sender=data["sender"],
        max_open_requests=data["max_open_requests"],
        outcome=Outcome(data["outcome"]) if data["outcome"] else None,
        closed_at=data["closed_at"],
        requests=tuple(
            Request(
                r["municipality"],
                RequestState(r["state"]),
                tuple(_entry_from_json(h) for h in r["history"]),
            )
            for r in data["requests"]
        ),
    )


# Before every step was signed (issue 13), the hub itself took two: deliver and closing the
# others on a confirm. Cases stored then read as the side that now signs them.
_LEGACY_SYSTEM_ROLE = {Event.DELIVER: Role.RECEIVER, Event.CLOSE_ELSEWHERE: Role.SENDER}


def _entry_from_json(h: dict[str, Any]) -> HistoryEntry:
    event = Event(h["event"])
    return HistoryEntry(
        event=event,
        role=_LEGACY_SYSTEM_ROLE[event] if h["role"] == "system" else Role(h["role"]),
        at=h["at"],
        state=RequestState(h["state"]),
        reason=DeclineReason(h["reason"]) if "reason" in h else None,
        moving_date=date.fromisoformat(h["moving_date"]) if "moving_date" in h else None,
        follow_up_date=(date.fromisoformat(h["follow_up_date"]) if "follow_up_date" in h else None),
    )

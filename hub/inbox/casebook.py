"""The cases as this inbox keeps them: the hub's view of each, cut to what the verified
inquiries say (hub.inbox.facts.within_verified), with the running deadlines that concern our
municipality worked out here, in the Swedish calendar, for the lists and the banners.

The states are still the hub's word; the pages label them so until the lifecycle is signed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from hub.inbox.facts import within_verified
from hub.protocol.case_codec import case_from_json
from hub.protocol.deadlines import NATIONAL, Due, DueKind, SwedishCalendar, deadlines_for
from hub.protocol.lifecycle import Case, RequestState, Role, is_terminal
from hub.protocol.notices import alarms_for

if TYPE_CHECKING:
    from hub.inbox.cache import InboxCache
    from hub.protocol import wire
    from hub.protocol.deadlines import NetworkDeadlines

log = logging.getLogger("hub.inbox")


@dataclass
class Casebook:
    cache: InboxCache
    calendar: SwedishCalendar = field(default_factory=SwedishCalendar)
    rules: NetworkDeadlines = NATIONAL  # the network's deadlines, as the session last learnt

    async def store(self, hub_view: wire.CaseView, *, me: str) -> bool:
        """Keep the hub's view of a case within what the verified envelopes say: a case with
        no verified inquiry is not kept, its sender and counterparts are the signed ones, and
        where the hub said otherwise the view is flagged. True when what the pages show of it
        changed."""
        case_id = bytes.fromhex(hub_view.case_id)
        parties = await self.cache.case_parties(case_id)
        if parties is None:
            return False  # the hub's word alone makes no case
        view = within_verified(hub_view, parties, me=me)
        if view is None:
            log.warning("case view names us where no verified inquiry does")
            return False
        mine = view["from"] == me
        # Closed for the sender when the case has its outcome; for a receiver when its own
        # request has ended (declined, closed elsewhere, withdrawn …).
        closed = view.get("outcome") is not None or (
            not mine and all(is_terminal(RequestState(r["state"])) for r in view["requests"])
        )
        dues = [] if closed else self.dues_of(view, me=me)
        due = dues[0] if dues else None
        # Kept with the view so that lists need not recompute the calendar for every row.
        stored = {
            **view,
            "local_due": None
            if due is None
            else {"date": due.due_date.isoformat(), "at": int(due.due_at.timestamp())},
        }
        changed = await self.cache.get_case(case_id) != stored
        await self.cache.put_case(
            stored,
            mine=mine,
            sort_key=stored["local_due"]["at"] if due else _recency_key(view),
            closed=closed,
            dues=[(_first_alarm(d, self.calendar), due_to_json(d)) for d in dues],
        )
        return changed

    def dues_of(self, view: dict[str, Any], *, me: str) -> list[Due]:
        """Every running deadline of this case that concerns our municipality, nearest first:
        all of a case we sent, our own request's of a case we were asked."""
        mine = view["from"] == me
        return [
            d
            for d in deadlines_for(case_from_view(view), self.rules, self.calendar)
            if mine or d.municipality == me
        ]


def due_to_json(due: Due) -> dict[str, Any]:
    """A running deadline as the cache keeps it (the hub knows all of it: kept in clear)."""
    return {
        "kind": str(due.kind),
        "municipality": due.municipality,
        "date": due.due_date.isoformat(),
        "at": int(due.due_at.timestamp()),
        "remind_at": None if due.remind_at is None else int(due.remind_at.timestamp()),
        "owed_by": [str(role) for role in due.owed_by],
    }


def due_from_json(value: dict[str, Any]) -> Due:
    remind_at = value["remind_at"]
    return Due(
        DueKind(value["kind"]),
        value["municipality"],
        date.fromisoformat(value["date"]),
        datetime.fromtimestamp(value["at"], UTC),
        None if remind_at is None else datetime.fromtimestamp(remind_at, UTC),
        tuple(Role(role) for role in value["owed_by"]),
    )


def _first_alarm(due: Due, calendar: SwedishCalendar) -> int:
    """When the first notice of `due` fires (its reminder, else the morning of the day)."""
    return min(alarm.fire_at for alarm in alarms_for([due], calendar))


def _recency_key(view: dict[str, Any]) -> int:
    """After every case with a running deadline (sorted by it): most recent activity first."""
    latest = max((h["at"] for r in view["requests"] for h in r["history"]), default=0)
    return 4_000_000_000 + (2_000_000_000 - latest)


def case_from_view(view: dict[str, Any]) -> Case:
    """The lifecycle's Case from the kept view of it (for a receiver: its own request only)."""
    return case_from_json(
        {
            "case_id": view["case_id"],
            "sender": view["from"],
            "max_open_requests": max(3, len(view["requests"])),
            "outcome": view.get("outcome"),
            "closed_at": view.get("closed_at"),
            "requests": [
                {"municipality": r["municipality"], "state": r["state"], "history": r["history"]}
                for r in view["requests"]
            ],
        }
    )

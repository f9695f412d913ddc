"""The cases as this inbox keeps them: each derived from its signed steps, verified here and
replayed through the lifecycle table (hub.inbox.case_state), within what the verified
inquiries say, with the running deadlines that concern our municipality worked out here, in
the Swedish calendar, for the lists and the banners. The hub's view is only compared.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import msgspec

from hub.crypto.steps import step_digest
from hub.errors import HubError
from hub.inbox.case_state import CONFLICTING, kept_view
from hub.protocol.case_codec import case_from_json
from hub.protocol.chain import derive
from hub.protocol.deadlines import NATIONAL, Due, DueKind, SwedishCalendar, deadlines_for
from hub.protocol.lifecycle import Case, RequestState, Role, is_terminal
from hub.protocol.notices import alarms_for

if TYPE_CHECKING:
    from hub.crypto.directory import Directory
    from hub.inbox.cache import InboxCache
    from hub.protocol import wire
    from hub.protocol.deadlines import NetworkDeadlines

log = logging.getLogger("hub.inbox")
MAX_KEPT_STEPS = 1000  # far above any real case's; bounds what a hostile hub can make us keep


@dataclass
class Casebook:
    cache: InboxCache
    calendar: SwedishCalendar = field(default_factory=SwedishCalendar)
    rules: NetworkDeadlines = NATIONAL  # the network's deadlines, as the session last learnt

    async def store(
        self,
        hub_view: wire.CaseView,
        relayed: list[wire.RelayedStep],
        directory: Directory,
        *,
        me: str,
    ) -> bool:
        """Keep the case as its signed steps prove it, within what the verified envelopes say:
        a case with no verified inquiry is not kept, its sender and counterparts are the signed
        ones, and where the hub's view says otherwise the case is flagged. True when what the
        pages show of it changed."""
        case_id = bytes.fromhex(hub_view.case_id)
        parties = await self.cache.case_parties(case_id)
        if parties is None:
            return False  # the hub's word alone makes no case
        previous = await self.cache.get_case(case_id)
        # Every step relayed so far counts, not only what the hub relays now: a hub that
        # leaves out steps it showed before rolls nothing back, and one that shows another
        # branch shows a fork.
        steps = _remembered(previous, relayed)
        wires = [step for step, _ in steps.values()]
        received_at = {digest: at for digest, (_, at) in steps.items()}
        derived = derive(case_id, parties.sender, wires, directory=directory)
        view = kept_view(derived, hub_view, parties, me=me, received_at=received_at)
        if view is None:
            log.warning("case view names us where no verified inquiry does")
            return False
        view["steps"] = [[step, at] for step, at in steps.values()]
        # Once the hub has said otherwise about a case, the page keeps saying so.
        view["hub_disagrees"] = view["hub_disagrees"] or bool(
            previous and previous.get("hub_disagrees")
        )
        mine = view["from"] == me
        # Closed for the sender when the case has its outcome; for a receiver when its own
        # request has ended (declined, closed elsewhere, withdrawn …).
        closed = view.get("outcome") is not None or (
            not mine
            and bool(view["requests"])
            and all(
                r["state"] != CONFLICTING and is_terminal(RequestState(r["state"]))
                for r in view["requests"]
            )
        )
        dues = [] if closed else self.dues_of(view, me=me)
        due = dues[0] if dues else None
        # Kept with the view so that lists need not recompute the calendar for every row.
        stored = {
            **view,
            "hub_view": hub_fingerprint(hub_view),
            "local_due": None
            if due is None
            else {"date": due.due_date.isoformat(), "at": int(due.due_at.timestamp())},
        }
        changed = previous != stored
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


def hub_fingerprint(hub_view: wire.CaseView) -> str:
    """What the hub last said of a case, in short: when it changes, the steps are fetched."""
    return hashlib.sha256(msgspec.json.encode(hub_view)).hexdigest()


def _remembered(
    previous: dict[str, Any] | None, relayed: list[wire.RelayedStep]
) -> dict[bytes, tuple[dict[str, str], int]]:
    """The case's steps kept from before and relayed now, by digest: (the signed step, when
    the hub said it took it). A step that does not even parse is left to derive to refuse."""
    found: dict[bytes, tuple[dict[str, str], int]] = {}
    kept = [] if previous is None else previous.get("steps", [])
    now = [(msgspec.to_builtins(r.step), r.received_at) for r in relayed]
    for step, at in [*((s, a) for s, a in kept), *now]:
        try:
            found.setdefault(step_digest(step), (step, at))
        except HubError:
            continue
        if len(found) >= MAX_KEPT_STEPS:
            break
    return found


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
                if r["state"] != CONFLICTING  # no history counts: no clock runs
            ],
        }
    )

"""Case transitions: a case's next state stored with the signed steps that moved it, its
deadline alarms and audit record, and the sides told. The handlers (hub/server/cases.py,
hub/server/case_steps.py) call this; it takes what it needs, not the application."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from hub.protocol.case_codec import case_to_json
from hub.protocol.deadlines import NetworkDeadlines
from hub.protocol.lifecycle import NotifyCounterpart, Role
from hub.server import notify
from hub.storage.base import CaseRow, StaleVersion

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from hub.protocol.deadlines import SwedishCalendar
    from hub.protocol.lifecycle import Case, Effect
    from hub.server.singletons import LiveChannel
    from hub.server.typedefs import Clock
    from hub.storage.base import CaseStepRow, Storage

RETRIES: Final = 5


def case_row(case: Case, network_id: str, at: int, *, created_at: int, version: int) -> CaseRow:
    requests = tuple(
        (r.municipality, r.state.value, r.entered_at(r.state) or at) for r in case.requests
    )
    return CaseRow(
        bytes.fromhex(case.case_id),
        network_id,
        case.sender,
        case_to_json(case),
        requests,
        created_at,
        at,
        version,
    )


class CaseTransitions:
    def __init__(
        self,
        storage: Storage,
        *,
        calendar: SwedishCalendar,
        live: LiveChannel,
        clock: Clock,
        poke: Callable[[], None],
    ) -> None:
        """`poke` wakes the deadline clock (alarms may now be due sooner)."""
        self._storage = storage
        self._calendar = calendar
        self._live = live
        self._clock = clock
        self._poke = poke

    async def store(  # noqa: PLR0913 - one change: the case, its steps, effects, audit record
        self,
        row: CaseRow,
        new: Case,
        effects: list[Effect],
        *,
        actor: str,
        audit: dict[str, Any],
        at: int,
        steps: Sequence[CaseStepRow] = (),
    ) -> bool:
        """Store the new case with the signed steps that moved it, its deadline alarms and
        audit record, and tell the sides; False if the stored case changed since it was read
        (the caller reads again and retries). AlreadyExists when a step names a parent that
        another step took meanwhile."""
        network = await self._storage.get_network(row.network_id)
        rules = NetworkDeadlines.from_settings(network.settings)
        alarms = notify.alarm_rows(new, row.network_id, rules, self._calendar)
        updated = case_row(
            new, row.network_id, at, created_at=row.created_at, version=row.version + 1
        )
        try:
            async with self._storage.transaction() as tx:
                await tx.update_case(updated)
                await tx.add_case_steps(steps)
                await notify.store_alarms(tx, row.case_id, alarms, at)
                await tx.append_audit(at=at, actor=actor, action="case_event", subject=audit)
        except StaleVersion:
            return False
        self._poke()
        await self.tell(row.network_id, new, effects)
        return True

    async def tell(self, network_id: str, case: Case, effects: list[Effect]) -> None:
        """Tell the other side, content-free: the case id and the event, nothing else."""
        for effect in effects:
            if isinstance(effect, NotifyCounterpart):
                target = case.sender if effect.to is Role.SENDER else effect.municipality
                event = {"type": "case", "case_id": case.case_id, "event": effect.event.value}
                await self._live.tell(network_id, {target}, event)

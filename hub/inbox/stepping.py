"""Taking a step in a case: what a person does, signed here with their own key as a case step
(hub.crypto.steps) that continues its request's chain as verified here, never as the hub says
it stands. The outbox keeps the signed bytes and resends them unchanged (hub.inbox.outbox).

Two steps the receiver's inbox takes by itself, as the lifecycle needs them: deliver, once the
inquiry is here and verified, and read_receipt, once a person has opened it. Each names the
inquiry envelope it is about. If the hub took another step first, the next sync finds it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from hub.client.api import RemoteError
from hub.crypto.format import MessageKind
from hub.errors import LifecycleError
from hub.protocol.chain import derive, sign_batch
from hub.protocol.lifecycle import Event, RequestState, Role

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from hub.client.api import HubClient
    from hub.crypto.directory import Directory
    from hub.crypto.keys import PrivateIdentity
    from hub.inbox.cache import InboxCache
    from hub.inbox.session import Session
    from hub.protocol.chain import DerivedCase

log = logging.getLogger("hub.inbox")


@dataclass
class Stepper:
    session: Session
    cache: InboxCache
    identity: PrivateIdentity
    clock: Callable[[], float]

    async def chain(
        self, client: HubClient, case_id: bytes, directory: Directory | None = None
    ) -> tuple[DerivedCase, str]:
        """The case's chains as the hub relays them now, verified against `directory` (one
        the caller has just verified) or the directory fetched again, and the case's sender
        (from its verified inquiry; ours for a case we are opening)."""
        if directory is None:
            directory = await self.session.refresh_directory()
        parties = await self.cache.case_parties(case_id)
        sender = self.session.municipality if parties is None else parties.sender
        relayed = await client.case_steps(case_id)
        wires = [msgspec.to_builtins(r.step) for r in relayed]
        return derive(case_id, sender, wires, directory=directory), sender

    async def sign(  # noqa: PLR0913 - the step, and the envelope that carries it
        self,
        client: HubClient,
        case_id: bytes,
        *,
        municipality: str,
        event: str,
        details: Mapping[str, Any] | None = None,
        message_id: bytes | None = None,
        directory: Directory | None = None,
    ) -> list[dict[str, str]]:
        """Sign what the person did as the steps it takes: one, or a confirm with closing
        every other open request, or closing without a move with withdrawing every open one.
        LifecycleError, with its Swedish sentence, when the chain as verified here does not
        allow it (someone else acted first, or the history is conflicting)."""
        derived, sender = await self.chain(client, case_id, directory)
        me = self.session.municipality
        case = derived.case
        if case is None or municipality in derived.forked:
            raise LifecycleError(
                "case_history_conflicting",
                role=Role.SENDER if me == sender else Role.RECEIVER,
                state=RequestState.NOT_ASKED,
                event=event,
            )
        now = int(self.clock())
        role = Role.SENDER if me == sender else Role.RECEIVER
        actions = case.batch_for(role, municipality, Event(event), now, details)
        case.apply_batch(actions)  # what the hub would refuse is refused here, in Swedish
        return sign_batch(
            self.identity,
            network=self.session.network,
            case_id=case_id,
            sender=sender,
            derived=derived,
            actions=actions,
            time=now,
            message_id=message_id,
        )

    async def take_own_steps(
        self,
        client: HubClient,
        case_id: bytes,
        view: Mapping[str, Any],
        directory: Directory,
    ) -> bool:
        """As the asked municipality: sign deliver once the verified inquiry is here, and
        read_receipt once a person has opened it, against the directory the caller verified
        for this sync (not fetched again for every case). True when a step was taken."""
        me = self.session.municipality
        if view["from"] == me:
            return False
        request = next((r for r in view["requests"] if r["municipality"] == me), None)
        if request is None or request["state"] not in {RequestState.SENT, RequestState.DELIVERED}:
            return False
        inquiry = await self._inquiry(case_id, view["from"])
        if inquiry is None:
            return False
        message_id, read = inquiry
        if request["state"] == RequestState.SENT:
            event = Event.DELIVER
        elif read:
            event = Event.READ_RECEIPT
        else:
            return False
        try:
            signed = await self.sign(
                client,
                case_id,
                municipality=me,
                event=event,
                message_id=message_id,
                directory=directory,
            )
            await client.post_steps(case_id, signed)
        except (LifecycleError, RemoteError) as exc:
            log.info("own step not taken: %s", getattr(exc, "code", type(exc).__name__))
            return False
        return True

    async def _inquiry(self, case_id: bytes, sender: str) -> tuple[bytes, bool] | None:
        """The verified inquiry we received in this case: its id, and whether it was read."""
        for envelope in await self.cache.envelopes_of_case(case_id):
            if (
                envelope.box == "inbox"
                and envelope.kind == MessageKind.INQUIRY
                and envelope.document is not None
                and envelope.sender == sender
            ):
                return envelope.message_id, envelope.read_at is not None
        return None

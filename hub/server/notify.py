"""Who a notice goes to, and the outbox rows it becomes. Handlers and the scheduler call these
inside the transaction of the change that caused the notice, so a notice exists if and only if
its cause was committed.

The addresses: a municipality's contact persons are the people with a key valid now in the
signed directory and an address the county administrator has given; its manager is the
municipality's `manager_email`. A revoked person gets nothing more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.protocol.deadlines import DueKind, SwedishCalendar, deadlines_for
from hub.protocol.lifecycle import Role
from hub.protocol.notices import (
    Alarm,
    Audience,
    Stage,
    Topic,
    alarms_for,
    clock_cause,
    delivery_cause,
)
from hub.storage.base import AlarmRow, NoticeRow

if TYPE_CHECKING:
    from hub.protocol.deadlines import NetworkDeadlines
    from hub.protocol.lifecycle import Case
    from hub.server.config import SmtpConfig
    from hub.server.directory_cache import DirectoryCache
    from hub.storage.base import EnvelopeRow, Storage, Transaction


def alarm_rows(
    case: Case, network_id: str, rules: NetworkDeadlines, calendar: SwedishCalendar
) -> list[AlarmRow]:
    """Every notice the case's running clocks will cause (stored with the case)."""
    case_id = bytes.fromhex(case.case_id)
    return [
        AlarmRow(
            case_id,
            network_id,
            case.sender,
            a.municipality,
            str(a.kind),
            int(a.stage),
            a.fire_at,
            a.due_at,
        )
        for a in alarms_for(deadlines_for(case, rules, calendar), calendar)
    ]


async def store_alarms(tx: Transaction, case_id: bytes, rows: list[AlarmRow], at: int) -> None:
    """Replace the case's alarms; a clock that stopped cancels its notices not yet sent."""
    for municipality, kind, due_at in await tx.replace_alarms(case_id, rows):
        await tx.cancel_notices(clock_cause(case_id.hex(), municipality, kind, due_at), at)


def to_alarm(row: AlarmRow) -> Alarm:
    return Alarm(DueKind(row.kind), row.municipality, Stage(row.stage), row.fire_at, row.due_at)


class Notices:
    """The outbox rows of notices, from what they need: the storage, the verified directories
    and the e-mail settings (None: e-mail is off and nothing is queued)."""

    def __init__(
        self, storage: Storage, directories: DirectoryCache, smtp: SmtpConfig | None
    ) -> None:
        self._storage = storage
        self._directories = directories
        self._smtp = smtp

    async def addresses(
        self, network_id: str, municipality: str, audience: Audience, at: int
    ) -> list[str]:
        storage = self._storage
        if audience is Audience.MANAGER:
            return sorted(
                {
                    m.manager_email
                    for m in await storage.list_municipalities(network_id)
                    if m.id == municipality and m.manager_email
                }
            )
        directory = await self._directories.get(network_id)
        people = {entry.person for entry in directory.valid_keys(municipality, at)}
        return sorted(
            {
                a.email
                for a in await storage.list_contact_addresses(network_id)
                if a.municipality_id == municipality and a.person in people
            }
        )

    async def queue_alarm(self, tx: Transaction, row: AlarmRow, at: int) -> int:
        """The outbox rows of one fired alarm; returns how many. Nothing if e-mail is off."""
        if self._smtp is None:
            return 0
        alarm = to_alarm(row)
        case_id = row.case_id.hex()
        queued = 0
        for target in alarm.targets():
            side = row.sender_municipality if target.side is Role.SENDER else row.municipality
            for address in await self.addresses(row.network_id, side, target.audience, at):
                queued += await tx.add_notice(
                    NoticeRow(
                        key=f"{alarm.key(case_id)}/{target.audience}/{address}",
                        cause=clock_cause(case_id, row.municipality, row.kind, row.due_at),
                        network_id=row.network_id,
                        municipality_id=side,
                        audience=str(target.audience),
                        address=address,
                        topic=str(alarm.topic),
                        created_at=at,
                        next_attempt_at=at,
                    )
                )
        return queued

    async def queue_directory_change(
        self, tx: Transaction, network_id: str, municipality: str, serial: int, at: int
    ) -> int:
        """Tell the municipality's manager, without a name or a key, that the administrator
        signed a change to its keys (issue 14): the inbox's notice needs a contact person, and
        the one there may be the one who is gone. Returns how many rows."""
        if self._smtp is None:
            return 0
        cause = f"directory/{network_id}/{serial}"
        queued = 0
        for address in await self.addresses(network_id, municipality, Audience.MANAGER, at):
            queued += await tx.add_notice(
                NoticeRow(
                    key=f"{cause}/{address}",
                    cause=cause,
                    network_id=network_id,
                    municipality_id=municipality,
                    audience=str(Audience.MANAGER),
                    address=address,
                    topic=str(Topic.DIRECTORY),
                    created_at=at,
                    next_attempt_at=at,
                )
            )
        return queued

    async def queue_new_message(self, tx: Transaction, envelope: EnvelopeRow, at: int) -> int:
        """Tell the addressed municipalities' contact persons that a message waits, unless it
        is delivered first (see SmtpConfig.new_message_delay_seconds). Returns how many rows."""
        smtp = self._smtp
        if smtp is None:
            return 0
        queued = 0
        for municipality in sorted(set(envelope.recipient_municipalities)):
            if municipality == envelope.sender_municipality:
                continue
            cause = delivery_cause(envelope.message_id.hex(), municipality)
            for address in await self.addresses(
                envelope.network_id, municipality, Audience.CONTACTS, at
            ):
                queued += await tx.add_notice(
                    NoticeRow(
                        key=f"{cause}/{address}",
                        cause=cause,
                        network_id=envelope.network_id,
                        municipality_id=municipality,
                        audience=str(Audience.CONTACTS),
                        address=address,
                        topic=str(Topic.NEW),
                        created_at=at,
                        next_attempt_at=at + smtp.new_message_delay_seconds,
                    )
                )
        return queued

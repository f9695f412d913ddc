"""What every local inbox agent is made of: a session and the receiving part, and the few
facts its pages' frame shows (hub.inbox.pages.common.PageCore). The contact person's agent
(hub.inbox.sync.AgentCore) adds the cases, sending and the outcome report; the county board's
(hub.inbox.board.BoardCore) adds only its outcome notes."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hub.inbox.handover import RESEND_ADVICE
from hub.inbox.receiving import Receiver
from hub.inbox.session import EVIDENCE_KEPT, Session

REGISTRY_SERIAL = "registry_serial"  # the cache's key for the highest serial verified
LOG_VIEW = "log_view"  # the directory log's view verified (hub/client/verified_log.py)
ACKNOWLEDGED = "evidence_acknowledged"  # the evidence notices the person has closed

if TYPE_CHECKING:
    from collections.abc import Callable

    from hub.client.api import HubClient
    from hub.client.verified_log import VerifiedLog
    from hub.crypto.directory import Directory
    from hub.crypto.keys import PrivateIdentity
    from hub.inbox.cache import InboxCache
    from hub.inbox.facts import Me


@dataclass
class AgentParts:
    hub_url: str
    network: str
    identity: PrivateIdentity
    admin_public: bytes
    cache: InboxCache
    clock: Callable[[], float] = time.time
    allow_insecure: bool = False
    previous: tuple[PrivateIdentity, ...] = ()  # hub.localagent.previous_keys: only to open
    version: int = 0  # grows with every change the pages show: live.js compares it
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    # One sync at a time: the live channel and a page may both ask for one, and an envelope
    # fetched twice at once would be refused the second time as a replay.
    _sync_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.session = Session(
            self.hub_url,
            self.network,
            self.identity,
            self.admin_public,
            self.clock,
            self.allow_insecure,
        )
        self.receiver = Receiver(self.identity, self.network, self.cache, self.clock, self.previous)
        self.session.prepare_log = self._prepare_log

    async def _prepare_log(self, log: VerifiedLog) -> None:
        """The view this inbox verified before (the highest serial, the directory log's
        checkpoint), from its cache, kept there as it grows: a hub that serves an older
        directory after a restart is refused as it is while running. For every inbox agent,
        the county board's too."""
        log.serial = max(log.serial, int(await self.cache.get_value(REGISTRY_SERIAL, "0") or "0"))
        kept = await self.cache.get_value(LOG_VIEW, "")
        if kept:
            log.restore(kept)
        log.keep = self._keep_log
        self.session.acknowledged |= set(json.loads(await self.cache.get_value(ACKNOWLEDGED, "[]")))

    async def acknowledge_notice(self, text: str) -> None:
        """The person closed an evidence notice or a handover gap's: it stays closed, also after
        a restart (the evidence itself stays kept in the cache and with the witnesses)."""
        if not text.endswith((EVIDENCE_KEPT, RESEND_ADVICE)):
            return
        self.session.acknowledged.add(text)
        await self.cache.set_value(ACKNOWLEDGED, json.dumps(sorted(self.session.acknowledged)))

    async def _keep_log(self, log: VerifiedLog) -> None:
        await self.cache.set_value(REGISTRY_SERIAL, str(log.serial))
        await self.cache.set_value(LOG_VIEW, log.to_json())

    @property
    def client(self) -> HubClient | None:
        return self.session.client

    @property
    def directory(self) -> Directory | None:
        return self.session.directory

    @property
    def me(self) -> Me | None:
        return self.session.me

    @property
    def municipality(self) -> str:
        return self.session.municipality

    @municipality.setter
    def municipality(self, value: str) -> None:
        self.session.municipality = value

    @property
    def online(self) -> bool:
        return self.session.online

    @online.setter
    def online(self, value: bool) -> None:
        self.session.online = value

    @property
    def names(self) -> dict[str, str]:
        return self.session.names

    @names.setter
    def names(self, value: dict[str, str]) -> None:
        self.session.names = value

    @property
    def notices(self) -> list[dict[str, str]]:
        return self.session.notices

    def name_of(self, municipality: str) -> str:
        return self.session.name_of(municipality)

    async def close(self) -> None:
        await self.session.close()

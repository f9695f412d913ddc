"""The inbox agent's core: one object that wires the parts and owns none of their logic.

- the session (hub.inbox.session): signed in, the verified directory, who we are;
- receiving (hub.inbox.receiving): fetch, verify, file by the signed header, receipts;
- the cases (hub.inbox.casebook): the hub's view within the verified facts, deadlines;
- sending (hub.inbox.sending, hub.inbox.outbox): seal here, send once through the outbox;
- the outcome report (hub.inbox.outcomes).

The pages call this object and never the hub. It trusts the hub for nothing it can check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

import aiohttp

from hub.client.api import RemoteError
from hub.errors import AuthorityError, HubError
from hub.inbox.casebook import Casebook, case_from_view, due_from_json, due_to_json
from hub.inbox.outcomes import FiledReport, Outcomes
from hub.inbox.receiving import OpenedAttachment, Receiver
from hub.inbox.sending import UNREADABLE_ATTACHMENT, Attachment, Sender, StoredFile
from hub.inbox.session import Session
from hub.protocol.deadlines import SwedishCalendar

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Sequence

    from hub.client.api import HubClient
    from hub.crypto.directory import Directory
    from hub.crypto.keys import PrivateIdentity
    from hub.inbox.cache import InboxCache
    from hub.inbox.facts import Me
    from hub.inbox.outbox import SendProgress
    from hub.protocol import wire
    from hub.protocol.deadlines import Due, NetworkDeadlines
    from hub.report.outcome import OutcomeReport

__all__ = [
    "UNREADABLE_ATTACHMENT",
    "AgentCore",
    "Attachment",
    "FiledReport",
    "OpenedAttachment",
    "StoredFile",
    "YearSoFar",
    "case_from_view",
    "due_from_json",
    "due_to_json",
]
log = logging.getLogger("hub.inbox")
REGISTRY_SERIAL = "registry_serial"  # the cache's key for the highest serial verified
_QUOTA_FAILURES = (
    aiohttp.ClientError,
    OSError,
    RemoteError,
    TimeoutError,
    LookupError,
    TypeError,
    ValueError,
)


@dataclass(frozen=True)
class YearSoFar:
    """Each member's quota for the year (None: no quota key or population) and the formal
    inquiries it has received in it, as the hub last said (GET /networks/{network}/quotas),
    and when it said so (the agent's clock, Unix seconds)."""

    year: int
    fetched_at: int
    figures: dict[str, tuple[int | None, int]]  # municipality id -> (quota, received)

    @classmethod
    def from_json(cls, body: dict[str, Any], fetched_at: int) -> YearSoFar:
        figures: dict[str, tuple[int | None, int]] = {}
        for m in body["municipalities"]:
            quota, received = m["quota"], m["received"]
            if not (quota is None or isinstance(quota, int)) or not isinstance(received, int):
                raise TypeError("quota and received are counts")
            figures[str(m["id"])] = (quota, received)
        return cls(int(body["year"]), fetched_at, figures)


@dataclass
class AgentCore:
    hub_url: str
    network: str
    identity: PrivateIdentity
    admin_public: bytes
    cache: InboxCache
    clock: Callable[[], float] = time.time
    allow_insecure: bool = False
    version: int = 0  # grows with every change the pages show: live.js compares it
    year_so_far: YearSoFar | None = None  # the members' quotas, as last fetched
    year_so_far_stale: bool = False  # the last fetch failed: year_so_far is older
    calendar: SwedishCalendar = field(default_factory=SwedishCalendar)
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
        self.receiver = Receiver(self.identity, self.network, self.cache, self.clock)
        self.casebook = Casebook(self.cache, self.calendar)
        self.sender = Sender(self.session, self.cache, self.identity, self.clock)
        self.outcomes = Outcomes(self.session, self.cache)

    # --- what the pages read (the session's, as it last learnt it) ------------------------

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
    def members(self) -> list[wire.Member]:
        return self.session.members

    @property
    def settings(self) -> dict[str, object]:
        return self.session.settings

    @property
    def deadline_rules(self) -> NetworkDeadlines:
        return self.session.deadline_rules

    @property
    def notices(self) -> list[dict[str, str]]:
        return self.session.notices

    @property
    def sending(self) -> SendProgress | None:
        return self.sender.sending

    def name_of(self, municipality: str) -> str:
        return self.session.name_of(municipality)

    # --- the connection -----------------------------------------------------------------

    async def connect(self) -> None:
        # The highest serial this inbox has verified, kept in its cache: a hub that serves an
        # older directory after a restart is refused as it is while running.
        stored = await self.cache.get_value(REGISTRY_SERIAL, "0")
        self.session.known_serial = max(self.session.known_serial, int(stored or "0"))
        self.session.remember_serial = self._remember_serial
        await self.session.connect()

    async def _remember_serial(self, serial: int) -> None:
        await self.cache.set_value(REGISTRY_SERIAL, str(serial))

    async def close(self) -> None:
        await self.session.close()

    async def refresh_members(self) -> None:
        """The members as the administrator signed them, fetched and verified again; offline,
        the list as last verified."""
        with contextlib.suppress(aiohttp.ClientError, OSError, RemoteError, TimeoutError):
            await self.session.hub()
            await self.session.refresh_members()

    # --- receiving ----------------------------------------------------------------------

    async def sync(self) -> int:
        """Fetch what is new in both boxes and every case; returns how many envelopes arrived."""
        async with self._sync_lock:
            return await self._sync()

    async def _sync(self) -> int:
        client = await self.session.hub()
        directory = await self.session.refresh_directory()
        new = await self.receiver.take_new(client, directory, self.municipality)
        self.version += new
        self.casebook.rules = self.deadline_rules
        for view in await client.cases():
            try:
                await self._store_case(view)
            except (KeyError, TypeError, ValueError, HubError) as exc:
                # A case view the lifecycle cannot read is the hub's problem, not a reason
                # to stop.
                log.warning("case view refused: %s", type(exc).__name__)
        await self._fetch_year_so_far(client)
        self.changed.set()
        return new

    async def _store_case(self, view: wire.CaseView) -> None:
        self.casebook.rules = self.deadline_rules
        if await self.casebook.store(view, me=self.municipality):
            self.version += 1

    async def _fetch_year_so_far(self, client: HubClient) -> None:
        """The members' quotas and received inquiries this year, for Ny förfrågan. A figure the
        hub does not give now is no reason to fail a sync: the last one stays, marked stale."""
        try:
            self.year_so_far = YearSoFar.from_json(await client.quotas(), int(self.clock()))
            self.year_so_far_stale = False
        except _QUOTA_FAILURES as exc:
            log.info("quotas not fetched: %s", type(exc).__name__)
            self.year_so_far_stale = True

    async def mark_read(self, case_id: bytes) -> None:
        await self.receiver.mark_read(await self.session.hub(), case_id)

    async def refresh_receipts(self, case_id: bytes) -> None:
        client = await self.session.hub()
        directory = self.directory
        assert directory is not None  # noqa: S101 - hub() signs in, which loads it
        await self.receiver.refresh_receipts(client, directory, case_id)

    @contextlib.asynccontextmanager
    async def open_attachment(
        self, message_id: bytes, index: int
    ) -> AsyncIterator[OpenedAttachment]:
        assert self.directory is not None  # noqa: S101 - signed in before any page
        async with self.receiver.open_attachment(self.directory, message_id, index) as opened:
            yield opened

    def dues_of(self, view: dict[str, Any]) -> list[Due]:
        self.casebook.rules = self.deadline_rules
        return self.casebook.dues_of(view, me=self.municipality)

    def next_due(self, view: dict[str, Any]) -> Due | None:
        """The nearest running deadline of this case that concerns our municipality."""
        dues = self.dues_of(view)
        return dues[0] if dues else None

    # --- sending: queued at once, then flushed --------------------------------------------

    async def store_attachment(self, name: str, media_type: str, source: IO[bytes]) -> StoredFile:
        return await self.sender.store_attachment(name, media_type, source)

    async def send_inquiry(
        self,
        document: dict[str, Any],
        attachments: Sequence[Attachment | StoredFile],
        municipalities: list[str],
    ) -> bytes:
        case_id = await self.sender.inquiry(document, attachments, municipalities)
        await self.flush_outbox()
        return case_id

    async def answer(  # noqa: PLR0913 - each is part of the one action
        self,
        case_id: bytes,
        event: str,
        *,
        target: str,
        document: dict[str, Any] | None,
        details: dict[str, Any] | None = None,
        attachments: Sequence[Attachment | StoredFile] = (),
    ) -> None:
        await self.sender.answer(
            case_id,
            event,
            target=target,
            document=document,
            details=details,
            attachments=attachments,
        )
        await self.flush_outbox()

    async def send_message(
        self,
        case_id: bytes,
        target: str,
        document: dict[str, Any],
        attachments: Sequence[Attachment | StoredFile],
    ) -> None:
        await self.sender.message(case_id, target, document, attachments)
        await self.flush_outbox()

    async def close_not_moved(self, case_id: bytes) -> None:
        await self.sender.close_not_moved(case_id)
        await self.flush_outbox()

    def county_board(self) -> str | None:
        return self.sender.county_board()

    async def send_outcome_note(self, case_id: bytes, text: str) -> bool:
        queued = await self.sender.outcome_note(case_id, text)
        if queued:
            await self.flush_outbox()
        return queued

    async def flush_outbox(self) -> None:
        """Send what waits (hub.inbox.sending), then fetch what the hub now has."""
        await self.sender.flush()
        with contextlib.suppress(aiohttp.ClientError, OSError, RemoteError, TimeoutError):
            await self.sync()

    # --- the outcome report -------------------------------------------------------------

    async def file_outcome_report(self, case_id: bytes, report: OutcomeReport) -> FiledReport:
        """hub.inbox.outcomes.Outcomes.file; the agent is offline when the hub is not there."""
        try:
            filed = await self.outcomes.file(case_id, report)
        except (aiohttp.ClientError, OSError, TimeoutError):
            self.online = False
            self.changed.set()
            raise
        self.version += 1
        return filed

    async def outcome_report(self, case_id: bytes) -> FiledReport | None:
        return await self.outcomes.stored(case_id)

    async def fetch_outcome_report(self, case_id: bytes) -> FiledReport | None:
        return await self.outcomes.fetch(case_id)

    @property
    def outcome_free_text(self) -> bool:
        return self.outcomes.free_text()

    # --- live ---------------------------------------------------------------------------

    async def follow(self, stop: asyncio.Event) -> None:
        """Hold the hub's live channel; on any notice, sync. Reconnect with back-off."""
        delay = 1.0
        while not stop.is_set():
            try:
                client = await self.session.hub()
                await self.flush_outbox()
                async with client.live() as ws:
                    delay = 1.0
                    async for _message in ws:
                        await self.sync()
                        if stop.is_set():
                            break
            except AuthorityError as exc:  # the hub says we are someone else: stop here
                log.warning("hub refused as untrustworthy: %s", exc.code)
                self.online = False
                self.notices.append({"level": "warning", "text": exc.message})
                self.changed.set()
                return
            except (aiohttp.ClientError, OSError, RemoteError, TimeoutError) as exc:
                log.info("hub unreachable: %s", type(exc).__name__)
                self.online = False
                self.changed.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(delay * 2, 60.0)

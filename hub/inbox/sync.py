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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp

from hub.client.api import RemoteError
from hub.errors import AuthorityError, HubError
from hub.inbox import watch
from hub.inbox.casebook import (
    Casebook,
    case_from_view,
    due_from_json,
    due_to_json,
    hub_fingerprint,
)
from hub.inbox.handover import RESEND_ADVICE, Handover, gap_notices, handed_to
from hub.inbox.inbox_retention import due_for_removal, retention_days
from hub.inbox.outcomes import FiledReport, Outcomes
from hub.inbox.parts import AgentParts
from hub.inbox.receiving import OpenedAttachment
from hub.inbox.sending import UNREADABLE_ATTACHMENT, Attachment, Sender, StoredFile
from hub.protocol.deadlines import SwedishCalendar

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from hub.client.api import HubClient
    from hub.crypto.directory import Directory
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
KEEP_LESS_EVERY = 3600  # seconds between the inbox's retention passes
_QUOTA_FAILURES = (aiohttp.ClientError, OSError, RemoteError, TimeoutError)


@dataclass(frozen=True)
class YearSoFar:
    """Each member's quota for the year (None: no quota key or population) and the formal
    inquiries it has received in it, as the hub last said (GET /networks/{network}/quotas),
    and when it said so (the agent's clock, Unix seconds)."""

    year: int
    fetched_at: int
    figures: dict[str, tuple[int | None, int]]  # municipality id -> (quota, received)

    @classmethod
    def from_wire(cls, quotas: wire.Quotas, fetched_at: int) -> YearSoFar:
        figures = {m.id: (m.quota, m.received) for m in quotas.municipalities}
        return cls(quotas.year, fetched_at, figures)


@dataclass
class AgentCore(AgentParts):
    year_so_far: YearSoFar | None = None  # the members' quotas, as last fetched
    year_so_far_stale: bool = False  # the last fetch failed: year_so_far is older
    calendar: SwedishCalendar = field(default_factory=SwedishCalendar)
    kept_less_at: float | None = None  # the agent's clock at the last retention pass

    def __post_init__(self) -> None:
        super().__post_init__()
        self.casebook = Casebook(self.cache, self.calendar)
        self.sender = Sender(
            self.session, self.cache, self.identity, self.clock, after_queue=self.flush_outbox
        )
        self.outcomes = Outcomes(self.session, self.cache)
        self.handover = Handover(
            self.cache, self.identity, self.clock, key_for=self.receiver.key_for
        )
        # What a person sends is the sending part's; it flushes the outbox once queued.
        self.send_inquiry = self.sender.inquiry
        self.answer = self.sender.answer
        self.send_message = self.sender.message
        self.close_not_moved = self.sender.close_not_moved
        self.send_outcome_note = self.sender.outcome_note
        self.store_attachment = self.sender.store_attachment
        self.county_board = self.sender.county_board

    # --- what the pages read (the session's, as it last learnt it) ------------------------

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
    def sending(self) -> SendProgress | None:
        return self.sender.sending

    # --- the connection -----------------------------------------------------------------

    async def connect(self) -> None:
        # The view verified before is restored from the cache at the first load (AgentParts).
        await self.session.connect()
        await self.watch_own_municipality()

    async def watch_own_municipality(self) -> None:
        """The notices of keys added to or revoked from our own municipality that no one here
        has acknowledged, from the directory this inbox verified (hub/inbox/watch.py)."""
        registry = self.session.registry
        if registry is None or not self.municipality:
            return
        changes = await watch.unacknowledged(
            self.cache, registry, self.municipality, self.identity.key_id
        )
        notices = self.session.notices
        notices[:] = [n for n in notices if not n["text"].endswith(watch.SEE_KEYS)]
        notices.extend(watch.as_notices(changes))

    async def _note_handover_gaps(self) -> None:
        """What could not be handed over, as standing notices until closed (hub.inbox.handover);
        one the person closed stays closed."""
        notices = self.session.notices
        notices[:] = [n for n in notices if not n["text"].endswith(RESEND_ADVICE)]
        notices.extend(
            n
            for n in gap_notices(
                await self.handover.not_handed(),
                await self.handover.not_received(),
                name_of=self.name_of,
                day_of=lambda at: self.calendar.local_date(at).isoformat(),
            )
            if n["text"] not in self.session.acknowledged
        )

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
        await self.watch_own_municipality()
        new = await self.receiver.take_new(client, directory, self.municipality)
        registry = self.session.registry
        new += await self.handover.take_handed(
            client,
            self.receiver,
            directory,
            self.municipality,
            across=registry is not None
            and handed_to(registry, self.municipality, self.identity.key_id),
        )
        self.version += new
        self.casebook.rules = self.deadline_rules
        for view in await client.cases():
            try:
                await self._store_case(client, directory, view)
            except (KeyError, TypeError, ValueError, HubError, RemoteError) as exc:
                # A case the hub cannot back with steps, or that the lifecycle cannot read, is
                # the hub's problem, not a reason to stop.
                log.warning("case refused: %s", type(exc).__name__)
        await self._fetch_year_so_far(client)
        queued = await self.handover.hand_over(self.sender, directory, self.municipality)
        if registry is not None:
            queued += await self.handover.hand_over_across(self.sender, registry, self.municipality)
        if queued:
            await self.sender.flush()  # the REWRAPs queued: on their way now, not at a later flush
        await self._note_handover_gaps()
        # Retention counts in days: a pass an hour, not one at every live notice (each reads
        # every kept case).
        now = self.clock()
        if self.kept_less_at is None or now - self.kept_less_at >= KEEP_LESS_EVERY:
            self.kept_less_at = now
            await self.keep_less()
        self.changed.set()
        return new

    async def keep_less(self) -> int:
        """Remove the decrypted copy of every case that ended for us longer ago than the
        network's inbox retention (hub.inbox.inbox_retention); a case with something still in
        the outbox stays. The number removed."""
        days = retention_days(self.session.settings)
        now = int(self.clock())
        waiting = await self.cache.cases_waiting()
        removed = 0
        kept = [
            *await self.cache.list_cases("closed", limit=100_000),
            *await self.cache.list_cases("inbox", limit=100_000),  # a sender's case with
        ]  # every request ended has no outcome yet, and still ended for us
        for view in kept:
            if view["case_id"] in waiting:
                continue
            if due_for_removal(view, me=self.municipality, days=days, now=now):
                await self.cache.remove_case(bytes.fromhex(view["case_id"]))
                removed += 1
        if removed:
            self.version += 1
            log.info("removed %d ended cases from this inbox", removed)
        return removed

    async def refresh_case(self, case_id: bytes) -> None:
        """This case's signed steps fetched again, whatever the hub's view says (a page found
        this inbox's copy out of date)."""
        client = await self.session.hub()
        directory = await self.session.refresh_directory()
        await self._store_case(client, directory, await client.case(case_id), force=True)
        self.changed.set()

    async def _store_case(
        self, client: HubClient, directory: Directory, view: wire.CaseView, *, force: bool = False
    ) -> None:
        """The case from its signed steps, fetched again when the hub's view of it changed
        (its word serves only as the cue); then the steps our own inbox takes by itself."""
        case_id = bytes.fromhex(view.case_id)
        kept = await self.cache.get_case(case_id)
        if not force and kept is not None and kept.get("hub_view") == hub_fingerprint(view):
            return  # the hub's view is as it was: nothing to fetch
        self.casebook.rules = self.deadline_rules
        relayed = await client.case_steps(case_id)
        if await self.casebook.store(view, relayed, directory, me=self.municipality):
            self.version += 1
        stored = await self.cache.get_case(case_id)
        if stored is None:
            return
        if await self.sender.stepper.take_own_steps(client, case_id, stored, directory):
            # The hub's view as it is now, with our step: the one fetched before it would
            # disagree with the chain, and a disagreement is kept for good.
            view = await client.case(case_id)
            relayed = await client.case_steps(case_id)
            await self.casebook.store(view, relayed, directory, me=self.municipality)
            self.version += 1

    async def _fetch_year_so_far(self, client: HubClient) -> None:
        """The members' quotas and received inquiries this year, for Ny förfrågan. A figure the
        hub does not give now is no reason to fail a sync: the last one stays, marked stale."""
        try:
            self.year_so_far = YearSoFar.from_wire(await client.quotas(), int(self.clock()))
            self.year_so_far_stale = False
        except _QUOTA_FAILURES as exc:
            log.info("quotas not fetched: %s", type(exc).__name__)
            self.year_so_far_stale = True

    async def mark_read(self, case_id: bytes) -> None:
        """A person opened the case: read receipts for its messages, and for an inquiry we
        were asked, the signed read_receipt step."""
        client = await self.session.hub()
        await self.receiver.mark_read(client, case_id)
        kept = await self.cache.get_case(case_id)
        if kept is None:
            return
        # The directory the last sync verified: opening a page fetches no registry.
        directory = self.session.directory or await self.session.refresh_directory()
        if await self.sender.stepper.take_own_steps(client, case_id, kept, directory):
            await self._store_case(client, directory, await client.case(case_id))

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

    # --- sending: queued by the sending part (aliases set above), then flushed -----------

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

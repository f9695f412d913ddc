"""The session: the agent's signed-in connection to the hub and what it learnt there.

Who the agent speaks for comes from its own key's entry in the directory verified with the
administrator's pinned key (hub.inbox.facts.who_am_i), never from the hub's sign-in answer.
The members' names, their kommunmallar and the network's settings come from the registry the
administrator signed (hub.crypto.registry), loaded with the directory as one sequence that is
never older than the one verified before; the hub's member list and settings answer are not
read. Until the administrator has signed settings, the national defaults count, and the pages
say so.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from hub.client.api import HubClient, signed_members
from hub.client.verified_log import VerifiedLog
from hub.crypto.transparency import ConflictError
from hub.errors import MESSAGES
from hub.inbox.facts import Me, who_am_i
from hub.protocol.deadlines import NATIONAL, NetworkDeadlines

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from aiohttp import web

    from hub.crypto.directory import Directory
    from hub.crypto.keys import PrivateIdentity
    from hub.crypto.registry import Registry, SettingsRecord
    from hub.protocol import wire

EVIDENCE_KEPT = (
    "Bevisen, två kontrollpunkter som båda är signerade med nätverksnyckeln, är sparade i "
    "inkorgen och skickade till nätverkets kontrollanter."
)
WITNESSES_CHANGED = (
    "Länsstyrelsen har signerat nya kontrollanter för katalogen, och de tidigare har bekräftat "
    "ändringen. Kontrollanterna är nu:"
)
SESSION_MARGIN = 60  # seconds: sign in again rather than let a request meet an expired session
UNSIGNED_NAMES = (
    "Länsstyrelsen har ännu inte signerat namnen på alla kommuner i nätverket. Där ett namn "
    "saknas visas kommunens id, till exempel kommun-b: hubbens egen uppgift om namnet används "
    "inte."
)
UNSIGNED_SETTINGS = (
    "Nätverkets inställningar är ännu inte signerade av länsstyrelsen. Inkorgen räknar med de "
    "nationella tidsfristerna (14 dagar att svara på en förfrågan och på ett erbjudande)."
)


@dataclass
class Session:
    hub_url: str
    network: str
    identity: PrivateIdentity
    admin_public: bytes
    clock: Callable[[], float] = time.time
    allow_insecure: bool = False
    client: HubClient | None = None
    directory: Directory | None = None
    registry: Registry | None = None  # the whole verified sequence, directory included
    # The view of the directory log verified so far (hub/client/verified_log.py): an older
    # one, a fork or a record missing from the log is refused. The owner (the inbox's cache)
    # restores it before connecting and keeps it as it grows.
    log: VerifiedLog | None = None
    # Restores what the owner kept of `log` and tells it how to keep it (AgentParts, from the
    # inbox's cache); called once, before the first load.
    prepare_log: Callable[[VerifiedLog], Awaitable[None]] | None = None
    me: Me | None = None  # from our key's signed directory entry
    municipality: str = ""  # me.municipality once signed in
    online: bool = False
    names: dict[str, str] = field(default_factory=dict)  # municipality id -> its signed name
    members: list[wire.Member] = field(default_factory=list)  # the signed members
    settings: dict[str, object] = field(default_factory=dict)  # the signed settings ({}: none)
    deadline_rules: NetworkDeadlines = NATIONAL
    with_settings: bool = True  # learn the settings too (the county board's agent does not)
    notices: list[dict[str, str]] = field(default_factory=list)  # for the pages' banners
    # Evidence notices the person has closed (their texts): the evidence itself stays kept.
    acknowledged: set[str] = field(default_factory=set)

    async def connect(self, *, with_settings: bool = True) -> None:
        """Sign in, verify the directory, learn who we are, the members and (unless told
        otherwise) the network's deadlines; marks the session online."""
        self.with_settings = with_settings
        await self.sign_in()
        self.online = True

    def _learn_settings(self) -> None:
        """The deadline rules from the signed settings record, or the national ones, said so."""
        record = None if self.registry is None else self.registry.settings
        unsigned = {"level": "warning", "text": UNSIGNED_SETTINGS}
        if record is None:
            self.settings = {}
            self.deadline_rules = NATIONAL
            if unsigned not in self.notices:
                self.notices.append(unsigned)
            return
        if unsigned in self.notices:
            self.notices.remove(unsigned)
        self.settings = {
            **record.deadline_settings(),
            "quota_key": _bands(record),
            "outcome_free_text": record.outcome_free_text,
            "case_retention_days": record.case_retention_days,
            "inbox_retention_days": record.inbox_retention_days,
        }
        # The record's ranges are the rules' ranges (tests/test_registry.py), so this holds.
        self.deadline_rules = NetworkDeadlines.from_settings(record.deadline_settings())

    async def sign_in(self) -> None:
        """Sign in, verify the directory and learn who we are and the members (their names).
        AuthorityError identity_mismatch when the hub names us otherwise than our entry."""
        if self.client is None:
            self.client = HubClient(self.hub_url, self.network, allow_insecure=self.allow_insecure)
        signed_in = await self.client.sign_in(self.identity)
        await self._load_registry(self.client)
        assert self.directory is not None  # noqa: S101 - _load_registry sets it
        # A hub that named another municipality would have us seal to its keys as colleagues'.
        self.me = who_am_i(
            self.directory,
            self.identity,
            int(self.clock()),
            hub_says=(signed_in.municipality, signed_in.role),
        )
        self.municipality = self.me.municipality

    async def refresh_members(self) -> None:
        """The members and their kommunmallar again, from the verified registry."""
        assert self.client is not None  # noqa: S101 - signed in first
        await self._load_registry(self.client)

    async def _load_registry(self, client: HubClient) -> Registry:
        """The sequence verified against the pinned key and never older than the last one;
        the directory, the members' names and kommunmallar, and the settings follow from it."""
        log = self.verified_log
        if self.prepare_log is not None:
            prepare, self.prepare_log = self.prepare_log, None
            await prepare(log)
        before = (log.view is not None, log.policy.witnesses)
        try:
            registry = await log.load(client, int(self.clock()))
        except ConflictError:
            self._show_evidence()
            raise
        self._show_evidence()
        if before[0] and log.policy.witnesses != before[1]:  # every client shows the change
            names = ", ".join(w.name for w in log.policy.witnesses) or "inga"
            self.notices.append({"level": "info", "text": f"{WITNESSES_CHANGED} {names}."})
        self.registry = registry
        self.directory = registry.directory
        self.members = signed_members(registry)
        self.names = {m.id: m.name for m in self.members}
        self._say_unsigned_names()
        if (
            self.online
            or self.settings
            or any(n["text"] == UNSIGNED_SETTINGS for n in self.notices)
        ):
            self._learn_settings()
        return registry

    def _say_unsigned_names(self) -> None:
        """A notice while a municipality with keys has no signed name: the pages show its id."""
        notice = {"level": "info", "text": UNSIGNED_NAMES}
        assert self.directory is not None  # noqa: S101 - set with the registry
        unnamed = self.directory.municipalities() - set(self.names)
        if unnamed and notice not in self.notices:
            self.notices.append(notice)
        elif not unnamed and notice in self.notices:
            self.notices.remove(notice)

    def _show_evidence(self) -> None:
        """Each conflict this inbox has caught, kept in its cache, stays a notice on every page."""
        for evidence in self.verified_log.evidence:
            notice = {"level": "warning", "text": f"{MESSAGES[evidence.code]} {EVIDENCE_KEPT}"}
            if notice not in self.notices and notice["text"] not in self.acknowledged:
                self.notices.append(notice)

    @property
    def verified_log(self) -> VerifiedLog:
        if self.log is None:
            self.log = VerifiedLog(self.admin_public, self.network)
        return self.log

    @property
    def known_serial(self) -> int:
        """The highest serial verified: a shorter sequence is refused."""
        return self.verified_log.serial

    def require_fresh(self) -> None:
        """Before sealing anything with content: LogError checkpoint_stale when no quorum of
        the network's witnesses has cosigned the directory within its limit, for a withheld
        revocation would otherwise go unnoticed (docs/protocol.md §12.4 check 12)."""
        self.verified_log.require_fresh(int(self.clock()))

    async def hub(self) -> HubClient:
        """The signed-in client, connecting or signing in again as needed."""
        if self.client is None or self.client.signed_in is None or not self.online:
            await self.connect()
        assert self.client is not None  # noqa: S101 - connect() sets it
        signed_in = self.client.signed_in
        if signed_in and signed_in.expires_at - self.clock() < SESSION_MARGIN:
            await self.client.sign_in(self.identity)
        return self.client

    async def refresh_directory(self) -> Directory:
        """The directory fetched and verified again (keys change: enrolments, revocations)."""
        client = await self.hub()
        await self._load_registry(client)
        assert self.directory is not None  # noqa: S101 - _load_registry sets it
        return self.directory

    def name_of(self, municipality: str) -> str:
        return self.names.get(municipality, municipality)

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()


class Follows(Protocol):
    """An agent that follows the hub while its pages are served (AgentCore, BoardCore)."""

    async def follow(self, stop: asyncio.Event) -> None: ...
    async def close(self) -> None: ...


def following(core: Follows) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context for the pages' app: the agent follows the hub while they are served,
    and stops and signs off with them."""

    async def follow(_app: web.Application) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(core.follow(stop))
        yield
        stop.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await core.close()

    return follow


def _bands(record: SettingsRecord) -> list[list[int]] | None:
    """The quota key as the hub's settings hold it: [[from population, cases], ...] or None."""
    return None if record.quota_key is None else [list(band) for band in record.quota_key]

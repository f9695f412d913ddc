"""The session: the agent's signed-in connection to the hub and what it learnt there.

Who the agent speaks for comes from its own key's entry in the directory verified with the
administrator's pinned key (hub.inbox.facts.who_am_i), never from the hub's sign-in answer.
The members' names and the network's settings are still the hub's word (hub.protocol.wire);
a later issue signs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from hub.client.api import HubClient
from hub.inbox.facts import Me, who_am_i
from hub.protocol.deadlines import NATIONAL, NetworkDeadlines

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from aiohttp import web

    from hub.crypto.directory import Directory
    from hub.crypto.keys import PrivateIdentity
    from hub.protocol import wire

SESSION_MARGIN = 60  # seconds: sign in again rather than let a request meet an expired session


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
    me: Me | None = None  # from our key's signed directory entry
    municipality: str = ""  # me.municipality once signed in
    online: bool = False
    names: dict[str, str] = field(default_factory=dict)  # municipality id -> name (the hub's)
    members: list[wire.Member] = field(default_factory=list)  # the hub's list, last fetched
    settings: dict[str, object] = field(default_factory=dict)  # the network's, last fetched
    deadline_rules: NetworkDeadlines = NATIONAL
    notices: list[dict[str, str]] = field(default_factory=list)  # for the pages' banners

    async def connect(self, *, with_settings: bool = True) -> None:
        """Sign in, verify the directory, learn who we are, the members and (unless told
        otherwise) the network's deadlines; marks the session online."""
        await self.sign_in()
        if with_settings:
            assert self.client is not None  # noqa: S101 - sign_in sets it
            settings = (await self.client.network_info()).settings
            self.settings = settings
            try:
                self.deadline_rules = NetworkDeadlines.from_settings(settings)
            except ValueError as exc:  # keep the national defaults, and say so
                text = f"Nätverkets tidsfrister: {exc}"
                self.notices.append({"level": "warning", "text": text})
        self.online = True

    async def sign_in(self) -> None:
        """Sign in, verify the directory and learn who we are and the members (their names).
        AuthorityError identity_mismatch when the hub names us otherwise than our entry."""
        if self.client is None:
            self.client = HubClient(self.hub_url, self.network, allow_insecure=self.allow_insecure)
        signed_in = await self.client.sign_in(self.identity)
        self.directory = await self.client.directory(self.admin_public)
        # A hub that named another municipality would have us seal to its keys as colleagues'.
        self.me = who_am_i(
            self.directory,
            self.identity,
            int(self.clock()),
            hub_says=(signed_in.municipality, signed_in.role),
        )
        self.municipality = self.me.municipality
        await self.refresh_members()

    async def refresh_members(self) -> None:
        assert self.client is not None  # noqa: S101 - signed in first
        self.members = await self.client.municipalities()
        self.names = {m.id: m.name for m in self.members}

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
        self.directory = await client.directory(self.admin_public)
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

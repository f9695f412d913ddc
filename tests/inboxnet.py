"""Real local inbox agents (one per contact person) against a real hub: for the inbox tests."""

from __future__ import annotations

import html
import re
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from hub.crypto import keyfile
from hub.crypto.keys import dumps_public_signing_key
from hub.inbox.agent import CACHE_PURPOSE, InboxConfig, init_inbox, keeper_for
from hub.inbox.board import BoardCore, init_board
from hub.inbox.cache import InboxCache
from hub.inbox.sync import AgentCore
from hub.localagent import lock, security
from tests.hubnet import NETWORK, free_port

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

    from hub.crypto.keys import PrivateIdentity
    from tests.hubnet import HubNet


@dataclass
class Agent:
    person: str
    url: str
    auth: security.LocalAuth
    core: AgentCore
    session: aiohttp.ClientSession  # a browser-like client: keeps the session cookie

    async def login(self) -> None:
        async with self.session.get(self.auth.launch_url, allow_redirects=False) as r:
            assert r.status == 303

    async def page(self, path: str) -> tuple[int, str]:
        async with self.session.get(self.url + path) as r:
            return r.status, await r.text()

    async def post(self, path: str, data: dict[str, object] | aiohttp.FormData) -> tuple[int, str]:
        if isinstance(data, dict):
            form = aiohttp.FormData()
            for key, value in data.items():
                for item in value if isinstance(value, list) else [value]:
                    form.add_field(key, str(item))
            data = form
        data.add_field("csrf", self.auth.sessions[next(iter(self.auth.sessions))])
        async with self.session.post(self.url + path, data=data, headers={"Origin": self.url}) as r:
            return r.status, await r.text()


@asynccontextmanager
async def running_agent(
    net: HubNet,
    person: str,
    tmp_path: Path,
    *,
    max_attachment_mb: int | None = None,
    board: bool = False,
    previous: tuple[PrivateIdentity, ...] = (),
) -> AsyncIterator[Agent]:
    """`person`'s agent on a free port; `max_attachment_mb` lowers the attachment limit;
    `board`: a county board's agent (hub.inbox.board), as `hub inbox` starts for its key;
    `previous`: earlier keys of the person's, only to open (hub.localagent.previous_keys)."""
    identity = net.people[person]
    cache = await InboxCache.open(tmp_path / f"cache-{person}", identity.local_key(CACHE_PURPOSE))
    extra = {"previous": previous} if previous else {}
    core = (BoardCore if board else AgentCore)(
        net.url, NETWORK, identity, net.admin.public, cache, clock=net.clock, **extra
    )
    await core.connect()
    await core.sync()
    limit = {} if max_attachment_mb is None else {"max_attachment_mb": max_attachment_mb}

    def app_for(auth: security.LocalAuth) -> web.Application:
        if isinstance(core, BoardCore):
            return init_board(core, auth)
        return init_inbox(core, auth, **limit)

    try:
        async with serving(person, core, app_for) as agent:
            yield agent
    finally:
        await cache.close()


@asynccontextmanager
async def serving(
    person: str, core: Any, app_for: Callable[[security.LocalAuth], web.Application]
) -> AsyncIterator[Agent]:
    """`app_for(auth)` served on a free loopback port, with a browser-like session for it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    auth = security.LocalAuth(url)
    runner = web.AppRunner(app_for(auth))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    async with AsyncExitStack() as stack:
        session = await stack.enter_async_context(
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        )
        try:
            yield Agent(person, url, auth, core, session)
        finally:
            await runner.cleanup()


PASSPHRASE = "korrekt häst batteri häftstift"
FAST_KDF = {"opslimit": 1, "memlimit": 8192}  # Argon2id's minimum: a fast test


def write_keys(net: HubNet, person: str, folder: Path) -> Path:
    """`person`'s key folder as `hub enrol` leaves it: the key file under PASSPHRASE and the
    administrator's pinned key."""
    folder.mkdir()
    keyfile.write_keyfile(folder / "identity.key", net.people[person], PASSPHRASE, **FAST_KDF)
    (folder / "network.pub").write_text(dumps_public_signing_key(net.admin.public))
    return folder


@dataclass
class Locked:
    url: str
    auth: security.LocalAuth
    keeper: lock.Keeper[Any]


@asynccontextmanager
async def locked_agent(net: HubNet, person: str, tmp_path: Path) -> AsyncIterator[Locked]:
    """`person`'s inbox as `hub inbox` starts it: locked, the key file on disk, on a free
    port; nobody has opened its one-time link yet."""
    keys = write_keys(net, person, tmp_path / f"keys-{person}")
    config = InboxConfig(net.url, NETWORK, keys)
    keeper = keeper_for(config, net.admin.public)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    auth = security.LocalAuth(url)
    runner = web.AppRunner(init_inbox(keeper, auth))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield Locked(url, auth, keeper)
    finally:
        await runner.cleanup()


def page_text(page: str) -> str:
    """A page's words as a person reads them: tags out, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())

"""Real follow-up agents (`hub uppfoljning`) against a real hub, for the follow-up tests: the
coordinator, the county administrator (who=None: the network key) or anyone else's key."""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

from hub.client.api import HubClient
from hub.followup.agent import FollowupCore, init_followup, local_auth
from hub.protocol.enrolment import invite_code_hash, new_invite_code
from tests.hubnet import NETWORK, free_port

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from multidict import CIMultiDictProxy

    from hub.crypto.keys import PrivateIdentity
    from hub.localagent import security
    from tests.hubnet import HubNet


@dataclass
class FollowupAgent:
    url: str
    auth: security.LocalAuth
    core: FollowupCore
    session: aiohttp.ClientSession  # a browser-like client: keeps the session cookie

    async def login(self) -> None:
        async with self.session.get(self.auth.launch_url, allow_redirects=False) as r:
            assert r.status == 303

    async def get(self, path: str) -> tuple[int, CIMultiDictProxy[str], bytes]:
        async with self.session.get(self.url + path, allow_redirects=False) as r:
            return r.status, r.headers, await r.read()

    async def page(self, path: str) -> tuple[int, str]:
        status, _, body = await self.get(path)
        return status, body.decode()


@asynccontextmanager
async def running_followup(net: HubNet, who: str | None) -> AsyncIterator[FollowupAgent]:
    """The agent of `who` (a person in the net), or of the county administrator when None."""
    key = net.admin if who is None else net.people[who]
    client = HubClient(net.url, NETWORK)
    core = FollowupCore(client, key, net.admin.public, clock=net.clock)
    await core.connect()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    auth = local_auth(url)
    runner = web.AppRunner(init_followup(core, auth))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        yield FollowupAgent(url, auth, core, session)
    finally:
        await session.close()
        await runner.cleanup()
        await core.close()


async def pending_enrolment(net: HubNet, person: str, municipality: str) -> PrivateIdentity:
    """A person who enrolled with an invite and waits for the administrator's approval."""
    from hub.crypto.keys import PrivateIdentity  # noqa: PLC0415
    from tests.vectors._rng import SeededRng  # noqa: PLC0415

    code = new_invite_code()
    await (await net.client()).create_invite(
        invite_code_hash(code),
        municipality=municipality,
        person=person,
        role="contact_person",
        expires_at=int(net.clock.now) + 14 * 86_400,
    )
    identity = PrivateIdentity.generate(SeededRng(f"followupnet/{person}"))
    async with HubClient(net.url, NETWORK) as client:
        await client.enrol(code, identity)
    return identity


async def follow_up_network(net: HubNet) -> None:
    """The follow-up's people on top of tests.hubnet's: a coordinator (signe), a key that runs
    out within 30 days (dora), a revoked one (britta), a pending enrolment (erik)."""
    await net.enrol("signe", "lansstyrelsen", role="coordinator")
    await net.enrol("dora", "kommun-c", not_after=int(net.clock.now) + 10 * 86_400)
    net.active.add("dora")
    await net.revoke("britta", at=int(net.clock.now) - 3_600)
    net.active.discard("britta")
    await pending_enrolment(net, "erik", "kommun-a")

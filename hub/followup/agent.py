"""`hub uppfoljning`: the coordinator's and the county administrator's local follow-up agent.

It signs in to the hub with the person's own key (a coordinator's identity key, or the county
administrator's network key), and serves the follow-up pages on 127.0.0.1 only, to this
person's own browser, behind the inbox's guard (hub/inbox/security.py: one-time launch token,
Host and origin checks, CSRF, strict CSP). The hub hands out suppressed aggregates only; the
annual PDF is rendered here and written nowhere but into the response.
"""

from __future__ import annotations

import asyncio
import time
import webbrowser
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

import jinja2
from aiohttp import web

from hub.client.api import HubClient, RemoteError
from hub.followup import views
from hub.inbox import security
from hub.report.export import report_csv
from hub.report.wire import report_from_json

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from hub.crypto.directory import Directory
    from hub.crypto.keys import PrivateIdentity, SigningKey
    from hub.report.export import Report

STATIC = Path(__file__).with_name("static")
COORDINATOR: Final = "coordinator"
ADMIN: Final = "county_admin"
ALLOWED_ROLES: Final = frozenset({COORDINATOR, "county_board", ADMIN})  # as the hub's READERS
REPORT_SECONDS: Final = 60  # a year's report is fetched again after this long
T = TypeVar("T")


@dataclass(frozen=True)
class FollowupConfig:
    hub_url: str
    network: str
    port: int = 0  # 0: a free port
    allow_insecure: bool = False


@dataclass
class FollowupCore:
    """The agent's one connection to the hub, signed in with the person's key. `role` is what
    the hub said the key is; pages check it, and the hub checks it again on every call."""

    client: HubClient
    key: PrivateIdentity | SigningKey
    admin_public: bytes  # the network key pinned on this machine: the directory is verified
    clock: Callable[[], float] = time.time
    role: str = ""
    network_name: str = ""
    _reports: dict[int, tuple[float, Report]] = field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        return self.role in ALLOWED_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    async def connect(self) -> None:
        signed = await self.client.sign_in(self.key)
        self.role = signed.role
        if self.allowed:
            info = await self.client.network_info()
            self.network_name = str(info.get("name") or self.client.network)

    async def _call(self, call: Callable[[], Awaitable[T]]) -> T:
        """`call`, signing in again once if the hub's session has run out."""
        if not self.role:
            await self.connect()
        try:
            return await call()
        except RemoteError as exc:
            if exc.status != 401:
                raise
        await self.connect()
        return await call()

    async def report(self, year: int) -> Report:
        now = self.clock()
        cached = self._reports.get(year)
        if cached is not None and now - cached[0] < REPORT_SECONDS:
            return cached[1]
        data = await self._call(lambda: self.client.statistics(year))
        report = report_from_json(data)
        self._reports[year] = (now, report)
        return report

    async def csv(self, year: int) -> bytes:
        """The same aggregates as the pages, as CSV, rebuilt here from the report."""
        return report_csv(await self.report(year))

    async def municipalities(self) -> list[dict[str, Any]]:
        return await self._call(self.client.municipalities)

    async def directory(self) -> Directory:
        return await self._call(lambda: self.client.directory(self.admin_public))

    async def enrolments(self) -> list[dict[str, Any]]:
        return await self._call(lambda: self.client.enrolments("pending"))

    async def notices(self) -> list[dict[str, Any]]:
        return await self._call(self.client.notices)

    async def close(self) -> None:
        await self.client.close()


def templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("hub", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def local_auth(origin: str) -> security.LocalAuth:
    """The inbox's guard, under this agent's own name and stylesheet."""
    return security.LocalAuth(
        origin, product="uppföljningen", title="Uppföljning", stylesheet="/static/followup.css"
    )


def init_followup(core: FollowupCore, auth: security.LocalAuth) -> web.Application:
    app = web.Application(
        middlewares=[security.security_headers, security.guard(auth), views.refusals]
    )
    app[views.CORE] = core
    app[views.TEMPLATES] = templates()
    app[security.AUTH] = auth
    r = app.router
    r.add_get(security.START_PATH, security.start)
    r.add_get("/", views.index)
    r.add_get("/oversikt", views.overview)
    r.add_get("/oversikt.csv", views.overview_csv)
    r.add_get("/oversikt.pdf", views.overview_pdf)
    r.add_get("/kommun", views.municipality)
    r.add_get("/medlemmar", views.members)
    r.add_get("/kontaktpersoner", views.contacts)
    r.add_get("/registreringar", views.enrolments)
    r.add_get("/aviseringar", views.notices)
    r.add_static("/static/", STATIC, append_version=False)
    return app


async def serve(
    config: FollowupConfig,
    key: PrivateIdentity | SigningKey,
    admin_public: bytes,
    *,
    open_browser: bool,
) -> None:
    client = HubClient(config.hub_url, config.network, allow_insecure=config.allow_insecure)
    core = FollowupCore(client, key, admin_public)
    try:
        await core.connect()
    except Exception:
        await client.close()
        raise
    # Bind first (port 0 picks a free one), then tell the guard the one origin it may answer.
    auth = local_auth("http://127.0.0.1:0")
    runner = web.AppRunner(init_followup(core, auth), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", config.port)  # loopback only, by design
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # noqa: SLF001
    auth.origin = f"http://127.0.0.1:{port}"
    if not core.allowed:
        print("Hubben känner nyckeln, men inte som samordnare eller länsstyrelse:")  # noqa: T201
        print("sidorna säger att du saknar behörighet.")  # noqa: T201
    print(f"Uppföljningen är öppen på {auth.origin}")  # noqa: T201
    print(f"Öppna den här länken (den fungerar en gång): {auth.launch_url}")  # noqa: T201
    if open_browser:
        webbrowser.open(auth.launch_url)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await core.close()

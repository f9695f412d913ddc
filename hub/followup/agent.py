"""`hub uppfoljning`: the coordinator's and the county administrator's local follow-up agent.

It signs in to the hub with the person's own key (a coordinator's identity key, or the county
administrator's network key), and serves the follow-up pages on 127.0.0.1 only, to this
person's own browser, behind the local agents' guard (hub/localagent/security.py: one-time
launch token, Host and origin checks, CSRF, strict CSP). The hub hands out suppressed aggregates
only; the annual PDF is rendered here and written nowhere but into the response.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

from hub.client.api import HubClient, RemoteError, signed_members
from hub.client.verified_log import VerifiedLog
from hub.client.view_file import ViewFile
from hub.followup import views
from hub.localagent import launch, security
from hub.report.export import report_csv
from hub.report.wire import report_from_json

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from aiohttp import web

    from hub.crypto.directory import Directory
    from hub.crypto.keys import PrivateIdentity, SigningKey
    from hub.crypto.registry import Registry
    from hub.protocol import wire
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
    state: Path | None = None  # the key folder, where the last verified view is kept


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
    # The view of the directory log verified so far; kept across runs by new_core's ViewFile.
    log: VerifiedLog | None = None
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
            self.network_name = info.name or self.client.network

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

    async def registry(self) -> Registry:
        """The directory and registry, verified against the pinned network key and the
        directory log, never older than the view verified before."""
        if self.log is None:
            self.log = VerifiedLog(self.admin_public, self.client.network)
        log = self.log
        return await self._call(lambda: log.load(self.client, int(self.clock())))

    async def municipalities(self) -> list[wire.Member]:
        """The members as the administrator signed them, never the hub's list."""
        return signed_members(await self.registry())

    async def directory(self) -> Directory:
        return (await self.registry()).directory

    async def enrolments(self) -> list[dict[str, Any]]:
        return await self._call(lambda: self.client.enrolments("pending"))

    async def notices(self) -> list[wire.Notice]:
        return await self._call(self.client.notices)

    async def close(self) -> None:
        await self.client.close()


def local_auth(origin: str) -> security.LocalAuth:
    """The local agents' guard, under this agent's own name and stylesheet."""
    return security.LocalAuth(
        origin, product="uppföljningen", title="Uppföljning", stylesheet="/static/followup.css"
    )


def init_followup(core: FollowupCore, auth: security.LocalAuth) -> web.Application:
    app = launch.guarded_app(auth, STATIC, middlewares=[views.refusals])
    app[views.CORE] = core
    r = app.router
    r.add_get("/", views.index)
    r.add_get("/oversikt", views.overview)
    r.add_get("/oversikt.csv", views.overview_csv)
    r.add_get("/oversikt.pdf", views.overview_pdf)
    r.add_get("/kommun", views.municipality)
    r.add_get("/medlemmar", views.members)
    r.add_get("/kontaktpersoner", views.contacts)
    r.add_get("/registreringar", views.enrolments)
    r.add_get("/aviseringar", views.notices)
    return app


def new_core(
    config: FollowupConfig, key: PrivateIdentity | SigningKey, admin_public: bytes
) -> FollowupCore:
    """The agent's core, not yet connected, remembering the view verified on an earlier run
    (in `config.state`): a hub that serves an older one is refused."""
    client = HubClient(config.hub_url, config.network, allow_insecure=config.allow_insecure)
    core = FollowupCore(client, key, admin_public)
    if config.state is not None:
        core.log = ViewFile(config.state, config.network).verified_log(admin_public)
    return core


async def serve(
    config: FollowupConfig,
    key: PrivateIdentity | SigningKey,
    admin_public: bytes,
    *,
    open_browser: bool,
) -> None:
    core = new_core(config, key, admin_public)
    client = core.client
    try:
        await core.connect()
    except Exception:
        await client.close()
        raise
    auth = local_auth("http://127.0.0.1:0")  # launch.serve binds, then tells it the port
    if not core.allowed:
        print("Hubben känner nyckeln, men inte som samordnare eller länsstyrelse:")  # noqa: T201
        print("sidorna säger att du saknar behörighet.")  # noqa: T201
    try:
        await launch.serve(
            init_followup(core, auth),
            auth,
            port=config.port,
            name="Uppföljningen",
            open_browser=open_browser,
        )
    finally:
        await core.close()

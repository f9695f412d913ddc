"""A lying hub: an aiohttp proxy between real agents and a real hub that rewrites what the hub
says. It stands where a compromised hub (or whoever holds its TLS key) stands: it answers every
request, sees every byte, and can change any answer, listing or blob, but holds no key that the
administrator or a contact person signed with.

`lying_hub` starts the real hub behind it with the proxy's address as the hub's public URL (as
behind a reverse proxy), so sign-in signatures name the proxy and every client, the tests'
own included, goes through it. Lies are added while the test runs and apply to every later
answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from tests.hubnet import free_port, running_hub

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

    from tests.hubnet import HubNet

# A JSON lie: (the request's method, its path, the hub's answer) -> the answer to give.
JsonLie = "Callable[[str, str, Any], Any]"
_BLOB = re.compile(r"^/api/v1/envelopes/([0-9a-f]{32})/blob$")
_HOP = frozenset(
    {"host", "content-length", "transfer-encoding", "content-encoding", "connection", "upgrade"}
)


@dataclass
class LyingHub:
    upstream: str = ""
    url: str = ""
    lies: list[Callable[[str, str, Any], Any]] = field(default_factory=list)
    # message id (hex) asked for -> message id (hex) whose bytes are served instead
    blob_swaps: dict[str, str] = field(default_factory=dict)
    answered: list[tuple[str, str, int]] = field(default_factory=list)  # method, path, status
    quiet: bool = False  # withhold the live channel's notices: agents fetch only when told
    # Forward the request, but answer the client this status instead of the hub's answer (as a
    # hub that failed after storing, or a connection lost before the answer): (method, path)
    # -> status, or None to answer truthfully.
    swallow: list[Callable[[str, str], int | None]] = field(default_factory=list)
    # Answer this status without forwarding at all (a hub that never got the request).
    refuse: list[Callable[[str, str], int | None]] = field(default_factory=list)
    _session: aiohttp.ClientSession | None = None
    _runner: web.AppRunner | None = None

    async def start(self, upstream: str) -> str:
        self.upstream = upstream
        self._session = aiohttp.ClientSession()
        app = web.Application(client_max_size=200 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._relay)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def lie(self, rewrite: Callable[[str, str, Any], Any]) -> None:
        self.lies.append(rewrite)

    async def _relay(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._relay_live(request)
        assert self._session is not None
        for rule in self.refuse:
            status = rule(request.method, request.path)
            if status is not None:
                self.answered.append((request.method, request.path, status))
                return web.json_response(
                    {"error": {"code": "internal", "message": "fel"}}, status=status
                )
        path = request.path
        blob = _BLOB.match(path)
        if blob and blob.group(1) in self.blob_swaps:
            path = f"/api/v1/envelopes/{self.blob_swaps[blob.group(1)]}/blob"
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        async with self._session.request(
            request.method,
            self.upstream + path,
            params=request.query,
            headers=headers,
            data=await request.read(),
            allow_redirects=False,
        ) as answer:
            body = await answer.read()
            status = answer.status
            out_headers = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP}
        for rule in self.swallow:
            lost = rule(request.method, request.path)
            if lost is not None:
                self.answered.append((request.method, request.path, lost))
                failure = {"error": {"code": "internal", "message": "fel"}}
                return web.json_response(failure, status=lost)
        if answer.content_type == "application/json" and body:
            said = json.loads(body)
            for rewrite in self.lies:
                said = rewrite(request.method, request.path, said)
            body = json.dumps(said).encode()
        self.answered.append((request.method, request.path, status))
        return web.Response(status=status, body=body, headers=out_headers)

    async def _relay_live(self, request: web.Request) -> web.WebSocketResponse:
        assert self._session is not None
        downstream = web.WebSocketResponse()
        await downstream.prepare(request)
        auth = {"Authorization": request.headers.get("Authorization", "")}
        try:
            async with self._session.ws_connect(self.upstream + request.path, headers=auth) as up:

                async def pump() -> None:
                    async for message in up:
                        if message.type == aiohttp.WSMsgType.TEXT and not self.quiet:
                            await downstream.send_str(message.data)

                task = asyncio.create_task(pump())
                async for _ in downstream:
                    pass
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        except aiohttp.WSServerHandshakeError:
            pass
        return downstream


@asynccontextmanager
async def lying_hub(tmp_path: Path, **config: Any) -> AsyncIterator[tuple[HubNet, LyingHub]]:
    """A real hub behind a LyingHub that tells the truth until a test adds a lie."""
    proxy = LyingHub()
    try:
        async with running_hub(tmp_path, front=proxy.start, **config) as net:
            yield net, proxy
    finally:
        await proxy.stop()


def in_listing(rewrite: Callable[[dict[str, Any]], list[dict[str, Any]]]) -> Any:
    """A lie about GET /envelopes: each entry becomes what `rewrite` returns (none, or more)."""

    def lie(method: str, path: str, said: Any) -> Any:
        if method != "GET" or path != "/api/v1/envelopes":
            return said
        return {"envelopes": [e for entry in said["envelopes"] for e in rewrite(entry)]}

    return lie


def in_cases(rewrite: Callable[[dict[str, Any]], dict[str, Any] | None]) -> Any:
    """A lie about GET /cases: each case view becomes what `rewrite` returns (None: dropped)."""

    def lie(method: str, path: str, said: Any) -> Any:
        if method != "GET" or path != "/api/v1/cases":
            return said
        return {"cases": [v for c in said["cases"] if (v := rewrite(c)) is not None]}

    return lie


_CASE_VIEW = re.compile(r"/api/v1/cases/[0-9a-f]{32}(/steps)?")
_STEPS = re.compile(r"/api/v1/cases/[0-9a-f]{32}/steps")


def in_case_views(rewrite: Callable[[dict[str, Any]], dict[str, Any]]) -> Any:
    """A lie about every case view the hub answers with: the list (GET /cases), one case
    (GET /cases/{id}) and the answer to posted steps (POST /cases/{id}/steps)."""

    def lie(method: str, path: str, said: Any) -> Any:
        if not isinstance(said, dict) or "error" in said:
            return said
        if method == "GET" and path == "/api/v1/cases":
            return {"cases": [rewrite(c) for c in said["cases"]]}
        if _CASE_VIEW.fullmatch(path) and "requests" in said:
            return rewrite(said)
        return said

    return lie


def in_steps(rewrite: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> Any:
    """A lie about GET /cases/{id}/steps: the relayed steps become what `rewrite` returns."""

    def lie(method: str, path: str, said: Any) -> Any:
        if method != "GET" or not _STEPS.fullmatch(path) or "steps" not in said:
            return said
        return {"steps": rewrite(said["steps"])}

    return lie


def once(method: str, path_pattern: str, status: int = 500) -> Callable[[str, str], int | None]:
    """A swallow rule: the first matching request's answer is lost, later ones go through."""
    pattern = re.compile(path_pattern)
    fired: list[bool] = []

    def rule(m: str, path: str) -> int | None:
        if fired or m != method or not pattern.fullmatch(path):
            return None
        fired.append(True)
        return status

    return rule


async def log_as_served(net: HubNet, who: str = "anna") -> dict[str, Any]:
    """The directory log as the hub serves it now (GET .../log), to replay later."""
    from hub.protocol import wire  # noqa: PLC0415

    return dict(json.loads(wire.encode(await (await net.client(who)).log())))


def older_view(saved: dict[str, Any]) -> Callable[[str, str, Any], Any]:
    """A hub that serves an older view it once served (a rollback, or a restored backup): the
    saved log, signed checkpoint and all, and the registry cut to the same records."""

    def lie(method: str, path: str, said: Any) -> Any:
        if method != "GET":
            return said
        if path.endswith("/log"):
            return saved
        if path.endswith("/registry"):
            return {**said, "records": said["records"][: len(saved["records"])]}
        return said

    return lie

"""How a local agent starts: its web app behind the guard, bound to 127.0.0.1 only, opened in
the person's browser with a one-time link. The inbox (with the county board's variant) and the
follow-up agent start the same way; what they serve is their own."""

from __future__ import annotations

import asyncio
import webbrowser
from typing import TYPE_CHECKING, Final

from aiohttp import web

from hub.localagent import control
from hub.localagent.security import AUTH, START_PATH, guard, security_headers, start
from hub.localagent.templates import TEMPLATES, environment

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from aiohttp.typedefs import Middleware

    from hub.localagent.security import LocalAuth

LOOPBACK: Final = "127.0.0.1"  # never another interface: the agent holds the person's keys


def guarded_app(
    auth: LocalAuth,
    static: Path,
    *,
    middlewares: Sequence[Middleware] = (),
    client_max_size: int = 1024**2,
) -> web.Application:
    """An agent's app: the security headers and the guard before its own `middlewares`, the
    launch link at START_PATH, its `static` folder at /static/ and the templates. The agent
    adds its pages."""
    app = web.Application(
        middlewares=[security_headers, guard(auth), *middlewares], client_max_size=client_max_size
    )
    app[AUTH] = auth
    app[TEMPLATES] = environment()
    app.router.add_get(START_PATH, start)
    app.router.add_static("/static/", static, append_version=False)
    return app


async def serve(  # noqa: PLR0913 - past app and auth, all keyword-only
    app: web.Application,
    auth: LocalAuth,
    *,
    port: int,
    name: str,
    open_browser: bool,
    control_socket: Path | None = None,
) -> None:
    """Serve `app` on 127.0.0.1 (`port` 0: a free one) until cancelled. Bind first, then tell
    the guard the one origin it may answer, and print (and open) the one-time link; `name`
    says what is open, as the first word of a sentence ("Inkorgen"). With `control_socket`,
    a launcher asks there for a fresh link (hub.localagent.control)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, LOOPBACK, port)  # loopback only, by design
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # noqa: SLF001
        auth.origin = f"http://{LOOPBACK}:{bound}"
        print(f"{name} är öppen på {auth.origin}")  # noqa: T201
        print(f"Öppna den här länken (den fungerar en gång): {auth.launch_url}")  # noqa: T201
        if open_browser:
            webbrowser.open(auth.launch_url)
        if control_socket is None:
            await asyncio.Event().wait()
        else:
            async with control.serving(auth.fresh_launch_url, control_socket):
                await asyncio.Event().wait()
    finally:
        await runner.cleanup()

"""What both local agents start with (hub.localagent.launch): a guarded app bound to 127.0.0.1
only, opened once with the link it prints, gone when it stops."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp
import pytest
from aiohttp import web

from hub.localagent import launch
from hub.localagent.security import CSP, LocalAuth
from hub.localagent.templates import TEMPLATES


async def test_serve_binds_loopback_and_opens_once_with_the_printed_link(tmp_path, capsys):
    static = tmp_path / "static"
    static.mkdir()
    (static / "prov.css").write_text("body { color: black }", encoding="utf-8")
    auth = LocalAuth(
        "http://127.0.0.1:0", product="provet", title="Prov", stylesheet="/static/prov.css"
    )
    app = launch.guarded_app(auth, static)
    assert app[TEMPLATES].get_template("followup/base.html") is not None

    async def page(_: web.Request) -> web.Response:
        return web.Response(text="hej")

    app.router.add_get("/", page)
    task = asyncio.create_task(launch.serve(app, auth, port=0, name="Provet", open_browser=False))
    for _ in range(250):
        if not auth.origin.endswith(":0"):
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.05)
    printed = capsys.readouterr().out
    origin = auth.origin
    assert origin.startswith("http://127.0.0.1:")
    assert origin != "http://127.0.0.1:0"
    assert f"Provet är öppen på {origin}\n" in printed
    link = printed.split("(den fungerar en gång): ", 1)[1].strip()
    assert link == auth.launch_url
    assert link.startswith(f"{origin}/start?token=")
    try:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            async with session.get(f"{origin}/") as r:
                assert r.status == 403  # not without the link
                assert r.headers["Content-Security-Policy"] == CSP
                assert "Du är inte inloggad i provet" in await r.text()
            async with session.get(f"{origin}/static/prov.css") as r:
                assert r.status == 200
            async with session.get(link) as r:
                assert r.status == 200
                assert await r.text() == "hej"
            async with aiohttp.ClientSession() as other, other.get(link) as r:
                assert r.status == 403  # the link works once
                assert "redan använd" in await r.text()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(f"{origin}/")

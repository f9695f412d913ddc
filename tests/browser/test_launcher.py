"""Issue 15, the way a person uses it: the agent installed from the built wheel into a fresh
venv (tests/installed.py, as pipx does), `hub inbox` started from there as its own process with
its files in the per-user folders (as the systemd user unit starts it), its link taken, the
inbox unlocked in Chromium, the browser closed, and the inbox reopened by running `hub inbox`
again (as the desktop launcher does), which asks the running agent for a fresh link over its
control socket."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import TYPE_CHECKING

from playwright.async_api import expect

from tests.browser.conftest import TIMEOUT_MS, VIEWPORT, screenshot
from tests.hubnet import NETWORK, running_hub
from tests.inboxnet import PASSPHRASE, write_keys
from tests.installed import build_wheel, install_agent

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.async_api import Browser, BrowserContext

LINK = "Öppna den här länken (den fungerar en gång): "


async def _context(browser: Browser) -> BrowserContext:
    context = await browser.new_context(
        locale="sv-SE", timezone_id="Europe/Stockholm", viewport=VIEWPORT, bypass_csp=False
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context


async def _link_from(stream: asyncio.StreamReader) -> str:
    while True:
        line = (await asyncio.wait_for(stream.readline(), 30)).decode()
        assert line, "hub inbox stopped before printing its link"
        if line.startswith(LINK):
            return line.removeprefix(LINK).strip()


async def test_start_unlock_close_the_browser_and_come_back(browser: Browser, tmp_path: Path):
    wheel = await asyncio.to_thread(build_wheel, tmp_path)
    hub = (await asyncio.to_thread(install_agent, wheel, tmp_path)) / "bin" / "hub"
    async with running_hub(tmp_path) as net:
        data = tmp_path / "data"
        runtime = tmp_path / "run"
        runtime.mkdir(mode=0o700)
        data.mkdir()
        (data / "hub").mkdir()
        write_keys(net, "bertil", data / "hub" / "keys")  # the per-user folder: no --keys
        env = {
            **os.environ,
            "XDG_DATA_HOME": str(data),
            "XDG_RUNTIME_DIR": str(runtime),
            "HUB_URL": net.url,
            "HUB_NETWORK": NETWORK,
        }
        agent = await asyncio.create_subprocess_exec(
            str(hub),
            "inbox",
            "--no-browser",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        try:
            assert agent.stdout is not None
            first = await _link_from(agent.stdout)
            socket = runtime / "hub" / "inbox.sock"
            for _ in range(100):
                if socket.exists():
                    break
                await asyncio.sleep(0.05)
            assert oct(socket.stat().st_mode & 0o777) == "0o600"

            context = await _context(browser)
            page = await context.new_page()
            await page.goto(first)
            await expect(page.get_by_role("heading", level=1)).to_have_text("Lås upp inkorgen")
            await page.get_by_label("Lösenfras").fill(PASSPHRASE)
            await page.get_by_role("button", name="Lås upp inkorgen").click()
            await expect(page.get_by_role("button", name="Lås nu")).to_be_visible()
            await context.close()  # the browser closed: its session cookie is gone

            again = await asyncio.create_subprocess_exec(
                str(hub),
                "inbox",
                "--no-browser",
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env={k: v for k, v in env.items() if k not in {"HUB_URL", "HUB_NETWORK"}},
            )
            out, err = await asyncio.wait_for(again.communicate(), 60)
            assert again.returncode == 0, err.decode()
            assert "Inkorgen körs redan" in out.decode()
            fresh = out.decode().split(LINK)[1].strip()
            assert fresh != first

            context = await _context(browser)
            page = await context.new_page()
            await page.goto(fresh)  # still unlocked: straight into the inbox
            await expect(page.get_by_role("button", name="Lås nu")).to_be_visible()
            await screenshot(page, "launcher-reopened-inbox")
            await page.goto(first)  # the first link stays spent
            await expect(page.get_by_role("heading", level=1)).to_have_text("Åtkomst nekad")
            await context.close()
        finally:
            if agent.returncode is None:
                agent.send_signal(signal.SIGINT)
                await asyncio.wait_for(agent.wait(), 30)
        assert not (runtime / "hub" / "inbox.sock").exists()  # taken down with the agent

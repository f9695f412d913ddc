"""The README's main command: the demo network starts and its sample case arrives."""

from __future__ import annotations

import asyncio
import contextlib
import re

import aiohttp

from hub.demo import PASSPHRASE, run_demo
from hub.inbox.session import UNSIGNED_NAMES, UNSIGNED_SETTINGS


async def test_demo_network_starts_and_the_sample_case_reaches_b_and_c(tmp_path):
    """hub demo starts a hub and three inboxes; Kommun B and C find Kommun A's inquiry in their inboxes."""
    lines: list[str] = []
    people = await run_demo(tmp_path / "demo", check=True, report=lines.append)
    text = "\n".join(lines)
    assert "Kontroll: exempelärendet har nått Kommun B och Kommun C." in text
    assert text.count("/start?token=") == 5  # three inboxes, two follow-ups
    assert [p.municipality for p in people] == ["kommun-a", "kommun-b", "kommun-c"]
    assert (tmp_path / "demo" / "kommun-b" / "keys" / "identity.key").exists()


async def test_the_demo_network_is_signed_names_settings_and_log(tmp_path):
    """The demo's administrator signs as `hub admin` does: every member's name and kommunmall,
    the network's settings, each key with the directory log's checkpoint. The inboxes show
    names and say nothing about unsigned names or settings."""
    people = await run_demo(tmp_path / "demo", check=True, report=lambda _line: None)
    bertil = people[1].core
    assert bertil.name_of("kommun-a") == "Kommun A"
    assert bertil.session.registry is not None
    assert bertil.session.registry.settings is not None
    assert not [n for n in bertil.notices if n["text"] in {UNSIGNED_NAMES, UNSIGNED_SETTINGS}]
    signed_log = (
        tmp_path / "demo" / "lansstyrelsen" / "keys" / "signed-log-demo-lanskompotten.jsonl"
    )
    assert signed_log.exists()


async def test_the_demo_enrols_the_county_administrator_and_a_coordinator_too(tmp_path):
    """Every role can be tried: the county administrator (the network key) and a coordinator
    each get a follow-up link and the `hub uppfoljning` command to start their own."""
    lines: list[str] = []
    root = tmp_path / "demo"
    await run_demo(root, check=True, report=lines.append)
    text = "\n".join(lines)
    assert "Kontroll: länsstyrelsen och samordnaren är inloggade i uppföljningen." in text
    assert "Länsstyrelsen (administratör)" in text
    assert "Samordnare: Sara Samordnare" in text
    assert text.count("uppföljning (länken fungerar en gång): http://127.0.0.1:") == 2
    assert f"--keys {root / 'lansstyrelsen' / 'keys'} --admin" in text
    assert f"--keys {root / 'samordnare' / 'keys'}  (lösenfras" in text
    assert (root / "lansstyrelsen" / "keys" / "network.key").exists()
    assert (root / "samordnare" / "keys" / "identity.key").exists()
    assert (root / "samordnare" / "keys" / "network.pub").exists()


async def test_a_demo_inbox_locked_with_las_nu_unlocks_again_with_the_printed_passphrase(tmp_path):
    lines: list[str] = []
    demo = asyncio.create_task(run_demo(tmp_path / "demo", check=False, report=lines.append))
    try:
        for _ in range(600):
            if any("Avsluta med Ctrl-C" in line for line in lines):
                break
            await asyncio.sleep(0.05)
        [link] = [line.split(": ", 1)[1] for line in lines if "inkorg (länken" in line][1:2]
        origin = link.split("/start")[0]
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
            async with browser.get(link) as page:
                csrf = re.search(r'name="csrf" value="([^"]+)"', await page.text())
            assert csrf is not None
            form = {"csrf": csrf.group(1)}
            headers = {"Origin": origin}
            async with browser.post(origin + "/las-nu", data=form, headers=headers) as page:
                assert "Lås upp inkorgen" in await page.text()
            unlock = {**form, "passphrase": PASSPHRASE}
            async with browser.post(origin + "/las-upp", data=unlock, headers=headers) as page:
                assert page.url.path == "/"
                assert "Lås nu" in await page.text()
    finally:
        demo.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await demo

"""Issue 15: the inbox starts locked and is unlocked in the page (hub.localagent.lock). Locked
means blind: no key, no cache key, no hub session held; wrong passphrases slow the next try
down; "Lås nu" and the idle time lock it again, and nothing the agent opened stays referenced."""

from __future__ import annotations

import gc
import logging
import re
import weakref
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiohttp

from hub.inbox.sync import AgentCore
from tests import inboxnet
from tests.hubnet import running_hub
from tests.inboxnet import PASSPHRASE, running_agent

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    import pytest

    from hub.localagent import lock, security
    from tests.hubnet import HubNet


@dataclass
class Browser:
    url: str
    auth: security.LocalAuth
    keeper: lock.Keeper[AgentCore]
    session: aiohttp.ClientSession

    async def get(self, path: str) -> tuple[int, str, str]:
        async with self.session.get(self.url + path, allow_redirects=False) as r:
            return r.status, r.headers.get("Location", ""), await r.text()

    async def post(
        self, path: str, data: dict[str, str], *, csrf: bool = True, origin: str | None = None
    ) -> tuple[int, str, str]:
        form = dict(data)
        if csrf:
            form["csrf"] = self.auth.sessions[next(iter(self.auth.sessions))]
        headers = {"Origin": origin or self.url}
        async with self.session.post(
            self.url + path, data=form, headers=headers, allow_redirects=False
        ) as r:
            return r.status, r.headers.get("Location", ""), await r.text()


@asynccontextmanager
async def locked_agent(net: HubNet, person: str, tmp_path: Path) -> AsyncIterator[Browser]:
    """`person`'s locked inbox (tests/inboxnet.py), its one-time link opened."""
    async with (
        inboxnet.locked_agent(net, person, tmp_path) as agent,
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session,
    ):
        async with session.get(agent.auth.launch_url, allow_redirects=False) as r:
            assert r.status == 303
        yield Browser(agent.url, agent.auth, agent.keeper, session)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_started_agent_is_locked_and_serves_only_the_unlock_page(tmp_path):
    async with running_hub(tmp_path) as net, locked_agent(net, "bertil", tmp_path) as b:
        assert b.keeper.held is None
        for path in ("/", "/ny", "/nycklar", f"/arende/{'0' * 32}"):
            status, location, _ = await b.get(path)
            assert (status, location) == (303, "/las-upp"), path
        status, _, body = await b.get("/status.json")
        assert status == 423
        assert "version" not in body
        status, _, page = await b.get("/las-upp")
        assert status == 200
        assert "<h1>Lås upp inkorgen</h1>" in page
        [field] = re.findall(r"<input type=\"password\"[^>]*>", page)
        assert 'autocomplete="off"' in field
        assert 'name="passphrase"' in field
        # the launcher's first page: locked since when, and nothing received meanwhile
        assert "Låst sedan" in page
        assert "ingenting tagits emot" in page
        assert "väntar hos hubben" in page
        # posts to the agent's own pages are refused while locked
        status, location, _ = await b.post("/ny/spara", {"subject": "x"})
        assert (status, location) == (303, "/las-upp")
        assert b.keeper.held is None


async def test_the_unlock_form_is_behind_the_guard(tmp_path):
    async with running_hub(tmp_path) as net, locked_agent(net, "bertil", tmp_path) as b:
        status, _, body = await b.post("/las-upp", {"passphrase": PASSPHRASE}, csrf=False)
        assert status == 403
        assert "säkerhetskod" in body
        status, _, body = await b.post(
            "/las-upp", {"passphrase": PASSPHRASE}, origin="https://evil.example"
        )
        assert status == 403
        assert "annan webbplats" in body
        # without the one-time link's session cookie, nothing at all
        async with aiohttp.ClientSession() as stranger, stranger.get(b.url + "/las-upp") as r:
            assert r.status == 403
        assert b.keeper.held is None


async def test_wrong_passphrases_slow_the_next_try_and_are_never_logged(
    tmp_path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
):
    caplog.set_level(logging.DEBUG)
    async with running_hub(tmp_path) as net, locked_agent(net, "bertil", tmp_path) as b:
        clock = Clock()
        b.keeper.clock = clock
        status, _, page = await b.post("/las-upp", {"passphrase": "fel fras 1"})
        assert status == 403
        assert "Fel lösenfras" in page
        assert "om 1 sekund" in page
        # too soon: refused without trying the passphrase at all, even the right one
        status, _, page = await b.post("/las-upp", {"passphrase": PASSPHRASE})
        assert status == 429
        assert b.keeper.held is None
        clock.now += 1
        status, _, page = await b.post("/las-upp", {"passphrase": "fel fras 2"})
        assert status == 403
        assert "om 2 sekunder" in page
        clock.now += 2
        status, _, page = await b.post("/las-upp", {"passphrase": "fel fras 3"})
        assert "om 4 sekunder" in page
        assert b.keeper.failures == 3
        clock.now += 4
        status, location, _ = await b.post("/las-upp", {"passphrase": PASSPHRASE})
        assert (status, location) == (303, "/")
        assert b.keeper.failures == 0
        assert isinstance(b.keeper.held, AgentCore)
        status, _, page = await b.get("/")
        assert status == 200
        assert "Lås nu" in page
    printed = capsys.readouterr()
    everything = caplog.text + printed.out + printed.err
    for secret in (PASSPHRASE, "fel fras"):
        assert secret not in everything
    assert "wrong passphrase (3 in a row)" in caplog.text


async def test_lock_now_lets_go_of_every_key_and_the_hub_session(tmp_path):
    async with running_hub(tmp_path) as net, locked_agent(net, "bertil", tmp_path) as b:
        await b.post("/las-upp", {"passphrase": PASSPHRASE})
        core = b.keeper.held
        assert isinstance(core, AgentCore)
        assert core.client is not None
        assert core.client.signed_in is not None  # caught up with the hub on unlock
        held = {
            "core": weakref.ref(core),
            "identity": weakref.ref(core.identity),
            "cache": weakref.ref(core.cache),
            "session": weakref.ref(core.session),
            "client": weakref.ref(core.client),
            "signed_in": weakref.ref(core.client.signed_in),
            "receiver": weakref.ref(core.receiver),
            "sender": weakref.ref(core.sender),
        }
        follower = b.keeper._follower
        assert follower is not None
        assert not follower.done()
        del core
        flashes = b.keeper.forget_at_lock[0].__self__  # the pages' memory of the session
        flashes.messages["a session"] = [{"level": "info", "text": "Förfrågan skickades"}]
        status, location, _ = await b.post("/las-nu", {})
        assert (status, location) == (303, "/las-upp")
        assert b.keeper.held is None
        assert flashes.messages == {}  # nothing a page kept outlives the lock
        assert follower.done()  # no longer follows the hub's live channel
        del follower
        gc.collect()
        alive = [name for name, ref in held.items() if ref() is not None]
        assert alive == []
        status, _, page = await b.get("/las-upp")
        assert "Låst sedan" in page
        assert (await b.get("/"))[1] == "/las-upp"
        # and it unlocks again
        status, location, _ = await b.post("/las-upp", {"passphrase": PASSPHRASE})
        assert (status, location) == (303, "/")


async def test_the_idle_time_is_shown_set_and_locks(tmp_path):
    async with running_hub(tmp_path) as net, locked_agent(net, "bertil", tmp_path) as b:
        clock = Clock()
        b.keeper.clock = clock
        await b.post("/las-upp", {"passphrase": PASSPHRASE})
        _, _, page = await b.get("/")
        assert "låses efter 15 minuter utan aktivitet" in page
        status, location, _ = await b.post("/lasning", {"minutes": "5", "back": "/"})
        assert (status, location) == (303, "/")
        assert b.keeper.idle_minutes == 5
        _, _, page = await b.get("/")
        assert "låses efter 5 minuter utan aktivitet" in page
        assert (await b.post("/lasning", {"minutes": "7"}))[0] == 400
        clock.now += 4 * 60
        assert not await b.keeper.lock_if_idle()
        await b.get("/status.json")  # the page's own polling is not the person at work
        clock.now += 61
        assert await b.keeper.lock_if_idle()
        assert b.keeper.held is None
        assert (await b.get("/"))[1] == "/las-upp"


async def test_what_came_while_locked_waits_on_the_hub_until_the_unlock(tmp_path):
    async with (
        running_hub(tmp_path) as net,
        locked_agent(net, "bertil", tmp_path) as b,
        running_agent(net, "anna", tmp_path) as anna,
    ):
        await anna.core.send_inquiry({"bakgrund_till_placering": "x"}, [], ["kommun-b"])
        assert b.keeper.held is None

        async def state_for_b() -> str:
            await anna.core.sync()
            [case] = await anna.core.cache.list_cases("sent")
            return str(case["requests"][0]["state"])

        assert await state_for_b() == "sent"  # the locked agent signed no delivery receipt
        await b.post("/las-upp", {"passphrase": PASSPHRASE})
        core = b.keeper.held
        assert isinstance(core, AgentCore)
        assert len(await core.cache.list_cases("inbox")) == 1
        assert await state_for_b() == "delivered"  # its receipt went at the unlock


async def test_an_agent_that_cannot_start_says_why_and_stays_locked(tmp_path):
    """The right passphrase, but the hub names another municipality for the key: the page says
    so in Swedish and the agent holds nothing (no 500 with a traceback)."""
    from hub.errors import AuthorityError  # noqa: PLC0415

    async with running_hub(tmp_path) as net, locked_agent(net, "bertil", tmp_path) as b:
        opener = b.keeper.opener
        assert opener is not None

        async def refused(passphrase: str) -> AgentCore:
            core = await opener(passphrase)  # the key file opens: the passphrase was right
            await core.close()
            await core.cache.close()
            raise AuthorityError("identity_mismatch")

        b.keeper.opener = refused
        status, _, page = await b.post("/las-upp", {"passphrase": PASSPHRASE})
        assert status == 502
        assert "Lås upp inkorgen" in page
        assert b.keeper.held is None
        assert b.keeper.failures == 0  # not counted as a wrong passphrase

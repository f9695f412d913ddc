"""The follow-up pages without a hub: a key's state in words at each point of its life, and the
notices page with rows (a real hub has none to show without a failing mail server)."""

from __future__ import annotations

from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web

from hub.crypto.directory import Directory, make_entry, make_revocation
from hub.crypto.keys import PrivateIdentity, SigningKey
from hub.followup.agent import init_followup
from hub.followup.views import key_state
from hub.localagent import security
from hub.protocol import wire
from tests.hubnet import free_port
from tests.vectors._rng import SeededRng

NOW = 1_800_000_000
DAY = 86_400
ADMIN = SigningKey.generate(SeededRng("followup-views/admin"))


def directory(not_before: int, not_after: int, revoked_at: int | None = None) -> Directory:
    identity = PrivateIdentity.generate(SeededRng("followup-views/person"))
    entry = make_entry(
        ADMIN,
        network="n",
        municipality="kommun-a",
        person="anna",
        role="contact_person",
        identity=identity.public,
        not_before=not_before,
        not_after=not_after,
        serial=1,
    )
    revocations = []
    if revoked_at is not None:
        revocations.append(
            make_revocation(
                ADMIN,
                network="n",
                key_id=identity.key_id,
                revoked_at=revoked_at,
                reason="left",
                serial=2,
            )
        )
    return Directory.load(ADMIN.public, "n", [entry], revocations)


def state(not_before: int, not_after: int, revoked_at: int | None = None) -> tuple[str, str]:
    found = directory(not_before, not_after, revoked_at)
    return key_state(found, found.entries[0], NOW)


def test_a_keys_state_in_words():
    assert state(NOW - DAY, NOW + 365 * DAY) == ("giltig", "state-valid")
    words, css = state(NOW - DAY, NOW + 30 * DAY)
    assert (words.startswith("går ut inom 30 dagar"), css) == (True, "state-expiring")
    assert state(NOW - DAY, NOW + 31 * DAY)[0] == "giltig"
    assert state(NOW - DAY, NOW + 365 * DAY, NOW - 1)[0].startswith("återkallad ")
    assert state(NOW - DAY, NOW + 365 * DAY, NOW + DAY)[0].startswith("återkallas ")
    assert state(NOW - 365 * DAY, NOW)[0].startswith("utgången ")
    assert state(NOW + DAY, NOW + 365 * DAY)[0].startswith("giltig från ")


class StubCore:
    """What the pages read of FollowupCore, without a hub."""

    role = "county_admin"
    network_name = "Länskompotten"
    allowed = True
    is_admin = True

    def clock(self) -> float:
        return NOW

    async def municipalities(self) -> list[wire.Member]:
        return [wire.Member(id="kommun-a", name="Kommun A", population=25_000, template={})]

    async def notices(self) -> list[wire.Notice]:
        return [
            wire.Notice(
                id=1,
                municipality="kommun-a",
                audience="manager",
                address="chef@kommun-a.example",
                topic="overdue",
                status="failed",
                attempts=5,
                last_error="550 mailbox unavailable",
                created_at=NOW - DAY,
                finished_at=NOW - 3_600,
            )
        ]


@asynccontextmanager
async def stub_agent():
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    auth = security.LocalAuth(url)
    runner = web.AppRunner(init_followup(StubCore(), auth))  # type: ignore[arg-type]
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            async with session.get(auth.launch_url, allow_redirects=False) as r:
                assert r.status == 303
            yield url, session
    finally:
        await runner.cleanup()


async def test_the_notices_page_says_each_failed_notice_in_swedish():
    async with stub_agent() as (url, session), session.get(url + "/aviseringar") as r:
        page = await r.text()
        assert r.status == 200, page
    assert "Aviseringar som behöver åtgärdas (1)" in page
    for said in (
        "Kommun A",
        "ansvarig chef",
        "chef@kommun-a.example",
        "tidsfrist passerad",
        "misslyckad",
        "550 mailbox unavailable",
        "2027-01-14",
    ):
        assert said in page

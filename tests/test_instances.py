"""Three hub instances on one PostgreSQL database (issue 20): what one stores, the others serve
and tell; the deadline clock moved forward with all three running sends each notice once; an
instance killed with SIGKILL mid-tick and mid-uploads loses no acknowledged envelope, sends no
notice twice, and the notices it held show as unknown.

The instances of a test share one database, each with a port, a data folder and (in process)
the test's clock of its own process; the killed one is a real `hub serve` process."""

from __future__ import annotations

import asyncio
import signal
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiohttp
import pytest
from aiohttp import web

from hub.client.api import HubClient, RemoteError
from hub.server.config import ServerConfig
from hub.server.typedefs import SCHEDULER, STORAGE
from hub.storage.base import NoticeRow
from hub.storage.postgres import LEASE_SECONDS
from tests.hubnet import NETWORK, START, free_port, running_hub, serve_process
from tests.mailcatch import mail_catcher
from tests.test_notifications import ADDRESSES, B_CONTACTS, ask, fire_times

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tests.hubnet import HubNet


@dataclass
class Instance:
    url: str
    runner: web.AppRunner

    @property
    def app(self) -> web.Application:
        return self.runner.app

    async def client(self, net: HubNet, who: str) -> HubClient:
        client = HubClient(self.url, NETWORK)
        net.clients.append(client)  # closed with the net
        await client.sign_in(net.people[who])
        return client


@asynccontextmanager
async def more_instances(
    net: HubNet, count: int, **config: object
) -> AsyncIterator[list[Instance]]:
    """`count` more instances on `net`'s database and clock, each on its own port."""
    from tests.hubnet import _serve  # noqa: PLC0415 - the helper running_hub starts with

    started: list[Instance] = []
    config.setdefault("signin_attempts_per_minute", 1000)
    try:
        for n in range(count):
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            server_config = ServerConfig(
                data_dir=net.data_dir.parent / f"instance-{n + 2}",
                port=port,
                public_url=url,
                database=net.database,
                **config,  # type: ignore[arg-type]
            )
            started.append(Instance(url, await _serve(server_config, net.clock)))
        yield started
    finally:
        for instance in started:
            await instance.runner.cleanup()


@pytest.fixture
def catcher():
    with mail_catcher() as caught:
        yield caught


@pytest.fixture
async def net(tmp_path, pg_url, catcher):
    async with running_hub(
        tmp_path, database=pg_url, smtp=catcher.config(timeout_seconds=2)
    ) as hubnet:
        admin = await hubnet.client()
        for person, (municipality, address) in ADDRESSES.items():
            await admin.put_contact_address(municipality, person, address)
        # The set-up's enrolments told each manager of the new keys (tests/test_directory_
        # notice.py): sent and cleared here, so each test counts its own e-mails.
        await hubnet.app[SCHEDULER].tick()
        catcher.caught.clear()
        yield hubnet


def _not_of_the_setup(notices: list[NoticeRow]) -> list[NoticeRow]:
    """Leave out the managers' e-mails about the set-up's new keys (sent before the test)."""
    return [n for n in notices if not n.key.startswith("directory/")]


async def until(predicate, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not await predicate():
        assert time.monotonic() < deadline, "never happened"
        await asyncio.sleep(0.02)


async def test_an_upload_through_one_instance_is_heard_live_on_the_others(net):
    """Bertil listens on the second instance and Britta on the third; Anna uploads through the
    first: both hear of it, with the seq the first one answered."""
    async with more_instances(net, 2) as (second, third):
        bertil = await second.client(net, "bertil")
        britta = await third.client(net, "britta")
        async with bertil.live() as ws_b, britta.live() as ws_t:
            assert (await ws_b.receive_json(timeout=5))["type"] == "hello"
            assert (await ws_t.receive_json(timeout=5))["type"] == "hello"
            data = net.seal_to("anna", ["kommun-b"], {"x": 1})
            ack = await (await net.client("anna")).upload(data, ["kommun-b"])
            expected = {"type": "envelope", "seq": ack.seq, "message_id": ack.message_id}
            assert await ws_b.receive_json(timeout=5) == expected
            assert await ws_t.receive_json(timeout=5) == expected
        assert await bertil.download(bytes.fromhex(ack.message_id)) == data


async def test_a_revocation_stored_through_one_instance_stops_the_key_on_the_others(net):
    """Britta's session works on the second instance until the administrator revokes her key
    through the first: from then on the second refuses it too (told through NOTIFY)."""
    async with more_instances(net, 1) as (second,):
        britta = await second.client(net, "britta")
        await britta.envelopes()  # her directory is now cached on the second instance
        await net.revoke("britta", at=START - 10)

        async def refused() -> bool:
            try:
                await britta.envelopes()
            except RemoteError as exc:
                return exc.code == "auth_required"
            return False

        await until(refused, seconds=2)


async def test_sign_in_attempts_count_across_instances(tmp_path, pg_url):
    """The limit per key holds for the network, not per instance: ten attempts spread over
    three instances, and the eleventh is refused wherever it goes."""
    async with (
        running_hub(tmp_path, database=pg_url, signin_attempts_per_minute=10) as net,
        more_instances(net, 2, signin_attempts_per_minute=10) as others,
        aiohttp.ClientSession() as session,
    ):
        urls = [net.url] + [i.url for i in others]
        body = {"network": NETWORK, "key_id": "ab" * 16}
        statuses = []
        for n in range(12):
            async with session.post(f"{urls[n % 3]}/api/v1/auth/challenge", json=body) as r:
                statuses.append(r.status)
        assert statuses == [200] * 10 + [429, 429]
        net.clock.now += 61
        async with session.post(f"{urls[2]}/api/v1/auth/challenge", json=body) as r:
            assert r.status == 200


async def test_the_clock_moved_forward_with_three_instances_sends_each_notice_once(net, catcher):
    """The deadline clock of all three instances comes due at once: each of B's contact persons
    gets the reminder exactly once, whichever instance claimed it."""
    await ask(net, "kommun-b")
    times = await fire_times(net)
    smtp = catcher.config(timeout_seconds=2)
    async with more_instances(net, 2, smtp=smtp) as others:
        apps = [net.app] + [i.app for i in others]
        for stage in (1, 2):
            net.clock.now = times[("answer", stage)]
            for app in apps:
                app[SCHEDULER].poke()
            await asyncio.gather(*(app[SCHEDULER].tick() for app in apps))
            await asyncio.gather(*(app[SCHEDULER].tick() for app in apps))
        addressed = sorted(c.to[0] for c in catcher.caught)
        assert addressed == sorted([*B_CONTACTS, *B_CONTACTS])
        storage = apps[1][STORAGE]
        sent = _not_of_the_setup(await storage.list_notices(NETWORK, ["sent"]))
        assert len(sent) == 4
        assert len({n.key for n in sent}) == 4
        assert await storage.list_notices(NETWORK, ["pending", "sending", "unknown"]) == []


# --- one instance killed -------------------------------------------------------------------


async def _start_process(net: HubNet, port: int, smtp_port: int) -> asyncio.subprocess.Process:
    env = {
        "HUB_DATA_DIR": str(net.data_dir.parent / "killed"),
        "HUB_DATABASE": str(net.database),
        "HUB_PORT": str(port),
        "HUB_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "HUB_SIGNIN_ATTEMPTS_PER_MINUTE": "10000",
        "HUB_SMTP_HOST": "127.0.0.1",
        "HUB_SMTP_PORT": str(smtp_port),
        "HUB_SMTP_SECURITY": "none",
        "HUB_SMTP_SENDER": "hubben@lansstyrelsen.example",
        "HUB_SMTP_TIMEOUT_SECONDS": "30",
    }
    return await serve_process(env, port)


def _notice(n: int, at: int) -> NoticeRow:
    return NoticeRow(
        key=f"test-notice-{n}",
        cause=f"test-{n}",
        network_id=NETWORK,
        municipality_id="kommun-b",
        audience="contacts",
        address=f"person{n}@kommun-b.example",
        topic="new",
        created_at=at,
        next_attempt_at=at,
    )


async def test_an_instance_killed_mid_tick_and_mid_uploads(net, catcher):
    """A real `hub serve` instance claims three due notices, sends the first, hangs on the
    second (the mail server does not answer), and takes uploads; SIGKILL. On the two other
    instances: every upload it acknowledged is listed and intact; the first notice is sent,
    once; the two it held stay 'sending' while their lease runs, then show 'unknown', and no
    instance ever sends them."""
    now = int(time.time())  # the process's clock is the real one
    async with net.app[STORAGE].transaction() as tx:
        for n in range(3):
            await tx.add_notice(_notice(n, now - 60))
    catcher.stall_after = 1
    port = free_port()
    async with more_instances(net, 1, smtp=catcher.config(timeout_seconds=2)) as (second,):
        process = await _start_process(net, port, catcher.port)
        try:
            await until(lambda: asyncio.sleep(0, catcher.stalled >= 1), seconds=20)
            url = f"http://127.0.0.1:{port}"
            clients = [HubClient(url, NETWORK) for _ in range(4)]
            for client in clients:
                net.clients.append(client)
                await client.sign_in(net.people["anna"])
            envelopes = [
                net.seal_to("anna", ["kommun-b"], {"n": n}, [("a.bin", bytes([n]) * 300_000)])
                for n in range(40)
            ]
            queue = list(envelopes)
            acknowledged: set[str] = set()
            enough = asyncio.Event()

            async def uploader(client: HubClient) -> None:
                while queue:
                    data = queue.pop()
                    try:
                        ack = await client.upload(data, ["kommun-b"])
                    except (TimeoutError, aiohttp.ClientError, RemoteError):
                        return
                    acknowledged.add(ack.message_id)
                    if len(acknowledged) >= 5:
                        enough.set()

            tasks = [asyncio.create_task(uploader(c)) for c in clients]
            await asyncio.wait_for(enough.wait(), timeout=60)
            process.send_signal(signal.SIGKILL)
            await process.wait()
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert len(acknowledged) < len(envelopes), "the kill came after every upload"
        catcher.release()

        by_id = {data[12:28].hex(): data for data in envelopes}
        bertil = await second.client(net, "bertil")
        listed = {e.message_id for e in await bertil.envelopes("inbox")}
        assert acknowledged <= listed, "an acknowledged envelope was lost"
        for message_id in listed:
            assert await bertil.download(bytes.fromhex(message_id)) == by_id[message_id]

        storage = second.app[STORAGE]
        assert [c.to for c in catcher.caught] == [("person0@kommun-b.example",)]
        held = await storage.list_notices(NETWORK, ["sending"])
        assert sorted(n.address for n in held) == [
            "person1@kommun-b.example",
            "person2@kommun-b.example",
        ]
        # The other instances' clocks: still within the lease, nothing changes; past it, the
        # held ones are unknown, and nothing is sent again.
        net.clock.now = now
        await asyncio.gather(net.app[SCHEDULER].tick(), second.app[SCHEDULER].tick())
        assert len(await storage.list_notices(NETWORK, ["sending"])) == 2
        net.clock.now = now + LEASE_SECONDS + 60
        await asyncio.gather(net.app[SCHEDULER].tick(), second.app[SCHEDULER].tick())
        unknown = await storage.list_notices(NETWORK, ["unknown"])
        assert sorted(n.key for n in unknown) == ["test-notice-1", "test-notice-2"]
        await asyncio.sleep(0.2)
        assert [c.to for c in catcher.caught] == [("person0@kommun-b.example",)]
        sent = _not_of_the_setup(await storage.list_notices(NETWORK, ["sent"]))
        assert [n.key for n in sent] == ["test-notice-0"]

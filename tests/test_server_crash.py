"""A real `hub serve` process killed with SIGKILL during concurrent uploads loses no
acknowledged envelope and shows no half-written one after it restarts."""

from __future__ import annotations

import asyncio
import io
import signal

import aiohttp
import pytest

from hub.client.api import HubClient, RemoteError
from hub.crypto.directory import make_entry
from hub.crypto.envelope import AttachmentSource, seal
from hub.crypto.format import MessageKind
from hub.crypto.keys import PrivateIdentity, SigningKey
from hub.storage.base import Network
from hub.storage.sqlite import create_network
from tests.hubnet import NETWORK, free_port, serve_process
from tests.vectors._rng import SeededRng


async def _start_hub(data_dir, port):
    env = {
        "HUB_DATA_DIR": str(data_dir),
        "HUB_PORT": str(port),
        "HUB_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "HUB_SIGNIN_ATTEMPTS_PER_MINUTE": "10000",
    }
    return await serve_process(env, port)


def _sealed(sender, recipients, n, size):
    out = io.BytesIO()
    payload = SeededRng(f"crash/{n}")(size)
    seal(
        out,
        sender=sender,
        recipients=recipients,
        kind=MessageKind.INQUIRY,
        case_id=bytes(16),
        document={"n": n},
        attachments=[
            AttachmentSource("bilaga.bin", "application/octet-stream", size, io.BytesIO(payload))
        ],
        created_at=1_795_000_000,
    )
    return out.getvalue()


@pytest.mark.parametrize("kill_after_acks", [3, 25])
async def test_sigkill_during_uploads_loses_nothing_acknowledged(tmp_path, kill_after_acks):
    """Every upload the hub acknowledged before SIGKILL is intact after restart; nothing else is listed."""
    data_dir = tmp_path / "data"
    admin = SigningKey.generate(SeededRng("crash/admin"))
    anna = PrivateIdentity.generate(SeededRng("crash/anna"))
    bertil = PrivateIdentity.generate(SeededRng("crash/bertil"))
    await create_network(data_dir, Network(NETWORK, "Test", admin.public, {}, 1_795_000_000))

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    hub = await _start_hub(data_dir, port)
    try:
        async with HubClient(url, NETWORK) as admin_client:
            await admin_client.sign_in(admin)
            for serial, (person, identity, municipality) in enumerate(
                [("anna", anna, "kommun-a"), ("bertil", bertil, "kommun-b")], start=1
            ):
                await admin_client.put_municipality(
                    municipality, name=municipality, population=1, manager_email="c@x.example"
                )
                await admin_client.add_record(
                    make_entry(
                        admin,
                        network=NETWORK,
                        municipality=municipality,
                        person=person,
                        role="contact_person",
                        identity=identity.public,
                        not_before=0,
                        not_after=2_000_000_000,
                        serial=serial,
                    )
                )
        envelopes = [
            _sealed(anna, [anna.public, bertil.public], n, 20_000 + 37_000 * (n % 9))
            for n in range(80)
        ]
        sent = {}  # message id hex -> bytes
        acknowledged: set[str] = set()
        enough = asyncio.Event()

        async def uploader(client, queue):
            while queue:
                data = queue.pop()
                try:
                    ack = await client.upload(data, ["kommun-b"])
                except (TimeoutError, aiohttp.ClientError, RemoteError):
                    return
                acknowledged.add(ack.message_id)
                if len(acknowledged) >= kill_after_acks:
                    enough.set()

        queue = list(envelopes)
        for data in envelopes:
            sent[data[12:28].hex()] = data
        clients = [HubClient(url, NETWORK) for _ in range(6)]
        try:
            for c in clients:
                await c.sign_in(anna)
            tasks = [asyncio.create_task(uploader(c, queue)) for c in clients]
            await asyncio.wait_for(enough.wait(), timeout=60)
            hub.send_signal(signal.SIGKILL)
            await hub.wait()
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            for c in clients:
                await c.close()
        assert len(acknowledged) < len(envelopes), "the kill came after every upload"

        hub = await _start_hub(data_dir, port)
        async with HubClient(url, NETWORK) as reader:
            await reader.sign_in(bertil)
            listed = {e.message_id: e for e in await reader.envelopes("inbox")}
            assert acknowledged <= set(listed), "an acknowledged envelope was lost"
            for message_id, meta in listed.items():
                stored = await reader.download(bytes.fromhex(message_id))
                assert stored == sent[message_id], "a listed envelope is not intact"
                assert meta.size == len(stored)
        assert list((data_dir / "blobs" / "tmp").iterdir()) == []
    finally:
        if hub.returncode is None:
            hub.kill()
            await hub.wait()

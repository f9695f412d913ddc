"""Uploads committed in groups (issue 19): many uploads at once share a commit, each is
answered only once stored, and nothing about what is stored changes. Against a real hub."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from hub.server.typedefs import INGEST
from hub.storage.audit import verify_chain
from hub.storage.blobs import FLUSH_BYTES, FileBlobStore
from tests.hubnet import running_hub


@pytest.fixture
async def net(tmp_path, database):
    """The hub on each backend: SQLite, and PostgreSQL (tests/conftest.py)."""
    async with running_hub(tmp_path, database=database) as hubnet:
        yield hubnet


async def _post(net, token: str, data: bytes, to: str) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream"}
    async with (
        aiohttp.ClientSession() as s,
        s.post(f"{net.url}/api/v1/envelopes", params={"to": to}, data=data, headers=headers) as r,
    ):
        return r.status, await r.json()


async def test_forty_uploads_at_once_are_each_stored_whole_and_listed_in_order(net):
    """40 envelopes from four connections at once (one larger than the in-memory limit): each
    is answered 201 with its own seq, listed once, readable byte for byte, audited once; and
    they were committed in fewer groups than uploads."""
    senders = ["anna", "anna", "cecilia", "cecilia"]
    tokens = [(await net.client(p, fresh=True)).signed_in.token for p in senders]
    jobs = []
    for n in range(40):
        sender = senders[n % 4]
        to = "kommun-b"
        size = FLUSH_BYTES + 5 if n == 7 else 100 + n
        data = net.seal_to(sender, [to], {"n": str(n)}, [("a.pdf", bytes([n]) * size)])
        jobs.append((tokens[n % 4], data, to))
    groups_before = net.app[INGEST].groups
    answers = await asyncio.gather(*(_post(net, *job) for job in jobs))
    assert [status for status, _ in answers] == [201] * 40
    seqs = [body["seq"] for _, body in answers]
    assert len(set(seqs)) == 40
    assert net.app[INGEST].groups - groups_before < 40
    bertil = await net.client("bertil")
    listed = await bertil.envelopes()
    assert sorted(e.seq for e in listed) == sorted(seqs)
    for (_, data, _), (_, body) in zip(jobs, answers, strict=True):
        assert await bertil.download(bytes.fromhex(body["message_id"])) == data
    storage = await net.open_storage()
    try:
        records = [r async for r in storage.audit_records()]
    finally:
        await storage.close()
    assert verify_chain(records) is None
    uploaded = [r.subject["message_id"] for r in records if r.action == "envelope_uploaded"]
    assert sorted(uploaded) == sorted(body["message_id"] for _, body in answers)


async def test_one_group_with_an_upload_its_repeat_and_a_clash(net):
    """The same envelope twice and other bytes under its id, at once: one is stored (201), the
    repeat gets the same answer (200), the clash is refused (409); one row."""
    message_id = bytes.fromhex("77" * 16)
    token = (await net.client("anna")).signed_in.token
    first = net.seal_to("anna", ["kommun-b"], {"x": "1"}, message_id=message_id)
    clash = net.seal_to("anna", ["kommun-b"], {"x": "2"}, message_id=message_id)
    answers = await asyncio.gather(
        _post(net, token, first, "kommun-b"),
        _post(net, token, first, "kommun-b"),
        _post(net, token, clash, "kommun-b"),
    )
    statuses = sorted(status for status, _ in answers)
    assert statuses in ([200, 201, 409], [201, 409, 409])  # the clash may come first
    stored = [body for status, body in answers if status in {200, 201}]
    assert all(body == stored[0] for body in stored)
    sent = await (await net.client("anna")).envelopes("sent")
    assert [e.message_id for e in sent] == [message_id.hex()]


async def test_commit_all_places_new_blobs_and_refuses_other_bytes(tmp_path):
    """The blob store's group commit: new blobs (in memory and on disk) are placed, the same
    bytes again count as placed, other bytes under a taken id are not, and no temporary file
    is left."""
    store = FileBlobStore(tmp_path / "blobs")

    async def pending(data: bytes):
        async def chunks():
            yield data

        return await store.write(chunks(), max_size=len(data))

    big = b"b" * (FLUSH_BYTES + 1)
    ids = [bytes([n]) * 16 for n in range(4)]
    placed = await store.commit_all(
        [
            (await pending(b"small"), ids[0]),
            (await pending(big), ids[1]),
            (await pending(b"two"), ids[2]),
            (await pending(b"two"), ids[2]),
            (await pending(b"other"), ids[2]),
        ]
    )
    assert placed == [True, True, True, True, False]
    assert store.path_of(ids[0]).read_bytes() == b"small"
    assert store.path_of(ids[1]).read_bytes() == big
    assert store.path_of(ids[2]).read_bytes() == b"two"
    assert list((store.root / "tmp").iterdir()) == []

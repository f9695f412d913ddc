"""Attachments in the inbox's local cache: each kept as a file of its own, encrypted in chunks,
owned by the draft or the outbox item that names it, and gone with it; never whole in a row."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import os
import tracemalloc

import aiohttp
import pytest

from hub.crypto import primitives as p
from hub.crypto.format import MessageKind
from hub.inbox import forms
from hub.inbox.agent import CACHE_PURPOSE
from hub.inbox.cache import InboxCache
from hub.inbox.cache_blobs import BLOB_CHUNK, AttachmentUnreadable
from hub.inbox.sync import AgentCore, Attachment
from tests.hubnet import NETWORK, running_hub
from tests.inboxnet import running_agent

CANARY = b"KANARIE-bilagan-5b1f"
KEY = bytes(range(32))


@pytest.fixture
async def net(tmp_path):
    async with running_hub(tmp_path) as hubnet:
        yield hubnet


def _scan(folder) -> bytes:
    return b"".join(path.read_bytes() for path in folder.rglob("*") if path.is_file())


async def _attachment(core, message_id: bytes, index: int = 0) -> tuple[str, bytes]:
    """An opened attachment's name and bytes, as the agent gives them out (in chunks)."""
    async with core.open_attachment(message_id, index) as found:
        return found.name, b"".join([chunk async for chunk in found.chunks])


def _inquiry_form(attachment: bytes, name: str = "utredning.pdf") -> aiohttp.FormData:
    form = aiohttp.FormData()
    for field in forms.INQUIRY_FIELDS:
        form.add_field(field.id, "2026-11-24" if field.kind == "date" else "uppgift")
    form.add_field("municipalities", "kommun-b")
    form.add_field("attachments", attachment, filename=name, content_type="application/pdf")
    return form


@pytest.mark.parametrize("size", [0, 1, BLOB_CHUNK - 1, BLOB_CHUNK, 3 * BLOB_CHUNK + 5])
async def test_an_attachment_file_reads_back_as_written(tmp_path, size):
    """Any size, the chunk boundaries included, comes back byte for byte."""
    cache = await InboxCache.open(tmp_path / "c", KEY)
    data = os.urandom(size)
    blob, stored = await cache.put_blob(io.BytesIO(data))
    assert stored == size
    with cache.open_blob(blob) as reader:
        assert reader.read() == data
    await cache.close()


async def test_a_changed_cut_or_swapped_attachment_file_is_refused(tmp_path):
    """A flipped byte, a file cut at a chunk's end, or another attachment's file in its place:
    reading fails, and nothing is given out unchecked."""
    cache = await InboxCache.open(tmp_path / "c", KEY)
    data = os.urandom(3 * BLOB_CHUNK)
    blob, _ = await cache.put_blob(io.BytesIO(data))
    other, _ = await cache.put_blob(io.BytesIO(data))
    path = cache.blob_path(blob)
    whole = path.read_bytes()

    flipped = bytearray(whole)
    flipped[-5] ^= 1
    path.write_bytes(bytes(flipped))
    with pytest.raises(AttachmentUnreadable), cache.open_blob(blob) as reader:
        reader.read()

    chunk = BLOB_CHUNK + p.STREAM_OVERHEAD
    path.write_bytes(whole[: p.STREAM_HEADER_BYTES + 2 * chunk])  # two whole chunks of three
    with pytest.raises(AttachmentUnreadable), cache.open_blob(blob) as reader:
        reader.read()

    path.write_bytes(cache.blob_path(other).read_bytes())
    with pytest.raises(AttachmentUnreadable), cache.open_blob(blob) as reader:
        reader.read()
    await cache.close()


async def test_a_reviewed_attachment_is_kept_encrypted_apart_and_goes_with_the_send(net, tmp_path):
    """The review step keeps the attachment in a file of its own, encrypted (its bytes appear
    nowhere in the cache, and the draft's row stays small); choosing another file drops the
    first; sending takes the file to the outbox and removes it once the hub has it."""
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        folder = tmp_path / "cache-anna"
        big = CANARY + os.urandom(2_000_000)
        status, review = await anna.post("/ny/granska", _inquiry_form(big))
        assert status == 200, review
        draft_id = review.split('name="draft_id" value="')[1].split('"')[0]
        assert CANARY not in _scan(folder)
        [first] = list((folder / "blobs").iterdir())
        database = sum(f.stat().st_size for f in folder.glob("cache.sqlite3*"))
        assert database < 1_000_000

        form = _inquiry_form(b"%PDF andra", name="andra.pdf")
        form.add_field("draft_id", draft_id)
        status, _ = await anna.post("/ny/granska", form)
        assert status == 200
        [second] = list((folder / "blobs").iterdir())
        assert second != first  # the first file went when the draft named another

        status, page = await anna.post("/ny/skicka", {"draft_id": draft_id})
        assert status == 200
        assert "Förfrågan till Kommun B" in page
        assert list((folder / "blobs").iterdir()) == []
        assert list((folder / "outgoing").iterdir()) == []
        assert await anna.core.cache.outbox_count() == 0


async def test_an_attachment_waits_encrypted_in_the_outbox_and_goes_when_the_hub_answers(
    net, tmp_path
):
    """With the hub unreachable, the inquiry waits with its attachment file; when the hub
    answers it goes, and B opens the attachment as it was chosen."""
    attachment = CANARY + os.urandom(300_000)
    async with (
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        await anna.login()
        assert anna.core.client is not None
        _, review = await anna.post("/ny/granska", _inquiry_form(attachment))
        draft_id = review.split('name="draft_id" value="')[1].split('"')[0]
        real_url = anna.core.client.base_url
        anna.core.client.base_url = "http://127.0.0.1:9"  # nothing listens there
        anna.core.online = False
        await anna.post("/ny/skicka", {"draft_id": draft_id})
        assert await anna.core.cache.outbox_count() == 1
        folder = tmp_path / "cache-anna"
        assert len(list((folder / "blobs").iterdir())) == 1
        assert CANARY not in _scan(folder)

        anna.core.client.base_url = real_url
        await anna.core.flush_outbox()
        assert await anna.core.cache.outbox_count() == 0
        assert list((folder / "blobs").iterdir()) == []
        await bertil.core.sync()
        [case] = await bertil.core.cache.list_cases("inbox")
        envelopes = await bertil.core.cache.envelopes_of_case(bytes.fromhex(case["case_id"]))
        assert await _attachment(bertil.core, envelopes[0].message_id) == (
            "utredning.pdf",
            attachment,
        )


async def test_an_outbox_item_kept_by_an_earlier_version_still_goes(net, tmp_path):
    """An outbox item written before attachments had files of their own (base64 in the row)
    is sent as it stands."""
    async with (
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        case_id = os.urandom(16)
        step = {
            "op": "envelope_event",
            "municipality": "kommun-b",
            "kind": int(MessageKind.INQUIRY),
            "event": "send_inquiry",
            "document": {"bakgrund_till_placering": "x"},
            "attachments": [
                {
                    "name": "gammal.pdf",
                    "media_type": "application/pdf",
                    "data": base64.b64encode(b"%PDF gammal").decode(),
                }
            ],
        }
        body = {"case_id": case_id.hex(), "steps": [{"op": "create_case"}, step]}
        await anna.core.cache.add_outbox("000000000000001-legacy", body, 1)
        await anna.core.flush_outbox()
        assert await anna.core.cache.outbox_count() == 0
        await bertil.core.sync()
        [envelope] = await bertil.core.cache.envelopes_of_case(case_id)
        assert await _attachment(bertil.core, envelope.message_id) == (
            "gammal.pdf",
            b"%PDF gammal",
        )


async def test_attachment_files_nobody_took_are_dropped_at_the_next_start(tmp_path):
    """A file stored for a form that never became a draft or an outbox item (the agent
    stopped in between), and a half-sent envelope, are gone when the inbox starts again."""
    key = os.urandom(32)
    cache = await InboxCache.open(tmp_path / "c", key)
    kept, _ = await cache.put_blob(io.BytesIO(b"utkastets bilaga"))
    await cache.save_draft("d1", {"attachments": [{"blob": kept}]}, 1, blobs=[kept])
    left, _ = await cache.put_blob(io.BytesIO(b"blev aldrig ett utkast"))
    cache.outgoing_path("x-1").write_bytes(b"halvt skickat kuvert")
    await cache.close()

    cache = await InboxCache.open(tmp_path / "c", key)
    assert cache.blob_path(kept).exists()
    assert not cache.blob_path(left).exists()
    assert list((tmp_path / "c" / "outgoing").iterdir()) == []
    with cache.open_blob(kept) as reader:
        assert reader.read() == b"utkastets bilaga"
    await cache.delete_draft("d1")
    assert not cache.blob_path(kept).exists()
    await cache.close()


async def test_a_second_skicka_of_the_same_draft_sends_nothing_more(net, tmp_path):
    """Skicka pressed twice (a double click without JavaScript): one inquiry goes; the second
    finds the draft already sent and says so."""
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        _, review = await anna.post("/ny/granska", _inquiry_form(b"%PDF x"))
        draft_id = review.split('name="draft_id" value="')[1].split('"')[0]
        first, second = await asyncio.gather(
            anna.post("/ny/skicka", {"draft_id": draft_id}),
            anna.post("/ny/skicka", {"draft_id": draft_id}),
        )
        assert sorted([first[0], second[0]]) == [200, 404]
        assert len(await (await net.client("anna")).envelopes("sent")) == 1
        assert list((tmp_path / "cache-anna" / "blobs").iterdir()) == []


async def test_an_outbox_item_whose_attachment_file_is_gone_is_dropped_and_said(net, tmp_path):
    """If an attachment file waiting in the outbox is removed or changed on disk, the item
    cannot go: it leaves the outbox (the rest can go) and the page says so."""
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        assert anna.core.client is not None
        real_url = anna.core.client.base_url
        anna.core.client.base_url = "http://127.0.0.1:9"  # nothing listens there
        anna.core.online = False
        stored = await anna.core.store_attachment("a.pdf", "application/pdf", io.BytesIO(b"%PDF"))
        await anna.core.send_inquiry({"bakgrund_till_placering": "x"}, [stored], ["kommun-b"])
        await anna.core.send_inquiry({"bakgrund_till_placering": "y"}, [], ["kommun-b"])
        assert await anna.core.cache.outbox_count() == 2
        anna.core.cache.blob_path(stored["blob"]).unlink()
        anna.core.client.base_url = real_url
        await anna.core.flush_outbox()
        assert await anna.core.cache.outbox_count() == 0
        assert len(await (await net.client("anna")).envelopes("sent")) == 1
        _, page = await anna.page("/")
        assert "En bilaga i utkorgen gick inte att läsa" in page


async def test_a_large_envelope_is_received_kept_and_served_without_being_held_whole(net, tmp_path):
    """B receives A's 20 MB attachment and downloads it from the page byte for byte, while the
    agent's memory grows by well under half of it (it goes to disk and back in chunks). The
    envelope is kept on B's disk exactly as the hub holds it (ciphertext, readable by B
    alone), and no half-written file is left beside it."""
    attachment = CANARY + os.urandom(20_000_000)
    async with running_agent(net, "anna", tmp_path) as anna:
        case_id = await anna.core.send_inquiry(
            {"bakgrund_till_placering": "x"},
            [Attachment("utredning.pdf", "application/pdf", attachment)],
            ["kommun-b"],
        )
    # B's agent without its pages first, so that nothing but this sync fetches the envelope.
    identity = net.people["bertil"]
    folder = tmp_path / "cache-bertil"
    cache = await InboxCache.open(folder, identity.local_key(CACHE_PURPOSE))
    core = AgentCore(net.url, NETWORK, identity, net.admin.public, cache, clock=net.clock)
    tracemalloc.start()
    try:
        await core.sync()
        received = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        await core.close()
        await cache.close()
    assert received < len(attachment) // 2

    [stored] = (folder / "envelopes").iterdir()
    message_id = bytes.fromhex(stored.stem)
    assert stored.read_bytes() == await (await net.client("bertil")).download(message_id)
    assert stored.stat().st_mode & 0o777 == 0o600
    assert CANARY not in stored.read_bytes()

    async with running_agent(net, "bertil", tmp_path) as bertil:
        await bertil.login()
        link = f"/arende/{case_id.hex()}/bilaga/{message_id.hex()}/0"
        digest = hashlib.sha256()
        tracemalloc.start()
        try:
            async with bertil.session.get(bertil.url + link) as r:
                assert r.status == 200
                async for chunk in r.content.iter_chunked(65536):
                    digest.update(chunk)
            served = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert digest.digest() == hashlib.sha256(attachment).digest()
    assert served < len(attachment) // 2


async def test_a_download_cut_off_is_fetched_again_and_its_remains_go_at_the_next_start(
    net, tmp_path
):
    """If the agent stops while an envelope is arriving, what had arrived is removed when the
    inbox starts again, and the envelope is fetched anew and opens."""
    async with running_agent(net, "anna", tmp_path) as anna:
        case_id = await anna.core.send_inquiry(
            {"bakgrund_till_placering": "x"},
            [Attachment("utredning.pdf", "application/pdf", b"%PDF hel")],
            ["kommun-b"],
        )
    [meta] = await (await net.client("bertil")).envelopes("inbox")
    message_id = bytes.fromhex(meta.message_id)
    folder = tmp_path / "cache-bertil"
    key = net.people["bertil"].local_key(CACHE_PURPOSE)
    cache = await InboxCache.open(folder, key)
    cache.incoming_path(message_id).write_bytes(b"HUBENV halvt")  # as a stop midway leaves it
    await cache.close()

    cache = await InboxCache.open(folder, key)
    assert list((folder / "envelopes").iterdir()) == []
    await cache.close()
    async with running_agent(net, "bertil", tmp_path) as bertil:  # its start syncs
        assert [p.name for p in (folder / "envelopes").iterdir()] == [f"{message_id.hex()}.env"]
        [envelope] = await bertil.core.cache.envelopes_of_case(case_id)
        assert envelope.error is None
        assert await _attachment(bertil.core, message_id) == ("utredning.pdf", b"%PDF hel")

"""A repeated upload (issue 11): the same sender's same bytes under a message id already stored
are the same upload, answered as the first time and changing nothing; anything else under that
id is refused. Against a real hub on a free port."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from hub.server.config import SmtpConfig
from tests.hubnet import NETWORK, free_port, running_hub

MESSAGE_ID = bytes.fromhex("5e1f" * 8)


@pytest.fixture
async def net(tmp_path, database):
    """The hub on each backend: SQLite, and PostgreSQL (tests/conftest.py)."""
    async with running_hub(tmp_path, database=database) as hubnet:
        yield hubnet


async def _post(net, person: str, data: bytes, to: str = "kommun-b") -> tuple[int, bytes]:
    """The hub's raw answer to an upload: status and body bytes."""
    client = await net.client(person)
    headers = {
        "Authorization": f"Bearer {client.signed_in.token}",
        "Content-Type": "application/octet-stream",
    }
    async with (
        aiohttp.ClientSession() as s,
        s.post(f"{net.url}/api/v1/envelopes", params={"to": to}, data=data, headers=headers) as r,
    ):
        return r.status, await r.read()


async def _stored(net) -> tuple[list[str], int, list[str]]:
    """What the hub holds: each envelope row's (id, digest), audit record count, notices."""
    storage = await net.open_storage()
    try:
        rows = await storage.list_envelopes(NETWORK, "kommun-a", box="sent")
        audit = [r async for r in storage.audit_records()]
        notices = await storage.list_notices(NETWORK, ["pending", "sending", "sent"])
    finally:
        await storage.close()
    blobs = net.blob_names()
    return (
        [f"{r.message_id.hex()} {r.digest.hex()}" for r in rows] + blobs,
        len(audit),
        [n.key for n in notices],
    )


async def test_the_same_envelope_again_is_answered_as_the_first_time_and_changes_nothing(tmp_path):
    """A retry after a lost answer gets the first acknowledgement (200 instead of 201): no
    second row, audit record, e-mail notice or live event."""
    # Notices wait 600 s before they are sent: nothing is sent to this port during the test.
    smtp = SmtpConfig(host="127.0.0.1", port=free_port(), sender="hub@example", security="none")
    async with running_hub(tmp_path, smtp=smtp) as net:
        await _same_envelope_twice(net)


async def _same_envelope_twice(net) -> None:
    admin = await net.client()
    await admin.put_contact_address("kommun-b", "bertil", "bertil@kommun-b.example")
    data = net.seal_to("anna", ["kommun-b"], {"x": "1"}, message_id=MESSAGE_ID)
    bertil = await net.client("bertil")
    async with bertil.live() as ws:
        assert (await ws.receive_json(timeout=5))["type"] == "hello"
        first = await _post(net, "anna", data)
        before = await _stored(net)
        again = await _post(net, "anna", data)
        assert (await ws.receive_json(timeout=5))["message_id"] == MESSAGE_ID.hex()
        with pytest.raises(asyncio.TimeoutError):
            await ws.receive_json(timeout=0.5)
    assert first[0] == 201
    assert again == (200, first[1])
    assert await _stored(net) == before
    # One e-mail notice to Bertil, not two (the managers' notices of the set-up's new keys,
    # tests/test_directory_notice.py, are not about this envelope).
    assert len([key for key in before[2] if key.startswith("delivery/")]) == 1


async def test_the_same_id_with_other_bytes_is_refused_and_changes_nothing(net):
    """The same sender's other envelope under a taken message id: 409 envelope_id_taken."""
    first = net.seal_to("anna", ["kommun-b"], {"x": "1"}, message_id=MESSAGE_ID)
    assert (await _post(net, "anna", first))[0] == 201
    before = await _stored(net)
    other = net.seal_to("anna", ["kommun-b"], {"x": "2"}, message_id=MESSAGE_ID)
    status, body = await _post(net, "anna", other)
    assert status == 409
    assert b'"envelope_id_taken"' in body
    assert await _stored(net) == before


async def test_another_sender_cannot_take_or_replace_a_stored_message_id(net):
    """Cecilia's envelope under Anna's message id is refused with the same code; Anna's
    envelope stays as it was."""
    assert (await _post(net, "anna", net.seal_to("anna", ["kommun-b"], {}, message_id=MESSAGE_ID)))[
        0
    ] == 201
    await net.client("cecilia")  # her sign-in is audited: before the snapshot
    before = await _stored(net)
    theirs = net.seal_to("cecilia", ["kommun-b"], {}, message_id=MESSAGE_ID)
    status, body = await _post(net, "cecilia", theirs)
    assert status == 409
    assert b'"envelope_id_taken"' in body
    assert await _stored(net) == before


async def test_two_uploads_of_one_envelope_at_once_store_it_once(net):
    """Two connections racing with the same bytes: both acknowledged with the same seq, one
    row, one audit record."""
    data = net.seal_to("anna", ["kommun-b"], {"x": "1"}, message_id=MESSAGE_ID)
    await net.client("anna")
    second = await net.client("anna", fresh=True)
    headers = {
        "Authorization": f"Bearer {second.signed_in.token}",
        "Content-Type": "application/octet-stream",
    }

    async def by_second() -> tuple[int, bytes]:
        async with (
            aiohttp.ClientSession() as s,
            s.post(
                f"{net.url}/api/v1/envelopes", params={"to": "kommun-b"}, data=data, headers=headers
            ) as r,
        ):
            return r.status, await r.read()

    answers = await asyncio.gather(_post(net, "anna", data), by_second())
    assert sorted(status for status, _ in answers) == [200, 201]
    assert answers[0][1] == answers[1][1]
    rows, _, _ = await _stored(net)
    assert len([r for r in rows if " " in r]) == 1


async def test_a_retry_after_the_directory_changed_is_still_the_same_upload(net):
    """Kommun B gets a new key after Anna's envelope was stored: her unchanged retry is sealed
    to yesterday's keys, and is still answered as the first time; a new envelope sealed that
    way is refused."""
    data = net.seal_to("anna", ["kommun-b"], {"x": "1"}, message_id=MESSAGE_ID)
    first = await _post(net, "anna", data)
    assert first[0] == 201
    await net.enrol("bodil", "kommun-b")
    again = await _post(net, "anna", data)
    assert again == (200, first[1])
    stale = net.seal_to("anna", ["kommun-b"], {"x": "2"})  # Bodil is not yet in net.active
    status, body = await _post(net, "anna", stale)
    assert status == 422
    assert b'"envelope_recipients_mismatch"' in body

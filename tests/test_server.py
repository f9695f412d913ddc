"""The hub's API against a real hub on a free port, with real SQLite files and real keys."""

from __future__ import annotations

import asyncio
import base64
import io
import json

import aiohttp
import pytest

from hub.client.api import HubClient, RemoteError
from hub.crypto.directory import make_entry
from hub.crypto.envelope import open_envelope, read_header
from hub.crypto.keys import SigningKey
from hub.crypto.receipts import make_receipt, verify_receipt
from hub.protocol.signin import signin_message
from hub.storage.audit import verify_chain
from tests.hubnet import NETWORK, START, running_hub

CANARY = "KANARIE-hubben-får-aldrig-se-detta-4b1f"


@pytest.fixture
async def net(tmp_path, database):
    """The hub on each backend: SQLite, and PostgreSQL (tests/conftest.py)."""
    async with running_hub(tmp_path, database=database) as hubnet:
        yield hubnet


async def _send(net, sender="anna", to=("kommun-b",), document=None, attachments=None):
    data = net.seal_to(
        sender,
        list(to),
        document or {"bakgrund": CANARY},
        attachments or [(f"{CANARY}.pdf", CANARY.encode() * 10)],
    )
    client = await net.client(sender)
    return data, await client.upload(data, list(to))


async def test_health_answers(net):
    """The health endpoint answers without sign-in."""
    async with aiohttp.ClientSession() as s, s.get(f"{net.url}/healthz") as r:
        assert r.status == 200
        assert (await r.json())["status"] == "ok"


async def test_contact_person_signs_in_with_key_and_gets_own_municipality(net):
    """Signing a challenge with the enrolled key gives a token bound to the person's municipality."""
    client = await net.client("bertil")
    assert client.signed_in.municipality == "kommun-b"
    assert client.signed_in.role == "contact_person"
    assert client.signed_in.expires_at <= START + 15 * 60


async def test_wrong_signature_is_refused(net):
    """A sign-in signed with another key is refused, with no hint whether the key exists."""
    client = HubClient(net.url, NETWORK)
    net.clients.append(client)
    impostor = SigningKey.generate()

    class Posing:
        key_id = net.people["bertil"].key_id

        def sign(self, message: bytes) -> bytes:
            return impostor.sign(message)

    with pytest.raises(RemoteError) as caught:
        await client.sign_in(Posing())
    assert (caught.value.status, caught.value.code) == (401, "auth_failed")


async def test_revoked_key_cannot_sign_in_and_loses_its_session(net):
    """Once the administrator revokes a key, it can neither sign in nor use a session it had."""
    old = await net.client("britta")
    await net.revoke("britta", at=START - 10)
    net.clock.now += 1
    with pytest.raises(RemoteError) as caught:
        await old.envelopes()
    assert caught.value.code == "auth_required"
    with pytest.raises(RemoteError) as caught:
        await net.client("britta", fresh=True)
    assert caught.value.code == "auth_failed"


async def test_expired_key_cannot_sign_in(net):
    """A key past its validity cannot sign in."""
    await net.enrol("kortvarig", "kommun-c", not_after=START + 10)
    net.clock.now = START + 20
    with pytest.raises(RemoteError) as caught:
        await net.client("kortvarig")
    assert caught.value.code == "auth_failed"


async def _signed_answer(session, net, *, audience: str) -> dict[str, str]:
    """Ask for a challenge as Anna and sign it for `audience`: the body of a sign-in."""
    key = net.people["anna"]
    async with session.post(
        f"{net.url}/api/v1/auth/challenge",
        json={"network": NETWORK, "key_id": key.key_id.hex()},
    ) as r:
        challenge = await r.json()
    nonce = base64.b64decode(challenge["nonce"])
    message = signin_message(audience=audience, network=NETWORK, key_id=key.key_id, nonce=nonce)
    return {
        "network": NETWORK,
        "key_id": key.key_id.hex(),
        "nonce": challenge["nonce"],
        "signature": base64.b64encode(key.sign(message)).decode(),
    }


async def test_a_challenge_is_used_once(net):
    """Replaying a signed sign-in answer is refused."""
    async with aiohttp.ClientSession() as s:
        body = await _signed_answer(s, net, audience=net.url)
        async with s.post(f"{net.url}/api/v1/auth/session", json=body) as r:
            assert r.status == 200
        async with s.post(f"{net.url}/api/v1/auth/session", json=body) as r:
            assert r.status == 401


async def test_signature_for_another_hub_is_refused(net):
    """A sign-in signature made for another hub's address does not open this one."""
    async with aiohttp.ClientSession() as s:
        body = await _signed_answer(s, net, audience="https://annan-hubb.example")
        async with s.post(f"{net.url}/api/v1/auth/session", json=body) as r:
            assert r.status == 401


async def test_sign_in_attempts_are_rate_limited(tmp_path, database):
    """After ten attempts a minute for one key, the hub answers 429 until the minute passes
    (on PostgreSQL, counted in the database that every instance shares)."""
    async with (
        running_hub(tmp_path, signin_attempts_per_minute=10, database=database) as net,
        aiohttp.ClientSession() as s,
    ):
        body = {"network": NETWORK, "key_id": "00" * 16}
        statuses = []
        for _ in range(12):
            async with s.post(f"{net.url}/api/v1/auth/challenge", json=body) as r:
                statuses.append(r.status)
        assert statuses[:10] == [200] * 10
        assert statuses[10:] == [429, 429]
        net.clock.now += 61
        async with s.post(f"{net.url}/api/v1/auth/challenge", json=body) as r:
            assert r.status == 200


async def test_envelope_reaches_the_addressed_municipality_and_opens_there(net, tmp_path):
    """Anna's inquiry to B is listed in B's inbox, downloads intact, and B opens it against the directory."""
    _, ack = await _send(net)
    bertil = await net.client("bertil")
    inbox = await bertil.envelopes("inbox")
    assert [e.message_id for e in inbox] == [ack.message_id]
    assert inbox[0].sender == "kommun-a"
    data = await bertil.download(bytes.fromhex(ack.message_id))
    directory = await bertil.directory(net.admin.public)
    with open_envelope(
        io.BytesIO(data),
        recipient=net.people["bertil"],
        sender_keys=directory,
        workdir=tmp_path,
        now=int(net.clock.now),
    ) as opened:
        assert opened.document == {"bakgrund": CANARY}
    sent = await (await net.client("anna")).envelopes("sent")
    assert [e.message_id for e in sent] == [ack.message_id]


async def test_other_municipality_cannot_see_or_fetch_the_envelope(net):
    """Kommun C neither lists nor fetches an envelope between A and B: it is told nothing exists."""
    _, ack = await _send(net)
    cecilia = await net.client("cecilia")
    assert await cecilia.envelopes("inbox") == []
    with pytest.raises(RemoteError) as caught:
        await cecilia.download(bytes.fromhex(ack.message_id))
    assert (caught.value.status, caught.value.code) == (404, "not_found")


async def test_upload_must_include_every_valid_key_and_no_revoked_one(net):
    """An envelope that leaves out a current key of B, or includes a revoked one, is refused."""
    net.active.discard("britta")  # Anna's client forgot Britta: B's second contact person
    data = net.seal_to("anna", ["kommun-b"], {"x": 1})
    anna = await net.client("anna")
    with pytest.raises(RemoteError) as caught:
        await anna.upload(data, ["kommun-b"])
    assert (caught.value.status, caught.value.code) == (422, "envelope_recipients_mismatch")
    await net.revoke("britta", at=START - 10)
    net.active.add("britta")  # now Britta's key is revoked: including it is refused
    with pytest.raises(RemoteError) as caught:
        await anna.upload(net.seal_to("anna", ["kommun-b"], {"x": 2}), ["kommun-b"])
    assert caught.value.code == "envelope_recipients_mismatch"
    net.active.discard("britta")
    await anna.upload(net.seal_to("anna", ["kommun-b"], {"x": 3}), ["kommun-b"])
    assert len(await anna.envelopes("sent")) == 1


async def test_upload_signed_by_someone_else_is_refused(net):
    """A contact person cannot upload an envelope signed by another key."""
    data = net.seal_to("anna", ["kommun-b"], {"x": 1})
    cecilia = await net.client("cecilia")
    with pytest.raises(RemoteError) as caught:
        await cecilia.upload(data, ["kommun-b"])
    assert caught.value.code == "envelope_sender_not_you"


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda d: d[:-1], "envelope_truncated"),
        (lambda d: d + b"\x00", "envelope_trailing_data"),
        (lambda d: d[:-10] + bytes([d[-10] ^ 1]) + d[-9:], "envelope_bad_signature"),
        (lambda d: d[:2000] + bytes([d[2000] ^ 1]) + d[2001:], "envelope_bad_signature"),
        (lambda d: b"NOTENV" + d[6:], "envelope_bad_magic"),
        (lambda _: b"", "envelope_empty"),
    ],
)
async def test_tampered_upload_is_refused_and_leaves_nothing(net, mutate, code):
    """A damaged upload gets its error code and nothing is stored: no row, no blob."""
    data = net.seal_to("anna", ["kommun-b"], {"x": 1})
    anna = await net.client("anna")
    with pytest.raises(RemoteError) as caught:
        await anna.upload(mutate(data), ["kommun-b"])
    assert (caught.value.status, caught.value.code) == (422, code)
    assert await anna.envelopes("sent") == []
    assert net.blob_names() == []


async def test_upload_over_the_limit_answers_413(tmp_path):
    """An envelope above the configured size limit is refused with 413 and a clear code."""
    async with running_hub(tmp_path, max_envelope_bytes=50_000) as net:
        data = net.seal_to("anna", ["kommun-b"], {}, [("stor.pdf", bytes(200_000))])
        anna = await net.client("anna")
        with pytest.raises(RemoteError) as caught:
            await anna.upload(data, ["kommun-b"])
        assert (caught.value.status, caught.value.code) == (413, "request_too_large")


async def test_signed_read_receipt_reaches_the_sender_verified(net):
    """B's signed read receipt is stored, the sender fetches it and verifies it against the directory."""
    data, ack = await _send(net)
    message_id = bytes.fromhex(ack.message_id)
    bertil = await net.client("bertil")
    wire = make_receipt(
        net.people["bertil"],
        network=NETWORK,
        message_id=message_id,
        envelope_digest=bytes.fromhex(ack.digest),
        event="read",
        time=int(net.clock.now),
    )
    await bertil.post_receipt(message_id, wire)
    anna = await net.client("anna")
    receipts = await anna.receipts(message_id)
    directory = await anna.directory(net.admin.public)
    header = read_header(io.BytesIO(data))
    receipt = verify_receipt(
        receipts[0],
        directory=directory,
        message_id=message_id,
        envelope_digest=bytes.fromhex(ack.digest),
        recipient_key_ids=header.recipient_key_ids,
    )
    assert (receipt.municipality, str(receipt.event)) == ("kommun-b", "read")
    with pytest.raises(RemoteError) as caught:
        await bertil.post_receipt(message_id, wire)
    assert caught.value.status == 409  # a replayed receipt changes nothing


async def test_forged_receipt_is_refused(net):
    """A receipt signed by someone who is not a recipient, or for another digest, is refused."""
    _, ack = await _send(net)
    message_id = bytes.fromhex(ack.message_id)
    bertil = await net.client("bertil")
    wrong_digest = make_receipt(
        net.people["bertil"],
        network=NETWORK,
        message_id=message_id,
        envelope_digest=bytes(32),
        event="read",
        time=int(net.clock.now),
    )
    with pytest.raises(RemoteError) as caught:
        await bertil.post_receipt(message_id, wrong_digest)
    assert caught.value.code == "receipt_mismatch"
    by_cecilia = make_receipt(
        net.people["cecilia"],
        network=NETWORK,
        message_id=message_id,
        envelope_digest=bytes.fromhex(ack.digest),
        event="read",
        time=int(net.clock.now),
    )
    with pytest.raises(RemoteError) as caught:
        await bertil.post_receipt(message_id, by_cecilia)
    assert caught.value.code == "receipt_signer_not_recipient"


async def test_live_channel_tells_the_recipient_about_a_new_envelope(net):
    """B's open live connection hears of Anna's envelope at once: no polling."""
    bertil = await net.client("bertil")
    async with bertil.live() as ws:
        hello = await ws.receive_json(timeout=5)
        assert hello["type"] == "hello"
        _, ack = await _send(net)
        event = await ws.receive_json(timeout=5)
    assert event == {"type": "envelope", "seq": ack.seq, "message_id": ack.message_id}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "request_malformed"),
        (b"[]", 400, "request_malformed"),
        (b'{"network": "x"}', 400, "request_malformed"),
        (b'{"network": "x", "key_id": "00", "extra": 1}', 400, "request_malformed"),
        (b'{"network": 5, "key_id": "00"}', 400, "request_malformed"),
        (b'{"network": "x", "key_id": "zz"}', 400, "request_malformed"),
        (b'{"network": "x", "network": "y", "key_id": "00"}', 400, "request_malformed"),
        (b'{"network": "' + b"x" * 70_000 + b'", "key_id": "00"}', 413, "request_too_large"),
    ],
)
async def test_bad_request_bodies_get_a_clear_json_error(net, body, status, code):
    """Malformed JSON, wrong types, unknown or duplicate fields and oversized bodies get a 4xx with a code."""
    async with (
        aiohttp.ClientSession() as s,
        s.post(
            f"{net.url}/api/v1/auth/challenge",
            data=body,
            headers={"Content-Type": "application/json"},
        ) as r,
    ):
        assert r.status == status
        error = (await r.json())["error"]
        assert error["code"] == code
        assert error["message"]


async def test_unknown_ids_and_missing_sign_in(net):
    """An unknown envelope id is 404; a call without a token is 401; every answer is JSON."""
    anna = await net.client("anna")
    with pytest.raises(RemoteError) as caught:
        await anna.download(bytes(16))
    assert caught.value.status == 404
    async with aiohttp.ClientSession() as s, s.get(f"{net.url}/api/v1/envelopes") as r:
        assert r.status == 401
        assert (await r.json())["error"]["code"] == "auth_required"


async def test_directory_accepts_only_records_signed_by_the_network_key(net):
    """A directory entry signed by another key is refused; a contact person cannot add records."""
    rogue = SigningKey.generate()
    wire = make_entry(
        rogue,
        network=NETWORK,
        municipality="kommun-a",
        person="mallory",
        role="contact_person",
        identity=net.people["anna"].public,
        not_before=START,
        not_after=START + 1000,
        serial=99,
    )
    admin = await net.client()
    with pytest.raises(RemoteError) as caught:
        await admin.add_record(wire)
    assert caught.value.code == "record_wrong_signer"
    anna = await net.client("anna")
    with pytest.raises(RemoteError) as caught:
        await anna.add_record(wire)
    assert caught.value.status == 404


async def test_municipality_templates_are_for_contact_persons(net):
    """Contact persons read the members' templates; the list names every municipality."""
    anna = await net.client("anna")
    names = {m.id for m in await anna.municipalities()}
    assert names == {"kommun-a", "kommun-b", "kommun-c"}


async def test_the_county_board_reads_the_members_names_a_coordinator_does_not(net):
    """The board's notes name the sending municipality, so it may read the list; the
    coordinator sees members only through the suppressed statistics."""
    await net.enrol("gun", "lansstyrelsen", role="county_board")
    await net.enrol("signe", "lansstyrelsen", role="coordinator")
    board = await (await net.client("gun")).municipalities()
    assert {m.id: m.name for m in board}["kommun-a"] == "Kommun A"
    with pytest.raises(RemoteError) as caught:
        await (await net.client("signe")).municipalities()
    assert (caught.value.status, caught.value.code) == (404, "forbidden")


async def test_audit_log_records_every_change_and_its_chain_holds(net):
    """Sign-ins, directory records, uploads and receipts are in a hash-linked audit log that verifies."""
    await _send(net)
    storage = await net.open_storage()
    try:
        records = [r async for r in storage.audit_records()]
    finally:
        await storage.close()
    actions = {r.action for r in records}
    assert {
        "network_created",
        "sign_in",
        "directory_directory-entry",
        "envelope_uploaded",
    } <= actions
    assert verify_chain(records) is None
    assert CANARY not in json.dumps([r.subject for r in records])


async def test_canary_never_reaches_database_blobs_or_logs(net, caplog):
    """A unique string typed into an inquiry and its attachment name is nowhere on the hub."""
    caplog.set_level("DEBUG")
    _, ack = await _send(net)
    bertil = await net.client("bertil")
    await bertil.envelopes("inbox")
    await bertil.download(bytes.fromhex(ack.message_id))
    await asyncio.sleep(0.1)
    needles = [CANARY.encode(), CANARY.encode("utf-16-le"), CANARY.upper().encode()]
    for where, content in net.stored_bytes():
        assert not any(n in content for n in needles), where
    assert CANARY not in caplog.text

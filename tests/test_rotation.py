"""Rotation: a contact person leaves, a successor enrols, and nothing in flight becomes
unreadable for the municipality, while nothing new reaches the revoked key."""

from __future__ import annotations

import io

import pytest

from hub.client.api import RemoteError
from hub.crypto.envelope import open_envelope
from hub.crypto.format import MessageKind
from hub.crypto.rewrap import HandedKey, parse_rewrap_document, rewrap_document
from hub.errors import HubError
from tests.hubnet import START, running_hub


async def _open(net, who, data, tmp_path, **key):
    client = await net.client(who)
    directory = await client.directory(net.admin.public)
    return open_envelope(
        io.BytesIO(data), sender_keys=directory, workdir=tmp_path, now=int(net.clock.now), **key
    )


async def test_successor_reads_what_was_in_flight_through_a_colleague_rewrap(tmp_path):
    """Bertil leaves; Britta hands the open messages' keys to his successor Bo, who opens them."""
    async with running_hub(tmp_path) as net:
        anna = await net.client("anna")
        inquiry = net.seal_to(
            "anna",
            ["kommun-b"],
            {"bakgrund": "i flykten"},
            [("utredning.pdf", b"%PDF anonymiserad")],
        )
        ack = await anna.upload(inquiry, ["kommun-b"])
        message_id = bytes.fromhex(ack.message_id)

        await net.enrol("bo", "kommun-b")
        net.active.add("bo")
        await net.revoke("bertil", at=START + 1, reason="left")
        net.active.discard("bertil")
        net.clock.now = START + 2

        # Britta, still holding a key, opens what is in flight and hands the keys to Bo.
        britta = await net.client("britta")
        handed = []
        for meta in await britta.envelopes("inbox"):
            data = await britta.download(bytes.fromhex(meta.message_id))
            with await _open(
                net, "britta", data, tmp_path, recipient=net.people["britta"]
            ) as opened:
                handed.append(HandedKey(opened.header.message_id, opened.digest, opened.file_key))
        rewrap = net.seal_to(
            "britta", ["kommun-b"], rewrap_document(handed), kind=MessageKind.REWRAP
        )
        await britta.upload(rewrap, ["kommun-b"])

        # Bo finds the rewrap among his municipality's sent items, then opens the original.
        bo = await net.client("bo")
        rewraps = [m for m in await bo.envelopes("sent") if m.kind == MessageKind.REWRAP]
        data = await bo.download(bytes.fromhex(rewraps[0].message_id))
        with await _open(net, "bo", data, tmp_path, recipient=net.people["bo"]) as opened:
            keys = parse_rewrap_document(opened.document)
        original = await bo.download(message_id)
        with await _open(net, "bo", original, tmp_path, file_key=keys[0].file_key) as opened:
            assert opened.digest == keys[0].digest
            assert opened.document == {"bakgrund": "i flykten"}
            assert opened.read_attachment(0) == b"%PDF anonymiserad"


async def test_a_wrong_handed_key_is_caught_by_the_commitment(tmp_path):
    """A key that is not the sender's (a forged or mixed-up rewrap) fails before any byte shows."""
    async with running_hub(tmp_path) as net:
        data = net.seal_to("anna", ["kommun-b"], {"x": 1})
        with pytest.raises(HubError) as caught:
            await _open(net, "bertil", data, tmp_path, file_key=bytes(32))
        assert caught.value.code == "envelope_key_commitment"
        assert list(tmp_path.glob(".plaintext-*")) == []


async def test_nothing_new_reaches_the_revoked_key(tmp_path):
    """After revocation, an envelope still sealed to the old key is refused by the hub."""
    async with running_hub(tmp_path) as net:
        await net.revoke("bertil", at=START + 1, reason="left")
        net.clock.now = START + 2
        anna = await net.client("anna")
        with pytest.raises(RemoteError) as caught:
            await anna.upload(net.seal_to("anna", ["kommun-b"], {"x": 1}), ["kommun-b"])
        assert caught.value.code == "envelope_recipients_mismatch"
        net.active.discard("bertil")
        await anna.upload(net.seal_to("anna", ["kommun-b"], {"x": 2}), ["kommun-b"])


def test_rewrap_document_round_trip_and_refusals():
    """A rewrap document reads back exactly; a malformed one is refused with a code."""
    keys = [HandedKey(bytes(16), bytes(32), bytes(range(32)))]
    assert parse_rewrap_document(rewrap_document(keys)) == keys
    for bad in (
        {},
        {"rewrap": {"v": 2, "keys": []}},
        {"rewrap": {"v": 1, "keys": [{"message_id": "00", "digest": "", "file_key": ""}]}},
    ):
        with pytest.raises(HubError) as caught:
            parse_rewrap_document(bad)
        assert caught.value.code == "envelope_content_malformed"

"""The outcome note over a real hub: the free text of an outcome report, sealed end to end to the
county board's own keys (kind OUTCOME_NOTE). The board lists, fetches and acknowledges what is
addressed to it and nothing else; only an outcome note may be addressed to it."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import aiohttp
import pytest

from hub.client.api import RemoteError
from hub.crypto.envelope import open_envelope, seal
from hub.crypto.format import MessageKind
from hub.crypto.receipts import make_receipt
from hub.errors import AuthorityError
from tests.hubnet import NETWORK, running_hub

CASE = bytes.fromhex("c3" * 16)
BOARD = "lansstyrelsen"
NOTE = {"outcome_note": {"v": 1, "text": "Skälen i ord: bostadsbrist hos mottagaren"}}


@pytest.fixture
async def net(tmp_path):
    async with running_hub(tmp_path) as hubnet:
        await hubnet.enrol("gun", BOARD, role="county_board")
        await (await hubnet.client("anna")).create_case(CASE)
        yield hubnet


def _seal(net, sender: str, to_people: list[str], kind: MessageKind, document=NOTE) -> bytes:
    out = io.BytesIO()
    seal(
        out,
        sender=net.people[sender],
        recipients=[net.people[p].public for p in to_people],
        kind=kind,
        case_id=CASE,
        document=document,
        attachments=[],
        created_at=int(net.clock.now),
    )
    return out.getvalue()


def _open(net, person: str, data: bytes, directory) -> dict:
    with tempfile.TemporaryDirectory() as work:
        opened = open_envelope(
            io.BytesIO(data),
            recipient=net.people[person],
            sender_keys=directory,
            workdir=Path(work),
            now=int(net.clock.now),
        )
        with opened:
            return dict(opened.document)


async def _send_note(net) -> bytes:
    data = _seal(net, "anna", ["gun", "anna"], MessageKind.OUTCOME_NOTE)
    ack = await (await net.client("anna")).upload(data, [BOARD])
    return bytes.fromhex(ack.message_id)


async def test_the_sealed_note_reaches_the_board_which_opens_and_acknowledges_it(net):
    message_id = await _send_note(net)
    gun = await net.client("gun")
    listed = await gun.envelopes("inbox")
    assert [e.message_id for e in listed] == [message_id.hex()]
    assert listed[0].kind == int(MessageKind.OUTCOME_NOTE)
    assert listed[0].sender == "kommun-a"
    data = await gun.download(message_id)
    directory = await gun.directory(net.admin.public)
    assert _open(net, "gun", data, directory) == NOTE
    wire = make_receipt(
        net.people["gun"],
        network=NETWORK,
        message_id=message_id,
        envelope_digest=bytes.fromhex(listed[0].digest),
        event="delivered",
        time=int(net.clock.now),
    )
    await gun.post_receipt(message_id, wire)
    # The sender keeps its copy among what it sent (sealed to its own keys too).
    sent = await (await net.client("anna")).envelopes("sent")
    assert message_id.hex() in {e.message_id for e in sent}


async def test_another_municipality_can_neither_list_fetch_nor_open_the_note(net):
    message_id = await _send_note(net)
    bertil = await net.client("bertil")
    assert await bertil.envelopes("inbox") == []
    with pytest.raises(RemoteError) as refused:
        await bertil.download(message_id)
    assert refused.value.status == 404
    # Even with the bytes in hand (a leak, a backup), B's key has no stanza in the note.
    data = await (await net.client("gun")).download(message_id)
    directory = await bertil.directory(net.admin.public)
    with pytest.raises(AuthorityError) as not_for_b:
        _open(net, "bertil", data, directory)
    assert not_for_b.value.code == "envelope_not_recipient"


async def test_the_board_may_not_open_cases_send_or_follow_live(net):
    gun = await net.client("gun")
    for call in (
        gun.create_case(bytes.fromhex("d4" * 16)),
        gun.cases(),
        gun.case(CASE),
        gun.post_steps(CASE, []),
        gun.case_steps(CASE),
        gun.envelopes("sent"),
        gun.upload(_seal(net, "gun", ["bertil", "gun"], MessageKind.INQUIRY), ["kommun-b"]),
    ):
        with pytest.raises(RemoteError) as refused:
            await call
        assert refused.value.code == "forbidden"
    with pytest.raises(aiohttp.WSServerHandshakeError):
        async with gun.live():
            pass


async def test_the_board_sees_no_envelope_but_its_notes(net):
    data = net.seal_to("anna", ["kommun-b"], {"x": "förfrågan"}, case_id=CASE)
    ack = await (await net.client("anna")).upload(data, ["kommun-b"])
    with pytest.raises(RemoteError) as refused:
        await (await net.client("gun")).download(bytes.fromhex(ack.message_id))
    assert refused.value.status == 404


@pytest.mark.parametrize("kind", [MessageKind.INQUIRY, MessageKind.MESSAGE, MessageKind.ANSWER])
async def test_only_an_outcome_note_may_be_addressed_to_the_board(net, kind):
    anna = await net.client("anna")
    for people in (["gun", "anna"], ["anna"]):
        with pytest.raises(RemoteError) as refused:
            await anna.upload(_seal(net, "anna", people, kind), [BOARD])
        assert refused.value.code == "envelope_recipients_mismatch"
    assert await (await net.client("gun")).envelopes("inbox") == []


async def test_an_outcome_note_goes_to_the_board_keys_exactly_and_nowhere_else(net):
    anna = await net.client("anna")
    note = MessageKind.OUTCOME_NOTE
    for people, to in (
        (["anna"], [BOARD]),  # the board left out
        (["gun", "anna", "bertil"], [BOARD]),  # a contact person slipped in
        (["gun", "anna", "bertil", "britta"], [BOARD, "kommun-b"]),  # to a municipality too
        (["bertil", "britta", "anna"], ["kommun-b"]),  # to a municipality only
    ):
        with pytest.raises(RemoteError) as refused:
            await anna.upload(_seal(net, "anna", people, note), to)
        assert refused.value.code == "envelope_recipients_mismatch", (people, to)


async def test_a_note_belongs_to_a_case_the_sender_sent(net):
    data = _seal(net, "bertil", ["gun", "bertil", "britta"], MessageKind.OUTCOME_NOTE)
    with pytest.raises(RemoteError) as refused:
        await (await net.client("bertil")).upload(data, [BOARD])
    assert refused.value.status == 404


async def test_a_revoked_board_key_gets_nothing_new(net):
    await net.enrol("gorel", BOARD, role="county_board")
    await net.revoke("gun", at=int(net.clock.now) - 10)
    anna = await net.client("anna")
    with pytest.raises(RemoteError) as refused:
        await anna.upload(_seal(net, "anna", ["gun", "anna"], MessageKind.OUTCOME_NOTE), [BOARD])
    assert refused.value.code == "envelope_recipients_mismatch"
    data = _seal(net, "anna", ["gorel", "anna"], MessageKind.OUTCOME_NOTE)
    assert (await anna.upload(data, [BOARD])).size == len(data)

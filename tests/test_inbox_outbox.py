"""The outbox sends each thing once: two flushes at once, an answer lost after the hub stored the
upload, an event that failed after its upload, an agent stopped in between. In each, every
envelope reaches the hub exactly once, under the message id it was sealed with."""

from __future__ import annotations

import asyncio

import pytest

from hub.crypto.format import MessageKind
from hub.inbox.agent import CACHE_PURPOSE
from hub.inbox.cache import InboxCache
from hub.inbox.sync import AgentCore
from tests.hubnet import NETWORK
from tests.inboxnet import running_agent
from tests.lyinghub import lying_hub, once

CASES = "/api/v1/cases/[0-9a-f]{32}/steps"


@pytest.fixture
async def liar(tmp_path):
    async with lying_hub(tmp_path) as (net, proxy):
        yield net, proxy


async def _sent(net) -> list[dict]:
    return await (await net.client("anna")).envelopes("sent")


async def _request_of(net, case_id: bytes) -> dict:
    [view] = [c for c in await (await net.client("anna")).cases() if c.case_id == case_id.hex()]
    [request] = view.requests
    return request


async def test_two_flushes_at_once_send_each_step_once(liar, tmp_path):
    net, _ = liar
    async with running_agent(net, "anna", tmp_path) as anna:
        real_url = anna.core.client.base_url
        anna.core.client.base_url = "http://127.0.0.1:9"  # nothing listens there
        anna.core.online = False
        case_id = await anna.core.send_inquiry({"bakgrund_till_placering": "x"}, [], ["kommun-b"])
        assert await anna.core.cache.outbox_count() == 1
        anna.core.client.base_url = real_url
        await asyncio.gather(anna.core.flush_outbox(), anna.core.flush_outbox())
        assert await anna.core.cache.outbox_count() == 0
    [sent] = await _sent(net)
    assert sent.case_id == case_id.hex()
    request = await _request_of(net, case_id)
    assert [h.event for h in request.history].count("send_inquiry") == 1


async def test_an_upload_whose_answer_is_lost_goes_again_as_the_same_bytes(liar, tmp_path):
    """The hub stores the upload but the answer is lost (a 500 here): the retry sends the same
    signed bytes, the hub takes them as the same upload, and the event names that one id."""
    net, proxy = liar
    proxy.swallow.append(once("POST", "/api/v1/envelopes"))
    async with running_agent(net, "anna", tmp_path) as anna:
        case_id = await anna.core.send_inquiry({"bakgrund_till_placering": "x"}, [], ["kommun-b"])
        assert await anna.core.cache.outbox_count() == 1  # the lost answer: it waits
        [stored] = await _sent(net)  # but the hub has it
        await anna.core.flush_outbox()
        assert await anna.core.cache.outbox_count() == 0
    assert [e.message_id for e in await _sent(net)] == [stored.message_id]
    request = await _request_of(net, case_id)
    [sent] = [h for h in request.history if h.event == "send_inquiry"]
    assert (await (await net.client("bertil")).envelopes("inbox"))[0].message_id == (
        stored.message_id
    )
    assert sent is not None


async def test_an_event_that_failed_after_its_upload_is_sent_alone_after_a_restart(liar, tmp_path):
    """The upload went, the case event's answer was lost, and the agent stopped. The next
    agent on the same cache posts the event for the envelope already uploaded: no new seal,
    no second upload."""
    net, proxy = liar
    proxy.swallow.append(once("POST", CASES))
    async with running_agent(net, "anna", tmp_path) as anna:
        case_id = await anna.core.send_inquiry({"bakgrund_till_placering": "x"}, [], ["kommun-b"])
        assert await anna.core.cache.outbox_count() == 1
    [stored] = await _sent(net)
    assert [h.event for h in (await _request_of(net, case_id)).history].count("send_inquiry") <= 1

    identity = net.people["anna"]
    cache = await InboxCache.open(tmp_path / "cache-anna", identity.local_key(CACHE_PURPOSE))
    core = AgentCore(net.url, NETWORK, identity, net.admin.public, cache, clock=net.clock)
    try:
        await core.connect()
        await core.flush_outbox()
        assert await cache.outbox_count() == 0
        assert list((tmp_path / "cache-anna" / "outgoing").iterdir()) == []
    finally:
        await core.close()
        await cache.close()
    assert [e.message_id for e in await _sent(net)] == [stored.message_id]
    request = await _request_of(net, case_id)
    assert [h.event for h in request.history].count("send_inquiry") == 1


async def test_a_sealed_envelope_waiting_at_a_stop_is_uploaded_unchanged(liar, tmp_path):
    """Sealed, then the hub unreachable and the agent stopped: the sealed file survives the
    restart's sweep, and the envelope that reaches the hub has the id it was sealed with."""
    net, proxy = liar
    proxy.swallow.append(
        lambda method, path: 503 if method == "POST" and path.endswith("/envelopes") else None
    )
    async with running_agent(net, "anna", tmp_path) as anna:
        case_id = await anna.core.send_inquiry({"bakgrund_till_placering": "x"}, [], ["kommun-b"])
        [(item_id, _)] = await anna.core.cache.outbox()
        progress = await anna.core.cache.step_progress(item_id, 1)
        assert progress.sealed is not None
        assert progress.uploaded is None
    proxy.swallow.clear()
    # The swallowing proxy forwarded the upload: the hub has the bytes the agent sealed once.
    [stored] = await _sent(net)
    assert stored.message_id == progress.sealed.hex()
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.core.flush_outbox()
        assert await anna.core.cache.outbox_count() == 0
    assert [e.message_id for e in await _sent(net)] == [progress.sealed.hex()]
    assert stored.kind == MessageKind.INQUIRY
    request = await _request_of(net, case_id)
    assert [h.event for h in request.history].count("send_inquiry") == 1


async def test_a_step_overtaken_while_it_waited_is_dropped_with_a_swedish_notice(liar, tmp_path):
    """A's withdrawal is signed, then the hub is unreachable; meanwhile B accepts. The retry
    sends the same signed bytes, the hub answers that another step came first, and A's inbox
    drops the item, says so in Swedish, and shows what both sides now agree on: accepted."""
    net, proxy = liar
    async with running_agent(net, "anna", tmp_path) as anna:
        case_id = await anna.core.send_inquiry({"bakgrund_till_placering": "x"}, [], ["kommun-b"])
        [inquiry] = await _sent(net)
        await net.step(
            "bertil", case_id, "kommun-b", "deliver", message_id=bytes.fromhex(inquiry.message_id)
        )
        await anna.core.sync()
        proxy.refuse.append(once("POST", CASES, status=503))
        await anna.core.answer(case_id, "withdraw", target="kommun-b", document=None)
        [(item_id, _)] = await anna.core.cache.outbox()
        signed = (await anna.core.cache.step_progress(item_id, 0)).signed
        assert signed is not None  # signed once, kept for the retry
        data = net.seal_to(
            "bertil", ["kommun-a"], {"ja": "ja"}, kind=MessageKind.ANSWER, case_id=case_id
        )
        yes = bytes.fromhex(
            (await (await net.client("bertil")).upload(data, ["kommun-a"])).message_id
        )
        await net.step("bertil", case_id, "kommun-b", "accept", message_id=yes)
        await anna.core.flush_outbox()
        assert await anna.core.cache.outbox_count() == 0
        assert any("hann före" in n["text"] for n in anna.core.notices)
        kept = await anna.core.cache.get_case(case_id)
        assert kept is not None
        assert [r["state"] for r in kept["requests"]] == ["accepted"]
    request = await _request_of(net, case_id)
    assert request.state == "accepted"
    assert "withdraw" not in [h.event for h in request.history]

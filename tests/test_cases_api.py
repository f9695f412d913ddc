"""Cases through the hub, every step signed by the person who took it: A asks B and C, B's
agent signs the delivery, B declines, C accepts, A confirms C and closes B elsewhere in one
batch, all over a real hub, each side seeing only its part. The hub orders steps and cannot
fork a chain: of two steps on one parent only the first is taken."""

from __future__ import annotations

import asyncio

import aiohttp
import msgspec
import pytest

from hub.client.api import RemoteError
from hub.crypto.format import MessageKind
from hub.crypto.receipts import make_receipt
from hub.crypto.steps import step_digest
from tests.hubnet import NETWORK, running_hub

CASE = bytes.fromhex("a5" * 16)


@pytest.fixture
async def net(tmp_path, database):
    """The hub on each backend: SQLite, and PostgreSQL (tests/conftest.py)."""
    async with running_hub(tmp_path, database=database) as hubnet:
        yield hubnet


async def _envelope(net, sender, to, kind, document):
    """Seal and upload one envelope of this case; return its message id and digest."""
    data = net.seal_to(sender, [to], document, kind=kind, case_id=CASE)
    ack = await (await net.client(sender)).upload(data, [to])
    return bytes.fromhex(ack.message_id), bytes.fromhex(ack.digest)


async def _ask(net, municipality):
    message_id, digest = await _envelope(
        net, "anna", municipality, MessageKind.INQUIRY, {"bakgrund": "…"}
    )
    await net.step("anna", CASE, municipality, "send_inquiry", message_id=message_id)
    return message_id, digest


async def _delivered(net, person, municipality, inquiry):
    return await net.step(person, CASE, municipality, "deliver", message_id=inquiry)


async def _accepted(net, person, municipality):
    inquiry, _ = await _ask(net, municipality)
    await _delivered(net, person, municipality, inquiry)
    yes, _ = await _envelope(net, person, "kommun-a", MessageKind.ANSWER, {"beslut": "ja"})
    return await net.step(person, CASE, municipality, "accept", message_id=yes)


def _state(view, municipality):
    return next(r.state for r in view.requests if r.municipality == municipality)


async def test_receiving_municipality_sees_only_its_own_request_and_its_steps(net):
    """B sees the case from A and its own request and steps; it never learns that C was asked
    too, neither from the case nor from the steps the hub relays."""
    anna = await net.client("anna")
    await anna.create_case(CASE)
    await _ask(net, "kommun-b")
    await _ask(net, "kommun-c")
    view_a = await anna.case(CASE)
    assert {r.municipality for r in view_a.requests} == {"kommun-b", "kommun-c"}
    assert len(await anna.case_steps(CASE)) == view_a.step_count == 2
    bertil = await net.client("bertil")
    view_b = await bertil.case(CASE)
    assert view_b.sender == "kommun-a"
    assert [r.municipality for r in view_b.requests] == ["kommun-b"]
    assert "kommun-c" not in str(view_b)
    steps_b = await bertil.case_steps(CASE)
    assert len(steps_b) == 1
    assert "kommun-c" not in str([msgspec.to_builtins(s) for s in steps_b])
    assert [c.case_id for c in await (await net.client("cecilia")).cases()] == [CASE.hex()]


async def test_the_receivers_signed_delivery_delivers_and_a_receipt_moves_nothing(net):
    """B's signed deliver step starts the answer clock and A is told; a receipt, signed as it
    may be, is about a message and takes no step: the hub takes none on anyone's behalf."""
    anna = await net.client("anna")
    await anna.create_case(CASE)
    inquiry, digest = await _ask(net, "kommun-b")
    receipt = make_receipt(
        net.people["bertil"],
        network=NETWORK,
        message_id=inquiry,
        envelope_digest=digest,
        event="delivered",
        time=int(net.clock.now),
    )
    await (await net.client("bertil")).post_receipt(inquiry, receipt)
    assert _state(await anna.case(CASE), "kommun-b") == "sent"
    async with anna.live() as ws:
        await ws.receive_json(timeout=5)
        await _delivered(net, "bertil", "kommun-b", inquiry)
        told = await ws.receive_json(timeout=5)
    assert told == {"type": "case", "case_id": CASE.hex(), "event": "deliver"}
    assert _state(await anna.case(CASE), "kommun-b") == "delivered"
    view = await net.step("bertil", CASE, "kommun-b", "read_receipt", message_id=inquiry)
    assert _state(view, "kommun-b") == "read"


async def test_a_delivery_must_name_the_inquiry_it_received(net):
    """deliver names the inquiry envelope B got from A in this case: without it, or naming
    B's own envelope, it is refused and nothing moves."""
    anna = await net.client("anna")
    await anna.create_case(CASE)
    await _ask(net, "kommun-b")
    with pytest.raises(RemoteError) as caught:
        await net.step("bertil", CASE, "kommun-b", "deliver")
    assert caught.value.code == "request_malformed"
    own, _ = await _envelope(net, "bertil", "kommun-a", MessageKind.MESSAGE, {"x": 1})
    with pytest.raises(RemoteError) as caught:
        await net.step("bertil", CASE, "kommun-b", "deliver", message_id=own)
    assert caught.value.code == "request_malformed"
    assert _state(await anna.case(CASE), "kommun-b") == "sent"


async def test_decline_needs_an_allowed_reason_and_its_motivation_envelope(net):
    """Housing shortage is refused as a reason; a decline without the encrypted motivation is
    refused."""
    anna = await net.client("anna")
    await anna.create_case(CASE)
    inquiry, _ = await _ask(net, "kommun-b")
    await _delivered(net, "bertil", "kommun-b", inquiry)
    answer, _ = await _envelope(
        net,
        "bertil",
        "kommun-a",
        MessageKind.ANSWER,
        {"beslut": "nej", "motivering": "Kvoten är fylld i år."},
    )
    decline = {"reason": "housing_shortage"}
    with pytest.raises(RemoteError) as caught:
        await net.step("bertil", CASE, "kommun-b", "decline", details=decline, message_id=answer)
    assert (caught.value.status, caught.value.code) == (422, "decline_reason_invalid")
    with pytest.raises(RemoteError) as caught:
        await net.step("bertil", CASE, "kommun-b", "decline", details={"reason": "quota_reached"})
    assert caught.value.code == "request_malformed"
    view = await net.step(
        "bertil",
        CASE,
        "kommun-b",
        "decline",
        details={"reason": "quota_reached"},
        message_id=answer,
    )
    assert _state(view, "kommun-b") == "declined"
    assert view.requests[0].history[-1].reason == "quota_reached"


async def test_confirming_one_offer_closes_the_others_in_one_batch_and_tells_them(net):
    """A confirms C and closes B elsewhere in one signed batch; B hears of it at once. The
    confirm alone, while B's request is open, is refused and changes nothing."""
    anna = await net.client("anna")
    await anna.create_case(CASE)
    b_inquiry, _ = await _ask(net, "kommun-b")
    await _delivered(net, "bertil", "kommun-b", b_inquiry)
    await _accepted(net, "cecilia", "kommun-c")
    before = await anna.case(CASE)
    with pytest.raises(RemoteError) as caught:
        await net.step("anna", CASE, "kommun-c", "confirm", batch=False)
    assert (caught.value.status, caught.value.code) == (409, "case_others_open")
    assert await anna.case(CASE) == before
    bertil = await net.client("bertil")
    async with bertil.live() as ws:
        await ws.receive_json(timeout=5)
        view = await net.step("anna", CASE, "kommun-c", "confirm")
        told = await ws.receive_json(timeout=5)
    assert _state(view, "kommun-c") == "confirmed"
    assert _state(view, "kommun-b") == "closed_elsewhere"
    assert told == {"type": "case", "case_id": CASE.hex(), "event": "close_elsewhere"}
    assert _state(await bertil.case(CASE), "kommun-b") == "closed_elsewhere"


async def test_invalid_transition_answers_409_and_changes_nothing(net):
    """Confirming before any acceptance is refused with 409; the case is as before."""
    anna = await net.client("anna")
    await anna.create_case(CASE)
    await _ask(net, "kommun-b")
    before = await anna.case(CASE)
    with pytest.raises(RemoteError) as caught:
        await net.step("anna", CASE, "kommun-b", "confirm")
    assert (caught.value.status, caught.value.code) == (409, "transition_invalid")
    assert await anna.case(CASE) == before


async def test_outsiders_and_steps_signed_by_someone_else_are_refused(net):
    """A municipality not in the case gets 404; a step signed by another person's key is
    refused, whoever posts it; a step by a key of neither side counts for nothing."""
    anna = await net.client("anna")
    await anna.create_case(CASE)
    inquiry, _ = await _ask(net, "kommun-b")
    cecilia = await net.client("cecilia")
    with pytest.raises(RemoteError) as caught:
        await cecilia.case(CASE)
    assert caught.value.status == 404
    bertils = await net.sign_steps("bertil", CASE, "kommun-b", "deliver", message_id=inquiry)
    with pytest.raises(RemoteError) as caught:
        await anna.post_steps(CASE, bertils)
    assert caught.value.code == "forbidden"
    assert _state(await anna.case(CASE), "kommun-b") == "sent"


async def test_inquiry_step_must_be_carried_by_an_envelope_of_this_case(net):
    """send_inquiry names the inquiry envelope; one from another case or to another
    municipality is refused."""
    anna = await net.client("anna")
    await anna.create_case(CASE)
    other = net.seal_to("anna", ["kommun-b"], {"x": 1}, case_id=bytes(16))
    wrong_case = bytes.fromhex((await anna.upload(other, ["kommun-b"])).message_id)
    with pytest.raises(RemoteError) as caught:
        await net.step("anna", CASE, "kommun-b", "send_inquiry", message_id=wrong_case)
    assert caught.value.code == "request_malformed"
    to_c, _ = await _envelope(net, "anna", "kommun-c", MessageKind.INQUIRY, {"x": 2})
    with pytest.raises(RemoteError) as caught:
        await net.step("anna", CASE, "kommun-b", "send_inquiry", message_id=to_c)
    assert caught.value.code == "request_malformed"


async def test_after_the_move_the_case_runs_to_its_close(net):
    """A confirmed case records the move, the follow-up with its date and closes with the
    outcome moved."""
    anna = await net.client("anna")
    await anna.create_case(CASE)
    await _accepted(net, "bertil", "kommun-b")
    await net.step("anna", CASE, "kommun-b", "confirm")
    await net.step("anna", CASE, "kommun-b", "record_move", details={"moving_date": "2027-02-01"})
    follow_up = {"follow_up_date": "2027-03-01"}
    await net.step("bertil", CASE, "kommun-b", "record_follow_up", details=follow_up)
    view = await net.step("anna", CASE, "kommun-b", "close")
    assert view.outcome == "moved"
    assert _state(view, "kommun-b") == "closed"
    assert view.requests[0].history[-2].role == "receiver"


async def test_sender_withdraws_and_closes_without_a_move(net):
    """A closes the case without a move: open requests are withdrawn and B is told."""
    anna = await net.client("anna")
    await anna.create_case(CASE)
    await _ask(net, "kommun-b")
    view = await net.step("anna", CASE, "kommun-a", "close_not_moved")
    assert view.outcome == "not_moved"
    assert _state(await (await net.client("bertil")).case(CASE), "kommun-b") == "withdrawn"
    assert len(await anna.case_steps(CASE)) == view.step_count == 3


async def test_a_retry_after_a_lost_answer_changes_nothing(net):
    """The agent resends the exact signed bytes: the hub answers as the first time and keeps
    one step."""
    anna = await net.client("anna")
    await anna.create_case(CASE)
    inquiry, _ = await _ask(net, "kommun-b")
    signed = await net.sign_steps("bertil", CASE, "kommun-b", "deliver", message_id=inquiry)
    bertil = await net.client("bertil")
    first = await bertil.post_steps(CASE, signed)
    again = await bertil.post_steps(CASE, signed)
    assert first == again
    assert len(await anna.case_steps(CASE)) == 2


async def test_a_chain_cannot_fork_on_the_hub(net):
    """Two steps on the same parent, a withdrawal crossing an acceptance: the first is taken,
    the other answers 409 step_parent_taken, and both sides see the same one chain."""
    anna = await net.client("anna")
    await anna.create_case(CASE)
    inquiry, _ = await _ask(net, "kommun-b")
    await _delivered(net, "bertil", "kommun-b", inquiry)
    yes, _ = await _envelope(net, "bertil", "kommun-a", MessageKind.ANSWER, {"beslut": "ja"})
    accept = await net.sign_steps("bertil", CASE, "kommun-b", "accept", message_id=yes)
    withdraw = await net.sign_steps("anna", CASE, "kommun-b", "withdraw")
    assert (await (await net.client("bertil")).post_steps(CASE, accept)).requests[0].state == (
        "accepted"
    )
    with pytest.raises(RemoteError) as caught:
        await anna.post_steps(CASE, withdraw)
    assert (caught.value.status, caught.value.code) == (409, "step_parent_taken")
    steps_a = [msgspec.to_builtins(s.step) for s in await anna.case_steps(CASE)]
    steps_b = [
        msgspec.to_builtins(s.step) for s in await (await net.client("bertil")).case_steps(CASE)
    ]
    assert steps_a == steps_b
    assert step_digest(accept[0]) in {step_digest(s) for s in steps_a}


async def test_two_confirms_at_once_one_wins(net):
    """A's two agents confirm B and C at the same moment: one batch is taken whole, the other
    is refused, and the case has exactly one confirmed request."""
    anna = await net.client("anna")
    await anna.create_case(CASE)
    await _accepted(net, "bertil", "kommun-b")
    await _accepted(net, "cecilia", "kommun-c")
    to_b = await net.sign_steps("anna", CASE, "kommun-b", "confirm")
    to_c = await net.sign_steps("anna", CASE, "kommun-c", "confirm")
    results = await asyncio.gather(
        anna.post_steps(CASE, to_b), anna.post_steps(CASE, to_c), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, RemoteError)]
    assert len(refused) == 1
    assert refused[0].code == "step_parent_taken"
    view = await anna.case(CASE)
    assert sorted(r.state for r in view.requests) == ["closed_elsewhere", "confirmed"]


async def test_the_unsigned_event_endpoints_are_gone_with_a_clear_answer(net):
    """An agent of an earlier release that posts an unsigned event hears 410 steps_required,
    with what to do, and nothing changes."""
    anna = await net.client("anna")
    await anna.create_case(CASE)
    await _ask(net, "kommun-b")
    url = f"{net.url}/api/v1/cases/{CASE.hex()}/events"
    headers = {"Authorization": f"Bearer {anna.signed_in.token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            url, json={"municipality": "kommun-b", "event": "withdraw"}, headers=headers
        ) as response,
    ):
        body = await response.json()
    assert response.status == 410
    assert body["error"]["code"] == "steps_required"
    assert "Uppdatera" in body["error"]["message"]
    assert _state(await anna.case(CASE), "kommun-b") == "sent"

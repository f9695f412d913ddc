"""Cases through the hub: A asks B and C, the signed receipts drive delivery, B declines, C
accepts, A confirms C and B is told, all over a real hub, each side seeing only its part."""

from __future__ import annotations

import pytest

from hub.client.api import RemoteError
from hub.crypto.format import MessageKind
from hub.crypto.receipts import make_receipt
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


async def _receipt(net, person, message_id, digest, event):
    wire = make_receipt(
        net.people[person],
        network=NETWORK,
        message_id=message_id,
        envelope_digest=digest,
        event=event,
        time=int(net.clock.now),
    )
    await (await net.client(person)).post_receipt(message_id, wire)


async def _ask(net, municipality):
    anna = await net.client("anna")
    message_id, digest = await _envelope(
        net, "anna", municipality, MessageKind.INQUIRY, {"bakgrund": "…"}
    )
    await anna.case_event(CASE, municipality, "send_inquiry", message_id=message_id)
    return message_id, digest


def _state(view, municipality):
    return next(r.state for r in view.requests if r.municipality == municipality)


async def test_receiving_municipality_sees_only_its_own_request(net):
    """B sees the case from A and its own request; it never learns that C was asked too."""
    anna = await net.client("anna")
    await anna.create_case(CASE)
    await _ask(net, "kommun-b")
    await _ask(net, "kommun-c")
    view_a = await anna.case(CASE)
    assert {r.municipality for r in view_a.requests} == {"kommun-b", "kommun-c"}
    view_b = await (await net.client("bertil")).case(CASE)
    assert view_b.sender == "kommun-a"
    assert [r.municipality for r in view_b.requests] == ["kommun-b"]
    assert "kommun-c" not in str(view_b)
    assert [c.case_id for c in await (await net.client("cecilia")).cases()] == [CASE.hex()]


async def test_signed_receipts_deliver_and_read_and_the_sender_is_told(net):
    """B's signed delivery receipt starts the answer clock (delivered); its read receipt marks it read."""
    anna = await net.client("anna")
    await anna.create_case(CASE)
    message_id, digest = await _ask(net, "kommun-b")
    async with anna.live() as ws:
        await ws.receive_json(timeout=5)
        await _receipt(net, "bertil", message_id, digest, "delivered")
        events = [await ws.receive_json(timeout=5) for _ in range(2)]
    assert {"type": "case", "case_id": CASE.hex(), "event": "deliver"} in events
    assert _state(await anna.case(CASE), "kommun-b") == "delivered"
    await _receipt(net, "bertil", message_id, digest, "read")
    assert _state(await anna.case(CASE), "kommun-b") == "read"


async def test_receipts_signed_before_the_send_event_still_deliver_and_read(net):
    """B's agent may verify the inquiry and sign its receipts before A's agent has posted the
    event that opens B's request (a race under load): the event then applies what the
    stored receipts prove, so the request is not left waiting as "sent"."""
    anna = await net.client("anna")
    await anna.create_case(CASE)
    message_id, digest = await _envelope(
        net, "anna", "kommun-b", MessageKind.INQUIRY, {"bakgrund": "…"}
    )
    await _receipt(net, "bertil", message_id, digest, "delivered")
    await _receipt(net, "bertil", message_id, digest, "read")
    view = await anna.case_event(CASE, "kommun-b", "send_inquiry", message_id=message_id)
    assert _state(view, "kommun-b") == "read"
    events = [h.event for h in view.requests[0].history]
    assert events == ["send_inquiry", "deliver", "read_receipt"]


async def test_decline_needs_an_allowed_reason_and_its_motivation_envelope(net):
    """Housing shortage is refused as a reason; a decline without the encrypted motivation is refused."""
    anna = await net.client("anna")
    await anna.create_case(CASE)
    message_id, digest = await _ask(net, "kommun-b")
    await _receipt(net, "bertil", message_id, digest, "delivered")
    bertil = await net.client("bertil")
    answer, _ = await _envelope(
        net,
        "bertil",
        "kommun-a",
        MessageKind.ANSWER,
        {"beslut": "nej", "motivering": "Kvoten är fylld i år."},
    )
    with pytest.raises(RemoteError) as caught:
        await bertil.case_event(
            CASE, "kommun-b", "decline", details={"reason": "housing_shortage"}, message_id=answer
        )
    assert (caught.value.status, caught.value.code) == (422, "decline_reason_invalid")
    with pytest.raises(RemoteError) as caught:
        await bertil.case_event(CASE, "kommun-b", "decline", details={"reason": "quota_reached"})
    assert caught.value.code == "request_malformed"
    view = await bertil.case_event(
        CASE, "kommun-b", "decline", details={"reason": "quota_reached"}, message_id=answer
    )
    assert _state(view, "kommun-b") == "declined"
    assert view.requests[0].history[-1].reason == "quota_reached"


async def test_confirming_one_offer_closes_the_others_and_tells_them(net):
    """When A confirms C's acceptance, B's open request closes at once and B hears of it."""
    anna = await net.client("anna")
    await anna.create_case(CASE)
    b_inquiry, b_digest = await _ask(net, "kommun-b")
    c_inquiry, c_digest = await _ask(net, "kommun-c")
    await _receipt(net, "bertil", b_inquiry, b_digest, "delivered")
    await _receipt(net, "cecilia", c_inquiry, c_digest, "delivered")
    yes, _ = await _envelope(net, "cecilia", "kommun-a", MessageKind.ANSWER, {"beslut": "ja"})
    cecilia = await net.client("cecilia")
    await cecilia.case_event(CASE, "kommun-c", "accept", message_id=yes)
    bertil = await net.client("bertil")
    async with bertil.live() as ws:
        await ws.receive_json(timeout=5)
        view = await anna.case_event(CASE, "kommun-c", "confirm")
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
        await anna.case_event(CASE, "kommun-b", "confirm")
    assert (caught.value.status, caught.value.code) == (409, "transition_invalid")
    assert await anna.case(CASE) == before


async def test_outsiders_and_system_events_are_refused(net):
    """A municipality not in the case gets 404; nobody can post the hub's own events."""
    anna = await net.client("anna")
    await anna.create_case(CASE)
    await _ask(net, "kommun-b")
    cecilia = await net.client("cecilia")
    with pytest.raises(RemoteError) as caught:
        await cecilia.case(CASE)
    assert caught.value.status == 404
    with pytest.raises(RemoteError) as caught:
        await (await net.client("bertil")).case_event(CASE, "kommun-b", "deliver")
    assert caught.value.status == 409


async def test_inquiry_event_must_be_carried_by_an_envelope_of_this_case(net):
    """send_inquiry names the inquiry envelope; one from another case or to another municipality is refused."""
    anna = await net.client("anna")
    await anna.create_case(CASE)
    other = net.seal_to("anna", ["kommun-b"], {"x": 1}, case_id=bytes(16))
    wrong_case = bytes.fromhex((await anna.upload(other, ["kommun-b"])).message_id)
    with pytest.raises(RemoteError) as caught:
        await anna.case_event(CASE, "kommun-b", "send_inquiry", message_id=wrong_case)
    assert caught.value.code == "request_malformed"
    to_c, _ = await _envelope(net, "anna", "kommun-c", MessageKind.INQUIRY, {"x": 2})
    with pytest.raises(RemoteError) as caught:
        await anna.case_event(CASE, "kommun-b", "send_inquiry", message_id=to_c)
    assert caught.value.code == "request_malformed"


async def test_after_the_move_the_case_runs_to_its_close(net):
    """A confirmed case records the move, the follow-up and closes with the outcome moved."""
    anna = await net.client("anna")
    await anna.create_case(CASE)
    inquiry, digest = await _ask(net, "kommun-b")
    await _receipt(net, "bertil", inquiry, digest, "delivered")
    yes, _ = await _envelope(net, "bertil", "kommun-a", MessageKind.ANSWER, {"beslut": "ja"})
    await (await net.client("bertil")).case_event(CASE, "kommun-b", "accept", message_id=yes)
    await anna.case_event(CASE, "kommun-b", "confirm")
    await anna.case_event(CASE, "kommun-b", "record_move", details={"moving_date": "2027-02-01"})
    await anna.case_event(CASE, "kommun-b", "record_follow_up")
    view = await anna.case_event(CASE, "kommun-b", "close")
    assert view.outcome == "moved"
    assert _state(view, "kommun-b") == "closed"


async def test_sender_withdraws_and_closes_without_a_move(net):
    """A closes the case without a move: open requests are withdrawn and B is told."""
    anna = await net.client("anna")
    await anna.create_case(CASE)
    await _ask(net, "kommun-b")
    view = await anna.close_case_not_moved(CASE)
    assert view.outcome == "not_moved"
    assert _state(await (await net.client("bertil")).case(CASE), "kommun-b") == "withdrawn"

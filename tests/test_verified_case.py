"""The verified case model (hub/inbox/verified_case.py) is built from verified envelopes alone;
the hub's view adds only its labelled hints, for the parties the envelopes name."""

from __future__ import annotations

from hub.crypto.format import MessageKind
from hub.inbox import documents
from hub.inbox.cache_envelopes import StoredEnvelope
from hub.inbox.verified_case import verified_case

CASE = bytes(range(16))


def _envelope(n: int, kind: MessageKind, sender: str, to: tuple[str, ...], document: object):
    return StoredEnvelope(
        message_id=bytes([n]) * 16,
        case_id=CASE,
        kind=int(kind),
        sender=sender,
        recipients=tuple(sorted({sender, *to})),
        box="sent" if sender == "kommun-a" else "inbox",
        created_at=1_000 + n,
        hub_received_at=2_000 + n,
        digest=bytes(32),
        document=document,
        attachments=(),
        error=None,
        read_at=None,
        listing_mismatch=False,
    )


def _request(municipality: str) -> dict:
    return {
        "municipality": municipality,
        "state": "accepted",
        "history": [{"event": "accept", "at": 5}],
        "allowed_events": ["confirm"],
    }


def test_the_parties_come_from_the_envelopes_and_the_hubs_other_requests_are_dropped():
    envelopes = [
        _envelope(1, MessageKind.INQUIRY, "kommun-a", ("kommun-b",), {"datum": "2026-12-01"}),
        _envelope(2, MessageKind.ANSWER, "kommun-b", ("kommun-a",), {"message": "Ja"}),
    ]
    view = {
        "from": "kommun-c",  # the hub's lie
        "requests": [_request("kommun-b"), _request("kommun-d")],
        "can_close_not_moved": False,
    }
    case = verified_case(view, envelopes, me="kommun-a")
    assert case is not None
    assert (case.sender, case.asked, case.mine) == ("kommun-a", ("kommun-b",), True)
    assert [r.municipality for r in case.requests] == ["kommun-b"]
    assert case.hub_disagrees
    assert isinstance(case.inquiry.body, documents.Inquiry)
    [answer] = case.thread
    assert (answer.sender, answer.ours, answer.body.lines()) == ("kommun-b", False, ["Ja"])


def test_a_receiver_sees_its_own_request_only():
    envelopes = [
        _envelope(1, MessageKind.INQUIRY, "kommun-a", ("kommun-b",), {"datum": "2026-12-01"})
    ]
    view = {"from": "kommun-a", "requests": [_request("kommun-b"), _request("kommun-c")]}
    case = verified_case(view, envelopes, me="kommun-b")
    assert case is not None
    assert not case.mine
    assert [r.municipality for r in case.requests] == ["kommun-b"]


def test_no_verified_inquiry_no_case():
    answer = _envelope(2, MessageKind.ANSWER, "kommun-b", ("kommun-a",), {"message": "Ja"})
    assert verified_case({"from": "kommun-a", "requests": []}, [answer], me="kommun-a") is None

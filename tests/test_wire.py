"""The hub's answers have one definition (hub/protocol/wire.py); a client refuses an answer of
any other shape at the boundary, with the error it names."""

from __future__ import annotations

import pytest

from hub.protocol import wire

LISTED = (
    b'{"message_id":"00112233445566778899aabbccddeeff","seq":1,'
    b'"case_id":"00112233445566778899aabbccddeeff","kind":2,"from":"kommun-a",'
    b'"to":["kommun-b"],"size":4096,"digest":"ab","created_at":1,"received_at":2}'
)


def test_an_answer_of_the_right_shape_reads_as_its_struct_and_encodes_back_the_same():
    entry = wire.decode(LISTED, wire.ListedEnvelope)
    assert (entry.sender, entry.to, entry.seq) == ("kommun-a", ["kommun-b"], 1)
    assert wire.decode(wire.encode(entry), wire.ListedEnvelope) == entry
    assert b'"from":"kommun-a"' in wire.encode(entry)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (LISTED.replace(b'"seq":1', b'"seq":1,"seq":2'), "not strict JSON"),
        (LISTED.replace(b'"seq":1', b'"seq":"1"'), "Expected `int`, got `str`"),
        (LISTED.replace(b'"seq":1', b'"seq":true'), "Expected `int`, got `bool`"),
        (LISTED.replace(b'"seq":1,', b""), "missing required field `seq`"),
        (LISTED.replace(b'"seq":1', b'"seq":1,"extra":0'), "unknown field `extra`"),
        (LISTED.replace(b'"to":["kommun-b"]', b'"to":"kommun-b"'), "Expected `array`"),
        (b"[]", "Expected `object`, got `array`"),
        (b"{", "not strict JSON"),
    ],
    ids=[
        "duplicate key",
        "string for a number",
        "bool for a number",
        "missing field",
        "unknown field",
        "text for a list",
        "a list for an object",
        "not JSON",
    ],
)
def test_an_answer_of_another_shape_is_refused_naming_what_is_wrong(answer, reason):
    with pytest.raises(wire.WireError) as refused:
        wire.decode(answer, wire.ListedEnvelope)
    assert reason in refused.value.reason


def test_a_history_entry_leaves_out_what_it_does_not_have():
    entry = wire.HistoryEntry(event="send_inquiry", role="sender", at=1, state="sent")
    assert wire.encode(entry) == b'{"event":"send_inquiry","role":"sender","at":1,"state":"sent"}'

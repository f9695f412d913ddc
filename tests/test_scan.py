"""What the hub can verify of an upload without keys: layout, length, sender and signature."""

from __future__ import annotations

import pytest

from hub.crypto.scan import EnvelopeScanner
from hub.errors import HubError
from tests.test_envelope_vectors import VECTORS, _envelope, _sender_keys

# A reader may refuse these for reasons the hub cannot see (it holds no key) or does not check
# in the scanner (its own clock and replay table live in the server).
RECIPIENT_ONLY = {
    "envelope_not_recipient",
    "envelope_from_future",
    "envelope_replayed",
    "envelope_padding_invalid",
    "envelope_content_malformed",
    "envelope_too_large",
}


def _scan(data: bytes, v, piece: int = 1000, max_payload_length: int | None = None):
    scanner = EnvelopeScanner(
        **({"max_payload_length": max_payload_length} if max_payload_length else {})
    )
    for i in range(0, len(data), piece):
        scanner.feed(data[i : i + piece])
    return scanner.finish(_sender_keys(v))


@pytest.mark.parametrize("v", [v for v in VECTORS if v["expect"] == "ok"], ids=lambda v: v["name"])
def test_hub_accepts_every_valid_envelope_with_the_digest_the_reader_sees(v):
    """A valid envelope passes the hub's check, fed in pieces, with the same digest the recipient computes."""
    scanned = _scan(_envelope(v), v, piece=7919)
    assert scanned.digest.hex() == v["result"]["digest"]
    assert scanned.length == len(_envelope(v))


@pytest.mark.parametrize("v", [v for v in VECTORS if v["expect"] != "ok"], ids=lambda v: v["name"])
def test_hub_lets_nothing_altered_after_signing_through(v):
    """Every tampered envelope is refused by the hub unless only a recipient could tell."""
    if v["expect"] in RECIPIENT_ONLY:
        return  # the hub may or may not see it; the recipient's check is what counts
    with pytest.raises(HubError) as caught:
        _scan(_envelope(v), v, max_payload_length=v.get("max_payload_length"))
    if v["expect"] in {"envelope_empty", "envelope_bad_magic", "envelope_trailing_data"}:
        assert caught.value.code == v["expect"]


def test_trailing_bytes_are_refused_at_the_first_extra_byte():
    """The hub stops an over-long upload as soon as it passes the length the header states."""
    data = _envelope(next(v for v in VECTORS if v["name"] == "one recipient, one attachment"))
    scanner = EnvelopeScanner()
    scanner.feed(data)
    with pytest.raises(HubError) as caught:
        scanner.feed(b"\x00")
    assert caught.value.code == "envelope_trailing_data"


def test_header_is_available_before_the_body_arrives():
    """The hub can check sender and recipients once the header is in, before storing the body."""
    data = _envelope(next(v for v in VECTORS if v["name"] == "three chunks and a partial one"))
    scanner = EnvelopeScanner()
    scanner.feed(data[:400])
    assert scanner.header is not None
    assert len(scanner.header.stanzas) == 2


def test_payload_above_the_hub_limit_is_refused_from_the_header():
    """An upload whose header states a payload above the hub's limit is refused before the body."""
    data = _envelope(next(v for v in VECTORS if v["name"] == "three chunks and a partial one"))
    scanner = EnvelopeScanner(max_payload_length=100_000)
    with pytest.raises(HubError) as caught:
        scanner.feed(data[:400])
    assert caught.value.code == "envelope_too_large"

"""Check an envelope as its bytes arrive, without any key to open it: what the hub can verify
(docs/protocol.md §4.7). Sans-I/O: the server feeds it the upload's chunks as they come.

The scanner knows the exact envelope length once the header is in, so an upload that is too
long is refused at the first byte too many, and one that is cut short is refused at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hub.crypto import primitives as p
from hub.crypto.envelope import envelope_digest_message
from hub.crypto.format import (
    MAX_PAYLOAD_LENGTH,
    PRELUDE_SIZE,
    SIGNATURE_SIZE,
    Header,
    ciphertext_length,
    envelope_length,
    header_length_from_prelude,
    parse_header,
)
from hub.errors import EnvelopeFormatError, EnvelopeVerificationError

if TYPE_CHECKING:
    from hub.crypto.envelope import SenderKeys


@dataclass(frozen=True)
class ScannedEnvelope:
    header: Header
    digest: bytes
    length: int


class EnvelopeScanner:
    def __init__(self, *, max_payload_length: int = MAX_PAYLOAD_LENGTH) -> None:
        self._max_payload_length = max_payload_length
        self._head = bytearray()
        self._header_length: int | None = None
        self.header: Header | None = None  # available as soon as the header has arrived
        self._digest = p.sha256()
        self._ciphertext_left = 0
        self._signature = bytearray()
        self._received = 0

    def feed(self, data: bytes | memoryview) -> None:
        """Take the next bytes of the upload; raise as soon as the layout is known to be wrong."""
        view = memoryview(data)
        self._received += len(view)
        if self.header is None:
            view = self._feed_header(view)
            if self.header is None:
                return
        if self._ciphertext_left:
            n = min(len(view), self._ciphertext_left)
            self._digest.update(view[:n])
            self._ciphertext_left -= n
            view = view[n:]
        if view:
            n = min(len(view), SIGNATURE_SIZE - len(self._signature))
            self._signature += view[:n]
            if len(view) > n:
                raise EnvelopeFormatError("envelope_trailing_data")

    def _feed_header(self, view: memoryview) -> memoryview:
        if self._header_length is None:
            take = min(len(view), PRELUDE_SIZE - len(self._head))
            self._head += view[:take]
            view = view[take:]
            if len(self._head) < PRELUDE_SIZE:
                if self._head and not b"HUBENV".startswith(bytes(self._head[:6])):
                    raise EnvelopeFormatError("envelope_bad_magic")
                return view
            self._header_length = header_length_from_prelude(bytes(self._head))
        take = min(len(view), self._header_length - len(self._head))
        self._head += view[:take]
        view = view[take:]
        if len(self._head) == self._header_length:
            header = parse_header(bytes(self._head), max_payload_length=self._max_payload_length)
            self._digest.update(self._head)
            self._ciphertext_left = ciphertext_length(header.payload_length)
            self.header = header
        return view

    def finish(self, sender_keys: SenderKeys) -> ScannedEnvelope:
        """The upload is complete: check its length, the sender's authority and the signature."""
        if self.header is None:
            header_length_from_prelude(bytes(self._head[:PRELUDE_SIZE]))  # empty / magic / version
            raise EnvelopeFormatError("envelope_truncated", "inside the header")
        if self._ciphertext_left or len(self._signature) < SIGNATURE_SIZE:
            raise EnvelopeFormatError("envelope_truncated")
        signing_key = sender_keys.signing_key_for(self.header.sender_key_id, self.header.created_at)
        digest = self._digest.digest()
        try:
            p.ed25519_verify(signing_key, envelope_digest_message(digest), bytes(self._signature))
        except p.AuthenticationFailed:
            raise EnvelopeVerificationError("envelope_bad_signature") from None
        return ScannedEnvelope(self.header, digest, envelope_length(self.header))

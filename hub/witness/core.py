"""The witness's decisions, without I/O: an add-checkpoint request (c2sp.org/tlog-witness) checked
in the specification's order against the latest checkpoint cosigned for that log.

    request = "old " size "\\n" (base64 hash "\\n"){0,63} "\\n" checkpoint-note

    unknown origin 404 · no valid signature of the log's key 403 · old > size 400
    old != the size last cosigned 409 (body: that size, text/x.tlog.size)
    a proof where none belongs, a proof that does not verify, one size two roots 422
    else: the new checkpoint is kept, then cosigned (200, the cosignature line)
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from hub.crypto import merkle
from hub.crypto.checkpoint import Checkpoint, open_checkpoint, origin_of
from hub.errors import LogError

if TYPE_CHECKING:
    from collections.abc import Mapping

MAX_REQUEST_BYTES: Final = 64 * 1024
SIZE_CONTENT_TYPE: Final = "text/x.tlog.size"


class Refusal(Exception):  # noqa: N818 - an HTTP answer, as tlog-witness names each
    def __init__(self, status: int, body: str, content_type: str = "text/plain") -> None:
        super().__init__(f"{status} {body.strip()}")
        self.status = status
        self.body = body
        self.content_type = content_type


@dataclass(frozen=True)
class KnownLog:
    """A log this witness is configured for: the network and its administrator's key."""

    network: str
    admin_public: bytes

    @property
    def origin(self) -> str:
        return origin_of(self.network)


@dataclass(frozen=True)
class Request:
    old: int
    proof: list[bytes]
    note: str


def parse_request(body: bytes) -> Request:
    if len(body) > MAX_REQUEST_BYTES:
        raise Refusal(400, "request too large\n")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(400, "not UTF-8\n") from None
    head, blank, note = text.partition("\n\n")
    lines = head.split("\n")
    if not blank or not lines[0].startswith("old "):
        raise Refusal(400, "expected an old size line, proof lines, a blank line, a checkpoint\n")
    size_text = lines[0][4:]
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise Refusal(400, "old size\n")
    if len(lines) - 1 > merkle.MAX_PROOF_HASHES:
        raise Refusal(400, "too many proof lines\n")
    try:
        proof = [base64.b64decode(line, validate=True) for line in lines[1:]]
    except (binascii.Error, ValueError):
        raise Refusal(400, "proof lines are base64\n") from None
    if any(len(h) != merkle.HASH_BYTES for h in proof):
        raise Refusal(400, "proof hashes are 32 bytes\n")
    return Request(int(size_text), proof, note)


def check_request(
    request: Request, logs: Mapping[str, KnownLog], latest: Mapping[str, Checkpoint]
) -> Checkpoint:
    """The checkpoint to keep and cosign, or Refusal with the status tlog-witness names."""
    origin = request.note.split("\n", 1)[0]
    log = logs.get(origin)
    if log is None:
        raise Refusal(404, "unknown log\n")
    try:
        opened = open_checkpoint(request.note, admin_public=log.admin_public, network=log.network)
    except LogError as exc:
        status = 400 if exc.code == "checkpoint_malformed" else 403
        raise Refusal(status, f"{exc.code}\n") from None
    new = opened.checkpoint
    if request.old > new.size:
        raise Refusal(400, "old size larger than the checkpoint\n")
    known = latest.get(origin)
    known_size = 0 if known is None else known.size
    if request.old != known_size:
        raise Refusal(409, f"{known_size}\n", SIZE_CONTENT_TYPE)
    if new.size == 0:
        raise Refusal(422, "an empty tree is not cosigned\n")
    old_root = merkle.EMPTY_ROOT if known is None else known.root
    try:
        merkle.verify_consistency(request.old, new.size, request.proof, old_root, new.root)
    except LogError as exc:
        raise Refusal(422, f"{exc.code}\n") from None
    return new

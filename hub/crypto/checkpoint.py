"""Checkpoints of the directory log: signed notes (c2sp.org/signed-note) whose text is a
c2sp.org/tlog-checkpoint, signed by the network (administrator) key, with timestamped witness
cosignatures (c2sp.org/tlog-cosignature, Ed25519). Pure: no I/O, no clock of its own.

docs/protocol.md §12 is the specification; `open_checkpoint` and `Policy.check` follow its
checks in order, and tests/vectors/log.json holds a vector for each way one fails.

    note        = text "\\n" signature-line+
    text        = origin "\\n" size "\\n" base64(root) "\\n"      (no extension lines)
    origin      = "hub-directory-log/v1/" network-id
    line        = "— " name " " base64(key id[4] || signature) "\\n"
    network key = name: the origin; key id SHA-256(origin "\\n" 0x01 public)[:4]; Ed25519(text)
    cosignature = name: the witness's; key id SHA-256(name "\\n" 0x04 public)[:4];
                  timestamp[8, big-endian] || Ed25519("cosignature/v1\\ntime T\\n" text)

The hub holds no signing key: it stores and serves what the administrator's tools signed and
what witnesses returned. Lines from keys a verifier does not know are ignored, as signed-note
requires, so a hub may add them but gains nothing by it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, NoReturn

from hub.crypto import primitives as p
from hub.crypto.merkle import HASH_BYTES
from hub.errors import LogError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from hub.crypto.keys import SigningKey

__all__ = [
    "ORIGIN_PREFIX",
    "Checkpoint",
    "OpenedCheckpoint",
    "Policy",
    "Witness",
    "cosign",
    "cosignature_key_id",
    "note_key_id",
    "open_checkpoint",
    "origin_of",
    "sign_checkpoint",
    "verifier_key",
]

ORIGIN_PREFIX: Final = "hub-directory-log/v1/"
DASH: Final = "\u2014"
ED25519_TYPE: Final = 0x01
COSIGNATURE_TYPE: Final = 0x04
COSIGNATURE_HEADER: Final = b"cosignature/v1\n"
MAX_NOTE_BYTES: Final = 16 * 1024  # a checkpoint with 32 signature lines is under 5 KiB
MAX_SIGNATURES: Final = 32  # signed-note: at least 16 must be accepted
MAX_SIZE: Final = 2**53 - 1
FUTURE_SKEW: Final = 300  # seconds a cosignature's time may lie ahead of this machine's clock


def origin_of(network: str) -> str:
    """The log's origin, and the network key's name in a checkpoint's signature line."""
    if not network or not network.isascii() or not network.replace("-", "").isalnum():
        raise ValueError("a network id is ASCII letters, digits and hyphens")
    return ORIGIN_PREFIX + network


def note_key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519_TYPE]) + public).digest()[:4]


def verifier_key(name: str, public: bytes) -> str:
    """The network key as a signed-note verifier key (name+hex(key id)+base64(0x01 || key)),
    as Go's sumdb/note and other tlog tools take it."""
    return (
        f"{name}+{note_key_id(name, public).hex()}+"
        + base64.b64encode(bytes([ED25519_TYPE]) + public).decode()
    )


def cosignature_key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([COSIGNATURE_TYPE]) + public).digest()[:4]


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> bytes:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n".encode()


@dataclass(frozen=True)
class Witness:
    """A cosigner the network's signed settings name: its key name and Ed25519 public key."""

    name: str
    public: bytes

    @property
    def key_id(self) -> bytes:
        return cosignature_key_id(self.name, self.public)


@dataclass(frozen=True)
class OpenedCheckpoint:
    """A checkpoint whose network-key signature verified, and the cosignatures of known
    witnesses that verified with it (witness name -> the cosignature's time)."""

    checkpoint: Checkpoint
    note: str = field(repr=False)  # as received: kept as evidence
    cosigned: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    """The witnesses a client counts, how many must cosign, and how old the newest quorum
    cosignature may be (seconds) before nothing with content is sealed to the view."""

    witnesses: tuple[Witness, ...]
    quorum: int
    max_age: int

    def quorum_time(self, opened: OpenedCheckpoint) -> int | None:
        """Check 9: at least `quorum` known witnesses cosigned. Returns the time by which a
        quorum had cosigned (the quorum-th newest cosignature), or raises. None for a network
        whose settings name no witnesses yet: the tree and the network key are all there is."""
        if self.quorum == 0:
            return None
        times = sorted(
            (opened.cosigned[w.name] for w in self.witnesses if w.name in opened.cosigned),
            reverse=True,
        )
        if len(times) < self.quorum:
            raise LogError("cosignature_quorum_missing", f"{len(times)} of {self.quorum}")
        return times[self.quorum - 1]

    def require_fresh(self, fresh_at: int | None, now: int) -> None:
        """Check 12, before sealing content: a quorum cosigned within `max_age` (nothing to
        check where no witnesses are named)."""
        if fresh_at is not None and now - fresh_at > self.max_age:
            raise LogError("checkpoint_stale", f"a quorum last cosigned at {fresh_at}")


# --- signing (the administrator's tools, a witness) ------------------------------------------


def sign_checkpoint(admin: SigningKey, checkpoint: Checkpoint) -> str:
    """The note the administrator's tools publish: the text and the network key's line."""
    text = checkpoint.text()
    key_id = note_key_id(checkpoint.origin, admin.public)
    return _note(text, [(checkpoint.origin, key_id + admin.sign(text))])


def cosign(witness: SigningKey, name: str, checkpoint: Checkpoint, timestamp: int) -> str:
    """A witness's cosignature line (tlog-cosignature, Ed25519) on `checkpoint` at `timestamp`."""
    if not 0 < timestamp < 2**63:
        raise ValueError("a cosignature's time is a positive POSIX time")
    message = COSIGNATURE_HEADER + f"time {timestamp}\n".encode() + checkpoint.text()
    payload = cosignature_key_id(name, witness.public) + struct.pack(">Q", timestamp)
    return _line(name, payload + witness.sign(message))


def _note(text: bytes, signatures: Iterable[tuple[str, bytes]]) -> str:
    return text.decode() + "\n" + "".join(_line(name, sig) for name, sig in signatures)


def _line(name: str, payload: bytes) -> str:
    return f"{DASH} {name} {base64.b64encode(payload).decode()}\n"


# --- opening (every client and witness) --------------------------------------------------------


def open_checkpoint(
    note: str,
    *,
    admin_public: bytes,
    network: str,
    witnesses: Sequence[Witness] = (),
    now: int | None = None,
) -> OpenedCheckpoint:
    """Checks 1-8 of docs/protocol.md §12.4: the note's form, the checkpoint's text, its origin,
    the network key's signature, and each known witness's cosignature; else LogError."""
    text, lines = _split_note(note)
    checkpoint = _parse_text(text)
    origin = origin_of(network)
    if checkpoint.origin != origin:
        raise LogError("checkpoint_wrong_origin", f"origin {checkpoint.origin!r}")
    signed = False
    admin_id = note_key_id(origin, admin_public)
    by_key = {(w.name, w.key_id): w for w in witnesses}
    cosigned: dict[str, int] = {}
    for name, payload in lines:
        key_id, signature = payload[:4], payload[4:]
        if (name, key_id) == (origin, admin_id):
            try:
                p.ed25519_verify(admin_public, text, signature)
            except p.AuthenticationFailed:
                raise LogError("checkpoint_bad_signature") from None
            signed = True
        elif (name, key_id) in by_key:
            cosigned[name] = _cosignature_time(by_key[name, key_id], text, signature, now)
    if not signed:
        raise LogError("checkpoint_unsigned")
    return OpenedCheckpoint(checkpoint, note, cosigned)


def _cosignature_time(witness: Witness, text: bytes, signature: bytes, now: int | None) -> int:
    if len(signature) != 8 + p.ED25519_SIGNATURE_BYTES:
        raise LogError("cosignature_invalid", f"{witness.name}: not a timestamped signature")
    (timestamp,) = struct.unpack(">Q", signature[:8])
    message = COSIGNATURE_HEADER + f"time {timestamp}\n".encode() + text
    try:
        if timestamp >= 2**63:
            raise p.AuthenticationFailed
        p.ed25519_verify(witness.public, message, signature[8:])
    except p.AuthenticationFailed:
        raise LogError("cosignature_invalid", f"{witness.name}") from None
    if now is not None and timestamp > now + FUTURE_SKEW:
        raise LogError("cosignature_invalid", f"{witness.name}: from the future")
    return int(timestamp)


def _split_note(note: str) -> tuple[bytes, list[tuple[str, bytes]]]:
    """Check 1: a signed note (UTF-8, no control character but the newline, text, blank line,
    1-32 signature lines); returns the text (with its final newline) and the lines."""
    raw = note.encode("utf-8", errors="surrogatepass")
    if (
        len(raw) > MAX_NOTE_BYTES
        or any(c < 0x20 and c != 0x0A for c in raw)
        or not note.endswith("\n")
    ):
        _malformed("a note is at most 16 KiB of text lines without control characters")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        _malformed("a note is UTF-8")
    cut = note.rfind("\n\n")
    if cut < 0:
        _malformed("no blank line before the signatures")
    text, block = note[: cut + 1], note[cut + 2 :]
    rows = block.split("\n")[:-1]
    if not 0 < len(rows) <= MAX_SIGNATURES:
        _malformed("one to 32 signature lines")
    return text.encode(), [_signature_line(row) for row in rows]


def _signature_line(row: str) -> tuple[str, bytes]:
    parts = row.split(" ")
    if len(parts) != 3 or parts[0] != DASH or not parts[1] or "+" in parts[1]:
        _malformed("a signature line is '— name base64'")
    try:
        payload = base64.b64decode(parts[2], validate=True)
    except (binascii.Error, ValueError):
        _malformed("a signature is base64")
    if len(payload) < 5 or base64.b64encode(payload).decode() != parts[2]:
        _malformed("a signature is a key id and at least one byte, in canonical base64")
    return parts[1], payload


def _parse_text(text: bytes) -> Checkpoint:
    """Check 2: origin, size, root; exactly three lines (this log has no extension lines)."""
    lines = text.decode().split("\n")[:-1]
    if len(lines) != 3 or not lines[0]:
        _malformed("a checkpoint is three lines: origin, size, root")
    origin, size_text, root_text = lines
    if (
        not size_text.isdigit()
        or not size_text.isascii()
        or (size_text != "0" and size_text.startswith("0"))
    ):
        _malformed("the size is a decimal number without leading zeroes")
    size = int(size_text)
    if size > MAX_SIZE:
        _malformed("the size is at most 2^53 - 1")
    try:
        root = base64.b64decode(root_text, validate=True)
    except (binascii.Error, ValueError):
        _malformed("the root is base64")
    if len(root) != HASH_BYTES or base64.b64encode(root).decode() != root_text:
        _malformed("the root is 32 bytes in canonical base64")
    return Checkpoint(origin, size, root)


def _malformed(detail: str) -> NoReturn:
    raise LogError("checkpoint_malformed", detail) from None

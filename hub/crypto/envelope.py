"""Seal and open envelopes: one message, many recipients, streamed in constant memory.

Sealing encrypts chunk by chunk on this thread while a second thread hashes and writes what is
already encrypted; opening decrypts on this thread while the second hashes. Both C calls release
the GIL, so on two cores the digest costs almost nothing (benchmarks/envelope_throughput.py).

Opening releases nothing until every chunk, the final tag, the length, the signature, the
padding and the manifest have been checked: the plaintext goes to a private temporary file in
the caller's work folder, and only an `OpenedMessage` pointing at it is handed over.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final, Protocol, Self

from hub.crypto import content
from hub.crypto import primitives as p
from hub.crypto.format import (
    CHUNK_CIPHERTEXT_SIZE,
    CHUNK_SIZE,
    MAX_PAYLOAD_LENGTH,
    PRELUDE_SIZE,
    SIGNATURE_SIZE,
    Header,
    MessageKind,
    Stanza,
    chunk_count,
    header_length_from_prelude,
    parse_header,
)
from hub.errors import AuthorityError, EnvelopeFormatError, EnvelopeVerificationError

if TYPE_CHECKING:
    from collections.abc import Callable, Container, Iterator, Sequence

    from hub.crypto.keys import PrivateIdentity, PublicIdentity

SIGNATURE_CONTEXT: Final = b"hub-envelope/v1/signature\n"
_WRAP_PERSON: Final = b"hub-wrap/v1"
_PAYLOAD_PERSON: Final = b"hub-payload/v1"
_COMMIT_PERSON: Final = b"hub-commit/v1"
# The wrapping key is fresh for every stanza (a new ephemeral X25519 key each time), so a
# fixed all-zero nonce never repeats under one key, as in age's X25519 recipient.
_WRAP_NONCE: Final = bytes(p.AEAD_NONCE_BYTES)
SEGMENT_CHUNKS: Final = 16  # chunks handed between the two threads at a time (1 MiB)
DEFAULT_CLOCK_SKEW: Final = 300


class Readable(Protocol):
    """A binary stream that can fill a caller's buffer (files, BytesIO, sockets' files)."""

    def read(self, size: int = -1, /) -> bytes: ...
    def readinto(self, buffer: memoryview, /) -> int | None: ...


class Writable(Protocol):
    def write(self, data: bytes | memoryview, /) -> int | None: ...


class SenderKeys(Protocol):
    """Answers which Ed25519 key may sign as `key_id` at time `at`, or raises AuthorityError."""

    def signing_key_for(self, key_id: bytes, at: int) -> bytes: ...


@dataclass(frozen=True)
class PinnedSender:
    """Trust exactly one sender, pinned out of band (the `hub open --from` case)."""

    identity: PublicIdentity

    def signing_key_for(self, key_id: bytes, at: int) -> bytes:  # noqa: ARG002 - pinned: no clock
        if key_id != self.identity.key_id:
            raise AuthorityError("sender_key_mismatch")
        return self.identity.signing_key


@dataclass(frozen=True)
class AttachmentSource:
    name: str
    media_type: str
    size: int
    stream: Readable


@dataclass(frozen=True)
class Sealed:
    header: Header
    digest: bytes  # SHA-256 over header and ciphertext: what the sender signed
    length: int


def envelope_digest_message(digest: bytes) -> bytes:
    return SIGNATURE_CONTEXT + digest


def _payload_key(file_key: bytes, message_id: bytes) -> bytes:
    return p.blake2b(message_id, key=file_key, person=_PAYLOAD_PERSON)


def _commitment(file_key: bytes, message_id: bytes) -> bytes:
    # Keyed BLAKE2b is collision resistant in its key: every recipient who checks this unwraps
    # the same file key, hence decrypts the same plaintext (no "invisible salamanders").
    return p.blake2b(message_id, key=file_key, person=_COMMIT_PERSON)


def _wrap_key(shared: bytes, ephemeral_public: bytes, recipient_public: bytes) -> bytes:
    return p.blake2b(ephemeral_public + recipient_public, key=shared, person=_WRAP_PERSON)


def _wrap(file_key: bytes, message_id: bytes, recipient: PublicIdentity, rng: p.Rng) -> Stanza:
    ephemeral_secret = rng(32)
    ephemeral_public = p.x25519_public_from_secret(ephemeral_secret)
    shared = p.x25519_shared(ephemeral_secret, recipient.encryption_key)
    key = _wrap_key(shared, ephemeral_public, recipient.encryption_key)
    wrapped = p.aead_encrypt(key, _WRAP_NONCE, file_key, message_id)
    return Stanza(recipient.key_id, ephemeral_public, wrapped)


def _unwrap(stanza: Stanza, message_id: bytes, recipient: PrivateIdentity) -> bytes:
    try:
        shared = p.x25519_shared(recipient.encryption_secret, stanza.ephemeral_public)
        key = _wrap_key(shared, stanza.ephemeral_public, recipient.public.encryption_key)
        return p.aead_decrypt(key, _WRAP_NONCE, stanza.wrapped_key, message_id)
    except p.AuthenticationFailed:
        raise EnvelopeVerificationError("envelope_stanza_invalid") from None


# --- sealing -----------------------------------------------------------------------------


class _PlaintextSource:
    """The plaintext as one stream: manifest, each attachment in turn, then zero padding."""

    def __init__(self, prefix: bytes, attachments: Sequence[AttachmentSource], total: int) -> None:
        self._prefix = memoryview(prefix)
        self._attachments = list(attachments)
        self._remaining_padding = total - len(prefix) - sum(a.size for a in attachments)
        self._current = -1
        self._left_in_current = 0

    def read(self, size: int = -1, /) -> bytes:
        raise NotImplementedError  # the sealer only ever calls readinto

    def readinto(self, buf: memoryview, /) -> int:
        filled = 0
        while filled < len(buf):
            view = buf[filled:]
            if self._prefix:
                n = min(len(view), len(self._prefix))
                view[:n] = self._prefix[:n]
                self._prefix = self._prefix[n:]
            elif self._left_in_current > 0:
                want = min(len(view), self._left_in_current)
                n = self._attachments[self._current].stream.readinto(view[:want]) or 0
                if not n:
                    raise ValueError(
                        f"attachment {self._attachments[self._current].name!r} ended early"
                    )
                self._left_in_current -= n
            elif self._current + 1 < len(self._attachments):
                self._current += 1
                self._left_in_current = self._attachments[self._current].size
                continue
            elif self._remaining_padding > 0:
                n = min(len(view), self._remaining_padding)
                view[:n] = bytes(n)
                self._remaining_padding -= n
            else:
                break
            filled += n
        return filled


def seal(  # noqa: PLR0913 - every argument is part of what is signed
    out: Writable,
    *,
    sender: PrivateIdentity,
    recipients: Sequence[PublicIdentity],
    kind: MessageKind,
    case_id: bytes,
    document: dict[str, Any],
    attachments: Sequence[AttachmentSource] = (),
    created_at: int,
    message_id: bytes | None = None,
    rng: p.Rng = p.random_bytes,
    seen: Sequence[bytes] = (),
) -> Sealed:
    """Encrypt `document` and `attachments` to every recipient and sign the whole envelope.
    `seen`: the thread's message ids the sender had (hub.crypto.content)."""
    infos = [content.AttachmentInfo(a.name, a.media_type, a.size) for a in attachments]
    prefix = content.encode_manifest(document, infos, seen)
    payload_length = content.padded_length(content.content_length(prefix, infos))
    return seal_raw(
        out,
        sender=sender,
        recipients=recipients,
        kind=kind,
        case_id=case_id,
        plaintext=_PlaintextSource(prefix, attachments, payload_length),
        payload_length=payload_length,
        created_at=created_at,
        message_id=message_id,
        rng=rng,
    )


def seal_raw(  # noqa: PLR0913 - as seal()
    out: Writable,
    *,
    sender: PrivateIdentity,
    recipients: Sequence[PublicIdentity],
    kind: MessageKind,
    case_id: bytes,
    plaintext: Readable,
    payload_length: int,
    created_at: int,
    message_id: bytes | None = None,
    rng: p.Rng = p.random_bytes,
) -> Sealed:
    """Seal `payload_length` bytes of `plaintext` exactly as given. seal() builds a valid
    plaintext (docs/protocol.md §4.3); this lower step lets the vector generator build invalid
    ones, signed, to prove that readers refuse them."""
    unique = {r.key_id: r for r in recipients}
    if not unique:
        raise ValueError("at least one recipient")
    if len(case_id) != 16:
        raise ValueError("case id must be 16 bytes")
    message_id = rng(16) if message_id is None else message_id
    file_key = rng(p.KEY_BYTES)
    stream_header = rng(p.STREAM_HEADER_BYTES)
    stanzas = tuple(_wrap(file_key, message_id, r, rng) for r in unique.values())
    header = Header(
        kind=kind,
        message_id=message_id,
        case_id=case_id,
        created_at=created_at,
        sender_key_id=sender.key_id,
        payload_length=payload_length,
        stream_header=stream_header,
        key_commitment=_commitment(file_key, message_id),
        stanzas=stanzas,
    )
    encoded_header = header.encode()
    digest = p.sha256()
    digest.update(encoded_header)
    out.write(encoded_header)

    encryptor = p.StreamEncryptor(_payload_key(file_key, message_id), stream_header)
    total_chunks = chunk_count(payload_length)

    def hash_and_write(slot: _Slot, cipher_used: int, _plain_used: int) -> None:
        digest.update(slot.cipher[:cipher_used])
        out.write(slot.cipher[:cipher_used])

    with _Pipeline(hash_and_write, total_chunks) as pipeline:
        done, left = 0, payload_length
        while done < total_chunks:
            slot = pipeline.next_slot()
            count = min(SEGMENT_CHUNKS, total_chunks - done)
            want = min(count * CHUNK_SIZE, left)
            filled = _readinto_exactly(plaintext, slot.plain[:want])
            if filled < want:
                raise ValueError("the plaintext ended before the stated length")
            used = 0
            for off in range(0, count * CHUNK_SIZE, CHUNK_SIZE):
                done += 1
                tag = p.STREAM_TAG_FINAL if done == total_chunks else p.STREAM_TAG_MESSAGE
                piece = slot.plain[off : min(off + CHUNK_SIZE, filled)]
                used += encryptor.push_into(slot.cipher[used:], piece, tag)
            left -= filled
            pipeline.submit(slot, used, filled)
    if plaintext.readinto(memoryview(bytearray(1))):
        raise ValueError("the plaintext is longer than the stated length")

    signed_digest = digest.digest()
    out.write(sender.sign(envelope_digest_message(signed_digest)))
    length = header.size + _ciphertext_len(payload_length) + SIGNATURE_SIZE
    return Sealed(header, signed_digest, length)


def _ciphertext_len(payload_length: int) -> int:
    return payload_length + chunk_count(payload_length) * p.STREAM_OVERHEAD


@dataclass(frozen=True)
class _Slot:
    plain: memoryview
    cipher: memoryview


class _Pipeline:
    """Rotating buffer slots and one worker thread that consumes filled ones, so this thread
    fills slot k+1 while the worker hashes and writes slot k.

    A message of one segment or less (every form, answer and note) has nothing to overlap:
    it gets one slot sized to the message and is consumed on this thread, with no thread and
    no megabyte buffers to set up.
    """

    def __init__(self, consume: Callable[[_Slot, int, int], None], total_chunks: int) -> None:
        self._consume = consume
        chunks = min(SEGMENT_CHUNKS, total_chunks)
        inline = total_chunks <= SEGMENT_CHUNKS
        self._slots = [
            _Slot(
                memoryview(bytearray(CHUNK_SIZE * chunks)),
                memoryview(bytearray(CHUNK_CIPHERTEXT_SIZE * chunks)),
            )
            for _ in range(1 if inline else 3)
        ]
        self._pending: list[Future[None] | None] = [None] * len(self._slots)
        self._next = 0
        self._executor = (
            None if inline else ThreadPoolExecutor(max_workers=1, thread_name_prefix="envelope")
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            for fut in self._pending:
                if fut is not None:
                    fut.result()
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=True)

    def next_slot(self) -> _Slot:
        fut = self._pending[self._next]
        if fut is not None:
            fut.result()  # the slot's previous contents are consumed: safe to overwrite
            self._pending[self._next] = None
        return self._slots[self._next]

    def submit(self, slot: _Slot, cipher_used: int, plain_used: int) -> None:
        if self._executor is None:
            self._consume(slot, cipher_used, plain_used)
            return
        self._pending[self._next] = self._executor.submit(
            self._consume, slot, cipher_used, plain_used
        )
        self._next = (self._next + 1) % len(self._slots)


# --- opening -----------------------------------------------------------------------------


@dataclass
class OpenedMessage:
    """A verified message. Its plaintext lives in a private temporary file until close()."""

    header: Header
    digest: bytes
    document: dict[str, Any]
    attachments: tuple[content.AttachmentInfo, ...]
    _path: Path
    _offsets: tuple[int, ...]
    # Kept so a remaining key holder can hand it to a successor (docs/protocol.md §6).
    file_key: bytes = field(repr=False, default=b"")
    seen: tuple[bytes, ...] = ()  # the thread's message ids its sender had (manifest v2)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with suppress(FileNotFoundError):
            self._path.unlink()

    def iter_attachment(self, index: int, block: int = CHUNK_SIZE) -> Iterator[bytes]:
        info = self.attachments[index]
        with self._path.open("rb") as f:
            f.seek(self._offsets[index])
            left = info.size
            while left:
                data = f.read(min(block, left))
                if not data:
                    raise EnvelopeVerificationError("envelope_content_malformed", "short file")
                left -= len(data)
                yield data

    def read_attachment(self, index: int) -> bytes:
        return b"".join(self.iter_attachment(index))

    def extract(self, out_dir: Path) -> None:
        """Write document.json and attachments/<name> to `out_dir`, all or nothing."""
        if out_dir.exists():
            raise FileExistsError(out_dir)
        staging = Path(tempfile.mkdtemp(prefix=".opening-", dir=out_dir.parent))
        try:
            doc = json.dumps(self.document, ensure_ascii=False, indent=2, sort_keys=True)
            (staging / "document.json").write_text(doc + "\n", encoding="utf-8")
            folder = staging / "attachments"
            folder.mkdir()
            for i, info in enumerate(self.attachments):
                with (folder / info.name).open("xb") as f:
                    for block in self.iter_attachment(i):
                        f.write(block)
            staging.rename(out_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


def read_header(src: Readable, *, max_payload_length: int = MAX_PAYLOAD_LENGTH) -> Header:
    prelude = _read_exactly(src, PRELUDE_SIZE, allow_short=True)
    header_length = header_length_from_prelude(prelude)
    rest = _read_exactly(src, header_length - len(prelude), allow_short=True)
    return parse_header(prelude + rest, max_payload_length=max_payload_length)


def open_envelope(  # noqa: PLR0913 - each argument is a decision the caller must make
    src: Readable,
    *,
    recipient: PrivateIdentity | None = None,
    file_key: bytes | None = None,
    sender_keys: SenderKeys,
    workdir: Path,
    now: int,
    seen: Container[bytes] = frozenset(),
    max_payload_length: int = MAX_PAYLOAD_LENGTH,
    max_clock_skew: int = DEFAULT_CLOCK_SKEW,
) -> OpenedMessage:
    """Check and decrypt an envelope in the order of docs/protocol.md §4.6.

    Either as a `recipient` (unwrapping the file key from its stanza) or, for a successor after
    rotation, with a `file_key` handed over in a rewrap envelope (§6): the key commitment then
    proves the key is the one the original sender sealed with, and the original sender's
    signature is checked exactly as for any recipient.
    """
    if (recipient is None) == (file_key is None):
        raise ValueError("give either a recipient or a file key")
    header = read_header(src, max_payload_length=max_payload_length)
    signing_key = sender_keys.signing_key_for(header.sender_key_id, header.created_at)
    if recipient is not None:
        stanza = header.stanza_for(recipient.key_id)
        if stanza is None:
            raise AuthorityError("envelope_not_recipient")
        file_key = _unwrap(stanza, header.message_id, recipient)
    assert file_key is not None  # noqa: S101 - narrowed: exactly one of the two was given
    if _commitment(file_key, header.message_id) != header.key_commitment:
        raise EnvelopeVerificationError("envelope_key_commitment")

    fd, name = tempfile.mkstemp(prefix=".plaintext-", dir=workdir)
    path = Path(name)
    try:
        with os.fdopen(fd, "w+b") as plain_file:
            digest = _decrypt_stream(src, header, file_key, plain_file)
            signature = _read_exactly(src, SIGNATURE_SIZE)
            if src.read(1):
                raise EnvelopeFormatError("envelope_trailing_data")
            try:
                p.ed25519_verify(signing_key, envelope_digest_message(digest), signature)
            except p.AuthenticationFailed:
                raise EnvelopeVerificationError("envelope_bad_signature") from None
            if header.created_at > now + max_clock_skew:
                raise EnvelopeVerificationError("envelope_from_future")
            if header.message_id in seen:
                raise EnvelopeVerificationError("envelope_replayed")
            checked = _check_plaintext(plain_file, header.payload_length)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return OpenedMessage(
        header,
        digest,
        checked.document,
        tuple(checked.attachments),
        path,
        tuple(checked.offsets),
        file_key,
        checked.seen,
    )


@dataclass(frozen=True)
class _Plaintext:
    document: dict[str, Any]
    attachments: list[content.AttachmentInfo]
    offsets: list[int]
    seen: tuple[bytes, ...]


def _decrypt_stream(src: Readable, header: Header, file_key: bytes, sink: Writable) -> bytes:
    digest = p.sha256()
    digest.update(header.encode())
    decryptor = p.StreamDecryptor(_payload_key(file_key, header.message_id), header.stream_header)
    total_chunks = chunk_count(header.payload_length)
    remaining = _ciphertext_len(header.payload_length)
    done = 0

    def hash_and_write(slot: _Slot, cipher_used: int, plain_used: int) -> None:
        digest.update(slot.cipher[:cipher_used])
        sink.write(slot.plain[:plain_used])

    with _Pipeline(hash_and_write, total_chunks) as pipeline:
        while done < total_chunks:
            slot = pipeline.next_slot()
            want = min(len(slot.cipher), remaining)
            got = _readinto_exactly(src, slot.cipher[:want])
            if got < want:
                raise EnvelopeFormatError(
                    "envelope_truncated", f"in chunk {done + got // CHUNK_CIPHERTEXT_SIZE}"
                )
            remaining -= want
            plain_used = 0
            for off in range(0, want, CHUNK_CIPHERTEXT_SIZE):
                chunk = slot.cipher[off : min(off + CHUNK_CIPHERTEXT_SIZE, want)]
                try:
                    n, tag = decryptor.pull_into(slot.plain[plain_used:], chunk)
                except p.AuthenticationFailed:
                    raise EnvelopeVerificationError(
                        "envelope_chunk_invalid", f"chunk {done}"
                    ) from None
                done += 1
                plain_used += n
                if done < total_chunks and tag != p.STREAM_TAG_MESSAGE:
                    raise EnvelopeVerificationError(
                        "envelope_chunk_invalid", f"early end at {done - 1}"
                    )
                if done == total_chunks and tag != p.STREAM_TAG_FINAL:
                    raise EnvelopeVerificationError("envelope_final_chunk_missing")
            pipeline.submit(slot, want, plain_used)
    return digest.digest()


def _check_plaintext(f: BinaryIO, payload_length: int) -> _Plaintext:
    def malformed(why: str) -> EnvelopeVerificationError:
        return EnvelopeVerificationError("envelope_content_malformed", why)

    f.seek(0)
    prefix = f.read(4)
    if len(prefix) < 4:
        raise malformed("no manifest")
    manifest_length = int.from_bytes(prefix, "big")
    if manifest_length > content.MAX_MANIFEST_SIZE or 4 + manifest_length > payload_length:
        raise malformed("manifest length")
    document, attachments, seen = content.parse_manifest(f.read(manifest_length))
    offsets, position = [], 4 + manifest_length
    for a in attachments:
        offsets.append(position)
        position += a.size
    if position > payload_length:
        raise malformed("attachments longer than the payload")
    if content.padded_length(position) != payload_length:
        raise EnvelopeVerificationError("envelope_padding_invalid", "length is not a bucket")
    f.seek(position)
    left = payload_length - position
    while left:
        block = f.read(min(left, CHUNK_SIZE))
        if block.count(0) != len(block):
            raise EnvelopeVerificationError("envelope_padding_invalid", "non-zero padding")
        left -= len(block)
    return _Plaintext(document, attachments, offsets, seen)


def _read_exactly(src: Readable, n: int, *, allow_short: bool = False) -> bytes:
    buf = bytearray(n)
    got = _readinto_exactly(src, memoryview(buf))
    if got < n and not allow_short:
        raise EnvelopeFormatError("envelope_truncated")
    return bytes(buf[:got])


def _readinto_exactly(src: Readable, view: memoryview) -> int:
    got = 0
    while got < len(view):
        n = src.readinto(view[got:])
        if not n:
            break
        got += n
    return got

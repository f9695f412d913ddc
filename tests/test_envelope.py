"""Sealing and opening envelopes as a contact person's inbox does."""

from __future__ import annotations

import io
import json
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.crypto import content
from hub.crypto.envelope import AttachmentSource, PinnedSender, open_envelope, seal, seal_raw
from hub.crypto.format import MessageKind
from hub.crypto.keys import PrivateIdentity
from hub.errors import HubError
from tests.vectors._rng import SeededRng

ALICE = PrivateIdentity.generate(SeededRng("test-envelope/alice"))
BOB = PrivateIdentity.generate(SeededRng("test-envelope/bob"))
CANARY = "KANARIE-9d1c-ingen-får-se-detta"
NOW = 1_795_000_000


def _seal(document, attachments=(), recipients=(BOB,)) -> bytes:
    out = io.BytesIO()
    seal(
        out,
        sender=ALICE,
        recipients=[r.public for r in recipients],
        kind=MessageKind.INQUIRY,
        case_id=bytes(16),
        document=document,
        attachments=[AttachmentSource(n, t, len(b), io.BytesIO(b)) for n, t, b in attachments],
        created_at=NOW,
    )
    return out.getvalue()


def _open(data: bytes, workdir: Path, recipient=BOB):
    return open_envelope(
        io.BytesIO(data),
        recipient=recipient,
        sender_keys=PinnedSender(ALICE.public),
        workdir=workdir,
        now=NOW,
    )


SMALL = _seal(
    {"bakgrund": CANARY},
    [(f"{CANARY}.pdf", "application/pdf", b"%PDF-1.7 " + CANARY.encode())],
)


def test_nothing_the_person_wrote_is_visible_in_the_envelope():
    """The form text, the attachment's name and its bytes appear nowhere in the ciphertext."""
    for needle in (CANARY.encode(), CANARY.encode("utf-16-le"), b"bakgrund", b"pdf"):
        assert needle not in SMALL


def test_extract_writes_the_document_and_the_attachments(tmp_path):
    """Opening and extracting gives document.json and each attachment under its own name."""
    with _open(SMALL, tmp_path) as opened:
        opened.extract(tmp_path / "ut")
    doc = json.loads((tmp_path / "ut" / "document.json").read_text(encoding="utf-8"))
    assert doc == {"bakgrund": CANARY}
    assert (
        (tmp_path / "ut" / "attachments" / f"{CANARY}.pdf").read_bytes().endswith(CANARY.encode())
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ut"]


def test_extract_refuses_to_overwrite_an_existing_folder(tmp_path):
    """Extracting into a folder that exists changes nothing in it."""
    (tmp_path / "ut").mkdir()
    with _open(SMALL, tmp_path) as opened, pytest.raises(FileExistsError):
        opened.extract(tmp_path / "ut")
    assert list((tmp_path / "ut").iterdir()) == []


def test_many_attachments_keep_their_order_names_and_bytes(tmp_path):
    """Several attachments, empty ones included, come back byte for byte."""
    files = [(f"bilaga-{i}.txt", "text/plain", bytes([i]) * (i * 7000)) for i in range(6)]
    with _open(_seal({"n": 6}, files), tmp_path) as opened:
        assert [a.name for a in opened.attachments] == [f[0] for f in files]
        for i, (_, _, data) in enumerate(files):
            assert opened.read_attachment(i) == data


def test_sender_reads_own_copy_when_included(tmp_path):
    """The sending municipality's own key is just another recipient and can read what it sent."""
    data = _seal({"x": 1}, recipients=(BOB, ALICE))
    with _open(data, tmp_path, recipient=ALICE) as opened:
        assert opened.document == {"x": 1}


def test_size_reveals_only_the_padding_bucket():
    """Short messages of different lengths are the same size on the wire."""
    sizes = {len(_seal({"svar": "ja"})), len(_seal({"motivering": "x" * 3000}))}
    assert len(sizes) == 1


def test_sealing_a_large_attachment_uses_constant_memory():
    """A 48 MiB attachment is sealed without holding it in memory."""

    class Zeros(io.RawIOBase):
        def __init__(self, n: int) -> None:
            self.left = n

        def readable(self) -> bool:
            return True

        def readinto(self, b) -> int:
            n = min(len(b), self.left)
            b[:n] = bytes(n)
            self.left -= n
            return n

    class Sink(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, b) -> int:
            return len(b)

    size = 48 << 20
    tracemalloc.start()
    try:
        seal(
            Sink(),
            sender=ALICE,
            recipients=[BOB.public],
            kind=MessageKind.INQUIRY,
            case_id=bytes(16),
            document={},
            attachments=[
                AttachmentSource("stor.bin", "application/octet-stream", size, Zeros(size))
            ],
            created_at=NOW,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 12 << 20


def test_attachment_shorter_than_declared_is_refused():
    """A file that shrinks while being sealed is an error, not a silently short message."""
    with pytest.raises(ValueError, match="ended early"):
        seal(
            io.BytesIO(),
            sender=ALICE,
            recipients=[BOB.public],
            kind=MessageKind.INQUIRY,
            case_id=bytes(16),
            document={},
            attachments=[
                AttachmentSource("a.bin", "application/octet-stream", 10, io.BytesIO(b"123"))
            ],
            created_at=NOW,
        )


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=st.integers(min_value=0, max_value=len(SMALL) - 1), mask=st.integers(1, 255))
def test_any_changed_byte_is_refused(tmp_path, position, mask):
    """Changing any byte anywhere in an envelope makes it fail to open with a stable code."""
    data = bytearray(SMALL)
    data[position] ^= mask
    with pytest.raises(HubError):
        _open(bytes(data), tmp_path).close()


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(length=st.integers(min_value=0, max_value=len(SMALL) - 1))
def test_any_truncation_is_refused(tmp_path, length):
    """Cutting an envelope short at any point makes it fail to open."""
    with pytest.raises(HubError):
        _open(SMALL[:length], tmp_path).close()


def test_manifest_nested_too_deeply_is_refused_not_a_crash(tmp_path):
    """A signed manifest nested a hundred thousand levels deep is refused with a code, not a crash."""
    body = b'{"v":1,"document":' + b"[" * 100_000 + b"]" * 100_000 + b',"attachments":[]}'
    plain = len(body).to_bytes(4, "big") + body
    plain += bytes(content.padded_length(len(plain)) - len(plain))
    out = io.BytesIO()
    seal_raw(
        out,
        sender=ALICE,
        recipients=[BOB.public],
        kind=MessageKind.MESSAGE,
        case_id=bytes(16),
        plaintext=io.BytesIO(plain),
        payload_length=len(plain),
        created_at=NOW,
    )
    with pytest.raises(HubError) as caught:
        _open(out.getvalue(), tmp_path)
    assert caught.value.code == "envelope_content_malformed"
    assert list(tmp_path.iterdir()) == []

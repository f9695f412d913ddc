"""Every envelope vector in tests/vectors/envelope.json gives exactly its expected outcome."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from hub.crypto.envelope import PinnedSender, open_envelope
from hub.crypto.keys import PrivateIdentity
from hub.errors import HubError
from tests.vectors import gen_envelope

VECTORS_FILE = Path(__file__).parent / "vectors" / "envelope.json"


@cache
def _file() -> dict[str, Any]:
    return json.loads(VECTORS_FILE.read_text())


@cache
def _identity(name: str) -> PrivateIdentity:
    key = _file()["keys"][name]
    return PrivateIdentity(
        bytes.fromhex(key["signing_seed"]), bytes.fromhex(key["encryption_secret"])
    )


@cache
def _large() -> bytes:
    data = gen_envelope.build_large()
    assert hashlib.sha256(data).hexdigest() == _file()["large"]["sha256"]
    return data


def _envelope(v: dict[str, Any]) -> bytes:
    if v["base"] == "large":
        return _large()
    base = base64.b64decode(_file()["bases"][v["base"]])
    data = gen_envelope.apply_ops(base, v.get("ops", []))
    assert hashlib.sha256(data).hexdigest() == v["sha256"], "ops applied differently"
    return data


def _sender_keys(v: dict[str, Any]):
    if v.get("sender_keys") == "directory":
        return gen_envelope.load_directory(_file()["directory"])
    return PinnedSender(_identity(v.get("sender", "alice")).public)


def _open(v: dict[str, Any], workdir: Path):
    kwargs = {}
    if "max_payload_length" in v:
        kwargs["max_payload_length"] = v["max_payload_length"]
    return open_envelope(
        io.BytesIO(_envelope(v)),
        recipient=_identity(v["recipient"]),
        sender_keys=_sender_keys(v),
        workdir=workdir,
        now=v["now"],
        seen={bytes.fromhex(s) for s in v.get("seen", [])},
        **kwargs,
    )


VECTORS = _file()["vectors"]


def test_there_are_at_least_forty_tampered_vectors():
    """The contract covers at least forty malformed or tampered envelopes."""
    assert sum(1 for v in VECTORS if v["expect"] != "ok") >= 40


@pytest.mark.parametrize("v", [v for v in VECTORS if v["expect"] == "ok"], ids=lambda v: v["name"])
def test_valid_vector_opens_to_the_recorded_content(v, tmp_path):
    """A valid envelope opens to exactly the document and attachments the vector records."""
    with _open(v, tmp_path) as opened:
        want = v["result"]
        assert opened.header.message_id.hex() == want["message_id"]
        assert opened.digest.hex() == want["digest"]
        assert opened.document == want["document"]
        assert [m.hex() for m in opened.seen] == want["seen"]
        got = [
            {
                "name": a.name,
                "media_type": a.media_type,
                "size": a.size,
                "sha256": hashlib.sha256(opened.read_attachment(i)).hexdigest(),
            }
            for i, a in enumerate(opened.attachments)
        ]
        assert got == want["attachments"]
    assert list(tmp_path.iterdir()) == [], "the plaintext file outlived close()"


@pytest.mark.parametrize("v", [v for v in VECTORS if v["expect"] != "ok"], ids=lambda v: v["name"])
def test_tampered_vector_gives_its_error_and_leaves_nothing(v, tmp_path):
    """A tampered envelope fails with its stable code and leaves no plaintext behind."""
    with pytest.raises(HubError) as caught:
        _open(v, tmp_path)
    assert caught.value.code == v["expect"]
    assert list(tmp_path.iterdir()) == []


def test_regenerating_the_vectors_gives_the_committed_file():
    """The generator is deterministic: the committed vectors are exactly what it writes."""
    text = json.dumps(gen_envelope.generate(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert text == VECTORS_FILE.read_text()

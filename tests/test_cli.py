"""The `hub` command line, run as a person or a script runs it: a real process, real files."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

PASSPHRASE = "korrekt häst batteri häftstift"


def hub(*args: str, cwd: Path, passphrase: str = PASSPHRASE) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HUB_PASSPHRASE": passphrase}
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """Alice and Bob with keys, and one sealed inquiry from Alice to Bob."""
    root = tmp_path_factory.mktemp("cli")
    for name in ("alice", "bob", "mallory"):
        assert hub("keygen", "--kdf", "interactive", name, cwd=root).returncode == 0
    (root / "doc.json").write_text(json.dumps({"bakgrund": "Anonymiserad text"}), encoding="utf-8")
    (root / "utredning.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(200_000))
    result = hub(
        "seal",
        "--from",
        "alice",
        "--to",
        "bob/identity.pub",
        "-a",
        "utredning.pdf",
        "doc.json",
        "inquiry.env",
        cwd=root,
    )
    assert result.returncode == 0, result.stderr
    return root


def test_keygen_writes_a_private_file_only_its_owner_can_read(workspace):
    """The private key file is mode 0600 and does not contain the passphrase; the public one is readable."""
    private = workspace / "alice" / "identity.key"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert PASSPHRASE.encode() not in private.read_bytes()
    assert stat.S_IMODE((workspace / "alice" / "identity.pub").stat().st_mode) == 0o644


def test_keygen_prints_the_fingerprint_to_read_aloud(tmp_path):
    """keygen shows eight groups of five digits, the same that `hub fingerprint` shows."""
    made = hub("keygen", "--kdf", "interactive", "k", cwd=tmp_path)
    shown = hub("fingerprint", "k/identity.pub", cwd=tmp_path)
    line = next(x for x in made.stdout.splitlines() if "fingeravtryck" in x)
    groups = line.split(":", 1)[1].split()
    assert len(groups) == 8
    assert all(len(g) == 5 and g.isdigit() for g in groups)
    assert " ".join(groups) in shown.stdout


def test_keygen_refuses_to_overwrite_existing_keys(workspace):
    """Running keygen twice on one folder keeps the first keys."""
    before = (workspace / "alice" / "identity.key").read_bytes()
    result = hub("keygen", "--kdf", "interactive", "alice", cwd=workspace)
    assert result.returncode == 1
    assert (workspace / "alice" / "identity.key").read_bytes() == before


def test_recipient_opens_document_and_attachment(workspace):
    """Bob opens Alice's inquiry and gets the document and the attachment byte for byte."""
    result = hub(
        "open",
        "--with",
        "bob",
        "--from",
        "alice/identity.pub",
        "inquiry.env",
        "out-bob",
        cwd=workspace,
    )
    assert result.returncode == 0, result.stderr
    out = workspace / "out-bob"
    assert json.loads((out / "document.json").read_text(encoding="utf-8")) == {
        "bakgrund": "Anonymiserad text"
    }
    assert (out / "attachments" / "utredning.pdf").read_bytes() == (
        workspace / "utredning.pdf"
    ).read_bytes()


def test_sender_can_read_its_own_sent_copy(workspace):
    """The sender's own key is always among the recipients."""
    result = hub(
        "open", "--with", "alice", "--from", "alice", "inquiry.env", "out-alice", cwd=workspace
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("--with", "mallory", "--from", "alice"), "envelope_not_recipient"),
        (("--with", "bob", "--from", "mallory"), "sender_key_mismatch"),
    ],
)
def test_open_refuses_with_a_code_and_leaves_nothing(workspace, args, code):
    """A refused open exits 1 with the code and a Swedish sentence, no traceback, no output folder."""
    result = hub("open", *args, "inquiry.env", "refused", cwd=workspace)
    assert result.returncode == 1
    assert f"fel: {code}:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (workspace / "refused").exists()


def test_open_refuses_a_tampered_file(workspace):
    """One flipped bit anywhere in the ciphertext stops the open; nothing is written."""
    data = bytearray((workspace / "inquiry.env").read_bytes())
    data[len(data) // 2] ^= 1
    (workspace / "tampered.env").write_bytes(bytes(data))
    result = hub("open", "--with", "bob", "--from", "alice", "tampered.env", "t-out", cwd=workspace)
    assert result.returncode == 1
    assert "fel: envelope_chunk_invalid:" in result.stderr
    assert not (workspace / "t-out").exists()
    assert not [p for p in workspace.iterdir() if p.name.startswith(".plaintext")]


def test_wrong_passphrase_is_a_clear_error(workspace):
    """A wrong passphrase says so in Swedish, with no traceback."""
    result = hub(
        "open",
        "--with",
        "bob",
        "--from",
        "alice",
        "inquiry.env",
        "wp",
        cwd=workspace,
        passphrase="fel lösenfras",
    )
    assert result.returncode == 1
    assert "keyfile_wrong_passphrase" in result.stderr
    assert "Fel lösenfras" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_passphrase_without_a_terminal_is_a_clear_error(workspace):
    """Run from a script with no passphrase, the command says where to give one."""
    env = {k: v for k, v in os.environ.items() if k != "HUB_PASSPHRASE"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "hub.cli",
            "open",
            "--with",
            "bob",
            "--from",
            "alice",
            "inquiry.env",
            "np",
        ],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 1
    assert "HUB_PASSPHRASE" in result.stderr

"""`hub recovery create` and `hub recovery restore` as a person runs them (real processes, real
key files): Bob's machine is gone, and his key comes back from the copy and the code he wrote
down, and opens what was sealed to him before. A wrong, mistyped or altered code or copy is
refused and leaves nothing behind; restored keys never overwrite keys already there."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub.crypto import keyfile
from hub.crypto.keys import PrivateIdentity
from hub.protocol.recovery import new_recovery_code
from tests.test_cli import PASSPHRASE, hub
from tests.vectors.gen_keyfile import _flip_ciphertext_byte

NEW_PASSPHRASE = "ny dator nytt lösenord för nycklarna"
CODE = re.compile(r"\b[0-9A-Z]{5}(?:-[0-9A-Z]{5}){5}\b")


@pytest.fixture(scope="module")
def bob(tmp_path_factory) -> tuple[Path, str, bytes]:
    """Alice's inquiry sealed to Bob, Bob's recovery copy and code, then Bob's keys gone."""
    root = tmp_path_factory.mktemp("recovery")
    for name in ("alice", "bob"):
        assert hub("keygen", "--kdf", "interactive", name, cwd=root).returncode == 0
    (root / "doc.json").write_text(json.dumps({"bakgrund": "Före stölden"}), encoding="utf-8")
    sealed = hub(
        "seal", "--from", "alice", "--to", "bob/identity.pub", "doc.json", "inquiry.env", cwd=root
    )
    assert sealed.returncode == 0, sealed.stderr
    created = hub(
        "recovery", "create", "--keys", "bob", "--kdf", "interactive", "kopia.json", cwd=root
    )
    assert created.returncode == 0, created.stderr
    found = CODE.findall(created.stdout)
    assert len(found) == 1  # printed once
    assert "Skriv ner koden på papper" in created.stdout
    assert "en kod kan inte" in created.stdout  # ... återkallas för sig
    key_id = keyfile.read_keyfile(root / "bob" / "identity.key", PASSPHRASE).key_id  # type: ignore[union-attr]
    shutil.rmtree(root / "bob")  # the laptop is stolen
    return root, found[0], key_id


def _restore(root: Path, keys: str, code: str, copy: str = "kopia.json"):
    (root / "kod.txt").write_text(code + "\n", encoding="utf-8")
    return hub(
        "recovery", "restore", copy, "--keys", keys, "--code-file", "kod.txt",
        "--kdf", "interactive", cwd=root, passphrase=NEW_PASSPHRASE,
    )  # fmt: skip


def test_the_copy_is_private_and_holds_neither_the_code_nor_the_key_in_the_clear(bob):
    root, code, _ = bob
    copy = root / "kopia.json"
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert code.encode() not in copy.read_bytes()
    assert code.replace("-", "").encode() not in copy.read_bytes()


def test_restored_keys_open_what_was_sealed_before_the_loss(bob):
    root, code, key_id = bob
    restored = _restore(root, "bob-ny", code.lower().replace("-", " "))  # typed loosely
    assert restored.returncode == 0, restored.stderr
    assert key_id.hex() in restored.stdout
    assert "compromised" in restored.stdout  # what to do after a stolen machine
    key = keyfile.read_keyfile(root / "bob-ny" / "identity.key", NEW_PASSPHRASE)
    assert isinstance(key, PrivateIdentity)
    assert key.key_id == key_id
    assert stat.S_IMODE((root / "bob-ny" / "identity.key").stat().st_mode) == 0o600
    opened = hub(
        "open", "--with", "bob-ny", "--from", "alice/identity.pub", "inquiry.env", "ut",
        cwd=root, passphrase=NEW_PASSPHRASE,
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    document = json.loads((root / "ut" / "document.json").read_text(encoding="utf-8"))
    assert document["bakgrund"] == "Före stölden"

    # Restoring again over those keys is refused, and they stay as they were.
    before = (root / "bob-ny" / "identity.key").read_bytes()
    again = _restore(root, "bob-ny", code)
    assert again.returncode == 1
    assert "recovery_keys_exist" in again.stderr
    assert (root / "bob-ny" / "identity.key").read_bytes() == before


@pytest.mark.parametrize(
    ("name", "expect"),
    [
        ("wrong-code", "recovery_wrong_code"),
        ("mistyped-code", "recovery_code_mistyped"),
        ("altered-copy", "recovery_copy_corrupt"),
        ("truncated-copy", "recovery_copy_corrupt"),
    ],
)
def test_a_bad_code_or_copy_is_refused_in_swedish_and_leaves_nothing(bob, name, expect):
    root, code, _ = bob
    text = (root / "kopia.json").read_text(encoding="utf-8")
    copy = "kopia.json"
    if name == "wrong-code":
        code = new_recovery_code()
    elif name == "mistyped-code":
        code = code[:3] + ("X" if code[3] != "X" else "Y") + code[4:]
    elif name == "altered-copy":
        doc = json.loads(text)
        _flip_ciphertext_byte(doc)
        copy = "andrad.json"
        (root / copy).write_text(json.dumps(doc, indent=2), encoding="utf-8")
    else:
        copy = "avklippt.json"
        (root / copy).write_text(text[: len(text) // 2], encoding="utf-8")
    keys = f"keys-{name}"
    refused = _restore(root, keys, code, copy)
    assert refused.returncode == 1
    assert f"fel: {expect}: " in refused.stderr
    assert "Återställnings" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (root / keys).exists()
    assert not list(root.glob(".*.tmp"))


def test_create_refuses_to_overwrite_a_copy(tmp_path):
    assert hub("keygen", "--kdf", "interactive", "k", cwd=tmp_path).returncode == 0
    (tmp_path / "kopia.json").write_text("finns redan", encoding="utf-8")
    refused = hub("recovery", "create", "--keys", "k", "kopia.json", cwd=tmp_path)
    assert refused.returncode == 1
    assert (tmp_path / "kopia.json").read_text(encoding="utf-8") == "finns redan"
    assert not CODE.search(refused.stdout)


def test_a_restore_killed_midway_leaves_no_keys_folder_and_the_next_one_works(bob):
    """Killed while it seals the key under the new passphrase (the folder is filled beside its
    name): no `keys` folder with half its files, and restoring again just works."""
    root, code, key_id = bob
    (root / "kod.txt").write_text(code + "\n", encoding="utf-8")
    env = {**os.environ, "HUB_PASSPHRASE": NEW_PASSPHRASE}
    process = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "recovery", "restore", "kopia.json", "--keys",
         "avbruten", "--code-file", "kod.txt", "--kdf", "moderate"],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not list(root.glob(".avbruten.*.tmp")) and time.monotonic() < deadline:
        assert process.poll() is None, "the restore ended before it was killed"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert list(root.glob(".avbruten.*.tmp"))  # killed while the folder was being filled
    assert not (root / "avbruten").exists()

    again = _restore(root, "avbruten", code)
    assert again.returncode == 0, again.stderr
    key = keyfile.read_keyfile(root / "avbruten" / "identity.key", NEW_PASSPHRASE)
    assert key.key_id == key_id  # type: ignore[union-attr]

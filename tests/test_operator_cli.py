"""The hub operator's commands, run as real processes on a real data folder."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys

from hub.crypto.keys import SigningKey, dumps_public_signing_key
from hub.storage.sqlite import SqliteStorage


def _hub(*args, data_dir):
    env = {**os.environ, "HUB_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_network_create_stores_the_agreement_and_audit_verify_checks_the_chain(tmp_path):
    """The operator creates a network with the administrator's key and settings; audit verify finds the chain whole."""
    admin = SigningKey.generate()
    pub = tmp_path / "network.pub"
    pub.write_text(dumps_public_signing_key(admin.public))
    data = tmp_path / "data"
    made = _hub(
        "network",
        "create",
        "--id",
        "lanskompotten",
        "--name",
        "Länskompotten",
        "--admin-key",
        str(pub),
        "--answer-days",
        "21",
        data_dir=data,
    )
    assert made.returncode == 0, made.stderr
    assert admin.fingerprint in made.stdout

    async def read():
        storage = await SqliteStorage.open(data)
        try:
            return await storage.get_network("lanskompotten")
        finally:
            await storage.close()

    network = asyncio.run(read())
    assert network.admin_public == admin.public
    assert network.settings["answer_days"] == 21
    assert network.settings["quota_key"] == [[0, 1], [10000, 2], [20001, 3]]
    verified = _hub("audit", "verify", data_dir=data)
    assert verified.returncode == 0
    assert "hel" in verified.stdout


def test_audit_verify_reports_the_first_broken_record(tmp_path):
    """If someone edits the audit log behind the hub's back, audit verify names the record and fails."""
    admin = SigningKey.generate()
    pub = tmp_path / "network.pub"
    pub.write_text(dumps_public_signing_key(admin.public))
    data = tmp_path / "data"
    _hub("network", "create", "--id", "n", "--name", "N", "--admin-key", str(pub), data_dir=data)
    with sqlite3.connect(data / "hub.sqlite3") as db:
        db.execute("DROP TRIGGER IF EXISTS audit_no_update")
        triggers = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='trigger'")]
        for name in triggers:
            db.execute(f"DROP TRIGGER {name}")
        db.execute("UPDATE audit SET actor = 'someone-else' WHERE seq = 1")
    verified = _hub("audit", "verify", data_dir=data)
    assert verified.returncode == 1
    assert "post 1" in verified.stdout


def test_bad_quota_key_is_refused_without_a_traceback(tmp_path):
    """A malformed quota key is refused with a Swedish sentence and nothing is created."""
    admin = SigningKey.generate()
    pub = tmp_path / "network.pub"
    pub.write_text(dumps_public_signing_key(admin.public))
    made = _hub(
        "network",
        "create",
        "--id",
        "n",
        "--name",
        "N",
        "--admin-key",
        str(pub),
        "--quota-key",
        "tio:ett",
        data_dir=tmp_path / "data",
    )
    assert made.returncode == 1
    assert "fördelningsnyckeln" in made.stderr
    assert "Traceback" not in made.stderr

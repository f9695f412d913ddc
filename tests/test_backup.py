"""`hub backup` and `hub restore` (issue 18): a consistent copy while the hub serves, and a
restore that refuses anything that does not verify."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import time

import pytest

from hub.cli import main
from hub.client.api import HubClient
from hub.server.config import ServerConfig
from hub.storage.backup import (
    LOCK_NAME,
    MANIFEST,
    BackupError,
    backup,
    maintenance_lock,
    restore,
    verify_backup,
)
from tests.hubnet import NETWORK, FakeClock, _serve, free_port, running_hub


def _toml(path, data_dir):
    path.write_text(f'[server]\ndata_dir = "{data_dir}"\n')
    return path


async def test_a_backup_during_uploads_restores_every_acknowledged_envelope(tmp_path, capsys):
    """Uploads run on while the backup is made; a hub started on the restored copy serves every
    envelope acknowledged before the backup began, byte for byte, and its audit log holds."""
    async with running_hub(tmp_path) as net:
        anna = await net.client("anna")
        acknowledged: list[tuple[float, bytes, bytes]] = []  # (when, message id, bytes)
        stop, six = asyncio.Event(), asyncio.Event()

        async def upload_on(n: int) -> None:
            while not stop.is_set():
                data = net.seal_to("anna", ["kommun-b"], {"n": n}, [("a.pdf", b"%" * 20_000)])
                answer = await anna.upload(data, ["kommun-b"])
                acknowledged.append((time.monotonic(), bytes.fromhex(answer.message_id), data))
                n += 1000
                if len(acknowledged) >= 6:
                    six.set()

        uploaders = [asyncio.create_task(upload_on(i)) for i in range(3)]
        await six.wait()  # three uploaders keep going: the backup starts among their uploads
        began = time.monotonic()
        summary = await asyncio.to_thread(backup, net.data_dir, tmp_path / "backup")
        await asyncio.sleep(0.05)
        stop.set()
        await asyncio.gather(*uploaders)

    before = [(m, d) for t, m, d in acknowledged if t < began]
    assert len(before) >= 6
    assert len(acknowledged) > len(before)  # the uploads went on through the backup
    assert summary.envelopes >= len(before)
    assert not (net.data_dir / LOCK_NAME).read_bytes()  # an empty lock file, released

    restored = tmp_path / "restored"
    toml = _toml(tmp_path / "hub.toml", restored)
    assert main(["restore", str(tmp_path / "backup"), "--config", str(toml)]) == 0
    assert "allt stämde med manifestet" in capsys.readouterr().out

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    runner = await _serve(ServerConfig(data_dir=restored, port=port, public_url=url), FakeClock())
    try:
        async with HubClient(url, NETWORK) as bertil:
            await bertil.sign_in(net.people["bertil"])
            for message_id, data in before:
                assert await bertil.download(message_id) == data
    finally:
        await runner.cleanup()
    assert await asyncio.to_thread(main, ["audit", "verify", "--config", str(toml)]) == 0
    assert "Granskningsloggen är hel" in capsys.readouterr().out


@pytest.fixture
async def made_backup(tmp_path):
    async with running_hub(tmp_path) as net:
        anna = await net.client("anna")
        for n in range(3):
            # One envelope past 256 KiB is a file under blobs/; the others are in the database.
            big = [("bilaga.pdf", b"%" * 300_000)] if n == 0 else None
            await anna.upload(net.seal_to("anna", ["kommun-b"], {"n": n}, big), ["kommun-b"])
    backup(net.data_dir, tmp_path / "backup")
    return net.data_dir, tmp_path / "backup"


def _a_blob(source):
    return next(p for p in (source / "blobs").rglob("*") if p.is_file())


def _rewrite_manifest(source, change):
    manifest = json.loads((source / MANIFEST).read_text())
    change(manifest)
    (source / MANIFEST).write_text(json.dumps(manifest))


def _altered_blob(source):
    blob = _a_blob(source)
    data = bytearray(blob.read_bytes())
    data[-1] ^= 1
    blob.write_bytes(bytes(data))


def _extra_file(source):
    (source / "blobs" / "extra").write_bytes(b"x")


def _missing_blob(source):
    _a_blob(source).unlink()


def _missing_manifest(source):
    (source / MANIFEST).unlink()


def _broken_audit_chain(source):
    """An audit record altered and the manifest's hash made to match: the chain still tells."""
    db = source / "hub.sqlite3"
    conn = sqlite3.connect(db)
    with conn:
        (trigger,) = conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'audit_no_update'"
        ).fetchone()
        conn.execute("DROP TRIGGER audit_no_update")
        conn.execute("UPDATE audit SET actor = 'someone-else' WHERE seq = 2")
        conn.execute(trigger)
    conn.close()

    digest = hashlib.sha256(db.read_bytes()).hexdigest()

    def fix(m):
        m["files"]["hub.sqlite3"] = {"sha256": digest, "size": db.stat().st_size}

    _rewrite_manifest(source, fix)


def _escaping_path(source):
    def add(m):
        m["files"]["../outside"] = {"sha256": "0" * 64, "size": 1}

    _rewrite_manifest(source, add)


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (_altered_blob, "SHA-256 stämmer inte"),
        (_extra_file, "filer som manifestet inte nämner"),
        (_missing_blob, "filer saknas"),
        (_missing_manifest, "manifest.json saknas"),
        (_broken_audit_chain, "granskningsloggen är bruten vid post 2"),
        (_escaping_path, "utanför kopian"),
    ],
)
async def test_restore_refuses_a_backup_that_does_not_verify(made_backup, tmp_path, damage, said):
    _, source = made_backup
    verify_backup(source)  # whole before the damage
    damage(source)
    target = tmp_path / "restored"
    with pytest.raises(BackupError, match=said) as caught:
        restore(source, target)
    assert "inget återställdes" in str(caught.value)
    assert not target.exists() or not any(target.iterdir())


async def test_restore_refuses_a_data_folder_that_is_not_empty(made_backup, tmp_path, capsys):
    data_dir, source = made_backup
    toml = _toml(tmp_path / "hub.toml", data_dir)
    assert main(["restore", str(source), "--config", str(toml)]) == 1
    assert "fel: datamappen" in capsys.readouterr().err


async def test_the_cli_says_why_a_backup_is_refused(made_backup, tmp_path, capsys):
    _, source = made_backup
    _altered_blob(source)
    toml = _toml(tmp_path / "hub.toml", tmp_path / "new")
    assert main(["restore", str(source), "--config", str(toml)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fel: säkerhetskopian i ")
    assert "går inte att lita på" in err


async def test_backup_and_retention_exclude_each_other(made_backup, tmp_path):
    """Whatever holds the data folder's maintenance lock (retention will) stops a backup, which
    leaves nothing behind; the lock is free again once its holder lets go."""
    data_dir, _ = made_backup
    with maintenance_lock(data_dir, "gallringen"):
        with pytest.raises(BackupError, match="en annan underhållsåtgärd"):
            backup(data_dir, tmp_path / "second")
        assert not (tmp_path / "second").exists()
    assert backup(data_dir, tmp_path / "second").envelopes == 3


async def test_backup_refuses_a_destination_in_use(made_backup):
    data_dir, source = made_backup
    with pytest.raises(BackupError, match="inte en tom mapp"):
        backup(data_dir, source)
    verify_backup(source)  # untouched

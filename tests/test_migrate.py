"""Upgrades (issue 18): `hub migrate --check` says what would change and changes nothing;
`hub serve` refuses a database that waits for a migration and says to take a backup first;
`hub migrate --backup DIR` takes it and then migrates."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3

import pytest

from hub.cli import main
from hub.cli.exits import EXIT_ATTENTION, EXIT_REFUSED
from hub.storage import sqlite_migrations
from hub.storage.backup import verify_backup
from hub.storage.sqlite import SqliteStorage
from hub.storage.upgrade import UpgradeError, schema_state

NEWEST = len(sqlite_migrations.migrations())


@pytest.fixture
def old_hub(tmp_path, monkeypatch):
    """A data folder made by a hub that knew one migration fewer than this one."""
    return _hub_of(tmp_path, monkeypatch, len(sqlite_migrations.migrations()) - 1)


@pytest.fixture
def hub_before_8(tmp_path, monkeypatch):
    """A data folder made by a hub before version 8, which did not overwrite what it deleted."""
    return _hub_of(tmp_path, monkeypatch, 7)


def _hub_of(tmp_path, monkeypatch, version):
    data_dir = tmp_path / "hub-data"
    fewer = sqlite_migrations.migrations()[:version]
    with monkeypatch.context() as m:
        m.setattr(sqlite_migrations, "migrations", lambda: fewer)

        async def make() -> None:
            storage = await SqliteStorage.open(data_dir)
            await storage.close()

        asyncio.run(make())
    toml = tmp_path / "hub.toml"
    toml.write_text(f'[server]\ndata_dir = "{data_dir}"\n')
    return data_dir, toml


def _fingerprint(data_dir):
    """The database file's hash. Reading a WAL database may leave an empty -wal and its -shm
    index beside it, as any reader does: no change to what the database holds."""
    wal = data_dir / "hub.sqlite3-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    return hashlib.sha256((data_dir / "hub.sqlite3").read_bytes()).hexdigest()


def test_migrate_check_lists_what_would_change_and_changes_nothing(old_hub, capsys):
    data_dir, toml = old_hub
    before = _fingerprint(data_dir)
    assert main(["migrate", "--check", "--config", str(toml)]) == EXIT_ATTENTION
    out = capsys.readouterr().out
    assert f"schemaversion: {NEWEST - 1}; den här hubben: {NEWEST}" in out
    assert f"väntar: {NEWEST:04d} {sqlite_migrations.migrations()[-1][1]}" in out
    assert "Ingenting ändrades" in out
    assert _fingerprint(data_dir) == before
    assert schema_state(data_dir).current == NEWEST - 1


def test_serve_refuses_a_database_waiting_for_a_migration(old_hub, capsys):
    """Before anything listens: the operator is told to take a backup and run hub migrate."""
    data_dir, toml = old_hub
    before = _fingerprint(data_dir)
    assert main(["serve", "--config", str(toml)]) == EXIT_REFUSED
    err = capsys.readouterr().err
    assert "ta en säkerhetskopia" in err
    assert f"hub migrate --config {toml} --backup MAPP" in err
    assert _fingerprint(data_dir) == before


@pytest.mark.parametrize(
    "command",
    [
        ["network", "create", "--id", "n2", "--name", "N", "--admin-key", "network.pub"],
        ["audit", "verify"],
        ["report", "--network", "n", "--year", "2026", "--csv", "out.csv"],
        ["gallra", "--check"],
        ["gallra"],
    ],
)
def test_the_other_commands_on_the_data_folder_refuse_it_too(old_hub, command, capsys):
    """No command migrates a database in use behind the operator's back: each one that opens
    it refuses as hub serve does, before it changes anything."""
    data_dir, toml = old_hub
    before = _fingerprint(data_dir)
    assert main([*command, "--config", str(toml)]) == EXIT_REFUSED
    err = capsys.readouterr().err
    assert f"hub migrate --config {toml} --backup MAPP" in err
    assert _fingerprint(data_dir) == before
    assert schema_state(data_dir).current == NEWEST - 1


def test_migrate_takes_the_backup_first_then_migrates(old_hub, tmp_path, capsys):
    data_dir, toml = old_hub
    assert main(["migrate", "--config", str(toml)]) == EXIT_REFUSED  # no backup named
    assert "ta en säkerhetskopia först" in capsys.readouterr().err
    assert schema_state(data_dir).current == NEWEST - 1
    assert main(["migrate", "--config", str(toml), "--backup", str(tmp_path / "pre")]) == 0
    assert verify_backup(tmp_path / "pre")["schema_version"] == NEWEST - 1
    assert schema_state(data_dir).current == NEWEST
    assert main(["migrate", "--check", "--config", str(toml)]) == 0
    assert "Inget att uppgradera" in capsys.readouterr().out


def test_a_fresh_data_folder_needs_no_backup(tmp_path):
    """A new installation: nothing to back up, hub serve sets the schema up itself."""
    state = schema_state(tmp_path / "nothing-yet")
    assert state.current == 0
    assert len(state.pending) == NEWEST


def test_a_newer_database_is_refused(old_hub):
    data_dir, _ = old_hub
    with sqlite3.connect(data_dir / "hub.sqlite3") as conn:
        conn.execute("INSERT INTO schema_version VALUES (99, '0099_future.sql', 0)")
    conn.close()
    with pytest.raises(UpgradeError, match="schemaversion 99"):
        schema_state(data_dir)


def test_migrating_past_version_8_leaves_no_remnant_of_rows_deleted_before(hub_before_8):
    """Before version 8 the hub did not overwrite what it deleted: hub migrate rewrites the
    database once, so a row deleted back then is in no file afterwards."""
    data_dir, toml = hub_before_8
    marker = "kvarleva-3f9a@kommun.example"
    db = sqlite3.connect(data_dir / "hub.sqlite3", isolation_level=None)
    db.execute("PRAGMA secure_delete = OFF")
    db.execute("INSERT INTO contact_addresses VALUES ('n', 'kommun-a', 'anna', ?)", (marker,))
    db.execute("DELETE FROM contact_addresses")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()

    def holding():
        return [
            p.name for p in data_dir.rglob("*") if p.is_file() and marker.encode() in p.read_bytes()
        ]

    assert holding()  # the remnant is there, in the file's free space
    assert main(["migrate", "--config", str(toml), "--without-backup"]) == 0
    assert schema_state(data_dir).current == NEWEST
    assert holding() == []

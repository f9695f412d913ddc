"""Running the hub on PostgreSQL (docs/operations.md, section 10): `hub backup` and
`hub restore` through pg_dump and pg_restore with the hub's checks around them, and upgrades
that never migrate a database in use at start-up, as on SQLite."""

from __future__ import annotations

import asyncio
import json

import pytest

from hub.cli import main
from hub.client.api import HubClient
from hub.server.config import ServerConfig
from hub.storage import postgres
from hub.storage.migration_files import migrations
from tests.hubnet import NETWORK, _serve, free_port, running_hub
from tests.test_storage_copy import BIG, count, hub


async def test_backup_while_serving_and_restore_into_an_empty_database(tmp_path, pg_url, pg_server):
    """`hub backup` dumps a serving hub's database with a manifest; `hub restore` puts it into
    a new, empty database and checks it; the restored hub serves every envelope as it was."""
    sent: dict[str, bytes] = {}
    async with running_hub(tmp_path, database=pg_url) as net:
        anna = await net.client("anna")
        for n, size in enumerate((10, BIG)):
            data = net.seal_to("anna", ["kommun-b"], {"n": n}, [("a.bin", bytes([n]) * size)])
            sent[(await anna.upload(data, ["kommun-b"])).message_id] = data
        made = hub("backup", str(tmp_path / "backup"), data_dir=tmp_path / "x", database=pg_url)
        assert made.returncode == 0, made.stderr
        people = net.people
        clock = net.clock
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["envelopes"] == 2
    assert manifest["audit_records"] == count(pg_url, "audit")

    restored = pg_server.new_database(template=None)
    done = hub("restore", str(tmp_path / "backup"), data_dir=tmp_path / "x", database=restored)
    assert done.returncode == 0, done.stderr
    verified = hub("audit", "verify", data_dir=tmp_path / "x", database=restored)
    assert verified.returncode == 0, verified.stderr

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = ServerConfig(
        data_dir=tmp_path / "restored", port=port, public_url=url, database=restored
    )
    runner = await _serve(config, clock)
    try:
        async with HubClient(url, NETWORK) as bertil:
            await bertil.sign_in(people["bertil"])
            for message_id, data in sent.items():
                assert await bertil.download(bytes.fromhex(message_id)) == data
    finally:
        await runner.cleanup()

    again = hub("restore", str(tmp_path / "backup"), data_dir=tmp_path / "x", database=restored)
    assert again.returncode != 0
    assert "inte tom" in again.stderr


async def test_a_damaged_dump_is_not_restored(tmp_path, pg_url, pg_server):
    async with running_hub(tmp_path, database=pg_url):
        made = hub("backup", str(tmp_path / "backup"), data_dir=tmp_path / "x", database=pg_url)
        assert made.returncode == 0, made.stderr
    dump = tmp_path / "backup" / "hub.pgdump"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 1
    dump.write_bytes(bytes(data))
    target = pg_server.new_database(template=None)
    refused = hub("restore", str(tmp_path / "backup"), data_dir=tmp_path / "x", database=target)
    assert refused.returncode != 0
    assert "skadad" in refused.stderr
    assert (
        pg_server.psql(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", target.rsplit("/", 1)[1]
        )
        == "0"
    )


async def _open_and_close(url: str) -> None:
    await (await postgres.PostgresStorage.open(url)).close()


def test_an_upgrade_waits_for_hub_migrate(tmp_path, pg_server, monkeypatch, capsys):
    """A database in use that an older hub made: a newer `hub serve` refuses to start and says
    to back up and run `hub migrate`; --check changes nothing (exit 3); without a backup's
    word it refuses; with it, the schema is brought up to date."""
    url = pg_server.new_database(template=None)
    known = migrations("postgresql")
    with monkeypatch.context() as older:
        older.setattr(postgres, "migrations", lambda _dialect: known[:-1])
        asyncio.run(_open_and_close(url))
    assert asyncio.run(postgres.schema_state(url)).current == len(known) - 1
    monkeypatch.setenv("HUB_DATABASE", url)
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path / "instance"))

    assert main(["serve"]) != 0
    assert "hub migrate" in capsys.readouterr().err
    assert main(["migrate", "--check"]) == 3
    assert main(["migrate"]) != 0
    assert "säkerhetskopia" in capsys.readouterr().err
    assert asyncio.run(postgres.schema_state(url)).current == len(known) - 1
    assert main(["migrate", "--without-backup"]) == 0
    assert asyncio.run(postgres.schema_state(url)).current == len(known)


@pytest.mark.usefixtures("pg_server")
def test_copy_needs_a_sqlite_source(tmp_path, pg_url):
    refused = hub("storage", "copy", "--to", pg_url, data_dir=tmp_path, database=pg_url)
    assert refused.returncode != 0
    assert "SQLite" in refused.stderr

"""An audit log written before migration 0008 (every record version 1, its subject in clear)
upgraded to version 2: the old records still verify by the old rule, new ones follow them in one
chain, `hub audit verify` says so, and a backup made before or after the upgrade verifies."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from hub.cli import main
from hub.storage import sqlite_migrations
from hub.storage.audit import GENESIS, ChainCheck, check_chain, record_hash
from hub.storage.backup import backup, verify_backup
from hub.storage.sqlite import DB_NAME, SqliteStorage
from hub.storage.sqlite_codec import json_text

OLD_CASE = "0c" * 16


@pytest.fixture
def old_hub(tmp_path, monkeypatch):
    """A data folder at schema version 7 whose audit log the old code wrote: five records,
    hashed by the version-1 rule, one of them naming OLD_CASE."""
    data_dir = tmp_path / "hub-data"
    before = sqlite_migrations.migrations()[:7]
    with monkeypatch.context() as m:
        m.setattr(sqlite_migrations, "migrations", lambda: before)

        async def make() -> None:
            storage = await SqliteStorage.open(data_dir)
            await storage.close()

        asyncio.run(make())
    db = sqlite3.connect(data_dir / DB_NAME, isolation_level=None)
    prev = GENESIS
    subjects = [
        {"network": "n"},
        {"case_id": OLD_CASE},
        {"message_id": "0d" * 16, "kind": 1, "to": ["kommun-b"], "size": 10},
        {"case_id": OLD_CASE, "municipality": "kommun-b", "event": "accept"},
        {"municipality": "kommun-b"},
    ]
    for seq, subject in enumerate(subjects, start=1):
        digest = record_hash(prev, seq, 100 + seq, "system", "old", subject)
        db.execute(
            "INSERT INTO audit (seq, at, actor, action, subject, prev_hash, hash)"
            " VALUES (?, ?, 'system', 'old', ?, ?, ?)",
            (seq, 100 + seq, json_text(subject), prev, digest),
        )
        prev = digest
    db.close()
    toml = tmp_path / "hub.toml"
    toml.write_text(f'[server]\ndata_dir = "{data_dir}"\n')
    return data_dir, toml


async def _records(data_dir):
    storage = await SqliteStorage.open(data_dir)
    try:
        return [r async for r in storage.audit_records()]
    finally:
        await storage.close()


async def test_an_old_chain_upgraded_verifies_and_new_records_follow_it(old_hub, tmp_path, capsys):
    data_dir, toml = old_hub
    old_backup = backup(data_dir, tmp_path / "before")  # made by today's hub from the old schema
    assert verify_backup(old_backup.path)["audit_records"] == 5

    storage = await SqliteStorage.open(data_dir)  # migrates to 0008
    try:
        async with storage.transaction() as tx:
            await tx.append_audit(
                at=200, actor="system", action="new", subject={"case_id": "0e" * 16}
            )
            await tx.append_audit(at=201, actor="admin", action="new", subject={"n": 1})
        records = [r async for r in storage.audit_records()]
    finally:
        await storage.close()
    assert [r.version for r in records] == [1, 1, 1, 1, 1, 2, 2]
    assert records[5].prev_hash == records[4].hash  # one chain across the upgrade
    assert records[1].subject == {"case_id": OLD_CASE}
    assert check_chain(records) == ChainCheck(records=7, broken=None, erased=0, unproven=0)

    assert await asyncio.to_thread(main, ["audit", "verify", "--config", str(toml)]) == 0
    assert "Granskningsloggen är hel: 7 poster." in capsys.readouterr().out
    assert verify_backup(backup(data_dir, tmp_path / "after").path)["audit_records"] == 7


async def test_the_database_still_refuses_any_other_change_to_an_old_record(old_hub):
    """Migration 0008 lets one change through: emptying an old record's subject. Anything else,
    and any change to a version-2 record, is still refused by the database itself."""
    data_dir, _ = old_hub
    await _records(data_dir)  # migrates
    storage = await SqliteStorage.open(data_dir)
    async with storage.transaction() as tx:
        await tx.append_audit(at=200, actor="system", action="new", subject={"n": 1})
    await storage.close()
    db = sqlite3.connect(data_dir / DB_NAME, isolation_level=None)
    try:
        for statement in (
            "UPDATE audit SET actor = 'x' WHERE seq = 2",
            "UPDATE audit SET subject = '{}' WHERE seq = 2",
            "UPDATE audit SET subject = '', at = 0 WHERE seq = 2",
            "UPDATE audit SET subject = '', version = 2 WHERE seq = 2",
            "UPDATE audit SET actor = 'x' WHERE seq = 6",
            "DELETE FROM audit WHERE seq = 2",
        ):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                db.execute(statement)
        db.execute("UPDATE audit SET subject = '' WHERE seq = 2")  # what retention does
    finally:
        db.close()
    check = check_chain(await _records(data_dir))
    assert check == ChainCheck(records=6, broken=None, erased=0, unproven=1)


async def test_retention_erases_an_old_cases_subjects_from_the_old_records_too(old_hub):
    """A case from before the upgrade is named in version-1 records: retention empties their
    subjects (the one change the database allows), the chain still holds with those records
    counted as proven by their link only, and after the checkpoint no file holds the case id."""
    data_dir, _ = old_hub
    storage = await SqliteStorage.open(data_dir)
    try:
        async with storage.transaction() as tx:
            erased = await tx._erase_audit_subjects(
                [bytes.fromhex(OLD_CASE), bytes.fromhex("0d" * 16)]
            )
        assert erased == 3
        assert await storage.reclaim()
        check = check_chain([r async for r in storage.audit_records()])
    finally:
        await storage.close()
    assert check == ChainCheck(records=5, broken=None, erased=0, unproven=3)
    for path in (p for p in data_dir.rglob("*") if p.is_file()):
        data = path.read_bytes()
        assert OLD_CASE.encode() not in data
        assert ("0d" * 16).encode() not in data

"""Retention (gallring) on a real hub and its real files: `hub gallra` removes the cases ended
longer than the network's signed `case_retention_days`, after which no file in the data folder
holds their ids, their message ids or their ciphertext; `hub audit verify` still passes; the
year's report, frozen first, stays exactly as it was; a case still running stays whole."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from dataclasses import replace
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from hub.cli import main, retention_command
from hub.cli.exits import EXIT_ATTENTION, EXIT_OK
from hub.client.api import HubClient, RemoteError
from hub.crypto.format import MessageKind
from hub.protocol.deadlines import SwedishCalendar
from hub.server import retention
from hub.server.typedefs import RETENTION, STORAGE
from hub.storage.backup import BackupError, maintenance_lock
from hub.storage.base import NotFound
from hub.storage.sqlite import BLOB_DIR, DB_NAME, SqliteTransaction
from tests.hubnet import NETWORK, running_hub
from tests.test_recovery_hub import _copy_of
from tests.test_statistics_api import DECLINED, MOVED, OPEN, YEAR, _envelope, _three_cases

FEBRUARY = int(datetime(YEAR + 1, 2, 1, 9, tzinfo=UTC).timestamp())


@pytest.fixture
async def net(tmp_path):
    async with running_hub(tmp_path, network_settings={"case_retention_days": 30}) as hubnet:
        await hubnet.enrol("signe", "lansstyrelsen", role="coordinator")
        yield hubnet


def _toml(net):
    path = net.data_dir.parent / "hub.toml"
    path.write_text(f'[server]\ndata_dir = "{net.data_dir}"\n')
    return str(path)


def _needles(data_dir, case_id):
    """What must be gone once the case is: its id and its message ids (as bytes and as hex),
    and pieces of each envelope's ciphertext (from the middle and the end, past any header)."""
    conn = sqlite3.connect(f"{(data_dir / DB_NAME).as_uri()}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT e.message_id, b.body FROM envelopes AS e"
            " LEFT JOIN envelope_bodies AS b ON b.seq = e.seq WHERE e.case_id = ?",
            (case_id,),
        ).fetchall()
    finally:
        conn.close()
    assert rows
    needles = {case_id, case_id.hex().encode()}
    in_files = 0
    for message_id, inline in rows:
        name = bytes(message_id).hex()
        if inline is None:
            body = (data_dir / BLOB_DIR / name[:2] / name).read_bytes()
            in_files += 1
        else:
            body = bytes(inline)
        needles |= {bytes(message_id), name.encode(), body[len(body) // 2 :][:48], body[-48:]}
    return needles, in_files


def _files_holding(data_dir, needles):
    found = []
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found += [(path.name, n[:8]) for n in needles if n in data]
    return found


def _gallra(monkeypatch, net, *extra):
    monkeypatch.setattr(retention_command, "time", SimpleNamespace(time=lambda: net.clock.now))
    return asyncio.to_thread(main, ["gallra", "--config", _toml(net), *extra])


async def test_retention_removes_ended_cases_from_every_file_and_keeps_the_rest(
    net, monkeypatch, capsys
):
    await _three_cases(net)
    # One envelope large enough to be a file under blobs/, not a row of envelope_bodies.
    await _envelope(
        net,
        MOVED,
        "anna",
        "kommun-b",
        MessageKind.MESSAGE,
        {"text": "bilaga"},
        attachments=[("stor.pdf", os.urandom(300_000))],
    )
    gone = [_needles(net.data_dir, case) for case in (MOVED, DECLINED)]
    needles = set().union(*(n for n, _ in gone))
    assert sum(files for _, files in gone) >= 1
    kept, _ = _needles(net.data_dir, OPEN)
    assert _files_holding(net.data_dir, needles)  # the scan finds them while they are there

    net.clock.now = FEBRUARY
    coordinator = await net.client("signe")
    report = await coordinator.statistics(YEAR)
    csv = await coordinator.statistics_csv(YEAR)

    assert await _gallra(monkeypatch, net, "--check") == EXIT_ATTENTION
    out = capsys.readouterr().out
    assert "sparas 30 dagar (nätverkets undertecknade inställning)" in out
    assert "2 ärenden ska gallras nu; 0 avslutade sparas ännu; 1 pågår." in out
    assert f"ärende {MOVED.hex()}: avslutat {YEAR}-11-18, räknas i statistiken för {YEAR}" in out
    assert "Ingenting ändrades (--check)." in out
    assert _files_holding(net.data_dir, needles)

    assert await _gallra(monkeypatch, net) == EXIT_OK
    out = capsys.readouterr().out
    assert f"statistiken för {YEAR} är fryst" in out
    assert "Gallrat: 2 ärenden med" in out
    assert "Säkerhetskopior tagna före gallringen innehåller" in out

    assert _files_holding(net.data_dir, needles | {n.upper() for n in needles}) == []
    assert all(_files_holding(net.data_dir, {n}) for n in kept)  # the running case is whole
    assert await coordinator.statistics(YEAR) == report  # the frozen year, exactly
    assert await coordinator.statistics_csv(YEAR) == csv
    net.clock.now = FEBRUARY + 40 * 86_400  # later still: a frozen year no longer moves
    assert await (await net.client("signe", fresh=True)).statistics(YEAR) == report

    assert await asyncio.to_thread(main, ["audit", "verify", "--config", _toml(net)]) == 0
    out = capsys.readouterr().out
    assert "Granskningsloggen är hel" in out
    assert "poster har fått sitt ämne gallrat" in out

    # The running case still works on the hub; the removed ones are not there.
    anna = await net.client("anna", fresh=True)
    assert [c.case_id for c in await anna.cases()] == [OPEN.hex()]
    with pytest.raises(RemoteError, match="404"):
        await anna.case(MOVED)

    assert await _gallra(monkeypatch, net) == EXIT_OK  # nothing more is due
    assert "Gallrat: 0 ärenden" in capsys.readouterr().out


async def test_before_the_settings_are_signed_the_national_value_holds(
    tmp_path, monkeypatch, capsys
):
    async with running_hub(tmp_path, signed_registry=False) as net:
        await _three_cases(net)
        net.clock.now = FEBRUARY  # ended 75 days ago: under the national 365
        assert await _gallra(monkeypatch, net, "--dry-run") == EXIT_OK
    out = capsys.readouterr().out
    assert (
        "sparas 365 dagar (det nationella standardvärdet: nätverkets inställningar är inte" in out
    )
    assert "0 ärenden ska gallras nu; 2 avslutade sparas ännu; 1 pågår." in out


async def test_retention_waits_while_a_backup_holds_the_lock(net, monkeypatch, capsys):
    await _three_cases(net)
    net.clock.now = FEBRUARY
    with maintenance_lock(net.data_dir, "säkerhetskopian"):
        assert await _gallra(monkeypatch, net) != EXIT_OK
    assert "en annan underhållsåtgärd" in capsys.readouterr().err
    assert await _gallra(monkeypatch, net, "--check") == EXIT_ATTENTION  # nothing was removed
    with (
        pytest.raises(BackupError),
        maintenance_lock(net.data_dir, "säkerhetskopian"),
        maintenance_lock(net.data_dir, "gallringen"),
    ):
        pass


# --- killed mid-way, changed meanwhile: in-process, on the serving hub's own storage ----------


async def _run(net):
    return await retention.run(net.app[STORAGE], now=FEBRUARY, calendar=SwedishCalendar())


async def _with_a_file(net):
    """The three cases, and one envelope of MOVED large enough to be a blob file."""
    await _three_cases(net)
    await _envelope(
        net,
        MOVED,
        "anna",
        "kommun-b",
        MessageKind.MESSAGE,
        {"text": "bilaga"},
        attachments=[("stor.pdf", os.urandom(300_000))],
    )
    return [p for p in (net.data_dir / BLOB_DIR).rglob("*") if p.is_file()]


async def test_a_run_failing_inside_a_case_leaves_that_case_whole(net, monkeypatch):
    """Everything of one case goes in one transaction: a failure after its last statement (as a
    crash before the commit) rolls all of it back."""
    blobs = await _with_a_file(net)
    storage = net.app[STORAGE]
    before = [r async for r in storage.audit_records()]
    original = SqliteTransaction.remove_case

    async def remove_then_fail(self, case_id, version):
        await original(self, case_id, version)
        raise OSError("the machine stopped")

    monkeypatch.setattr(SqliteTransaction, "remove_case", remove_then_fail)
    net.clock.now = FEBRUARY
    with pytest.raises(OSError, match="stopped"):
        await _run(net)
    for case_id in (MOVED, DECLINED, OPEN):
        assert (await storage.get_case(case_id)).case_id == case_id
    after = [r async for r in storage.audit_records()]
    assert after[: len(before)] == before  # no subject erased
    assert all(p.is_file() for p in blobs)


async def test_a_run_killed_between_the_commit_and_the_files_is_finished_by_the_next(
    net, monkeypatch
):
    """The rows are committed gone but the process dies before it removes the blob file: the
    file is no longer reachable, and the next run sweeps it (a blob placed over a day ago that
    no row names); then no file holds the case's ciphertext."""
    blobs = await _with_a_file(net)
    needles, in_files = _needles(net.data_dir, MOVED)
    assert in_files == 1
    storage = net.app[STORAGE]
    real_remove = storage.blobs.remove

    async def die(_message_ids):
        raise OSError("killed")

    monkeypatch.setattr(storage.blobs, "remove", die)
    net.clock.now = FEBRUARY
    with pytest.raises(OSError, match="killed"):
        await _run(net)
    with pytest.raises(NotFound):
        await storage.get_case(MOVED)
    assert all(p.is_file() for p in blobs)
    monkeypatch.setattr(storage.blobs, "remove", real_remove)

    assert (await _run(net)).orphans == 0  # placed under a day ago: maybe an upload in flight
    two_days_ago = time.time() - 2 * 86_400
    for path in blobs:
        os.utime(path, (two_days_ago, two_days_ago))
    result = await _run(net)
    assert (result.removed, result.orphans, result.reclaimed) == (0, 1, True)
    assert not any(p.exists() for p in blobs)
    assert _files_holding(net.data_dir, needles) == []


async def test_a_case_changed_after_retention_read_it_is_left_for_the_next_run(net, monkeypatch):
    """Retention re-checks each case under the write lock: one changed since it was read (it may
    have been re-opened) is not removed by that run."""
    await _three_cases(net)
    storage = net.app[STORAGE]
    net.clock.now = FEBRUARY
    stale = await retention.plan(storage, now=FEBRUARY, calendar=SwedishCalendar())
    row = await storage.get_case(DECLINED)
    async with storage.transaction() as tx:
        await tx.update_case(replace(row, version=row.version + 1, updated_at=FEBRUARY))

    async def stale_plan(*_args, **_kwargs):
        return stale

    monkeypatch.setattr(retention, "plan", stale_plan)
    result = await _run(net)
    assert (result.removed, result.changed_meanwhile) == (1, 1)
    assert (await storage.get_case(DECLINED)).version == row.version + 1
    with pytest.raises(NotFound):
        await storage.get_case(MOVED)


async def test_hub_serve_runs_retention_itself_unless_a_backup_holds_the_lock(net):
    """The daily job inside hub serve: the same run, under the same lock."""
    await _three_cases(net)
    net.clock.now = FEBRUARY
    job = net.app[RETENTION]
    with maintenance_lock(net.data_dir, "säkerhetskopian"):
        assert await job.run_once() is None
    assert (await net.app[STORAGE].get_case(MOVED)).case_id == MOVED
    result = await job.run_once()
    assert result is not None
    assert (result.removed, result.frozen) == (2, [(NETWORK, YEAR)])


async def test_envelopes_whose_case_the_hub_has_no_row_for_go_after_the_same_time(
    net, monkeypatch, capsys
):
    """An envelope uploaded for a case after that case was removed (an outbox retrying late)
    names a case the hub no longer has: it goes the setting's time after it arrived."""
    await _three_cases(net)
    net.clock.now = FEBRUARY
    assert (await _run(net)).removed == 2
    await net.client("anna", fresh=True)  # the clock moved past the session's end
    late, _ = await _envelope(net, MOVED, "anna", "kommun-b", MessageKind.MESSAGE, {"text": "sent"})
    needles, _ = _needles(net.data_dir, MOVED)
    assert (await _run(net)).removed == 0  # it has just arrived

    net.clock.now = FEBRUARY + 31 * 86_400
    assert await _gallra(monkeypatch, net, "--check") == EXIT_ATTENTION
    out = capsys.readouterr().out
    assert f"meddelanden till ärende {MOVED.hex()}, som hubben inte har något ärende för" in out
    assert await _gallra(monkeypatch, net) == EXIT_OK
    assert "Gallrat: 1 ärenden med 1 meddelanden" in capsys.readouterr().out
    assert _files_holding(net.data_dir, needles) == []
    with pytest.raises(NotFound):
        await net.app[STORAGE].get_envelope(late)


async def test_commands_beside_a_serving_hub_leave_its_uploads_under_way_alone(
    net, monkeypatch, capsys
):
    """hub gallra, hub audit verify and hub report open the storage while the hub serves: the
    upload being written in blobs/tmp is the hub's, not a crash's leftover to remove."""
    under_way = net.data_dir / BLOB_DIR / "tmp" / "upload-under-way"
    under_way.write_bytes(b"ciphertext on its way")
    assert await _gallra(monkeypatch, net) == EXIT_OK
    assert await asyncio.to_thread(main, ["audit", "verify", "--config", _toml(net)]) == 0
    csv = net.data_dir.parent / "rapport.csv"
    args = ["report", "--config", _toml(net), "--network", NETWORK, "--year", "2026"]
    assert await asyncio.to_thread(main, [*args, "--csv", str(csv)]) == 0
    capsys.readouterr()
    assert under_way.read_bytes() == b"ciphertext on its way"


async def test_a_recovery_copy_goes_the_retention_after_its_key_ended(net, monkeypatch, capsys):
    """Bertil's key is revoked (he left) and Britta's stays valid; each kept a recovery copy on
    the hub (docs/protocol.md §3.8). The retention (30 days here) after the revocation, Bertil's
    copy goes, audited by its key id, and its code fetches nothing; Britta's stays."""
    codes = {}
    for person in ("bertil", "britta"):
        _, text, lookup = _copy_of(net, person, f"kopia {person}")
        await (await net.client(person)).put_recovery_copy(lookup, text)
        codes[person] = lookup
    await net.revoke("bertil", at=int(net.clock.now), reason="left")
    net.clock.now += 29 * 86_400
    assert await _gallra(monkeypatch, net, "--check") == EXIT_OK
    assert "0 återställningskopior ska gallras nu" in capsys.readouterr().out

    net.clock.now += 2 * 86_400
    assert await _gallra(monkeypatch, net, "--check") == EXIT_ATTENTION
    assert "1 återställningskopior ska gallras nu" in capsys.readouterr().out
    assert await _gallra(monkeypatch, net) == EXIT_OK
    assert "1 återställningskopior togs bort" in capsys.readouterr().out
    anonymous = HubClient(net.url, NETWORK)
    net.clients.append(anonymous)
    with pytest.raises(RemoteError) as caught:
        await anonymous.recovery_copy(codes["bertil"])
    assert caught.value.code == "not_found"
    assert await anonymous.recovery_copy(codes["britta"])  # a valid key's copy stays
    storage = net.app[STORAGE]
    removed = [
        r.subject async for r in storage.audit_records() if r.action == "recovery_copy_removed"
    ]
    assert removed == [{"key_id": net.people["bertil"].key_id.hex()}]

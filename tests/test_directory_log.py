"""The hub stores and serves the directory log (issue 14, step 3; docs/protocol.md §12): `hub
admin` sends every record with a checkpoint it signed over the whole log and keeps both on the
administrator's machine; the hub checks each checkpoint as a client does and refuses a record
without one; and a hub restored from a backup, which every client would take for a rollback,
gets everything back in order from `hub admin republish`."""

from __future__ import annotations

import base64
import json

import pytest

from hub.client.admin_log import SignedLog, checkpoint_over
from hub.client.api import HubClient, RemoteError
from hub.crypto import keyfile, merkle
from hub.crypto.checkpoint import Policy, open_checkpoint, origin_of
from hub.crypto.directory import make_revocation
from hub.crypto.keys import SigningKey
from hub.crypto.registry import make_municipality
from hub.crypto.transparency import View, advance, check_records
from hub.errors import HubError, LogError
from hub.server.config import ServerConfig
from hub.storage.backup import backup
from hub.storage.base import Network
from hub.storage.sqlite import create_network
from tests.hubnet import NETWORK, START, FakeClock, _serve, free_port
from tests.inboxnet import running_agent
from tests.test_admin import ADMIN, PASSPHRASE, admin_setup, hub_cli

NO_WITNESSES = Policy((), 0, 0)  # the witnesses come with step 4; here only the tree counts


@pytest.fixture
async def s(tmp_path):
    async with admin_setup(tmp_path) as setup:
        yield setup


async def _log(s, who: str = "anna", old: int = 0):
    """The log as a contact person's client gets it, checked: the checkpoint against the network
    key and the records against its root."""
    view = await (await s.net.client(who)).log(old)
    opened = open_checkpoint(view.checkpoint, admin_public=s.net.admin.public, network=NETWORK)
    records = [{"record": r.record, "signature": r.signature} for r in view.records]
    check_records(records, opened.checkpoint)
    proof = [base64.b64decode(h) for h in view.consistency]
    return opened, records, proof


async def _revoke(s, person: str) -> None:
    key_id = s.net.people[person].public.key_id.hex()
    done = await s.hub("admin", "revoke", key_id, "--reason", "left", *ADMIN)
    assert done.returncode == 0, done.stderr


async def test_every_record_goes_with_a_checkpoint_kept_on_the_administrators_machine(s):
    before, _, _ = await _log(s)
    await _revoke(s, "bertil")
    after, records, proof = await _log(s, old=before.checkpoint.size)
    assert after.checkpoint.size == before.checkpoint.size + 1 == s.net.serial + 1
    assert after.checkpoint.origin == origin_of(NETWORK)
    # The hub proves the new checkpoint extends the one a client remembered.
    merkle.verify_consistency(
        before.checkpoint.size,
        after.checkpoint.size,
        proof,
        before.checkpoint.root,
        after.checkpoint.root,
    )
    kept, notes = SignedLog(s.root / "admin-keys", NETWORK).read()
    assert [kept[n] for n in sorted(kept)] == records  # the earlier ones taken in, verified
    assert notes[after.checkpoint.size] == after.note  # exactly what the hub serves
    assert json.loads(base64.b64decode(records[-1]["record"]))["kind"] == "revocation"


async def test_the_hub_refuses_a_record_without_a_good_checkpoint(s):
    admin = await s.net.client()
    records = await admin.registry_records()
    wire = make_revocation(
        s.net.admin,
        network=NETWORK,
        key_id=s.net.people["bertil"].public.key_id,
        revoked_at=int(s.net.clock.now),
        reason="left",
        serial=len(records) + 1,
    )
    other = SigningKey.generate()
    leaves_with = [*records, wire]
    wrong = {
        "none": None,
        "over the records without it": checkpoint_over(s.net.admin, NETWORK, records),
        "by another key": checkpoint_over(other, NETWORK, leaves_with),
        "of another network": checkpoint_over(s.net.admin, "annat-natverk", leaves_with),
    }
    said = {}
    for name, note in wrong.items():
        with pytest.raises(RemoteError) as refused:
            await admin.add_record(wire, note)
        said[name] = (refused.value.status, refused.value.code)
    assert said == {
        "none": (422, "checkpoint_required"),
        "over the records without it": (422, "log_root_mismatch"),
        "by another key": (422, "checkpoint_unsigned"),
        "of another network": (422, "checkpoint_wrong_origin"),
    }
    assert len(await admin.registry_records()) == len(records)  # nothing stored
    assert await admin.add_record(wire, checkpoint_over(s.net.admin, NETWORK, leaves_with))


async def test_a_restored_hub_looks_rolled_back_until_the_administrator_republishes(s, tmp_path):
    remembered, _, _ = await _log(s)
    backup(s.net.data_dir, tmp_path / "backup")
    await _revoke(s, "bertil")
    newest, records, _ = await _log(s)
    anna = View(newest.checkpoint, newest.note, 0)  # what Anna's agent accepted

    # The hub is lost and restored from the backup taken before the revocation.
    await s.net.restore_from(tmp_path / "backup")
    restored, _, _ = await _log(s)
    assert restored.checkpoint == remembered.checkpoint
    with pytest.raises(LogError) as refused:
        advance(anna, restored, [], NO_WITNESSES)
    assert refused.value.code == "checkpoint_rolled_back"

    done = await s.hub("admin", "republish", *ADMIN)
    assert done.returncode == 0, done.stderr
    assert "1 poster" in done.stdout
    back, back_records, proof = await _log(s, old=newest.checkpoint.size)
    assert back.checkpoint == newest.checkpoint
    assert back_records == records
    assert advance(anna, back, proof, NO_WITNESSES).checkpoint == newest.checkpoint
    # Once more changes nothing.
    again = await s.hub("admin", "republish", *ADMIN)
    assert again.returncode == 0, again.stderr
    assert "0 poster" in again.stdout


async def test_republish_refuses_a_hub_that_holds_other_records_than_were_signed_here(s):
    await _revoke(s, "bertil")
    log = SignedLog(s.root / "admin-keys", NETWORK)
    kept, _ = log.read()
    forged = make_revocation(
        s.net.admin,
        network=NETWORK,
        key_id=s.net.people["anna"].public.key_id,
        revoked_at=1,
        reason="left",
        serial=max(kept),
    )
    log.keep({"serial": max(kept), "record": forged})  # as if another record were signed here
    done = await s.hub("admin", "republish", *ADMIN)
    assert done.returncode != 0
    assert "annan post" in done.stderr


async def test_an_inbox_refuses_a_restored_hub_until_republish_then_goes_on(s, tmp_path):
    """Anna's inbox had verified the revocation; the hub is restored from a backup taken before
    it. Her inbox refuses the restored hub as a rollback (and keeps the evidence), and once the
    administrator has republished from the machine that signed it, it starts again."""
    backup(s.net.data_dir, tmp_path / "backup")
    await _revoke(s, "bertil")
    async with running_agent(s.net, "anna", tmp_path) as anna:
        assert anna.core.session.known_serial == s.net.serial + 1
    await s.net.restore_from(tmp_path / "backup")
    with pytest.raises(HubError) as refused:
        async with running_agent(s.net, "anna", tmp_path):
            pass
    assert refused.value.code == "checkpoint_rolled_back"
    done = await s.hub("admin", "republish", *ADMIN)
    assert done.returncode == 0, done.stderr
    async with running_agent(s.net, "anna", tmp_path) as anna:
        assert anna.core.session.known_serial == s.net.serial + 1
        assert anna.core.directory is not None
        bertil = s.net.people["bertil"].public.key_id
        valid = anna.core.directory.valid_keys("kommun-b", int(s.net.clock.now))
        assert bertil not in {e.key_id for e in valid}  # the revocation is back


async def test_a_network_from_before_the_log_gets_one_at_the_next_record_signed(tmp_path):
    """Records signed by the previous release go without a checkpoint, and this version's
    clients read such a network as before (no log). The next record hub admin signs carries a
    checkpoint over every record, the old ones included; from then on a record without one is
    refused."""
    data_dir = tmp_path / "hub-data"
    admin = SigningKey.generate()
    await create_network(data_dir, Network(NETWORK, "Gammalt nät", admin.public, {}, START))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    runner = await _serve(ServerConfig(data_dir=data_dir, port=port, public_url=url), FakeClock())
    keys = tmp_path / "admin-keys"
    keys.mkdir()
    keyfile.write_keyfile(
        keys / "network.key",
        admin,
        PASSPHRASE,
        opslimit=keyfile.INTERACTIVE_OPSLIMIT,
        memlimit=keyfile.INTERACTIVE_MEMLIMIT,
    )
    try:
        async with HubClient(url, NETWORK) as client:
            await client.sign_in(admin)
            await client.put_municipality(
                "kommun-a", name="kommun-a", population=1, manager_email="chef@kommun-a.example"
            )
            old = make_municipality(
                admin,
                network=NETWORK,
                municipality="kommun-a",
                name="Kommun A",
                population=1000,
                serial=1,
            )
            assert await client.add_record(old) == 1  # as the previous release sends it
            assert (await client.log()).checkpoint is None

            added = await hub_cli(
                tmp_path,
                "admin",
                "municipality",
                "add",
                "kommun-b",
                "--name",
                "Kommun B",
                "--population",
                "2000",
                "--manager-email",
                "chef@kommun-b.example",
                "--keys",
                "admin-keys",
                env={"HUB_URL": url, "HUB_NETWORK": NETWORK},
            )
            assert added.returncode == 0, added.stderr
            view = await client.log()
            opened = open_checkpoint(view.checkpoint, admin_public=admin.public, network=NETWORK)
            assert opened.checkpoint.size == 2
            check_records(
                [{"record": r.record, "signature": r.signature} for r in view.records],
                opened.checkpoint,
            )
            later = make_municipality(
                admin,
                network=NETWORK,
                municipality="kommun-a",
                name="Kommun A",
                population=1001,
                serial=3,
            )
            with pytest.raises(RemoteError) as refused:
                await client.add_record(later)
            assert refused.value.code == "checkpoint_required"
    finally:
        await runner.cleanup()

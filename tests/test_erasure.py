"""Erasable bodies (issue 14; docs/protocol.md §12.11) against a real hub: `hub admin erase`
signs an erasure record for the entries that ended longer ago than the network's retention, the
hub drops their bodies and serves each as its leaf hash and serial, and every client still
verifies the log: a fresh one with the bodies absent, one that remembered the log before the
erasure through its consistency proof. What may never go (a revocation, an entry within the
retention) is refused by the command, and by the hub if it is signed anyway."""

from __future__ import annotations

import base64
import time

import pytest

from hub.client.admin_log import SignedLog, checkpoint_over
from hub.client.api import RemoteError
from hub.client.verified_log import VerifiedLog
from hub.crypto.directory import make_entry
from hub.crypto.erasure import ErasedItem, item_for, make_erasure
from hub.crypto.keys import PrivateIdentity
from hub.crypto.leaves import Erased, leaf_of
from hub.crypto.records import sign_record
from hub.crypto.registry import Registry
from hub.storage.backup import backup
from hub.storage.base import EnvelopeRow
from tests.hubnet import NETWORK, running_hub
from tests.test_admin import ADMIN, admin_setup
from tests.test_lying_erasure import _erase_an_old_entry
from tests.vectors._rng import SeededRng

YEAR = 365 * 86_400


@pytest.fixture
async def s(tmp_path):
    async with admin_setup(tmp_path) as setup:
        yield setup


async def _old_entry(s, person: str, ended_years_ago: float) -> int:
    """An entry for `person` in Kommun A that ended that long ago; returns its serial."""
    admin = await s.net.client()
    serial = len(await admin.registry_records()) + 1
    now = int(time.time())
    identity = PrivateIdentity.generate(SeededRng(f"erasure/{person}"))
    wire = make_entry(
        s.net.admin,
        network=NETWORK,
        municipality="kommun-a",
        person=person,
        role="contact_person",
        identity=identity.public,
        not_before=now - int((ended_years_ago + 2) * YEAR),
        not_after=now - int(ended_years_ago * YEAR),
        serial=serial,
    )
    await s.net.append(wire)
    return serial


async def _fresh_view(s, who: str = "anna") -> tuple[VerifiedLog, Registry]:
    verified = VerifiedLog(s.net.admin.public, NETWORK)
    registry = await verified.load(await s.net.client(who, fresh=True), int(time.time()))
    return verified, registry


async def test_hub_admin_erase_drops_the_body_and_every_client_still_verifies_the_log(s):
    gone = await _old_entry(s, "Dora Gammal", ended_years_ago=2)
    recent = await _old_entry(s, "Erik Nyss", ended_years_ago=0.5)  # within 365 days
    remembered, before = await _fresh_view(s)  # Anna's agent, before the erasure
    body = (await (await s.net.client()).registry_records())[gone - 1]
    assert isinstance(body, dict)

    done = await s.hub("admin", "erase", "--yes", *ADMIN)
    assert done.returncode == 0, done.stderr
    assert f"post {gone}: kommun-a, Dora Gammal" in done.stdout
    assert "Erik Nyss" not in done.stdout
    assert "Raderat: 1 poster" in done.stdout

    served = await (await s.net.client()).registry_records()
    assert served[gone - 1] == Erased(gone, leaf_of(body))  # its leaf hash and its serial
    assert isinstance(served[recent - 1], dict)  # the other stays
    # The agent that remembered the log before accepts the newer one by its proof...
    after = await remembered.load(await s.net.client("anna"), int(time.time()))
    # ...and a fresh one verifies it with the body absent: the same tree, one leaf longer.
    _, fresh = await _fresh_view(s, "bertil")
    assert fresh.serial == after.serial == before.serial + 1
    [erasure] = fresh.erasures
    assert [i.serial for i in erasure.erased] == [gone]
    assert all(e.person != "Dora Gammal" for e in fresh.directory.entries)
    assert any(e.person == "Erik Nyss" for e in fresh.directory.entries)

    # The body is in no file of the hub any more (the record's base64 nor its bytes).
    record = body["record"]
    assert not [where for where, data in s.net.stored_bytes() if record.encode() in data]
    assert not [where for where, data in s.net.stored_bytes() if base64.b64decode(record) in data]
    # The administrator's own archive keeps what it signed (for republish), never less.
    kept, _ = SignedLog(s.root / "admin-keys", NETWORK).read()
    assert leaf_of(kept[gone]) == leaf_of(body)

    again = await s.hub("admin", "erase", "--yes", *ADMIN)
    assert again.returncode == 0, again.stderr
    assert "Ingen katalogpost får raderas ännu" in again.stdout


async def test_the_command_refuses_what_may_not_go_and_says_why(s):
    await _old_entry(s, "Dora Gammal", ended_years_ago=2)
    recent = await _old_entry(s, "Erik Nyss", ended_years_ago=0.5)
    revoked = await s.hub(
        "admin", "revoke", s.net.people["bertil"].public.key_id.hex(), "--reason", "left", *ADMIN
    )
    assert revoked.returncode == 0, revoked.stderr
    revocation = len(await (await s.net.client()).registry_records())
    said = {}
    for serial in (revocation, recent, 1, revocation + 5):
        done = await s.hub("admin", "erase", "--serial", str(serial), "--yes", *ADMIN)
        assert done.returncode != 0
        said[serial] = done.stderr
    assert "återkallelse: den får aldrig raderas" in said[revocation]
    assert "får raderas tidigast" in said[recent]
    assert "registerpost" in said[1]  # the first municipality record
    assert "finns inte" in said[revocation + 5]
    assert all("inget har raderats" in text for text in said.values())
    assert len(await (await s.net.client()).registry_records()) == revocation  # nothing added


async def test_the_hub_refuses_an_erasure_a_client_would_refuse_and_keeps_the_body(s):
    """Signed with the network key but against the rules (the administrator's tools bypassed):
    the hub verifies it as a client does and stores nothing."""
    recent = await _old_entry(s, "Erik Nyss", ended_years_ago=0.5)
    admin = await s.net.client()
    records = await admin.registry_records()
    entry = Registry.load(s.net.admin.public, NETWORK, records).directory.entries
    [erik] = [e for e in entry if e.serial == recent]
    serial = len(records) + 1
    now = int(time.time())
    revocation_like = ErasedItem(1, leaf_of(records[0]), "municipality", bytes(16), 0)
    cases = {
        "within the retention": make_erasure(
            s.net.admin, network=NETWORK, erased=[item_for(erik)], erased_at=now, serial=serial
        ),
        "a registry record": sign_record(
            {
                "kind": "erasure",
                "network": NETWORK,
                "erased": [
                    {
                        "serial": 1,
                        "leaf": revocation_like.leaf.hex(),
                        "kind": "municipality",
                        "key_id": bytes(16).hex(),
                        "not_after": 0,
                    }
                ],
                "erased_at": now,
                "serial": serial,
            },
            s.net.admin,
        ),
    }
    said = {}
    for name, wire in cases.items():
        with pytest.raises(RemoteError) as refused:
            await admin.add_record(wire, checkpoint_over(s.net.admin, NETWORK, [*records, wire]))
        said[name] = refused.value.code
    assert said == {
        "within the retention": "erasure_not_allowed",
        "a registry record": "erasure_not_allowed",
    }
    assert await admin.registry_records() == records  # every body still served


async def test_a_hub_restored_from_before_an_erasure_gets_it_back_and_drops_the_body_again(
    s, tmp_path
):
    """The backup holds the body and not the erasure: republish sends the erasure (with its
    kept checkpoint), and the hub drops the body again, as the first time."""
    gone = await _old_entry(s, "Dora Gammal", ended_years_ago=2)
    body = (await (await s.net.client()).registry_records())[gone - 1]
    backup(s.net.data_dir, tmp_path / "backup")
    done = await s.hub("admin", "erase", "--yes", *ADMIN)
    assert done.returncode == 0, done.stderr
    erased = await (await s.net.client()).registry_records()

    await s.net.restore_from(tmp_path / "backup")
    assert (await (await s.net.client(fresh=True)).registry_records())[gone - 1] == body

    back = await s.hub("admin", "republish", *ADMIN)
    assert back.returncode == 0, back.stderr
    assert "1 poster" in back.stdout
    assert await (await s.net.client(fresh=True)).registry_records() == erased
    _, fresh = await _fresh_view(s, "bertil")
    assert fresh.serial == len(erased)


async def test_on_postgresql_the_body_is_replaced_and_no_dump_holds_it(tmp_path, pg_url):
    async with running_hub(tmp_path, database=pg_url) as net:
        net.clock.now = time.time()
        await net.client(fresh=True)
        before = await (await net.client()).registry_records()
        gone, entry = await _erase_an_old_entry(net)
        served = await (await net.client()).registry_records()
        assert isinstance(served[gone - 1], Erased)
        assert served[: len(before)] == before  # the others as they were
        verified = VerifiedLog(net.admin.public, NETWORK)
        registry = await verified.load(await net.client("anna"), int(time.time()))
        assert registry.serial == len(served)
        assert all(e.person != "Dora Gammal" for e in registry.directory.entries)
        assert not [w for w, data in net.stored_bytes() if entry["record"].encode() in data]


async def test_the_hub_refuses_to_erase_an_entry_whose_key_signed_what_it_still_keeps(s):
    """An envelope Dora's key signed is still on the hub (its case not removed yet): her entry
    is still needed to check it, so the erasure is refused and her body stays."""
    gone = await _old_entry(s, "Dora Gammal", ended_years_ago=2)
    records = await (await s.net.client()).registry_records()
    dora = Registry.load(s.net.admin.public, NETWORK, records).directory.entries
    [entry] = [e for e in dora if e.serial == gone]
    storage = await s.net.open_storage()
    try:
        async with storage.transaction() as tx:
            await tx.add_envelope(
                EnvelopeRow(
                    message_id=bytes(range(16)),
                    network_id=NETWORK,
                    case_id=bytes(16),
                    kind=1,
                    sender_key_id=entry.key_id,
                    sender_municipality="kommun-a",
                    recipient_municipalities=("kommun-b",),
                    recipient_key_ids=(),
                    size=100,
                    digest=bytes(32),
                    created_at=entry.not_after - YEAR,
                    received_at=entry.not_after - YEAR,
                )
            )
    finally:
        await storage.close()
    done = await s.hub("admin", "erase", "--yes", *ADMIN)
    assert done.returncode != 0
    assert "kontrollera en underskrift" in done.stderr  # erasure_not_allowed's sentence
    assert await (await s.net.client()).registry_records() == records

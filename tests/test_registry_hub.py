"""The hub stores and serves the signed registry (issue 12) and changes none of it: the sequence at
GET .../registry, the previous release's directory unchanged, unsigned changes refused, and the
members and settings the hub acts on taken from the verified records."""

from __future__ import annotations

import base64
import json

import aiosqlite
import pytest

from hub.client.api import RemoteError
from hub.crypto.directory import Directory
from hub.crypto.keys import SigningKey
from hub.crypto.registry import make_municipality, make_settings
from hub.protocol.deadlines import NetworkDeadlines
from hub.server.typedefs import STORAGE
from tests.hubnet import NETWORK, running_hub
from tests.vectors._rng import SeededRng


@pytest.fixture
async def net(tmp_path):
    async with running_hub(tmp_path, signed_registry=False) as hubnet:
        yield hubnet


async def test_the_sequence_is_served_whole_and_verified_by_the_client(net):
    """Four entries from the set-up, then three municipalities, settings and a kommunmall: one
    run of serials, which the client verifies against the pinned key."""
    await net.sign_registry()
    await net.sign_settings(answer_days=21)
    await net.sign_kommunmall("kommun-b", "Vi erbjuder lägenheter i centrum.", "b@kommun-b.example")
    anna = await net.client("anna")
    registry = await anna.registry(net.admin.public)
    assert registry.serial == net.serial == 9
    assert {m: r.name for m, r in registry.municipalities.items()} == {
        "kommun-a": "Kommun A",
        "kommun-b": "Kommun B",
        "kommun-c": "Kommun C",
    }
    assert registry.settings is not None
    assert registry.settings.answer_days == 21
    assert registry.kommunmallar["kommun-b"].offer == "Vi erbjuder lägenheter i centrum."
    assert len(registry.directory.entries) == 4


async def test_a_client_of_the_previous_release_still_loads_its_directory(net):
    """The previous release reads GET .../directory and takes every record that is not a
    revocation for an entry: it must see entries and revocations only, never a registry record,
    and the names it shows (from the member list) are the signed ones."""
    await net.sign_registry()
    await net.sign_settings()
    await net.sign_kommunmall("kommun-c", "Erbjudande")
    anna = await net.client("anna")
    raw = await anna.directory_records()
    kinds = {json.loads(base64.b64decode(w["record"]))["kind"] for w in raw["entries"]}
    assert kinds == {"directory-entry"}
    previous = Directory.load(net.admin.public, NETWORK, raw["entries"], raw["revocations"])
    assert len(previous.entries) == 4
    members = {m.id: (m.name, m.template) for m in await anna.municipalities()}
    assert members["kommun-c"] == ("Kommun C", {"text": "Erbjudande", "contact": ""})
    served = await anna._request("GET", f"/api/v1/networks/{NETWORK}/registry")
    records = [base64.b64decode(w["record"]).decode() for w in served["records"]]
    assert len(records) == 9
    assert not any("chef@" in r for r in records)  # the manager's e-mail stays on the hub


async def test_the_hub_takes_names_and_settings_from_signed_records(net):
    """A renamed municipality and signed settings replace what the operator typed at set-up;
    the manager's e-mail stays the hub's own."""
    await net.sign_registry()
    await net.register("kommun-b", "Kommun Bee", population=31_000)
    await net.sign_settings(answer_days=21, quota_key=[(0, 2), (30_000, 4)])
    admin = await net.client()
    members = {m.id: m for m in await admin.municipalities()}
    assert (members["kommun-b"].name, members["kommun-b"].population) == ("Kommun Bee", 31_000)
    settings = (await admin.network_info()).settings
    assert settings["quota_key"] == [[0, 2], [30_000, 4]]
    assert NetworkDeadlines.from_settings(settings).answer_days == 21
    await admin.put_municipality(
        "kommun-b", name="Kommun Bee", population=31_000, manager_email="ny-chef@b.example"
    )
    assert (await net.app[STORAGE].list_municipalities(NETWORK))[1].manager_email == (
        "ny-chef@b.example"
    )


async def test_an_unsigned_change_is_refused_once_the_registry_is_signed(net):
    await net.sign_registry()
    admin = await net.client()
    with pytest.raises(RemoteError) as info:
        await admin.put_municipality(
            "kommun-b", name="Kommun C", population=25_000, manager_email="chef@b.example"
        )
    assert info.value.code == "record_required"
    with pytest.raises(RemoteError) as info:
        await admin.put_municipality(
            "kommun-b",
            name="Kommun B",
            population=25_000,
            manager_email="chef@b.example",
            template={"text": "skrivet av hubben"},
        )
    assert info.value.code == "record_required"
    members = {m.id: m for m in await admin.municipalities()}
    assert (members["kommun-b"].name, members["kommun-b"].template) == ("Kommun B", {})


@pytest.mark.parametrize(
    ("serial_offset", "signer", "code"),
    [
        (2, "admin", "registry_gap"),
        (0, "admin", "registry_out_of_sequence"),
        (1, "other", "record_wrong_signer"),
    ],
)
async def test_the_hub_refuses_a_record_out_of_sequence_or_not_the_administrators(
    net, serial_offset, signer, code
):
    key = net.admin if signer == "admin" else SigningKey.generate(SeededRng("registry-hub/other"))
    wire = make_municipality(
        key,
        network=NETWORK,
        municipality="kommun-d",
        name="Kommun D",
        population=1,
        serial=net.serial + serial_offset,
    )
    admin = await net.client()
    with pytest.raises(RemoteError) as info:
        await admin.add_record(wire)
    assert info.value.code == code
    assert (await admin.registry(net.admin.public)).serial == net.serial


async def test_only_the_administrator_adds_records(net):
    wire = make_settings(net.admin, network=NETWORK, serial=net.serial + 1)
    anna = await net.client("anna")
    with pytest.raises(RemoteError):
        await anna.add_record(wire)


async def test_the_migration_widens_the_kind_check(net):
    """Migration 0006 lets the table hold the registry kinds, and nothing else."""
    await net.sign_registry()
    async with aiosqlite.connect(net.data_dir / "hub.sqlite3") as db:
        rows = await db.execute_fetchall("SELECT DISTINCT kind FROM directory_records")
        assert {r[0] for r in rows} == {"directory-entry", "municipality"}
        with pytest.raises(aiosqlite.IntegrityError):
            await db.execute(
                "INSERT INTO directory_records VALUES (?, 99, 'something-else', x'', '{}')",
                (NETWORK,),
            )

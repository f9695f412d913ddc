"""`hub witness` (issue 14, step 4; docs/protocol.md §12.8), as real processes on free ports:
the add-checkpoint call of c2sp.org/tlog-witness with each refusal's status, its state kept
across a kill, its timestamped re-cosigning on a timer, evidence of a fork; and the hub asking
the witnesses its signed settings name, so the log's checkpoint carries their cosignatures,
one witness offline blocks nothing, and a view no quorum has cosigned for too long is stale."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import aiohttp
import pytest

from hub.crypto import merkle
from hub.crypto.checkpoint import Checkpoint, Witness, open_checkpoint, origin_of, sign_checkpoint
from hub.crypto.keys import SigningKey, dumps_public_signing_key
from hub.crypto.registry import Registry, WitnessSetting, make_settings, open_registry_record
from hub.crypto.transparency import policy_of
from hub.errors import LogError
from hub.witness.service import EVIDENCE_NAME
from tests.hubnet import NETWORK, running_hub
from tests.witnessnet import running_witnesses

ADMIN = SigningKey.generate()
LEAVES = [merkle.leaf_hash(b"post %d" % i) for i in range(8)]
FORK = [*LEAVES[:2], *(merkle.leaf_hash(b"annan post %d" % i) for i in range(6))]


def _note(
    size: int, leaves: list[bytes] = LEAVES, key: SigningKey = ADMIN, net: str = "natet"
) -> str:
    return sign_checkpoint(key, Checkpoint(origin_of(net), size, merkle.root(leaves[:size])))


def _body(old: int, note: str, proof: list[bytes] | None = None) -> bytes:
    lines = "".join(base64.b64encode(h).decode() + "\n" for h in proof or [])
    return f"old {old}\n{lines}\n{note}".encode()


async def _post(session, url, body: bytes) -> tuple[int, str, str]:
    async with session.post(f"{url}/add-checkpoint", data=body) as answer:
        return answer.status, await answer.text(), answer.content_type


@pytest.fixture
async def one_witness(tmp_path):
    pub = tmp_path / "network.pub"
    pub.write_text(dumps_public_signing_key(ADMIN.public))
    async with running_witnesses(tmp_path, "natet", pub, count=1, recosign_seconds=0.5) as ws:
        yield ws[0]


async def test_add_checkpoint_cosigns_only_what_extends_what_it_cosigned(one_witness):
    w = one_witness
    me = [Witness(w.name, w.key.public)]
    async with aiohttp.ClientSession() as s:
        assert (await _post(s, w.url, _body(0, _note(3, net="annat"))))[0] == 404
        assert (await _post(s, w.url, _body(0, _note(3, key=SigningKey.generate()))))[0] == 403
        assert (await _post(s, w.url, _body(5, _note(3))))[0] == 400
        assert (await _post(s, w.url, b"gammal 0\n\n" + _note(3).encode()))[0] == 400

        status, line, _ = await _post(s, w.url, _body(0, _note(3)))
        assert status == 200
        opened = open_checkpoint(
            _note(3) + line,
            admin_public=ADMIN.public,
            network="natet",
            witnesses=me,
            now=int(time.time()),
        )
        assert abs(opened.cosigned[w.name] - time.time()) < 10

        # It remembers size 3: another old size is a conflict that names its size.
        assert await _post(s, w.url, _body(0, _note(5))) == (409, "3\n", "text/x.tlog.size")
        # A fork of the first three, or a proof that does not hold, is not cosigned.
        fork_proof = merkle.consistency_proof(3, FORK[:5])
        assert (await _post(s, w.url, _body(3, _note(5, FORK), fork_proof)))[0] == 422
        assert (await _post(s, w.url, _body(3, _note(5), fork_proof)))[0] == 422
        assert (await _post(s, w.url, _body(3, _note(3, FORK))))[0] == 422  # one size, two roots
        good = merkle.consistency_proof(3, LEAVES[:5])
        assert (await _post(s, w.url, _body(3, _note(5), good)))[0] == 200

    # Killed and started again, it still knows size 5 (kept before it answered).
    await w.stop()
    await w.start()
    async with aiohttp.ClientSession() as s:
        assert await _post(s, w.url, _body(3, _note(5))) == (409, "5\n", "text/x.tlog.size")


async def test_the_witness_cosigns_its_checkpoint_again_on_a_timer(one_witness):
    w = one_witness
    me = [Witness(w.name, w.key.public)]
    async with aiohttp.ClientSession() as s:
        assert (await _post(s, w.url, _body(0, _note(4))))[0] == 200

        async def cosigned_at() -> int:
            async with s.get(f"{w.url}/cosigned", params={"origin": origin_of("natet")}) as a:
                text, _, line = (await a.text()).partition("\n\n")
            assert (
                text + "\n"
                == Checkpoint(origin_of("natet"), 4, merkle.root(LEAVES[:4])).text().decode()
            )
            return open_checkpoint(
                _note(4) + line, admin_public=ADMIN.public, network="natet", witnesses=me
            ).cosigned[w.name]

        first = await cosigned_at()
        for _ in range(60):
            await asyncio.sleep(0.1)
            if await cosigned_at() > first:
                break
        assert await cosigned_at() > first


async def test_the_witness_keeps_evidence_of_two_conflicting_checkpoints(one_witness):
    w = one_witness
    async with aiohttp.ClientSession() as s:
        evidence = {"remembered": _note(5), "offered": _note(5, FORK)}
        async with s.post(f"{w.url}/evidence", json=evidence) as answer:
            assert answer.status == 202
        same = {"remembered": _note(5), "offered": _note(5)}
        async with s.post(f"{w.url}/evidence", json=same) as answer:
            assert answer.status == 400
        forged = {"remembered": _note(5), "offered": _note(5, FORK, key=SigningKey.generate())}
        async with s.post(f"{w.url}/evidence", json=forged) as answer:
            assert answer.status == 400
    kept = [json.loads(line) for line in (w.folder / EVIDENCE_NAME).read_text().splitlines()]
    assert [(k["remembered"], k["offered"]) for k in kept] == [(_note(5), _note(5, FORK))]


async def _cosigned_log(net, policy, size: int, at_least: int):
    """The log as a contact person reads it, once `at_least` witnesses cosigned size `size`."""
    client = await net.client("anna")
    for _ in range(200):
        view = await client.log()
        opened = open_checkpoint(
            view.checkpoint,
            admin_public=net.admin.public,
            network=NETWORK,
            witnesses=policy.witnesses,
            now=int(time.time()),
        )
        if opened.checkpoint.size == size and len(opened.cosigned) >= at_least:
            return opened
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {at_least} cosignatures on size {size}: {opened.cosigned}")


async def test_the_hub_gathers_the_quorum_and_one_witness_offline_blocks_nothing(tmp_path):
    async with running_hub(tmp_path, witness_poll_seconds=1) as net:
        pub = tmp_path / "network.pub"
        pub.write_text(dumps_public_signing_key(net.admin.public))
        async with running_witnesses(tmp_path, NETWORK, pub) as ws:
            await net.sign_settings(witnesses=[w.setting for w in ws])
            admin = await net.client()
            settings = Registry.load(
                net.admin.public, NETWORK, await admin.registry_records()
            ).settings
            policy = policy_of(settings)
            assert policy.quorum == 2
            assert len(policy.witnesses) == 3

            opened = await _cosigned_log(net, policy, net.serial, at_least=3)
            assert policy.quorum_time(opened) is not None

            await ws[0].stop()  # one witness offline
            await net.revoke("bertil", at=int(net.clock.now))
            opened = await _cosigned_log(net, policy, net.serial, at_least=2)
            fresh_at = policy.quorum_time(opened)
            policy.require_fresh(fresh_at, int(time.time()))  # nothing blocked

            await ws[1].stop()  # the quorum offline: what is cosigned gets old
            await net.revoke("cecilia", at=int(net.clock.now))
            await asyncio.sleep(1.5)
            view = await admin.log()
            newest = open_checkpoint(
                view.checkpoint,
                admin_public=net.admin.public,
                network=NETWORK,
                witnesses=policy.witnesses,
            )
            assert newest.checkpoint.size == net.serial
            with pytest.raises(LogError) as missing:
                policy.quorum_time(newest)
            assert missing.value.code == "cosignature_quorum_missing"
            with pytest.raises(LogError) as stale:
                policy.require_fresh(fresh_at, fresh_at + 6 * 3600 + 1)
            assert stale.value.code == "checkpoint_stale"


def _settings(**fields):
    named = [
        WitnessSetting(f"v{i}.example/w", SigningKey.generate().public, f"https://v{i}.example")
        for i in range(fields.pop("count", 3))
    ]
    return make_settings(ADMIN, network="natet", serial=1, witnesses=named, **fields)


def test_the_witness_set_is_a_signed_setting_of_three_or_more_and_a_majority():
    record = open_registry_record(_settings(), admin_public=ADMIN.public, network="natet")
    assert len(record.witnesses) == 3
    assert record.witness_quorum == 2
    assert record.freshness_hours == 6
    for wrong in (
        {"count": 2},
        {"witness_quorum": 1},
        {"witness_quorum": 4},
        {"freshness_hours": 0},
    ):
        with pytest.raises(ValueError, match=r"witness|freshness"):
            _settings(**wrong)
    old = open_registry_record(
        make_settings(ADMIN, network="natet", serial=1),
        admin_public=ADMIN.public,
        network="natet",
    )
    assert old.witnesses == ()  # a record signed before witnesses: none yet
    assert policy_of(old).quorum == 0


async def test_hub_admin_settings_names_the_witnesses_and_hub_witness_init_makes_a_key(tmp_path):
    from tests.test_admin import ADMIN as ADMIN_KEYS  # noqa: PLC0415
    from tests.test_admin import admin_setup, hub_cli  # noqa: PLC0415

    async with admin_setup(tmp_path) as s:
        named = []
        for n in range(1, 4):
            made = await hub_cli(tmp_path, "witness", "init", f"vittne{n}")
            assert made.returncode == 0, made.stderr
            assert (tmp_path / f"vittne{n}" / "witness.key").exists()
            named += ["--witness", f"v{n}.example/w=https://v{n}.example=vittne{n}/witness.pub"]
        done = await s.hub("admin", "settings", *named, "--yes", *ADMIN_KEYS)
        assert done.returncode == 0, done.stderr
        records = await (await s.net.client()).registry_records()
        settings = Registry.load(s.net.admin.public, NETWORK, records).settings
        assert [w.name for w in settings.witnesses] == [f"v{n}.example/w" for n in range(1, 4)]
        assert settings.witness_quorum == 2
        two = await s.hub("admin", "settings", *named[:4], "--yes", *ADMIN_KEYS)
        assert two.returncode != 0  # fewer than three witnesses: nothing signed
        assert "nätverket ska ha 3 till 15 vittnen: inget har signerats" in two.stderr

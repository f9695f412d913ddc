"""A recovery copy kept on the hub (issue 17; docs/protocol.md §3.8, docs/api.md "Recovery
copies"), against a real hub: only the key's owner stores it, anyone who knows the lookup id
derived from the code fetches it without signing in, a guesser is slowed by the address limit
and has nothing to list, and the hub holds neither the code nor anything that opens the copy."""

from __future__ import annotations

import json

import pytest

from hub.client.api import HubClient, RemoteError
from hub.crypto import keyfile
from hub.crypto import primitives as p
from hub.protocol.recovery import dumps_recovery_copy, new_recovery_code, recovery_lookup
from tests.hubnet import NETWORK, running_hub
from tests.vectors._rng import SeededRng

FAST = {"opslimit": 1, "memlimit": 8192}  # Argon2id's minimum: the hub cannot tell


def _copy_of(net, person: str, seed: str) -> tuple[str, str, bytes]:
    """(code, copy, lookup id) of `person`'s key, quickly derived."""
    code = new_recovery_code(SeededRng(seed))
    text = dumps_recovery_copy(net.people[person], code, **FAST)
    return code, text, recovery_lookup(code, NETWORK, **FAST)


async def _anonymous(net) -> HubClient:
    client = HubClient(net.url, NETWORK)
    net.clients.append(client)
    return client


async def test_the_owner_stores_the_copy_and_a_new_machine_fetches_it_by_the_code(
    tmp_path, database
):
    async with running_hub(tmp_path, database=database) as net:
        code, text, lookup = _copy_of(net, "bertil", "kopia 1")
        await (await net.client("bertil")).put_recovery_copy(lookup, text)
        fetched = await (await _anonymous(net)).recovery_copy(lookup)
        assert fetched == text
        # What the hub keeps is the copy and a lookup id: never the code, never the key.
        for where, stored in net.stored_bytes():
            assert code.encode() not in stored, where
            assert code.replace("-", "").encode() not in stored, where
            assert net.people["bertil"].signing_seed not in stored, where
        # The fetch is in the audit log, naming whose copy it was: a fetch nobody expected shows.
        storage = await net.open_storage()
        try:
            actions = [(r.action, r.subject) async for r in storage.audit_records()]
        finally:
            await storage.close()
        key = net.people["bertil"].key_id.hex()
        assert ("recovery_copy_stored", {"key_id": key}) in actions
        assert ("recovery_copy_fetched", {"key_id": key}) in actions


async def test_a_new_copy_replaces_the_last_one_so_the_old_code_fetches_nothing(tmp_path, database):
    async with running_hub(tmp_path, database=database) as net:
        client = await net.client("bertil")
        _, first, first_lookup = _copy_of(net, "bertil", "kopia 1")
        _, second, second_lookup = _copy_of(net, "bertil", "kopia 2")
        await client.put_recovery_copy(first_lookup, first)
        await client.put_recovery_copy(second_lookup, second)
        anonymous = await _anonymous(net)
        assert await anonymous.recovery_copy(second_lookup) == second
        with pytest.raises(RemoteError) as caught:
            await anonymous.recovery_copy(first_lookup)
        assert (caught.value.status, caught.value.code) == (404, "not_found")


async def test_only_the_keys_owner_stores_its_copy(tmp_path):
    """Britta, signed in, cannot store a copy of Bertil's key (nor replace his); without a
    sign-in nobody can; a copy that is no key file is refused."""
    async with running_hub(tmp_path) as net:
        _, text, lookup = _copy_of(net, "bertil", "kopia 1")
        with pytest.raises(RemoteError) as caught:
            await (await net.client("britta")).put_recovery_copy(lookup, text)
        assert (caught.value.status, caught.value.code) == (403, "not_your_copy")
        with pytest.raises(RemoteError) as caught:
            await (await _anonymous(net)).put_recovery_copy(lookup, text)
        assert (caught.value.status, caught.value.code) == (401, "auth_required")
        with pytest.raises(RemoteError) as caught:
            await (await net.client()).put_recovery_copy(lookup, text)  # the administrator
        assert caught.value.code == "forbidden"
        broken = json.loads(text)
        broken["nonce"] = "inte base64"
        with pytest.raises(RemoteError) as caught:
            await (await net.client("bertil")).put_recovery_copy(lookup, json.dumps(broken))
        assert (caught.value.status, caught.value.code) == (400, "request_malformed")
        with pytest.raises(RemoteError) as caught:
            await (await _anonymous(net)).recovery_copy(lookup)
        assert caught.value.code == "not_found"  # nothing was stored by any of them


async def test_guessing_lookup_ids_is_limited_by_address_and_finds_nothing(tmp_path):
    """Every fetch counts against the caller's address, found or not, well-formed or not; a
    malformed id is refused as such. Nothing lists the copies."""
    async with running_hub(
        tmp_path, signin_attempts_per_minute=2
    ) as net:  # 12 a minute per address
        _, text, lookup = _copy_of(net, "bertil", "kopia 1")
        await (await net.client("bertil")).put_recovery_copy(lookup, text)
        guesser = await _anonymous(net)
        with pytest.raises(RemoteError) as caught:
            await guesser.recovery_copy(b"\x01" * 16)  # not 32 bytes
        assert caught.value.code == "request_malformed"
        codes = []
        for i in range(13):  # the limit is shared with sign-ins from the same address
            try:
                await guesser.recovery_copy(bytes([i]) * 32)
            except RemoteError as exc:
                codes.append(exc.code)
        limited = codes.index("rate_limited")
        assert set(codes[:limited]) == {"not_found"}
        assert set(codes[limited:]) == {"rate_limited"}
        with pytest.raises(RemoteError) as caught:
            await guesser.recovery_copy(lookup)  # the right id too, while limited
        assert (caught.value.status, caught.value.code) == (429, "rate_limited")
        async with guesser._session.get(
            f"{net.url}/api/v1/networks/{NETWORK}/recovery-copies"
        ) as r:
            assert r.status in {404, 405}


def test_the_lookup_id_is_the_formula_of_the_specification():
    """docs/protocol.md §3.8 written out: Argon2id of the grouped code, salted with the
    network's BLAKE2b-128 under "hub-recovery-id"; the code however typed gives the same id,
    another network another."""
    code = new_recovery_code(SeededRng("formel"))
    salt = p.blake2b(NETWORK.encode(), size=16, person=b"hub-recovery-id")
    expected = p.argon2id(code.encode(), salt, **FAST)
    assert recovery_lookup(code, NETWORK, **FAST) == expected
    assert recovery_lookup(code.lower().replace("-", " "), NETWORK, **FAST) == expected
    assert recovery_lookup(code, "ett-annat-natverk", **FAST) != expected
    assert keyfile.DEFAULT_OPSLIMIT == 3  # the format's limits are the moderate ones

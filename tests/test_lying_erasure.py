"""Erased bodies against real agents and a lying hub (issue 14; docs/protocol.md §12.11): an
inbox that remembered the log before an erasure, and one that starts after it, both keep
working with the body absent; a hub that serves a record as erased without an erasure record
that names it (a revocation hidden so, beside a genuine erasure, or an entry) is refused, with
a Swedish message and log_erased_unexplained, and the agent keeps the directory it had. An
erasure the network key signed that calls a revocation an entry (a coerced administrator, the
tools bypassed, the hub in on it) is refused by every agent that had verified the revocation."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from hub.client.admin_log import checkpoint_over
from hub.crypto import merkle
from hub.crypto.directory import make_entry, open_entry
from hub.crypto.erasure import item_for, make_erasure
from hub.crypto.keys import PrivateIdentity
from hub.crypto.leaves import Erased, leaf_of, record_leaf
from hub.crypto.records import sign_record
from hub.errors import MESSAGES, HubError
from hub.protocol import wire
from tests.hubnet import NETWORK
from tests.inboxnet import running_agent
from tests.lyinghub import lying_hub
from tests.vectors._rng import SeededRng

YEAR = 365 * 86_400


async def _erase_an_old_entry(net: Any) -> tuple[int, dict[str, str]]:
    """An entry for Dora in Kommun A that ended two years ago, then the erasure of it, signed
    as `hub admin erase` signs it; returns the entry's serial and its signed record."""
    now = int(net.clock.now)
    net.serial = len(await (await net.client()).registry_records()) + 1
    entry = make_entry(
        net.admin,
        network=NETWORK,
        municipality="kommun-a",
        person="Dora Gammal",
        role="contact_person",
        identity=PrivateIdentity.generate(SeededRng("lying-erasure/dora")).public,
        not_before=now - 4 * YEAR,
        not_after=now - 2 * YEAR,
        serial=net.serial,
    )
    await net.append(entry)
    item = item_for(open_entry(entry, admin_public=net.admin.public, network=NETWORK))
    net.serial += 1
    await net.append(
        make_erasure(net.admin, network=NETWORK, erased=[item], erased_at=now, serial=net.serial)
    )
    return item.serial, entry


def _served_erased(serial: int) -> Any:
    """A hub that serves record `serial` as its leaf hash alone, with no erasure naming it."""

    def lie(method: str, path: str, said: Any) -> Any:
        if method != "GET" or not path.endswith(("/log", "/registry")):
            return said
        records = list(said["records"])
        body = records[serial - 1]
        leaf = base64.b64encode(record_leaf(body)).decode()
        records[serial - 1] = {"serial": serial, "leaf": leaf}
        return {**said, "records": records}

    return lie


def _people(agent: Any) -> set[str]:
    return {e.person for e in agent.core.session.directory.entries}


async def test_agents_before_and_after_an_erasure_verify_the_log_without_the_body(tmp_path):
    async with lying_hub(tmp_path) as (net, _proxy):
        net.clock.now = time.time()
        await net.client(fresh=True)
        async with running_agent(net, "anna", tmp_path) as anna:
            erased, _ = await _erase_an_old_entry(net)
            await anna.core.session.refresh_directory()  # from the view it remembered
            assert "Dora Gammal" not in _people(anna)
            assert anna.core.session.log.serial == erased + 1
        async with running_agent(net, "cecilia", tmp_path) as cecilia:  # a first start
            assert cecilia.core.session.log.serial == erased + 1
            assert {"anna", "bertil"} <= _people(cecilia)


@pytest.mark.parametrize("hidden", ["a revocation", "an entry"])
async def test_a_record_served_erased_without_an_erasure_is_refused(tmp_path, hidden):
    async with lying_hub(tmp_path) as (net, proxy):
        proxy.quiet = True
        net.clock.now = time.time()
        await net.client(fresh=True)
        await _erase_an_old_entry(net)  # a genuine erasure is there: it names another serial
        await net.revoke("bertil", at=int(net.clock.now))
        revocation = net.serial
        async with running_agent(net, "anna", tmp_path) as anna:
            before = anna.core.session.directory
            assert before.is_revoked(net.people["bertil"].key_id, int(net.clock.now))
            entry = next(e.serial for e in before.entries if e.person == "cecilia")
            proxy.lie(_served_erased(revocation if hidden == "a revocation" else entry))
            with pytest.raises(HubError) as refused:
                await anna.core.session.refresh_directory()
            assert refused.value.code == "log_erased_unexplained"
            assert refused.value.message == MESSAGES["log_erased_unexplained"]
            assert "raderad" in refused.value.message
            assert anna.core.session.directory is before  # the directory it had stays


async def test_an_erasure_calling_a_revocation_an_entry_is_refused_by_an_agent_that_saw_it(
    tmp_path,
):
    """The hub would refuse such an erasure (it holds the body), so the proxy serves the whole
    forged log: the revocation as its leaf hash, the erasure after it, a checkpoint the network
    key signed and a valid consistency proof. Anna's agent had verified the revocation and
    refuses (erasure_mismatch); an agent's first start cannot tell what a hash-only leaf held,
    the limit docs/protocol.md §12.11 states: it takes the erasure's word."""
    async with lying_hub(tmp_path) as (net, proxy):
        proxy.quiet = True
        net.clock.now = time.time()
        await net.client(fresh=True)
        now = int(net.clock.now)
        await net.revoke("bertil", at=now)
        revocation = net.serial
        async with running_agent(net, "anna", tmp_path) as anna:
            assert anna.core.session.log is not None
            assert anna.core.session.log.view is not None
            remembered = anna.core.session.log.view.checkpoint.size
            records = await (await net.client()).registry_records()
            leaf = leaf_of(records[revocation - 1])
            said = {
                "serial": revocation,
                "leaf": leaf.hex(),
                "kind": "directory-entry",
                "key_id": net.people["bertil"].key_id.hex(),
                "not_after": 0,
            }
            body = {"kind": "erasure", "network": NETWORK, "erased": [said], "erased_at": now}
            forged = sign_record({**body, "serial": len(records) + 1}, net.admin)
            served = [*records[: revocation - 1], Erased(revocation, leaf)]
            served += [*records[revocation:], forged]
            note = checkpoint_over(net.admin, NETWORK, served)
            proof = merkle.consistency_proof(remembered, [leaf_of(x) for x in served])
            items = [msgspec_dict(wire.SequenceItem.of(x)) for x in served]

            consistency = [base64.b64encode(h).decode() for h in proof]

            def lie(method: str, path: str, answer: Any) -> Any:
                if method == "GET" and path.endswith("/log"):
                    return {
                        **answer,
                        "checkpoint": note,
                        "records": items,
                        "consistency": consistency,
                    }
                if method == "GET" and path.endswith("/registry"):
                    return {**answer, "records": items}
                return answer

            proxy.lie(lie)
            with pytest.raises(HubError) as refused:
                await anna.core.session.refresh_directory()
            assert refused.value.code == "erasure_mismatch"
            assert "stämmer inte" in refused.value.message
        consistency.clear()  # a first start needs none, and asks again from the same size
        async with running_agent(net, "cecilia", tmp_path) as cecilia:  # the stated limit
            assert cecilia.core.session.log is not None
            assert cecilia.core.session.log.serial == len(served)


def msgspec_dict(item: wire.SequenceItem) -> dict[str, Any]:
    return dict(json.loads(wire.encode(item)))

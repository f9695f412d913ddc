"""A lying hub against the directory log with real `hub witness` processes (issue 14): a
withheld revocation caught within the freshness limit, a rollback refused with its evidence
sent to the witnesses, a fork the witnesses will not cosign and the agent that had seen the
other branch refusing it, one witness offline blocking nothing, and the quorum offline past the
limit holding back everything with content, with a message that says why."""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import pytest

from hub.client.admin_log import checkpoint_over
from hub.crypto.checkpoint import open_checkpoint
from hub.crypto.keys import dumps_public_signing_key
from hub.crypto.registry import Registry, make_settings
from hub.crypto.transparency import policy_of
from hub.errors import MESSAGES, HubError
from hub.inbox.pages.notices import notice_key
from hub.inbox.parts import LOG_VIEW
from hub.inbox.session import EVIDENCE_KEPT, WITNESSES_CHANGED
from hub.witness.service import EVIDENCE_NAME
from tests.hubnet import NETWORK
from tests.inboxnet import running_agent
from tests.lyinghub import log_as_served, lying_hub, older_view
from tests.witnessnet import running_witnesses

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

HOURS = 3_600


@asynccontextmanager
async def _witnessed(tmp_path) -> AsyncIterator[tuple[Any, Any, list[Any]]]:
    """A real hub behind the lying proxy, on the wall clock, with three witness processes that
    the signed settings name, once all three have cosigned the newest checkpoint."""
    async with lying_hub(tmp_path, witness_poll_seconds=1) as (net, proxy):
        net.clock.now = time.time()
        await net.client(fresh=True)
        pub = tmp_path / "network.pub"
        pub.write_text(dumps_public_signing_key(net.admin.public))
        async with running_witnesses(tmp_path, NETWORK, pub) as witnesses:
            await net.sign_settings(witnesses=[w.setting for w in witnesses])
            await _cosigned(net, 3)
            yield net, proxy, witnesses


async def _cosigned(net: Any, at_least: int) -> None:
    """Until `at_least` witnesses have cosigned the hub's newest checkpoint."""
    client = await net.client(fresh=True)
    records = await client.registry_records()
    policy = policy_of(Registry.load(net.admin.public, NETWORK, records).settings)
    for _ in range(300):
        view = await client.log()
        opened = open_checkpoint(
            view.checkpoint,
            admin_public=net.admin.public,
            network=NETWORK,
            witnesses=policy.witnesses,
        )
        if opened.checkpoint.size == len(records) and len(opened.cosigned) >= at_least:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {at_least} cosignatures")


async def _received(net: Any, person: str) -> list[Any]:
    return await (await net.client(person, fresh=True)).envelopes("inbox")


def _texts(agent: Any) -> list[str]:
    return [n["text"] for n in agent.core.notices]


async def test_a_withheld_revocation_is_caught_within_the_limit(tmp_path):
    """The hub keeps showing Anna the view from before Bertil's revocation (it cannot forge a
    newer one). The witnesses cosign only the newest, so the view Anna is shown stops being
    confirmed: past the network's limit her inquiry to Kommun B is held back, with a message
    that says why, and nothing is sealed to Bertil's revoked key."""
    async with _witnessed(tmp_path) as (net, proxy, _witnesses):
        proxy.quiet = True  # the live channel's "the directory changed" is withheld too
        async with running_agent(net, "anna", tmp_path) as anna:
            withheld = await log_as_served(net)
            await net.revoke("bertil", at=int(net.clock.now))
            await _cosigned(net, 3)
            proxy.lie(older_view(withheld))
            net.clock.now += 7 * HOURS
            await anna.core.send_inquiry({"bakgrund_till_placering": "x"}, [], ["kommun-b"])
            assert MESSAGES["checkpoint_stale"] in _texts(anna)
            assert len(await anna.core.cache.outbox()) == 1  # it waits; nothing was sealed
        sent = await (await net.client("anna", fresh=True)).envelopes("sent")
        assert sent == []  # nothing reached the hub, so nothing for Bertil's revoked key


async def test_a_rollback_is_refused_and_the_evidence_goes_to_the_witnesses(tmp_path):
    async with _witnessed(tmp_path) as (net, proxy, witnesses):
        older = await log_as_served(net)
        async with running_agent(net, "anna", tmp_path) as anna:
            await net.revoke("bertil", at=int(net.clock.now))
            await _cosigned(net, 3)
            await anna.core.session.refresh_directory()
            proxy.lie(older_view(older))
            with pytest.raises(HubError) as refused:
                await anna.core.session.refresh_directory()
            assert refused.value.code == "checkpoint_rolled_back"
            kept = json.loads(await anna.core.cache.get_value(LOG_VIEW, ""))
        assert [e["code"] for e in kept["evidence"]] == ["checkpoint_rolled_back"]
        for witness in witnesses:
            sent = [
                json.loads(line)
                for line in (witness.folder / EVIDENCE_NAME).read_text().splitlines()
            ]
            assert sent[0]["offered"] == older["checkpoint"]


async def test_a_fork_is_refused_by_the_agent_that_saw_the_other_branch(tmp_path):
    """A coerced administrator signs two different records at the same serial; the hub shows
    Bertil one branch and Anna, who had seen the first, the other. The witnesses cosigned the
    first branch only, so the second never reaches the quorum: Anna refuses it and keeps the
    view she had, and Bertil sees the first."""
    async with _witnessed(tmp_path) as (net, proxy, witnesses):
        admin = await net.client()
        records = await admin.registry_records()
        first = make_settings(
            net.admin,
            network=NETWORK,
            serial=len(records) + 1,
            answer_days=20,
            witnesses=[w.setting for w in witnesses],
        )
        await net.append(first)
        net.serial += 1
        await _cosigned(net, 3)
        other = make_settings(
            net.admin,
            network=NETWORK,
            serial=len(records) + 1,
            answer_days=60,
            witnesses=[w.setting for w in witnesses],
        )
        forked_records = [*records, other]
        fork_note = checkpoint_over(net.admin, NETWORK, forked_records)

        async with running_agent(net, "anna", tmp_path) as anna:
            assert anna.core.deadline_rules.answer_days == 20

            def fork(method: str, path: str, said: Any) -> Any:
                if method == "GET" and path.endswith("/log"):
                    return {
                        "network": NETWORK,
                        "checkpoint": fork_note,
                        "consistency": [],
                        "records": forked_records,
                    }
                if method == "GET" and path.endswith("/registry"):
                    return {**said, "records": forked_records}
                return said

            proxy.lie(fork)
            with pytest.raises(HubError) as refused:
                await anna.core.session.refresh_directory()
            # The fork carries no witness's cosignature: refused before it is even compared.
            assert refused.value.code == "cosignature_quorum_missing"
            assert anna.core.deadline_rules.answer_days == 20
        proxy.lies.clear()
        async with running_agent(net, "bertil", tmp_path) as bertil:
            assert bertil.core.deadline_rules.answer_days == 20


async def test_one_witness_offline_blocks_nothing(tmp_path):
    async with _witnessed(tmp_path) as (net, _proxy, witnesses):
        await witnesses[0].stop()
        await net.revoke("cecilia", at=int(net.clock.now))
        await _cosigned(net, 2)
        async with running_agent(net, "anna", tmp_path) as anna:
            await anna.core.send_inquiry({"bakgrund_till_placering": "x"}, [], ["kommun-b"])
            assert await anna.core.cache.outbox() == []
        assert len(await _received(net, "bertil")) == 1


async def test_the_quorum_offline_past_the_limit_holds_back_content_and_says_why(tmp_path):
    """Past the limit an inquiry (content) waits and the page says why; a withdrawal queued
    after it carries no content and still goes."""
    async with _witnessed(tmp_path) as (net, _proxy, witnesses):
        async with running_agent(net, "anna", tmp_path) as anna:
            first = await anna.core.send_inquiry({"bakgrund_till_placering": "x"}, [], ["kommun-b"])
            assert await anna.core.cache.outbox() == []
            await witnesses[0].stop()
            await witnesses[1].stop()
            net.clock.now += 7 * HOURS
            await anna.core.send_inquiry({"bakgrund_till_placering": "y"}, [], ["kommun-b"])
            assert MESSAGES["checkpoint_stale"] in _texts(anna)
            assert len(await anna.core.cache.outbox()) == 1
            await anna.core.answer(first, "withdraw", target="kommun-b", document=None)
            assert len(await anna.core.cache.outbox()) == 1  # the inquiry still waits
            [view] = [
                v for v in await (await net.client("anna")).cases() if v.case_id == first.hex()
            ]
            assert [r.state for r in view.requests] == ["withdrawn"]
            await anna.login()
            _, page = await anna.page("/")
            assert "bekräftats av nätverkets kontrollanter" in page  # the page says why
        assert len(await _received(net, "bertil")) == 1  # the first only


async def test_a_fork_without_witnesses_is_refused_as_a_fork_and_kept_as_evidence(tmp_path):
    """Before the network names witnesses, the checkpoint the agent remembers is what catches a
    fork: the same size with another root, both signed by the network key, is refused
    (checkpoint_fork) and both notes are kept in the inbox's cache."""
    async with lying_hub(tmp_path) as (net, proxy):
        proxy.quiet = True  # no live "directory changed": the test's refresh is the only one
        records = await (await net.client()).registry_records()
        async with running_agent(net, "anna", tmp_path) as anna:
            first = await log_as_served(net)
            other = make_settings(net.admin, network=NETWORK, serial=len(records), answer_days=60)
            forked_records = [*records[:-1], other]
            fork_note = checkpoint_over(net.admin, NETWORK, forked_records)

            def fork(method: str, path: str, said: Any) -> Any:
                if method == "GET" and path.endswith("/log"):
                    return {**said, "checkpoint": fork_note, "records": forked_records}
                if method == "GET" and path.endswith("/registry"):
                    return {**said, "records": forked_records}
                return said

            proxy.lie(fork)
            with pytest.raises(HubError) as refused:
                await anna.core.session.refresh_directory()
            assert refused.value.code == "checkpoint_fork"
            assert "olika kataloger" in refused.value.message
            assert any(EVIDENCE_KEPT in text for text in _texts(anna))  # shown to Anna
            kept = json.loads(await anna.core.cache.get_value(LOG_VIEW, ""))
            assert kept["evidence"] == [
                {"code": "checkpoint_fork", "remembered": first["checkpoint"], "offered": fork_note}
            ]
            assert anna.core.deadline_rules.answer_days == 14  # the first branch's settings
        proxy.lies.clear()
        async with running_agent(net, "anna", tmp_path) as anna:  # shown after a restart too
            await anna.login()
            _, page = await anna.page("/")
            assert EVIDENCE_KEPT in page
            # Anna closes it: it stays closed, also after a restart; the evidence stays kept.
            [evidence] = [n for n in anna.core.notices if EVIDENCE_KEPT in n["text"]]
            assert f'value="{notice_key(evidence)}"' in page  # its Stäng button
            await anna.post("/meddelande/stang", {"notice": notice_key(evidence), "back": "/"})
            _, page = await anna.page("/")
            assert EVIDENCE_KEPT not in page
        async with running_agent(net, "anna", tmp_path) as anna:
            await anna.login()
            _, page = await anna.page("/")
            assert EVIDENCE_KEPT not in page
            kept = json.loads(await anna.core.cache.get_value(LOG_VIEW, ""))
            assert [e["code"] for e in kept["evidence"]] == ["checkpoint_fork"]


async def test_a_key_added_behind_a_municipalitys_back_stays_a_notice_until_acknowledged(tmp_path):
    """The administrator's key signs a new key for Kommun A without Anna's knowledge (coerced,
    careless or stolen). Anna's inbox finds it in the directory it verified itself, never in a
    list the hub gives it, and says so on every page, across a restart, until she acknowledges
    it. Keys for other municipalities, and what was there when she started, are no news."""
    async with lying_hub(tmp_path) as (net, proxy):

        def hide_from_lists(method: str, path: str, said: Any) -> Any:
            # The hub says nothing of it anywhere but the signed records it must serve.
            if method == "GET" and path.endswith("/municipalities"):
                return {"municipalities": []}
            return said

        proxy.lie(hide_from_lists)
        async with running_agent(net, "anna", tmp_path) as anna:
            await anna.login()
            assert not [t for t in _texts(anna) if "nyckel för" in t]
            await net.enrol("mallory", "kommun-a")
            await net.enrol("dora", "kommun-c")  # another municipality's: no news for Anna
            await anna.core.sync()
            mallory = net.people["mallory"].public.key_id.hex()[:8]
            news = [t for t in _texts(anna) if "nyckel för" in t]
            assert len(news) == 1
            assert news[0].startswith("En ny nyckel för Kommun A har lagts till: mallory")
            assert mallory in news[0]
            _, page = await anna.page("/")
            assert "En ny nyckel för Kommun A har lagts till" in page
        async with running_agent(net, "anna", tmp_path) as anna:  # after a restart: still there
            await anna.login()
            _, page = await anna.page("/nycklar")
            assert "Ändringar för din egen kommun" in page
            serial = int(page.split("/nycklar/bekraftad/")[1].split('"')[0])
            status, page = await anna.post(f"/nycklar/bekraftad/{serial}", {})
            assert status == 200
            assert "Ändringar för din egen kommun" not in page
            assert not [t for t in _texts(anna) if "nyckel för" in t]
            await net.revoke("mallory", at=int(net.clock.now))
            await anna.core.sync()
            news = [t for t in _texts(anna) if "nyckel för" in t]
            assert len(news) == 1
            assert news[0].startswith("En nyckel för Kommun A har återkallats: mallory")


async def test_a_new_witness_set_takes_effect_only_through_the_old_quorum_and_is_shown(tmp_path):
    """The administrator names three new witnesses. While two of the old ones are offline, the
    checkpoint that carries the change has only the new set's cosignatures, and Anna's inbox,
    which counts the old set, does not take it. Once the old quorum has cosigned it (the hub
    asks the old set too), she takes it, says so, and from then on counts the new set."""
    async with _witnessed(tmp_path) as (net, _proxy, old):
        pub = tmp_path / "network.pub"
        async with (
            running_witnesses(tmp_path, NETWORK, pub, first=4) as new,
            running_agent(net, "anna", tmp_path) as anna,
        ):
            await old[0].stop()
            await old[1].stop()
            await net.sign_settings(witnesses=[w.setting for w in new])
            await _cosigned_by(net, [w.name for w in new])
            with pytest.raises(HubError) as refused:
                await anna.core.session.refresh_directory()
            assert refused.value.code == "cosignature_quorum_missing"
            assert anna.core.session.verified_log.policy.witnesses[0].name == old[0].name

            await old[0].start()
            await old[1].start()
            await _cosigned_by(net, [old[0].name, old[1].name])
            await anna.core.session.refresh_directory()
            assert [w.name for w in anna.core.session.verified_log.policy.witnesses] == [
                w.name for w in new
            ]
            assert any(WITNESSES_CHANGED in t for t in _texts(anna))

            for witness in old:  # the old set gone for good: the new one carries on
                await witness.stop()
            await net.revoke("cecilia", at=int(net.clock.now))
            await _cosigned_by(net, [w.name for w in new[:2]])
            await anna.core.session.refresh_directory()
            assert anna.core.session.known_serial == net.serial


async def _cosigned_by(net: Any, names: list[str]) -> None:
    """Until the hub serves the newest checkpoint with a line from each named witness."""
    client = await net.client(fresh=True)
    size = len(await client.registry_records())
    for _ in range(400):
        view = await client.log()
        lines = view.checkpoint.split("\n\n", 1)[1].splitlines()
        if view.checkpoint.split("\n")[1] == str(size) and all(
            any(line.split(" ")[1] == name for line in lines) for name in names
        ):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not cosigned by {names}")


async def test_the_county_boards_inbox_also_refuses_an_older_view_after_a_restart(tmp_path):
    """The county board's agent keeps its verified view in its cache too (AgentParts), so a
    hub that serves it the view from before a revocation after a restart is refused."""
    async with lying_hub(tmp_path) as (net, proxy):
        await net.enrol("gun", "lansstyrelsen", role="county_board")
        before = await log_as_served(net)
        async with running_agent(net, "gun", tmp_path, board=True) as gun:
            await net.revoke("bertil", at=int(net.clock.now))
            await gun.core.session.refresh_directory()
            assert gun.core.session.known_serial == net.serial
        proxy.lie(older_view(before))
        with pytest.raises(HubError) as refused:
            async with running_agent(net, "gun", tmp_path, board=True):
                pass
        assert refused.value.code == "checkpoint_rolled_back"

"""Colleagues hand over by themselves (issue 17): Kommun B has two contact persons, Bertil and
Britta. Bertil leaves; his successor Bo gets a key. Britta's inbox, at its next sync, hands Bo
the file keys of the open case's envelopes sealed before his key existed, and Bo's inbox opens
them with the original sender's signature checked. Nobody is asked to do anything; the tests
only rotate and wait for the agents' own syncs."""

from __future__ import annotations

from hub.crypto.format import MessageKind
from hub.inbox.handover import HANDED_TO
from tests.hubnet import running_hub
from tests.inboxnet import page_text as _text
from tests.inboxnet import running_agent
from tests.lyinghub import lying_hub, once

INQUIRY = {"bakgrund_till_placering": "Behöver ett nytt boende snabbt"}


async def test_the_remaining_colleague_hands_over_and_the_successor_reads_and_answers(tmp_path):
    async with running_hub(tmp_path) as net:
        async with (
            running_agent(net, "anna", tmp_path) as anna,
            running_agent(net, "britta", tmp_path) as britta,
        ):
            case_id = await anna.core.send_inquiry(INQUIRY, [], ["kommun-b"])
            await britta.core.sync()
            assert await britta.core.cache.get_case(case_id) is not None

            # Bertil leaves; Bo gets a key. Britta's inbox hands over at its next sync, once.
            await net.enrol("bo", "kommun-b")
            net.active.add("bo")
            await net.revoke("bertil", at=int(net.clock.now), reason="left")
            net.active.discard("bertil")
            await britta.core.sync()
            await britta.core.sync()  # again: nothing twice
            sent = await (await net.client("britta")).envelopes("sent")
            rewraps = [e for e in sent if e.kind == MessageKind.REWRAP]
            assert len(rewraps) == 1
            assert await britta.core.cache.outbox() == []
            assert net.people["bo"].key_id.hex() in await britta.core.cache.get_value(HANDED_TO)

        async with running_agent(net, "bo", tmp_path) as bo:
            await bo.login()
            held = await bo.core.cache.envelopes_of_case(case_id)
            inquiry = [e for e in held if e.kind == MessageKind.INQUIRY]
            assert len(inquiry) == 1
            assert inquiry[0].sender == "kommun-a"  # the original signature, checked
            assert await bo.core.cache.refused_of_case(case_id) == []
            _, page = await bo.page(f"/arende/{case_id.hex()}")
            assert INQUIRY["bakgrund_till_placering"] in _text(page)

            # Bo answers in the same chain, and Anna sees it.
            await bo.core.answer(
                case_id,
                "decline",
                target="kommun-b",
                document={"reason": "quota_reached", "motivation": "Kvoten är fylld i år."},
                details={"reason": "quota_reached"},
            )
        async with running_agent(net, "anna", tmp_path / "again") as anna:
            kept = await anna.core.cache.get_case(case_id)
            assert kept is not None
            assert [r["state"] for r in kept["requests"]] == ["declined"]


async def test_a_handover_interrupted_midway_resumes_without_doubling(tmp_path):
    """The rewrap's upload reaches the hub but its answer is lost: the handover waits in the
    outbox and goes again as the same sealed bytes at the next sync; the hub holds one rewrap,
    and the successor reads the inquiry."""
    async with lying_hub(tmp_path) as (net, proxy):
        async with (
            running_agent(net, "anna", tmp_path) as anna,
            running_agent(net, "britta", tmp_path) as britta,
        ):
            case_id = await anna.core.send_inquiry(INQUIRY, [], ["kommun-b"])
            await britta.core.sync()
            await net.enrol("bo", "kommun-b")
            net.active.add("bo")
            proxy.swallow.append(once("POST", "/api/v1/envelopes"))
            await britta.core.sync()
            assert len(await britta.core.cache.outbox()) == 1  # the lost answer: it waits
            await britta.core.flush_outbox()
            assert await britta.core.cache.outbox() == []
            sent = await (await net.client("britta")).envelopes("sent")
            assert len([e for e in sent if e.kind == MessageKind.REWRAP]) == 1
        async with running_agent(net, "bo", tmp_path) as bo:
            held = await bo.core.cache.envelopes_of_case(case_id)
            assert [e.kind for e in held if e.kind == MessageKind.INQUIRY] == [MessageKind.INQUIRY]


async def test_a_rewrap_from_another_municipality_is_not_taken(tmp_path):
    """Only a colleague hands over (docs/protocol.md §6): Kommun A, which sealed the inquiry and
    holds its file key, sends Bo a rewrap of it; Bo's inbox keeps the envelope but opens
    nothing with it, and the inquiry stays refused as not sealed to his key."""
    async with running_hub(tmp_path) as net:
        async with running_agent(net, "anna", tmp_path) as anna:
            case_id = await anna.core.send_inquiry(INQUIRY, [], ["kommun-b"])
        await net.enrol("bo", "kommun-b")
        net.active.add("bo")
        await net.revoke("bertil", at=int(net.clock.now), reason="left")
        net.active.discard("bertil")
        [inquiry] = await (await net.client("anna")).envelopes("sent")
        message_id = bytes.fromhex(inquiry.message_id)
        await net.rewrap_by_hand(
            "anna", message_id, to="kommun-b", case_id=case_id, workdir=tmp_path
        )
        async with running_agent(net, "bo", tmp_path) as bo:
            held = await bo.core.cache.envelopes_of_case(case_id)
            assert [e.kind for e in held] == [MessageKind.REWRAP]  # kept, used for nothing
            assert message_id in await bo.core.cache.refused_ids("envelope_not_recipient")


async def test_what_only_an_earlier_key_opens_is_handed_on_to_a_new_colleague(tmp_path):
    """Bertil, alone at Kommun B, has his laptop stolen: his new key's inbox opens the open
    inquiry with his earlier key, kept only to open (hub.localagent.previous_keys). When Bodil
    joins B later, his inbox hands her that inquiry's file key too, and she reads it."""
    async with running_hub(tmp_path) as net:
        await net.revoke("britta", at=int(net.clock.now), reason="left")
        net.active.discard("britta")
        async with running_agent(net, "anna", tmp_path) as anna:
            case_id = await anna.core.send_inquiry(INQUIRY, [], ["kommun-b"])
        old = net.people["bertil"]
        net.clock.now += 120
        await net.enrol("bertil-ny", "kommun-b")
        net.active.add("bertil-ny")
        await net.revoke("bertil", at=int(net.clock.now), reason="compromised")
        async with running_agent(net, "bertil-ny", tmp_path, previous=(old,)) as bertil:
            assert await bertil.core.cache.get_case(case_id) is not None  # opened with the old key
            await net.enrol("bodil", "kommun-b")
            net.active.add("bodil")
            await bertil.core.sync()
        async with running_agent(net, "bodil", tmp_path) as bodil:
            held = await bodil.core.cache.envelopes_of_case(case_id)
            assert [e.kind for e in held if e.kind == MessageKind.INQUIRY] == [MessageKind.INQUIRY]

"""The other side hands over when nobody at home can (issue 17, docs/protocol.md §6).

Kommun B has one contact person, Bertil. Anna (Kommun A) asks B and C; Cecilia (C) accepts, and
Bertil writes to Anna. Then Bertil's laptop is stolen: the administrator enrols his successor
Bo, revokes Bertil's key as compromised and signs a handover for B with `hub admin handover`.
Anna's inbox, at its own next sync, hands Bo the file keys of what passed between A and B; Bo's
inbox opens the originals with their signatures checked, and he answers in the same chain.
The tests only rotate, record the handover and let the agents sync as they always do."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.crypto.format import MessageKind
from hub.crypto.handover_record import make_handover
from hub.inbox.handover import RESEND_ADVICE
from hub.protocol.case_reference import case_reference
from tests.hubnet import NETWORK, running_hub
from tests.inboxnet import page_text, running_agent
from tests.lyinghub import lying_hub, once
from tests.test_admin import ADMIN, admin_setup

if TYPE_CHECKING:
    from pathlib import Path

    from tests.hubnet import HubNet

INQUIRY = {"bakgrund_till_placering": "Behöver ett nytt boende snabbt"}
BERTILS_WORDS = "Vi har en lägenhet som kan passa, återkommer i veckan."


async def only_bertil_holds_b(net: HubNet) -> None:
    """Britta left long ago, handed over: B's one contact person is Bertil."""
    await net.revoke("britta", at=int(net.clock.now), reason="left")
    net.active.discard("britta")


async def open_case_with_a_thread(net: HubNet, tmp_path: Path) -> bytes:
    """A asks B and C; C accepts; Bertil writes to A. Every agent has synced."""
    async with (
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
        running_agent(net, "cecilia", tmp_path) as cecilia,
    ):
        case_id = await anna.core.send_inquiry(INQUIRY, [], ["kommun-b", "kommun-c"])
        await bertil.core.sync()
        await cecilia.core.sync()
        await cecilia.core.answer(
            case_id, "accept", target="kommun-c", document={"decision": "yes"}
        )
        await bertil.core.send_message(case_id, "kommun-b", {"message": BERTILS_WORDS}, [])
        await anna.core.sync()
    return case_id


async def bertil_is_lost(net: HubNet) -> None:
    """Minutes later Bertil's laptop is stolen: revoked as compromised from then."""
    net.clock.now += 120
    await net.enrol("bo", "kommun-b")
    net.active.add("bo")
    await net.revoke("bertil", at=int(net.clock.now), reason="compromised")
    net.active.discard("bertil")


async def sign_handover(net: HubNet, municipality: str) -> None:
    admin = await net.client()
    registry = await admin.registry(net.admin.public)
    net.serial = registry.serial + 1
    await net.append(
        make_handover(
            net.admin,
            network=NETWORK,
            municipality=municipality,
            to_keys=[
                e.key_id for e in registry.directory.valid_keys(municipality, int(net.clock.now))
            ],
            serial=net.serial,
        )
    )


async def _rewraps_sent(net: HubNet, person: str) -> list[object]:
    sent = await (await net.client(person)).envelopes("sent")
    return [e for e in sent if e.kind == MessageKind.REWRAP]


async def test_the_other_side_hands_over_and_the_successor_reads_and_answers(tmp_path):
    async with admin_setup(tmp_path) as s:
        net = s.net
        await only_bertil_holds_b(net)
        case_id = await open_case_with_a_thread(net, tmp_path)
        await bertil_is_lost(net)
        signed = await s.hub("admin", "handover", "kommun-b", "--yes", *ADMIN)
        assert signed.returncode == 0, signed.stderr
        assert "Överlämningen för kommun-b är signerad" in signed.stdout
        assert "bo, fingeravtryck" in signed.stdout
        shown = await s.hub("admin", "directory", *ADMIN)
        assert "Överlämningar" in shown.stdout
        assert "Kommun B (kommun-b) till bo (post" in shown.stdout

        # A's and C's inboxes sync as they start: A hands over once, C (no thread with B) not.
        async with (
            running_agent(net, "anna", tmp_path) as anna,
            running_agent(net, "cecilia", tmp_path) as cecilia,
        ):
            await anna.core.sync()  # again: nothing twice
            await cecilia.core.sync()
            [rewrap] = await _rewraps_sent(net, "anna")
            assert rewrap.to == ["kommun-b"]
            assert await _rewraps_sent(net, "cecilia") == []
            assert await anna.core.cache.outbox() == []

        async with running_agent(net, "bo", tmp_path) as bo:
            held = {e.kind: e for e in await bo.core.cache.envelopes_of_case(case_id)}
            # The originals, with their senders' signatures checked: no one re-sealed them.
            assert held[MessageKind.INQUIRY].sender == "kommun-a"
            assert held[MessageKind.MESSAGE].sender == "kommun-b"
            assert await bo.core.cache.refused_of_case(case_id) == []
            await bo.login()
            _, page = await bo.page(f"/arende/{case_id.hex()}")
            text = page_text(page)
            assert INQUIRY["bakgrund_till_placering"] in text
            assert BERTILS_WORDS in text
            assert "Kommun C" not in text  # B never learns whom else A asked
            assert RESEND_ADVICE not in text  # nothing is missing

            await bo.core.answer(
                case_id,
                "decline",
                target="kommun-b",
                document={"reason": "quota_reached", "motivation": "Kvoten är fylld i år."},
                details={"reason": "quota_reached"},
            )
        async with running_agent(net, "anna", tmp_path) as anna:
            kept = await anna.core.cache.get_case(case_id)
            assert kept is not None
            states = {r["municipality"]: r["state"] for r in kept["requests"]}
            assert states == {"kommun-b": "declined", "kommun-c": "accepted"}


async def test_what_a_sender_no_longer_holds_is_listed_on_both_sides(tmp_path):
    """Anna's own copy of her message to B is gone from her disk: the rest is handed over, and
    both Anna's and Bo's inboxes say in Swedish that one message could not be."""
    async with running_hub(tmp_path) as net:
        await only_bertil_holds_b(net)
        case_id = await open_case_with_a_thread(net, tmp_path)
        async with running_agent(net, "anna", tmp_path) as anna:
            await anna.core.send_message(case_id, "kommun-b", {"message": "Hur stor är den?"}, [])
            await anna.core.sync()
            [lost] = [
                e
                for e in await anna.core.cache.envelopes_of_case(case_id)
                if e.kind == MessageKind.MESSAGE and e.sender == "kommun-a"
            ]
            anna.core.cache.envelope_path(lost.message_id).unlink()
        await bertil_is_lost(net)
        await sign_handover(net, "kommun-b")
        reference = case_reference(case_id)

        async with running_agent(net, "anna", tmp_path) as anna:
            assert len(await _rewraps_sent(net, "anna")) == 1
            await anna.login()
            _, page = await anna.page("/")
            text = page_text(page)
            assert f"Ärende {reference}: 1 meddelande mellan er och Kommun B" in text
            assert "kunde inte lämnas över till den nya kontaktpersonen där" in text

        async with running_agent(net, "bo", tmp_path) as bo:
            kinds = sorted(e.kind for e in await bo.core.cache.envelopes_of_case(case_id))
            assert MessageKind.INQUIRY in kinds
            assert kinds.count(MessageKind.MESSAGE) == 1  # Bertil's; Anna's could not come
            assert lost.message_id in await bo.core.cache.refused_ids("envelope_not_recipient")
            await bo.login()
            _, page = await bo.page("/")
            text = page_text(page)
            assert f"Ärende {reference} (enligt hubben): 1 meddelande i ärendet kan inte" in text
            assert "Be den andra kommunen skicka det på nytt" in text


async def test_a_rewrap_of_another_municipalitys_thread_is_refused(tmp_path):
    """Under a handover for B, Anna may hand Bo only what passed between A and B. A REWRAP from
    Anna carrying the file key of Cecilia's message to B (which Cecilia could give her) opens
    nothing: Bo's inbox refuses it as not A's to hand."""
    async with running_hub(tmp_path) as net:
        await only_bertil_holds_b(net)
        async with (
            running_agent(net, "bertil", tmp_path) as bertil,
            running_agent(net, "cecilia", tmp_path) as cecilia,
        ):
            case_id = await bertil.core.send_inquiry(INQUIRY, [], ["kommun-a", "kommun-c"])
            await cecilia.core.sync()
            await cecilia.core.send_message(case_id, "kommun-c", {"message": "Vi har plats."}, [])
        client = await net.client("cecilia")
        [message] = [e for e in await client.envelopes("sent") if e.kind == MessageKind.MESSAGE]
        message_id = bytes.fromhex(message.message_id)
        await bertil_is_lost(net)
        await sign_handover(net, "kommun-b")
        await net.rewrap_by_hand(
            "cecilia", message_id, to="kommun-b", case_id=case_id, workdir=tmp_path, by="anna"
        )

        async with running_agent(net, "bo", tmp_path) as bo:
            refused = await bo.core.cache.refused_ids("envelope_handover_not_allowed")
            assert message_id in refused
            held = await bo.core.cache.envelopes_of_case(case_id)
            assert MessageKind.MESSAGE not in {e.kind for e in held}


async def test_no_handover_to_a_key_revoked_since_the_record(tmp_path):
    """The record names Bo; Bo's key is revoked before Anna's inbox syncs. Nothing is sent to
    it (the hub would refuse it too); a new record for the next successor is needed."""
    async with running_hub(tmp_path) as net:
        await only_bertil_holds_b(net)
        await open_case_with_a_thread(net, tmp_path)
        await bertil_is_lost(net)
        await sign_handover(net, "kommun-b")
        await net.revoke("bo", at=int(net.clock.now), reason="left")
        net.active.discard("bo")
        await net.enrol("bea", "kommun-b")
        async with running_agent(net, "anna", tmp_path):
            assert await _rewraps_sent(net, "anna") == []
        await sign_handover(net, "kommun-b")
        async with running_agent(net, "anna", tmp_path):
            assert len(await _rewraps_sent(net, "anna")) == 1


async def test_an_interrupted_handover_resumes_without_doubling(tmp_path):
    """The REWRAP's upload reaches the hub but its answer is lost: it waits in the outbox and
    goes again as the same sealed bytes; the hub holds one, and Bo reads the inquiry."""
    async with lying_hub(tmp_path) as (net, proxy):
        await only_bertil_holds_b(net)
        case_id = await open_case_with_a_thread(net, tmp_path)
        await bertil_is_lost(net)
        await sign_handover(net, "kommun-b")
        proxy.swallow.append(once("POST", "/api/v1/envelopes"))
        async with running_agent(net, "anna", tmp_path) as anna:
            assert len(await anna.core.cache.outbox()) == 1
        async with running_agent(net, "anna", tmp_path) as anna:  # restarted: it resumes
            await anna.core.flush_outbox()
            assert await anna.core.cache.outbox() == []
            assert len(await _rewraps_sent(net, "anna")) == 1
        async with running_agent(net, "bo", tmp_path) as bo:
            kinds = [e.kind for e in await bo.core.cache.envelopes_of_case(case_id)]
            assert kinds.count(MessageKind.INQUIRY) == 1

"""A lying hub and the signed lifecycle (issue 13): real agents and a real hub behind
tests/lyinghub.py. For each lie about a case's state: what the person sees, and that no state
is shown and no step is signed on the hub's word."""

from __future__ import annotations

import re
from typing import Any

import pytest

from hub.crypto.steps import make_step, step_digest
from tests.hubnet import NETWORK
from tests.inboxnet import page_text as _text
from tests.inboxnet import running_agent
from tests.lyinghub import in_case_views, in_listing, in_steps, lying_hub
from tests.test_lying_hub import signed_in_pair

DECLINE = {"reason": "quota_reached", "motivation": "Kvoten är fylld i år."}


@pytest.fixture
async def liar(tmp_path):
    async with lying_hub(tmp_path) as (net, proxy):
        yield net, proxy


def _request_box(page: str, name: str) -> str:
    """The text of one request's box on the case page ("Kommun B" …)."""
    boxes = re.findall(r'<section class="request".*?</section>', page, re.DOTALL)
    return next(_text(b) for b in boxes if name in b)


async def _declined_by_b(anna, bertil) -> bytes:
    """A asks B; B's inbox takes the inquiry (and signs its delivery), the person reads it and
    declines; A's inbox fetches it all."""
    case_id = await anna.core.send_inquiry(
        {"bakgrund_till_placering": "Bakgrund"}, [], ["kommun-b"]
    )
    await bertil.core.sync()
    await bertil.core.mark_read(case_id)
    await bertil.core.answer(
        case_id, "decline", target="kommun-b", document=DECLINE, details={"reason": "quota_reached"}
    )
    await anna.core.sync()
    return case_id


def _accepted_with_confirm(view: dict[str, Any]) -> dict[str, Any]:
    requests = [
        {**r, "state": "accepted", "allowed_events": ["confirm", "decline_offer", "withdraw"]}
        for r in view["requests"]
    ]
    return {**view, "requests": requests}


async def test_a_false_accept_is_a_warning_and_offers_no_confirm(liar, tmp_path):
    """B's signed answer is no; the hub says B accepted and that A may confirm. A's page shows
    "Nekad", warns that the hub said otherwise, and offers no Bekräfta: nothing could be
    signed on the hub's word."""
    net, proxy = liar
    async with signed_in_pair(net, tmp_path) as (anna, bertil):
        case_id = await _declined_by_b(anna, bertil)
        proxy.lie(in_case_views(_accepted_with_confirm))
        await anna.core.sync()
        _, page = await anna.page(f"/arende/{case_id.hex()}")
        assert "Läge: Nekad" in _request_box(page, "Kommun B")
        assert "Hubbens uppgifter om ärendet stämde inte" in _text(page)
        assert "/confirm" not in page
        assert "Tacka ja till erbjudandet" not in page


async def test_a_false_close_elsewhere_is_not_believed_by_the_receiver(liar, tmp_path):
    """The hub tells B its request closed with another municipality while A's signed steps say
    nothing of the kind: B's page still shows the inquiry as B's to answer (opening it signs
    B's read step)."""
    net, proxy = liar
    async with signed_in_pair(net, tmp_path) as (anna, bertil):
        case_id = await anna.core.send_inquiry({"bakgrund_till_placering": "B"}, [], ["kommun-b"])
        await bertil.core.sync()

        def closed(view: dict[str, Any]) -> dict[str, Any]:
            requests = [
                {**r, "state": "closed_elsewhere", "allowed_events": []} for r in view["requests"]
            ]
            return {**view, "requests": requests}

        proxy.lie(in_case_views(closed))
        await bertil.core.sync()
        _, page = await bertil.page(f"/arende/{case_id.hex()}")
        box = _request_box(page, "Kommun B")
        assert "Läge: Läst" in box
        assert "Avslutad" not in box
        assert f'action="/arende/{case_id.hex()}/accept"' in page


async def test_a_hub_that_leaves_out_every_state_field_changes_nothing_on_the_pages(liar, tmp_path):
    """The states, histories and actions come from the signed steps: a proxy that deletes
    every state field from the hub's answers leaves A's and B's pages exactly as they were."""
    net, proxy = liar
    async with signed_in_pair(net, tmp_path) as (anna, bertil):
        case_id = await _declined_by_b(anna, bertil)
        path = f"/arende/{case_id.hex()}"
        before = {
            a.person: (_text((await a.page(path))[1]), _text((await a.page("/"))[1]))
            for a in (anna, bertil)
        }

        def stateless(view: dict[str, Any]) -> dict[str, Any]:
            kept = {k: v for k, v in view.items() if k in {"case_id", "from", "step_count"}}
            return {
                **kept,
                "requests": [{"municipality": r["municipality"]} for r in view["requests"]],
            }

        proxy.lie(in_case_views(stateless))
        for agent in (anna, bertil):
            await agent.core.refresh_case(case_id)
            await agent.core.sync()
        after = {
            a.person: (_text((await a.page(path))[1]), _text((await a.page("/"))[1]))
            for a in (anna, bertil)
        }
        assert after == before
        assert "Läge: Nekad" in before["anna"][0]


async def test_a_rolled_back_chain_changes_nothing_and_a_dropped_step_shows_a_gap(liar, tmp_path):
    """The hub serves A only the first step of B's request again: A keeps what it verified.
    A second inbox of A's that never saw the chain is served it with the delivery left out:
    it shows the state only as far as the chain reaches, and says a message is missing."""
    net, proxy = liar
    async with signed_in_pair(net, tmp_path) as (anna, bertil):
        case_id = await _declined_by_b(anna, bertil)
        proxy.lie(in_steps(lambda steps: steps[:1]))
        await anna.core.refresh_case(case_id)
        _, page = await anna.page(f"/arende/{case_id.hex()}")
        assert "Läge: Nekad" in _request_box(page, "Kommun B")

        proxy.lies.clear()
        proxy.lie(in_steps(lambda steps: [steps[0], *steps[2:]]))
        async with running_agent(net, "anna", tmp_path / "second") as second:
            await second.login()
            _, page = await second.page(f"/arende/{case_id.hex()}")
        assert "Läge: Skickad" in _request_box(page, "Kommun B")
        assert "Ett meddelande i ärendet saknas" in _text(page)
        assert "/confirm" not in page


async def test_a_fork_is_conflicting_history_and_neither_branch_counts(liar, tmp_path):
    """A signed a withdrawal while B signed its acceptance on the same step; the hub took B's
    and refused A's, then shows A both. A's page says "Motstridig historik" for Kommun B,
    shows neither state and offers no step there."""
    net, proxy = liar
    async with signed_in_pair(net, tmp_path) as (anna, bertil):
        case_id = await anna.core.send_inquiry({"bakgrund_till_placering": "B"}, [], ["kommun-b"])
        await bertil.core.sync()
        withdraw = await net.sign_steps("anna", case_id, "kommun-b", "withdraw")
        await bertil.core.answer(case_id, "accept", target="kommun-b", document={"decision": "yes"})
        await anna.core.sync()
        _, page = await anna.page(f"/arende/{case_id.hex()}")
        assert "Läge: Accepterad" in _request_box(page, "Kommun B")

        extra = {"step": withdraw[0], "received_at": int(net.clock.now)}
        proxy.lie(in_steps(lambda steps: [*steps, extra]))
        await anna.core.refresh_case(case_id)
        _, page = await anna.page(f"/arende/{case_id.hex()}")
        box = _request_box(page, "Kommun B")
        assert "Läge: Motstridig historik" in box
        assert "Accepterad" not in box
        assert "Återkallad" not in box
        assert "Inget att göra här just nu." in box
        assert "hubben har visat två olika förlopp" in _text(page)


async def test_a_step_signed_after_its_key_was_compromised_is_not_counted(liar, tmp_path):
    """B's key is revoked as compromised; a decline signed with it afterwards (the thief's,
    relayed by the hub) is not counted, and A's page says why."""
    net, proxy = liar
    async with signed_in_pair(net, tmp_path) as (anna, bertil):
        case_id = await anna.core.send_inquiry({"bakgrund_till_placering": "B"}, [], ["kommun-b"])
        await bertil.core.sync()
        steps = await (await net.client("anna")).case_steps(case_id)
        head = step_digest({"record": steps[-1].step.record, "signature": steps[-1].step.signature})
        now = int(net.clock.now)
        stolen = make_step(
            net.people["bertil"],
            network=NETWORK,
            case_id=case_id,
            case_sender="kommun-a",
            municipality="kommun-b",
            event="decline",
            parent=head,
            time=now + 120,
            details={"reason": "quota_reached"},
        )
        await net.revoke("bertil", at=now + 60, reason="compromised")
        extra = {"step": stolen, "received_at": now + 120}
        proxy.lie(in_steps(lambda steps: [*steps, extra]))
        await anna.core.refresh_case(case_id)
        _, page = await anna.page(f"/arende/{case_id.hex()}")
        assert "Läge: Levererad" in _request_box(page, "Kommun B")
        assert "Ett steg för Kommun B räknas inte: Avsändarens nyckel är återkallad." in _text(page)


async def test_a_hub_that_counts_the_answer_time_from_elsewhere_is_flagged(liar, tmp_path):
    """The hub's view puts B's delivery three days later than B signed it (and than the hub
    took it): A's page counts the deadline from the signed delivery and flags the hub's."""
    net, proxy = liar
    async with signed_in_pair(net, tmp_path) as (anna, bertil):
        case_id = await anna.core.send_inquiry({"bakgrund_till_placering": "B"}, [], ["kommun-b"])
        await bertil.core.sync()
        await anna.core.sync()
        _, honest = await anna.page(f"/arende/{case_id.hex()}")

        def later(view: dict[str, Any]) -> dict[str, Any]:
            def shift(h: dict[str, Any]) -> dict[str, Any]:
                return {**h, "at": h["at"] + 3 * 86_400} if h["event"] == "deliver" else h

            requests = [
                {**r, "history": [shift(h) for h in r.get("history", [])]} for r in view["requests"]
            ]
            return {**view, "requests": requests}

        proxy.lie(in_case_views(later))
        await anna.core.sync()
        _, page = await anna.page(f"/arende/{case_id.hex()}")
        assert "Hubben räknar svarstiden för Kommun B från en annan tidpunkt" in _text(page)
        deadline = re.search(r"Tidsfrist (\S+)", _text(honest))
        assert deadline is not None
        assert f"Tidsfrist {deadline.group(1)}" in _text(page)


# --- a withheld message in a thread (manifest version 2) --------------------------------------


async def _message(agent, case_id: bytes, target: str, text: str) -> bytes:
    """`agent` sends a thread message; returns its id, as its own inbox holds it."""
    before = {e.message_id for e in await agent.core.cache.envelopes_of_case(case_id)}
    await agent.core.send_message(case_id, target, {"message": text}, [])
    await agent.core.sync()
    after = await agent.core.cache.envelopes_of_case(case_id)
    [sent] = [e.message_id for e in after if e.message_id not in before]
    return sent


async def test_a_withheld_message_in_a_thread_is_said_and_no_other_thread_is_named(liar, tmp_path):
    """A asks B and C and writes to C, then to B twice; the hub withholds A's first message to
    B. B's page says a message is missing, because A's next one names it; the messages name
    only their own thread, so nothing of A's exchange with C reaches B."""
    net, proxy = liar
    async with (
        signed_in_pair(net, tmp_path) as (anna, bertil),
        running_agent(net, "cecilia", tmp_path) as cecilia,
    ):
        await cecilia.login()
        proxy.quiet = True  # the agents fetch only when told here
        case_id = await anna.core.send_inquiry(
            {"bakgrund_till_placering": "B"}, [], ["kommun-b", "kommun-c"]
        )
        await bertil.core.sync()
        await cecilia.core.sync()
        to_c = await _message(anna, case_id, "kommun-c", "Till C")
        withheld = await _message(anna, case_id, "kommun-b", "Första till B")
        proxy.lie(
            in_listing(lambda entry: [] if entry["message_id"] == withheld.hex() else [entry])
        )
        await _message(anna, case_id, "kommun-b", "Andra till B")
        await bertil.core.sync()
        _, page = await bertil.page(f"/arende/{case_id.hex()}")
        text = _text(page)
        assert "Andra till B" in text
        assert "Första till B" not in text
        assert "Ett meddelande i ärendet saknas" in text
        held = await bertil.core.cache.envelopes_of_case(case_id)
        named = {m for e in held for m in e.seen}
        assert withheld in named
        assert to_c not in named
        assert "Kommun C" not in text
        # Without the lie nothing is missing: C's page says nothing of the kind.
        await cecilia.core.sync()
        _, page_c = await cecilia.page(f"/arende/{case_id.hex()}")
        assert "Ett meddelande i ärendet saknas" not in _text(page_c)

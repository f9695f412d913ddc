"""The förhandsförfrågan from the inbox, with a real hub and real agents: A asks Kommun B and
Kommun C a short first question (checked before sending like an inquiry); each answers yes or no
on its case page; A sends the formal inquiry, from the case page, only to the one that said yes;
B's case page then opens with "Att göra nu": answer, by the deadline named."""

from __future__ import annotations

import re

import aiohttp
import pytest

from hub.crypto.format import MessageKind
from hub.inbox import forms
from tests.hubnet import running_hub
from tests.inboxnet import page_text, running_agent

QUESTION = "Kan ni ta emot en vuxen med två barn, behov av tre rum och stöd av socialtjänsten?"


@pytest.fixture
async def net(tmp_path):
    async with running_hub(tmp_path) as hubnet:
        yield hubnet


async def _post(agent, path: str, data: dict[str, object]) -> tuple[int, str]:
    """The post's redirect target (303), or its status and page when it answers in place."""
    form = aiohttp.FormData()
    for key, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            form.add_field(key, str(item))
    form.add_field("csrf", next(iter(agent.auth.sessions.values())))
    async with agent.session.post(
        agent.url + path, data=form, headers={"Origin": agent.url}, allow_redirects=False
    ) as r:
        return r.status, r.headers.get("Location") or await r.text()


def _inquiry_form(**extra: object) -> dict[str, object]:
    values: dict[str, object] = {
        f.id: "2026-11-24" if f.kind == "date" else "Avidentifierat." for f in forms.INQUIRY_FIELDS
    }
    return {**values, **extra}


async def test_a_pre_inquiry_is_answered_yes_or_no_and_the_inquiry_goes_to_the_yes(net, tmp_path):
    async with (
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
        running_agent(net, "cecilia", tmp_path) as cecilia,
    ):
        for agent in (anna, bertil, cecilia):
            await agent.login()
        status, page = await anna.page("/forhandsforfragan")
        assert status == 200
        assert "<h1>Ny förhandsförfrågan</h1>" in page

        # A personnummer in the question stops it until it is confirmed as needed.
        asked = {"municipalities": ["kommun-b", "kommun-c"]}
        with_number = f"{QUESTION} Personnummer 19811218-9876."
        status, page = await _post(anna, "/forhandsforfragan", {**asked, "question": with_number})
        assert status == 422
        assert "Förhandsförfrågan skickades inte." in page_text(page)
        assert await anna.core.cache.outbox_count() == 0
        status, where = await _post(anna, "/forhandsforfragan", {**asked, "question": ""})
        assert status == 422
        assert "Skriv frågan." in where

        status, case_url = await _post(anna, "/forhandsforfragan", {**asked, "question": QUESTION})
        assert status == 303, case_url
        assert case_url.startswith("/arende/")
        case_id = bytes.fromhex(case_url.rsplit("/", 1)[1])
        _, page = await anna.page(case_url)
        text = page_text(page)
        assert "Förhandsförfrågan skickades till Kommun B och Kommun C." in text
        assert "<h1>Förhandsförfrågan till Kommun B, Kommun C</h1>" in page
        assert "Att göra nu Vänta på svar på förhandsförfrågan från Kommun B" in text
        assert QUESTION in text
        _, listing = await anna.page("/")
        assert "Förhandsförfrågan till Kommun B, Kommun C" in page_text(listing)
        assert 'href="/forhandsforfragan"' in listing  # from the list, as from Ny förfrågan

        # Each asked municipality answers on its case page.
        for agent, action in ((bertil, "pre_inquiry_yes"), (cecilia, "pre_inquiry_no")):
            await agent.core.sync()
            _, page = await agent.page(case_url)
            text = page_text(page)
            assert "<h1>Förhandsförfrågan från Kommun A</h1>" in page
            assert "Att göra nu Svara ja eller nej på förhandsförfrågan från Kommun A" in text
            assert QUESTION in text
            assert f'action="{case_url}/{action}"' in page
            answer = {"message": "Hör av er."}
            if action == "pre_inquiry_no":  # final: not without the ticked box
                status, _ = await _post(agent, f"{case_url}/{action}", answer)
                assert status == 422
                assert await agent.core.cache.outbox_count() == 0
                answer["confirmed"] = "ja"
            status, back = await _post(agent, f"{case_url}/{action}", answer)
            assert (status, back) == (303, case_url)
        _, page = await bertil.page(case_url)
        assert "Ni svarade ja på förhandsförfrågan från Kommun A." in page_text(page)

        await anna.core.sync()
        _, page = await anna.page(case_url)
        text = page_text(page)
        assert "Positivt svar på förhandsförfrågan" in text
        assert "Nej på förhandsförfrågan" in text
        assert (
            "Att göra nu Skicka förfrågan till Kommun B, som svarade ja på förhandsförfrågan"
            in text
        )
        assert f'href="/ny?arende={case_id.hex()}&amp;till=kommun-b"' in page

        # The formal inquiry: only to the one that said yes, in the same case.
        _, form_page = await anna.page(f"/ny?arende={case_id.hex()}&till=kommun-b")
        assert 'value="kommun-b" checked' in form_page
        assert 'value="kommun-c"' not in form_page
        status, refused = await _post(
            anna, "/ny/granska", _inquiry_form(case_id=case_id.hex(), municipalities="kommun-c")
        )
        assert status == 422
        assert "Välj bland kommunerna i listan." in refused
        assert await anna.core.cache.outbox_count() == 0  # nothing queued
        status, review = await _post(
            anna, "/ny/granska", _inquiry_form(case_id=case_id.hex(), municipalities="kommun-b")
        )
        assert status == 303
        draft_id = review.split("=", 1)[1]
        status, sent_to = await _post(anna, "/ny/skicka", {"draft_id": draft_id})
        assert (status, sent_to) == (303, case_url)

        await bertil.core.sync()
        view = await bertil.core.cache.get_case(case_id)
        due = bertil.core.next_due(view)
        assert due is not None
        _, page = await bertil.page(case_url)
        text = page_text(page)
        assert "<h1>Förfrågan från Kommun A</h1>" in page
        _, listing = await bertil.page("/")
        assert "Förfrågan från Kommun A" in page_text(listing)  # the list says so too
        assert "Förhandsförfrågan från Kommun A" not in page_text(listing)
        assert (
            f"Att göra nu Svara på förfrågan från Kommun A Svara senast {due.due_date.isoformat()}"
            in text
        )
        assert "Förfrågningsunderlag" in text
        # Only the next step's form is drawn first; decline follows in the request's box.
        assert page.index("Att göra nu") < page.index("/accept") < page.index("/decline")

        await cecilia.core.sync()
        _, page = await cecilia.page(case_url)
        assert "Ärendet är avslutat för er kommun." in page_text(page)
        assert re.findall(r'class="action action-(\w+)', page) == ["message"]
        kinds = {e.kind for e in await cecilia.core.cache.envelopes_of_case(case_id)}
        assert MessageKind.INQUIRY not in kinds  # the formal inquiry never reached the no
        assert MessageKind.PRE_INQUIRY in kinds


async def test_the_inquiry_is_not_sent_when_the_yes_no_longer_stands(net, tmp_path):
    """Reviewed for B after B's yes, then B's request withdrawn (another tab): Skicka sends
    nothing, keeps the draft and says why on the case page; B never receives the inquiry."""
    async with (
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        await anna.login()
        await bertil.login()
        asked = {"municipalities": ["kommun-b"], "question": QUESTION}
        _, case_url = await _post(anna, "/forhandsforfragan", asked)
        case_id = bytes.fromhex(case_url.rsplit("/", 1)[1])
        await bertil.core.sync()
        assert (await _post(bertil, f"{case_url}/pre_inquiry_yes", {}))[0] == 303
        await anna.core.sync()
        form = _inquiry_form(case_id=case_id.hex(), municipalities="kommun-b")
        status, review = await _post(anna, "/ny/granska", form)
        assert status == 303
        draft_id = review.split("=", 1)[1]

        await anna.core.answer(case_id, "withdraw", target="kommun-b", document=None)
        await anna.core.sync()
        status, where = await _post(anna, "/ny/skicka", {"draft_id": draft_id})
        assert (status, where) == (303, case_url)
        _, page = await anna.page(case_url)
        assert "Förfrågan skickades inte: Kommun B kan inte längre få förfrågan" in page_text(page)
        assert await anna.core.cache.get_draft(draft_id) is not None
        await bertil.core.sync()
        kinds = {e.kind for e in await bertil.core.cache.envelopes_of_case(case_id)}
        assert MessageKind.INQUIRY not in kinds

"""Issue 16, the list page: dates that say what they are, search over the person's own cases
held in memory only (built at unlock, kept current, forgotten at lock), filters by state and by
municipality in a GET form, and the unread count in the tab title and status.json. Real hub,
real agents."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from hub.inbox.search_index import SearchIndex
from hub.inbox.sync import AgentCore
from hub.protocol.case_reference import case_reference
from hub.protocol.deadlines import SwedishCalendar
from tests.hubnet import running_hub
from tests.inboxnet import PASSPHRASE, page_text, running_agent
from tests.test_unlock import locked_agent

if TYPE_CHECKING:
    from tests.inboxnet import Agent

DAY = 86_400
CANARY = "Kanariefågelsträdgården"
TITLE_TAIL = " \N{EN DASH} Inkorg \N{EN DASH} Kommun B"  # after the page's own name


def _inquiry(text: str) -> dict[str, object]:
    return {"bakgrund_till_placering": text, "boende": "Tre rum och kök."}


def _stockholm_date(at: float) -> str:
    return SwedishCalendar().local_date(datetime.fromtimestamp(int(at), UTC)).isoformat()


def _listed(page: str) -> list[str]:
    """The case ids the list links to, in order."""
    return re.findall(r'href="/arende/([0-9a-f]{32})"', page)


async def _search(agent: Agent, **query: str) -> tuple[str, list[str]]:
    status, page = await agent.page("/?" + urlencode(query))
    assert status == 200, page
    return page, _listed(page)


async def test_each_list_dates_its_cases_and_says_what_each_date_is(tmp_path):
    """A's list says when the case was sent, B's when it came in, both the latest activity,
    as ÅÅÅÅ-MM-DD in Stockholm's calendar; B reading the case days later moves it on."""
    async with (
        running_hub(tmp_path) as net,
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        await anna.login()
        await bertil.login()
        sent_on = _stockholm_date(net.clock.now)
        case_id = await anna.core.send_inquiry(_inquiry("Hotbild."), [], ["kommun-b"])
        await bertil.core.sync()
        net.clock.now += 3 * DAY
        read_on = _stockholm_date(net.clock.now)
        assert read_on != sent_on
        await bertil.page(f"/arende/{case_id.hex()}")  # B opens it: the signed read receipt
        await anna.core.sync()
        _, listing = await anna.page("/?box=sent")
        assert f"Skickad {sent_on} Senaste händelse {read_on}" in page_text(listing)
        assert f'<time datetime="{sent_on}">{sent_on}</time>' in listing
        _, listing = await bertil.page("/")
        assert f"Inkom {sent_on} Senaste händelse {read_on}" in page_text(listing)


async def test_search_finds_own_cases_by_their_words_reference_and_municipality(tmp_path):
    """Words of the inquiry (a word's beginning will do, any case), the spoken reference with
    or without its dash, and a municipality's signed name; every word must match. An empty
    result says so in Swedish; another person's inbox finds nothing of A's other case."""
    async with (
        running_hub(tmp_path) as net,
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        await anna.login()
        await bertil.login()
        to_b = await anna.core.send_inquiry(_inquiry("Risk bedömd med Patriark."), [], ["kommun-b"])
        to_c = await anna.core.send_inquiry(_inquiry("Familjen har en huskatt."), [], ["kommun-c"])
        await bertil.core.sync()
        reference = case_reference(to_b)
        for query, found in (
            ("patri", [to_b]),
            ("PATRIARK", [to_b]),
            ("huskatt", [to_c]),
            (reference, [to_b]),
            (reference.replace("-", "").lower(), [to_b]),
            ("Kommun C", [to_c]),
            ("kommun c huskatt", [to_c]),
            ("rum", [to_b, to_c]),
        ):
            _, listed = await _search(anna, sok=query)
            assert sorted(listed) == sorted(c.hex() for c in found), query
        page, listed = await _search(anna, sok="patriark huskatt")
        assert listed == []
        assert "Inga ärenden i Inkorg matchar sökningen ”patriark huskatt”." in page_text(page)
        page, listed = await _search(anna, sok="patriark", box="closed")
        assert listed == []
        assert "Inga ärenden i Avslutade matchar sökningen ”patriark”." in page_text(page)
        _, listed = await _search(bertil, sok="huskatt")
        assert listed == []  # not B's case: B's inbox never held it
        _, listed = await _search(bertil, sok="patriark")
        assert listed == [to_b.hex()]
        page, _ = await _search(anna, sok="huskatt")
        assert 'value="huskatt"' in page  # the form keeps what was asked


async def test_filters_by_state_and_municipality_without_javascript(tmp_path):
    """Läge and Kommun narrow the list by a plain GET, together and with a search; the choices
    are the states some case is in and the other municipalities by name; an unknown value is
    ignored."""
    async with (
        running_hub(tmp_path) as net,
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
        running_agent(net, "cecilia", tmp_path) as cecilia,
    ):
        for agent in (anna, bertil, cecilia):
            await agent.login()
        to_b = await anna.core.send_inquiry(_inquiry("Första."), [], ["kommun-b"])
        to_c = await anna.core.send_inquiry(_inquiry("Andra."), [], ["kommun-c"])
        await bertil.core.sync()  # B's delivery receipt
        await bertil.page(f"/arende/{to_b.hex()}")  # B reads it
        await cecilia.core.sync()
        await anna.core.sync()
        _, listed = await _search(anna, lage="read")
        assert listed == [to_b.hex()]
        _, listed = await _search(anna, lage="delivered")
        assert listed == [to_c.hex()]
        _, listed = await _search(anna, kommun="kommun-c")
        assert listed == [to_c.hex()]
        _, listed = await _search(anna, kommun="kommun-b", lage="delivered")
        assert listed == []
        page, listed = await _search(anna, kommun="kommun-b", sok="första", box="sent")
        assert listed == [to_b.hex()]
        assert "Skickat, sökningen ”första”, Kommun B: 1 ärende" in page_text(page)
        page, listed = await _search(anna, lage="inget-sådant", kommun="kommun-x")
        assert sorted(listed) == sorted([to_b.hex(), to_c.hex()])
        form = page.split('role="search"')[1].split("</form>")[0]
        assert 'method="get"' in page.split('role="search"')[0].rsplit("<form", 1)[1]
        assert '<label for="lage">Läge</label>' in form
        assert '<option value="read">Läst</option>' in form
        assert '<option value="delivered">Levererad</option>' in form
        assert '<option value="accepted">' not in form  # no case is in it
        assert '<option value="kommun-b">Kommun B</option>' in form
        assert '<option value="kommun-a">' not in form  # not our own
        page, _ = await _search(anna, lage="read", kommun="kommun-b")
        assert '<option value="read" selected>Läst</option>' in page
        assert '<option value="kommun-b" selected>Kommun B</option>' in page


async def test_unread_cases_are_counted_in_the_tab_title_and_status(tmp_path):
    """'(1) Inkorg' while a case is unread, on the list and on other pages; status.json gives
    the count for notify.js (a number, nothing of the case); reading it clears the count."""
    async with (
        running_hub(tmp_path) as net,
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        await anna.login()
        await bertil.login()
        _, page = await bertil.page("/")
        assert f"<title>Inkorg{TITLE_TAIL}</title>" in page
        case_id = await anna.core.send_inquiry(_inquiry("Hej."), [], ["kommun-b"])
        await bertil.core.sync()
        _, page = await bertil.page("/")
        assert f"<title>(1) Inkorg{TITLE_TAIL}</title>" in page
        _, page = await bertil.page("/ny")
        assert "<title>(1) Ny förfrågan" in page
        async with bertil.session.get(bertil.url + "/status.json") as r:
            status = await r.json()
        assert status["unread"] == 1
        await bertil.page(f"/arende/{case_id.hex()}")
        _, page = await bertil.page("/")
        assert f"<title>Inkorg{TITLE_TAIL}</title>" in page
        async with bertil.session.get(bertil.url + "/status.json") as r:
            assert (await r.json())["unread"] == 0


def _index_of(keeper: object) -> SearchIndex:
    """The pages' search index, as the keeper forgets it at every lock."""
    forgets = keeper.forget_at_lock  # type: ignore[attr-defined]
    [index] = [f.__self__ for f in forgets if isinstance(getattr(f, "__self__", None), SearchIndex)]
    return index


async def test_the_index_is_built_at_unlock_kept_current_and_forgotten_at_lock(tmp_path):
    """G-L1: after unlocking, the first page builds the index in memory; a case that arrives
    later is found; Lås nu empties it; unlocked again, it is built afresh. Nothing of the
    index reaches a file: the words searched for are in no file in clear, the agents' caches
    and the hub's data alike."""
    async with (
        running_hub(tmp_path) as net,
        running_agent(net, "anna", tmp_path) as anna,
        locked_agent(net, "bertil", tmp_path) as b,
    ):
        await anna.login()
        first = await anna.core.send_inquiry(_inquiry(f"Om {CANARY}."), [], ["kommun-b"])
        await b.post("/las-upp", {"passphrase": PASSPHRASE})
        core = b.keeper.held
        assert isinstance(core, AgentCore)
        index = _index_of(b.keeper)
        status, _, page = await b.get("/?" + urlencode({"sok": CANARY[:12]}))
        assert status == 200
        assert _listed(page) == [first.hex()]
        assert index.words.cases == {first}
        second = await anna.core.send_inquiry(_inquiry("Vinterträdgården."), [], ["kommun-b"])
        await core.sync()
        _, _, page = await b.get("/?" + urlencode({"sok": "vinterträdgård"}))
        assert _listed(page) == [second.hex()]
        assert index.words.cases == {first, second}
        status, location, _ = await b.post("/las-nu", {})
        assert (status, location) == (303, "/las-upp")
        assert index.words.cases == set()
        assert index.words.cases_by_word == {}
        assert index.messages == set()
        assert index.owner is None
        await b.post("/las-upp", {"passphrase": PASSPHRASE})
        _, _, page = await b.get("/?" + urlencode({"sok": CANARY}))
        assert _listed(page) == [first.hex()]
        await b.post("/las-nu", {})
        for path, data in _every_file(tmp_path):
            assert CANARY.encode() not in data, path
            assert "vinterträdgården".encode() not in data.lower(), path


def _every_file(folder: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in folder.rglob("*") if p.is_file()]

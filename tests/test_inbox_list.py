"""Issue 16, the list page: dates that say what they are, search over the person's own cases
held in memory only (built at unlock, kept current, forgotten at lock), filters by state and by
municipality in a GET form, and the unread count in the tab title and status.json. Real hub,
real agents."""

from __future__ import annotations

import gc
import html
import json
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode, urlsplit

from hub.inbox.cache import InboxCache
from hub.inbox.inbox_retention import DAY as RETENTION_DAY
from hub.inbox.pages.list_filter import KEPT_SEARCHES, Searches
from hub.inbox.search_index import SearchIndex, WordIndex
from hub.inbox.sync import AgentCore
from hub.protocol.case_reference import case_reference
from hub.protocol.deadlines import SwedishCalendar
from tests.hubnet import running_hub
from tests.inboxnet import PASSPHRASE, page_text, running_agent
from tests.test_inbox_retention import _declined_by_b
from tests.test_unlock import locked_agent

if TYPE_CHECKING:
    from tests.inboxnet import Agent
    from tests.test_unlock import Browser

DAY = RETENTION_DAY
CANARY = "Kanariefågelsträdgården"
TITLE_TAIL = " \N{EN DASH} Inkorg \N{EN DASH} Kommun B"  # after the page's own name


def _inquiry(text: str) -> dict[str, object]:
    return {"bakgrund_till_placering": text, "boende": "Tre rum och kök."}


def _stockholm_date(at: float) -> str:
    return SwedishCalendar().local_date(datetime.fromtimestamp(int(at), UTC)).isoformat()


def _listed(page: str) -> list[str]:
    """The case ids the list links to, in order."""
    return re.findall(r'href="/arende/([0-9a-f]{32})"', page)


async def _search(agent: Agent, **form: str) -> tuple[str, list[str]]:
    """The list's form sent (words to POST /sok, filters alike) and its redirect followed:
    the page and the cases it lists. The words never reach the URL."""
    data = {**form, "csrf": agent.auth.sessions[next(iter(agent.auth.sessions))]}
    async with agent.session.post(
        agent.url + "/sok", data=data, headers={"Origin": agent.url}, allow_redirects=False
    ) as r:
        assert r.status == 303, await r.text()
        location = r.headers["Location"]
    query = parse_qs(urlsplit(location).query)
    assert set(query) <= {"box", "lage", "kommun", "sokning"}, location
    for word in form.get("sok", "").split():
        if len(word) >= 4:  # a shorter one may turn up in the random token by chance
            assert word.casefold() not in location.casefold(), location
    status, page = await agent.page(location)
    assert status == 200, page
    return page, _listed(page)


async def agent_page(agent: Agent, path: str) -> tuple[str, list[str]]:
    status, page = await agent.page(path)
    assert status == 200, page
    return page, _listed(page)


async def _filtered(agent: Agent, **query: str) -> tuple[str, list[str]]:
    """The list by its GET query alone (lage, kommun, box): what a bookmark would show."""
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
        assert f"<time>{sent_on}</time>" in listing
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
        assert "I Inkorg finns 1 ärende som matchar. Visa det i Inkorg" in page_text(page)
        there = re.search(r'<a href="([^"]+)">Visa det i Inkorg</a>', page)
        assert there is not None
        _, elsewhere = await agent_page(anna, html.unescape(there.group(1)))
        assert elsewhere == [to_b.hex()]  # the same search, in the other list
        _, listed = await _search(bertil, sok="huskatt")
        assert listed == []  # not B's case: B's inbox never held it
        _, listed = await _search(bertil, sok="patriark")
        assert listed == [to_b.hex()]
        page, _ = await _search(anna, sok="huskatt")
        assert 'value="huskatt"' in page  # the form keeps what was asked


async def test_filters_by_state_and_municipality_without_javascript(tmp_path):
    """Läge and Kommun narrow the list by a plain GET, together and with a search; the choices
    are the states some case is in and the other municipalities of the person's cases, by
    name; an unknown value is ignored."""
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
        _, listed = await _filtered(anna, lage="read")
        assert listed == [to_b.hex()]
        _, listed = await _filtered(anna, lage="delivered")
        assert listed == [to_c.hex()]
        _, listed = await _filtered(anna, kommun="kommun-c")
        assert listed == [to_c.hex()]
        _, listed = await _filtered(anna, kommun="kommun-b", lage="delivered")
        assert listed == []
        page, listed = await _search(anna, kommun="kommun-b", sok="första", box="sent")  # posted
        assert listed == [to_b.hex()]
        assert "Skickat, sökningen ”första”, Kommun B: 1 ärende" in page_text(page)
        page, listed = await _filtered(anna, lage="inget-sådant", kommun="kommun-x")
        assert sorted(listed) == sorted([to_b.hex(), to_c.hex()])
        form = page.split('role="search"')[1].split("</form>")[0]
        assert '<label for="lage">Läge</label>' in form
        assert '<option value="read">Läst</option>' in form
        assert '<option value="delivered">Levererad</option>' in form
        assert '<option value="accepted">' not in form  # no case is in it
        assert '<option value="kommun-b">Kommun B</option>' in form
        assert '<option value="kommun-a">' not in form  # not our own
        _, page = await bertil.page("/")
        assert '<option value="kommun-a">Kommun A</option>' in page
        assert '<option value="kommun-c">' not in page  # in none of B's cases
        page, _ = await _filtered(anna, lage="read", kommun="kommun-b")
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
        page = await _search_in(b, CANARY[:12])
        assert _listed(page) == [first.hex()]
        assert index.words.cases == {first}
        second = await anna.core.send_inquiry(_inquiry("Vinterträdgården."), [], ["kommun-b"])
        await core.sync()
        _, kept, _ = await b.post("/sok", {"sok": "vinterträdgård"})
        _, _, page = await b.get(kept)
        assert _listed(page) == [second.hex()]
        assert index.words.cases == {first, second}
        status, location, _ = await b.post("/las-nu", {})
        assert (status, location) == (303, "/las-upp")
        assert index.words.cases == set()
        assert index.words.cases_by_word == {}
        assert index.messages == set()
        assert index.owner is None
        await b.post("/las-upp", {"passphrase": PASSPHRASE})
        _, _, page = await b.get(kept)  # the search made before the lock is gone with it
        assert "Sökningen finns inte längre" in page_text(page)
        assert "vinterträdgård" not in page
        assert len(_listed(page)) == 2  # the whole list, not a search
        page = await _search_in(b, CANARY)
        assert _listed(page) == [first.hex()]
        await b.post("/las-nu", {})
        for path, data in _every_file(tmp_path):
            assert CANARY.encode() not in data, path
            assert "vinterträdgården".encode() not in data.lower(), path


async def _search_in(b: Browser, words: str) -> str:
    status, location, _ = await b.post("/sok", {"sok": words})
    assert status == 303
    assert location.startswith("/?sokning=")
    status, _, page = await b.get(location)
    assert status == 200
    return page


def _every_file(folder: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in folder.rglob("*") if p.is_file()]


def test_the_word_index_matches_beginnings_names_and_references():
    """The search's rule, pure: every part must match; a municipality's whole name stands for
    its cases, a renamed one is found by its new name; the reference with or without dash."""
    one, two = bytes.fromhex("01" * 16), bytes.fromhex("02" * 16)
    index = WordIndex()
    index.add(one, ["Risk bedömd med Patriark.", "Tre rum"], ["kommun-a", "kommun-b"])
    index.add(two, ["Familjen har en HUSKATT", "Två rum"], ["kommun-a", "kommun-c"])
    names = {"kommun-a": "Kommun A", "kommun-b": "Kommun B", "kommun-c": "Upplands Väsby"}
    for query, found in (
        ("patri", {one}),
        ("Patriark risk", {one}),
        ("huskatt", {two}),
        ("rum", {one, two}),
        ("Kommun B", {one}),
        ("upplands väsby", {two}),
        ("väsby huskatt", {two}),
        ("upplands väsby patriark", set()),
        ("kommun", {one, two}),
        (case_reference(one), {one}),
        (case_reference(one).replace("-", "").lower(), {one}),
        ("bedömd huskatt", set()),
        ("", {one, two}),
    ):
        assert index.search(query, names) == found, query
    renamed = {**names, "kommun-b": "Nya Staden"}
    assert index.search("nya staden", renamed) == {one}
    assert index.search("staden", renamed) == {one}
    assert index.search("staden", names) == set()
    index.clear()
    assert index.search("patriark", names) == set()


async def test_a_case_removed_from_the_inbox_leaves_the_index_too(tmp_path):
    """Gallra: once B's inbox removes an ended case, a search no longer finds it and the
    index no longer holds its words; the case still running is found as before."""
    async with (
        running_hub(tmp_path) as net,
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        await anna.login()
        await bertil.login()
        ended = await anna.core.send_inquiry(_inquiry("Om en snöskotare."), [], ["kommun-b"])
        running = await anna.core.send_inquiry(_inquiry("Om en snöslunga."), [], ["kommun-b"])
        await _declined_by_b(anna, bertil, ended)
        _, listed = await _search(bertil, sok="snö", box="closed")
        assert listed == [ended.hex()]
        net.clock.now += 1000 * DAY
        assert await bertil.core.keep_less() == 1
        _, listed = await _search(bertil, sok="snöskotare", box="closed")
        assert listed == []
        _, listed = await _search(bertil, sok="snö")
        assert listed == [running.hex()]
        [index] = [  # B's pages' index: the one built for B's agent
            o for o in gc.get_objects() if isinstance(o, SearchIndex) and o.owner == id(bertil.core)
        ]
        assert index.words.cases == {running}
        assert "snöskotare" not in index.words.cases_by_word


async def test_a_cache_from_before_the_filters_gets_their_words_when_opened(tmp_path):
    """A cache written before the filters' columns existed is migrated when it opens: each
    kept case's states and municipalities are filled in from its view, so Läge and Kommun find
    it at once."""
    key = bytes(32)
    folder = tmp_path / "cache"
    cache = await InboxCache.open(folder, key)
    await cache.close()
    view = {
        "case_id": "ab" * 16,
        "from": "kommun-a",
        "requests": [
            {"municipality": "kommun-b", "state": "accepted", "history": []},
            {"municipality": "kommun-c", "state": "read", "history": []},
        ],
    }
    with sqlite3.connect(folder / "cache.sqlite3") as db:
        db.executescript(
            "DROP TABLE cases; CREATE TABLE cases (case_id BLOB PRIMARY KEY, view TEXT NOT NULL,"
            " sort_key INTEGER NOT NULL, closed INTEGER NOT NULL, mine INTEGER NOT NULL);"
        )
        db.execute(
            "INSERT INTO cases VALUES (?, ?, 1, 0, 1)", (bytes.fromhex("ab" * 16), json.dumps(view))
        )
    cache = await InboxCache.open(folder, key)
    try:
        assert await cache.case_states() == {"accepted", "read"}
        assert await cache.case_municipalities() == {"kommun-a", "kommun-b", "kommun-c"}
        for state, municipality, found in (
            ("accepted", None, 1),
            ("read", "kommun-c", 1),
            ("declined", None, 0),
            (None, "kommun-b", 1),
            (None, "kommun-d", 0),
        ):
            listed = await cache.list_cases("inbox", state=state, municipality=municipality)
            assert len(listed) == found, (state, municipality)
    finally:
        await cache.close()


def test_a_search_token_names_words_only_for_its_own_browser_session_and_the_last_fifty():
    """A search's token, copied into another browser session, finds nothing there; a session
    keeps its last KEPT_SEARCHES searches, and a lock forgets them all."""
    searches = Searches()
    token = searches.keep("session-a", "huskatt")
    assert searches.find("session-a", token) == "huskatt"
    assert searches.find("session-b", token) is None  # another browser: nothing
    later = [searches.keep("session-a", f"ord {n}") for n in range(KEPT_SEARCHES)]
    other = searches.keep("session-b", "annat")
    assert searches.find("session-a", token) is None  # the oldest of 51 is gone
    assert [searches.find("session-a", t) for t in later] == [
        f"ord {n}" for n in range(KEPT_SEARCHES)
    ]
    assert searches.find("session-b", other) == "annat"  # one session's searches spare another's
    searches.clear()
    assert searches.find("session-a", later[-1]) is None

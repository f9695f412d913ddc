"""A lying hub between real inbox agents and a real hub (tests/lyinghub.py). For each lie: what
the person sees, and that nothing is sealed, shown or signed on the hub's word."""

from __future__ import annotations

import re
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import pytest

from hub.client.api import RemoteError
from hub.crypto.format import MessageKind
from hub.errors import AuthorityError
from hub.inbox.agent import InboxConfig, open_core
from tests.hubnet import NETWORK, as_json
from tests.inboxnet import page_text as _text
from tests.inboxnet import running_agent
from tests.lyinghub import in_cases, in_listing, lying_hub

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tests.inboxnet import Agent

MESSAGE = {"target": "kommun-b", "message": "Vi har en lägenhet ledig från mars."}


@pytest.fixture
async def liar(tmp_path):
    async with lying_hub(tmp_path) as (net, proxy):
        yield net, proxy


@asynccontextmanager
async def signed_in_pair(net, tmp_path) -> AsyncIterator[tuple[Agent, Agent]]:
    """Anna's (Kommun A) and Bertil's (Kommun B) agents, each with a browser session."""
    async with (
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        await anna.login()
        await bertil.login()
        yield anna, bertil


async def _inquiry(anna, to: list[str], text: str = "Bakgrund") -> str:
    case_id = await anna.core.send_inquiry({"bakgrund_till_placering": text}, [], to)
    return case_id.hex()


# --- who am I -------------------------------------------------------------------------------


async def test_a_sign_in_answer_naming_another_municipality_is_refused_and_nothing_is_sealed(
    liar, tmp_path
):
    """The hub says Anna (Kommun A) is Kommun C's: were it believed, her agent would seal to
    Kommun C's keys as if they were her colleagues'. The agent refuses to start instead."""
    net, proxy = liar

    def other_municipality(_method: str, path: str, said: Any) -> Any:
        if path == "/api/v1/auth/session" and isinstance(said, dict) and "municipality" in said:
            return {**said, "municipality": "kommun-c"}
        return said

    proxy.lie(other_municipality)
    with pytest.raises(AuthorityError) as refused:
        async with running_agent(net, "anna", tmp_path):
            pass
    assert refused.value.code == "identity_mismatch"
    assert "länsstyrelsen har signerat" in refused.value.message
    # `hub inbox` stops at start with the same error, before it serves a page
    keys = tmp_path / "keys-anna"
    config = InboxConfig(net.url, NETWORK, keys, cache_dir=tmp_path / "cache-cli")
    with pytest.raises(AuthorityError, match="identity_mismatch"):
        await open_core(config, net.people["anna"], net.admin.public)
    proxy.lies.clear()
    assert await (await net.client("cecilia")).envelopes("inbox") == []
    assert await (await net.client("anna")).envelopes("sent") == []


async def test_a_sign_in_answer_naming_another_role_is_refused(liar, tmp_path):
    net, proxy = liar
    proxy.lie(
        lambda _m, path, said: (
            {**said, "role": "county_board"}
            if path == "/api/v1/auth/session" and isinstance(said, dict) and "role" in said
            else said
        )
    )
    with pytest.raises(AuthorityError, match="identity_mismatch"):
        async with running_agent(net, "bertil", tmp_path):
            pass


# --- the listing ----------------------------------------------------------------------------


async def test_a_listing_that_lies_about_case_sender_kind_and_time_is_filed_by_the_header(
    liar, tmp_path
):
    """The hub lists B's message under another case, from Kommun C, as an inquiry, a day
    later. B's inbox files it by its signed header: in its own case, from Kommun A, at the
    signed time, flagged; the other case's thread does not show it."""
    net, proxy = liar
    async with signed_in_pair(net, tmp_path) as (anna, bertil):
        real = await _inquiry(anna, ["kommun-b"], "Första ärendet")
        other = await _inquiry(anna, ["kommun-b"], "Andra ärendet")
        await bertil.core.sync()

        def lie(entry: dict[str, Any]) -> list[dict[str, Any]]:
            if entry["kind"] == MessageKind.MESSAGE:
                entry = {
                    **entry,
                    "case_id": other,
                    "from": "kommun-c",
                    "kind": int(MessageKind.INQUIRY),
                    "created_at": entry["created_at"] + 86_400,
                }
            return [entry]

        proxy.lie(in_listing(lie))
        await anna.post(f"/arende/{real}/message", MESSAGE)
        await bertil.core.sync()

        _, page = await bertil.page(f"/arende/{real}")
        text = _text(page)
        assert MESSAGE["message"] in text
        assert "Hubben uppgav något annat om det här meddelandet än avsändaren skrev under" in text
        assert "Kommun C" not in text
        [envelope] = [
            e
            for e in await bertil.core.cache.envelopes_of_case(bytes.fromhex(real))
            if e.kind == MessageKind.MESSAGE
        ]
        assert (envelope.sender, envelope.listing_mismatch) == ("kommun-a", True)
        assert envelope.created_at == int(net.clock.now)
        _, other_page = await bertil.page(f"/arende/{other}")
        assert MESSAGE["message"] not in _text(other_page)


async def test_a_duplicated_listing_under_a_made_up_id_shows_the_message_once(liar, tmp_path):
    """The hub lists the same envelope twice, the second time under an id it made up: the
    signed message id is the same, so the second is a replay, shown once, and the case says
    that the hub delivered something that was not taken."""
    net, proxy = liar
    made_up = "ab" * 16
    async with signed_in_pair(net, tmp_path) as (anna, bertil):
        proxy.quiet = True
        case_id = await _inquiry(anna, ["kommun-b"])
        await anna.post(f"/arende/{case_id}/message", MESSAGE)
        [real] = [
            e
            for e in await (await net.client("bertil")).envelopes("inbox")
            if e.kind == MessageKind.MESSAGE
        ]
        proxy.blob_swaps[made_up] = real.message_id
        proxy.lie(
            in_listing(
                lambda e: (
                    [e, {**e, "message_id": made_up, "seq": e["seq"] + 1000}]
                    if e["message_id"] == real.message_id
                    else [e]
                )
            )
        )
        await bertil.core.sync()
        _, page = await bertil.page(f"/arende/{case_id}")
        text = _text(page)
        assert text.count(MESSAGE["message"]) == 1
        assert "Hubben lämnade ett meddelande i det här ärendet som inte visas" in text
        assert "återspelat" in text
        ids = [
            e.message_id.hex()
            for e in await bertil.core.cache.envelopes_of_case(bytes.fromhex(case_id))
        ]
        assert made_up not in ids
        assert len(ids) == len(set(ids)) == 2


async def test_a_blob_served_under_another_listing_is_filed_where_its_header_says(liar, tmp_path):
    """The hub answers B's fetch of case 1's inquiry with case 2's envelope. B files what it
    got under case 2, where its signed header puts it; case 1 shows nothing on the hub's
    word (its inquiry has not arrived)."""
    net, proxy = liar
    async with signed_in_pair(net, tmp_path) as (anna, bertil):
        proxy.quiet = True
        first = await _inquiry(anna, ["kommun-b"], "Det första")
        second = await _inquiry(anna, ["kommun-b"], "Det andra")
        by_case = {e.case_id: e for e in await (await net.client("bertil")).envelopes("inbox")}
        proxy.blob_swaps[by_case[first].message_id] = by_case[second].message_id
        await bertil.core.sync()

        status, page = await bertil.page(f"/arende/{second}")
        assert status == 200
        assert "Det andra" in _text(page)
        status, page = await bertil.page(f"/arende/{first}")
        assert "Det första" not in page
        assert "Det andra" not in page


# --- receipts -------------------------------------------------------------------------------


async def test_a_receipt_is_signed_over_the_envelope_opened_not_the_listing(liar, tmp_path):
    """The hub withholds A's first message to B from the listing, and serves its bytes when B
    fetches the second.
    B signs receipts only for what it opened (the first), so A never sees "Läst av Kommun B"
    under the second, which B never received."""
    net, proxy = liar
    async with signed_in_pair(net, tmp_path) as (anna, bertil):
        case_id = await _inquiry(anna, ["kommun-b"])
        await bertil.core.sync()
        proxy.quiet = True
        await anna.post(f"/arende/{case_id}/message", {**MESSAGE, "message": "Första"})
        net.clock.now += 600
        await anna.post(f"/arende/{case_id}/message", {**MESSAGE, "message": "Andra"})
        messages = [
            e
            for e in await (await net.client("bertil")).envelopes("inbox")
            if e.kind == MessageKind.MESSAGE
        ]
        first, second = sorted(messages, key=lambda e: e.created_at)
        # The first is withheld from the listing and served in the second's place.
        proxy.lie(in_listing(lambda e: [] if e["message_id"] == first.message_id else [e]))
        proxy.blob_swaps[second.message_id] = first.message_id
        await bertil.core.sync()
        await bertil.page(f"/arende/{case_id}")  # B reads: read receipts for what it opened
        proxy.blob_swaps.clear()
        proxy.lies.clear()

        hub = await net.client("anna")
        assert await hub.receipts(bytes.fromhex(second.message_id)) == []
        events = {r["record"] for r in await hub.receipts(bytes.fromhex(first.message_id))}
        assert len(events) == 2  # delivered and read, both over the first message
        _, page = await anna.page(f"/arende/{case_id}")
        text = _text(page)
        assert re.search(r"Första .*Läst av Kommun B", text)
        assert re.search(r"Andra .*Ingen läskvittens ännu", text)


# --- the case view --------------------------------------------------------------------------


async def test_a_case_view_naming_another_sender_or_asking_more_shows_the_signed_parties(
    liar, tmp_path
):
    """The hub says B's case came from Kommun C, and that A's case also asked Kommun C. Each
    inbox shows the parties its verified inquiries name, and says the hub disagreed."""
    net, proxy = liar
    async with signed_in_pair(net, tmp_path) as (anna, bertil):
        case_id = await _inquiry(anna, ["kommun-b"])

        def lie(view: dict[str, Any]) -> dict[str, Any]:
            extra = {**view["requests"][0], "municipality": "kommun-c"}
            return {**view, "from": "kommun-c", "requests": [*view["requests"], extra]}

        proxy.lie(in_cases(lie))
        await anna.core.sync()
        await bertil.core.sync()
        _, page = await bertil.page(f"/arende/{case_id}")
        text = _text(page)
        assert "Från Kommun A" in text
        assert "Kommun C" not in text
        assert "Hubbens uppgifter om ärendet stämde inte" in text
        _, page = await anna.page(f"/arende/{case_id}")
        text = _text(page)
        assert "Till Kommun B" in text
        assert "Kommun C" not in text
        _, listing = await anna.page("/")
        assert "Kommun C" not in _text(listing)


async def test_a_case_the_hub_makes_up_is_not_shown(liar, tmp_path):
    """A case view with no verified inquiry behind it is not a case in the inbox."""
    net, proxy = liar
    invented = "cd" * 16
    async with running_agent(net, "bertil", tmp_path) as bertil:
        await bertil.login()

        def lie(method: str, path: str, said: Any) -> Any:
            if method == "GET" and path == "/api/v1/cases":
                view = {
                    "case_id": invented,
                    "from": "kommun-a",
                    "outcome": None,
                    "closed_at": None,
                    "can_close_not_moved": False,
                    "requests": [
                        {
                            "municipality": "kommun-b",
                            "state": "delivered",
                            "history": [],
                            "allowed_events": ["accept"],
                        }
                    ],
                }
                return {"cases": [*said["cases"], view]}
            return said

        proxy.lie(lie)
        await bertil.core.sync()
        assert await bertil.core.cache.get_case(bytes.fromhex(invented)) is None
        status, _ = await bertil.page(f"/arende/{invented}")
        assert status == 404
        _, listing = await bertil.page("/")
        assert invented not in listing


async def test_a_replay_is_refused_after_a_restart_and_after_its_case_is_gone(liar, tmp_path):
    """The seen ids are kept in their own table: a replay under a new id is refused by an agent
    started again, even when the case it belonged to is no longer in the cache."""
    net, proxy = liar
    made_up = "ef" * 16
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        case_id = await _inquiry(anna, ["kommun-b"])
    async with running_agent(net, "bertil", tmp_path) as bertil:  # its start fetches it
        [real] = await (await net.client("bertil")).envelopes("inbox")
        cache = bertil.core.cache
        await cache._db.execute("DELETE FROM envelopes")  # as if the case had been removed
        await cache._db.execute("DELETE FROM cases")
        await cache._db.commit()
    proxy.blob_swaps[made_up] = real.message_id
    replayed = {**as_json(real), "message_id": made_up, "seq": real.seq + 1000}

    def replay(method: str, path: str, said: Any) -> Any:
        if method == "GET" and path == "/api/v1/envelopes" and said["envelopes"] == []:
            return {"envelopes": [replayed]}
        return said

    proxy.lie(replay)
    async with running_agent(net, "bertil", tmp_path) as bertil:
        await bertil.core.sync()
        assert await bertil.core.cache.envelopes_of_case(bytes.fromhex(case_id)) == []
        [(code, _)] = await bertil.core.cache.refused_of_case(bytes.fromhex(case_id))
        assert code == "envelope_replayed"


async def test_the_hubs_receive_time_is_shown_labelled_beside_the_signed_time(liar, tmp_path):
    net, _ = liar
    async with signed_in_pair(net, tmp_path) as (anna, bertil):
        case_id = await _inquiry(anna, ["kommun-b"])
        await anna.post(f"/arende/{case_id}/message", MESSAGE)
        await bertil.core.sync()
        _, page = await bertil.page(f"/arende/{case_id}")
        assert "Tiden är avsändarens underskrivna. Hubben säger att den tog emot" in _text(page)


async def test_a_listing_of_another_shape_is_refused_and_nothing_is_kept(liar, tmp_path):
    """An answer the wire model does not read (here a listing entry with a field the hub's
    answers do not have) is refused whole: the sync fails as if the hub had, nothing is kept,
    and the next honest answer is read as usual."""
    net, proxy = liar
    async with (
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        proxy.quiet = True
        case_id = await _inquiry(anna, ["kommun-b"])
        proxy.lie(in_listing(lambda e: [{**e, "extra": "x"}]))
        with pytest.raises(RemoteError) as refused:
            await bertil.core.sync()
        assert refused.value.code == "answer_malformed"
        assert await bertil.core.cache.get_case(bytes.fromhex(case_id)) is None
        proxy.lies.clear()
        await bertil.core.sync()
        assert await bertil.core.cache.get_case(bytes.fromhex(case_id)) is not None

"""The outcome report's reasons in words, end to end over a real hub: where the network asks for
them, A's outcome form offers "Skäl i ord"; the text goes sealed to the county board's own key
(kind OUTCOME_NOTE), never in the report; the board's own inbox lists it; neither the hub's
database and blob files nor the coordinator's statistics hold it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hub.crypto.format import MessageKind
from hub.inbox import forms
from tests.hubnet import running_hub
from tests.inboxnet import page_text as _text
from tests.inboxnet import running_agent

WORDS = "SKÄL-I-ORD-7c2e: bostaden blev inte klar i tid"
YEAR = 2026  # tests.hubnet.START is in November 2026
CHOSEN = {"target_group": "woman_with_children", "not_moved_reason": "no_municipality"}


@pytest.fixture
async def net(tmp_path):
    async with running_hub(tmp_path, network_settings={"outcome_free_text": True}) as hubnet:
        await hubnet.enrol("gun", "lansstyrelsen", role="county_board")
        await hubnet.enrol("signe", "samordnaren", role="coordinator")
        yield hubnet


def _inquiry() -> dict[str, str]:
    return {
        f.id: "2026-11-24" if f.kind == "date" else f"{f.label_sv}: uppgift"
        for f in forms.INQUIRY_FIELDS
    }


def _capture(agent: Any) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    client = agent.core.client
    real = client.put_outcome_report

    async def put(case_id: bytes, report: dict[str, Any]) -> dict[str, Any]:
        sent.append(json.loads(json.dumps(report)))
        return await real(case_id, report)

    client.put_outcome_report = put
    return sent


async def _closed_case(anna: Any) -> str:
    case_id = await anna.core.send_inquiry(_inquiry(), [], ["kommun-b"])
    status, _ = await anna.post(f"/arende/{case_id.hex()}/close_not_moved", {"confirmed": "ja"})
    assert status == 200
    return f"/arende/{case_id.hex()}"


def _files_hold(root: Path, needle: bytes) -> list[Path]:
    return [f for f in root.rglob("*") if f.is_file() and needle in f.read_bytes()]


async def test_the_words_reach_the_board_only(net, tmp_path):
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        path = await _closed_case(anna)
        status, page = await anna.page(path)
        assert "Skäl i ord (krypteras till länsstyrelsen)" in _text(page)
        assert 'name="outcome_note"' in page

        status, review = await anna.post(
            f"{path}/utfall/granska", {**CHOSEN, "outcome_note": WORDS}
        )
        assert status == 200
        rows = _text(review).split("Det samordnaren kommer att se")[1]
        assert WORDS in rows.split("Skäl i ord, krypterat till länsstyrelsen")[1]
        assert WORDS not in rows.split("Skäl i ord, krypterat till länsstyrelsen")[0]

        sent = _capture(anna)
        status, page = await anna.post(f"{path}/utfall/skicka", {**CHOSEN, "outcome_note": WORDS})
        assert status == 200, _text(page)
        assert sent == [{**CHOSEN, "moved": False, "receiving_municipality": None}]
        assert await anna.core.cache.outbox_count() == 0  # the note went at once

    hub_client = await net.client("anna")
    notes = [e for e in await hub_client.envelopes("sent") if e.kind == MessageKind.OUTCOME_NOTE]
    assert [n.to for n in notes] == [["lansstyrelsen"]]

    async with running_agent(net, "gun", tmp_path, board=True) as gun:
        await gun.login()
        status, page = await gun.page("/")
        assert status == 200
        text = _text(page)
        assert "Utfallsbeskrivningar" in text
        assert WORDS in text
        assert notes[0].case_id[:8] in text
        assert path.rsplit("/", 1)[1] not in page  # the case id only shortened
        assert "Kommun A" in text  # the sender by name, from the hub's list of members

    # B's contact person never gets it; the hub's disk and the coordinator never hold it.
    bertil = await (await net.client("bertil")).envelopes("inbox")
    assert MessageKind.OUTCOME_NOTE not in {e.kind for e in bertil}
    for needle in (WORDS.encode(), "SKÄL-I-ORD-7c2e".encode()):
        assert _files_hold(net.data_dir, needle) == []
    statistics = await (await net.client("signe")).statistics(YEAR)
    assert "SKÄL-I-ORD" not in json.dumps(statistics, ensure_ascii=False)
    assert "SKÄL-I-ORD" not in (await (await net.client("signe")).statistics_csv(YEAR)).decode(
        "utf-8-sig"
    )


async def test_without_a_board_key_only_the_categories_go(net, tmp_path):
    await net.revoke("gun", at=int(net.clock.now) - 10)
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        path = await _closed_case(anna)
        status, page = await anna.page(path)
        assert "ingen giltig nyckel för länsstyrelsen" in _text(page)
        assert 'name="outcome_note"' not in page
        sent = _capture(anna)
        status, page = await anna.post(f"{path}/utfall/skicka", {**CHOSEN, "outcome_note": WORDS})
        assert status == 200
        assert sent == [{**CHOSEN, "moved": False, "receiving_municipality": None}]
        assert "skälen i ord kunde inte krypteras" in _text(page)
    envelopes = await (await net.client("anna")).envelopes("sent")
    assert MessageKind.OUTCOME_NOTE not in {e.kind for e in envelopes}


async def test_a_network_that_does_not_ask_gets_no_free_text(tmp_path):
    async with running_hub(tmp_path) as net:
        await net.enrol("gun", "lansstyrelsen", role="county_board")
        async with running_agent(net, "anna", tmp_path) as anna:
            await anna.login()
            path = await _closed_case(anna)
            status, page = await anna.page(path)
            assert 'name="outcome_note"' not in page
            status, _ = await anna.post(f"{path}/utfall/skicka", {**CHOSEN, "outcome_note": WORDS})
            assert status == 200
        envelopes = await (await net.client("anna")).envelopes("sent")
        assert MessageKind.OUTCOME_NOTE not in {e.kind for e in envelopes}

"""The outcome report from the inbox, against a real hub: a case we sent is closed (without a
move, or after the move and the follow-up), the page leads to "Rapportera utfallet", a
confirmation step shows exactly what the coordinator will see, and "Skicka rapporten" files
categories only. A refusal comes back beside its field, an unreachable hub loses nothing."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from hub.inbox import forms
from tests.hubnet import running_hub
from tests.inboxnet import page_text as _text
from tests.inboxnet import running_agent

if TYPE_CHECKING:
    from tests.inboxnet import Agent

CANARY = "KANARIE-utfallet-5b1f"


@pytest.fixture
async def net(tmp_path):
    async with running_hub(tmp_path) as hubnet:
        yield hubnet


def _inquiry() -> dict[str, str]:
    return {
        f.id: "2026-11-24" if f.kind == "date" else f"{f.label_sv}: {CANARY}"
        for f in forms.INQUIRY_FIELDS
    }


def _capture(agent: Agent) -> list[dict[str, Any]]:
    """Every report body the agent hands its hub client, as it goes on the wire."""
    sent: list[dict[str, Any]] = []
    client = agent.core.client
    assert client is not None
    real = client.put_outcome_report

    async def put(case_id: bytes, report: dict[str, Any]) -> dict[str, Any]:
        sent.append(json.loads(json.dumps(report)))
        return await real(case_id, report)

    client.put_outcome_report = put  # type: ignore[method-assign]
    return sent


async def _moved_case(anna: Agent, cecilia: Agent) -> bytes:
    """A asks B and C; C accepts; A confirms C, records the move and the follow-up."""
    case_id = await anna.core.send_inquiry(_inquiry(), [], ["kommun-b", "kommun-c"])
    await cecilia.core.sync()
    path = f"/arende/{case_id.hex()}"
    status, _ = await cecilia.post(
        f"{path}/accept", {"target": "kommun-c", "managers_consented": "ja"}
    )
    assert status == 200
    await anna.core.sync()
    for action, extra in (
        ("confirm", {}),
        ("record_move", {"moving_date": "2027-02-01"}),
        ("record_follow_up", {"follow_up_date": "2027-03-01"}),
    ):
        status, page = await anna.post(f"{path}/{action}", {"target": "kommun-c", **extra})
        assert status == 200, (action, _text(page))
    return case_id


async def test_not_moved_case_is_closed_and_its_report_filed_with_categories_only(net, tmp_path):
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        case_id = await anna.core.send_inquiry(_inquiry(), [], ["kommun-b"])
        path = f"/arende/{case_id.hex()}"
        status, page = await anna.page(path)
        assert "Avsluta ärendet utan flytt" in page
        assert "Rapportera utfallet" not in page  # open cases have no report

        # Closing leads to the form, on the case page.
        async with anna.session.post(
            anna.url + f"{path}/close_not_moved",
            data={"csrf": next(iter(anna.auth.sessions.values())), "confirmed": "ja"},
            headers={"Origin": anna.url},
            allow_redirects=False,
        ) as r:
            assert r.status == 303
            assert r.headers["Location"] == f"{path}#utfall"
        status, page = await anna.page(path)
        text = _text(page)
        assert "Rapportera utfallet" in text
        assert "Flytten genomfördes Nej" in text
        assert "Mottagande kommun" not in text
        assert page.count('name="not_moved_reason"') == len(forms.NOT_MOVED_REASONS)
        assert 'action="/arende/' + case_id.hex() + '/utfall/granska"' in page

        # The confirmation step: exactly the coordinator's rows, and what is sent in clear.
        chosen = {
            "target_group": "woman_with_children",
            "not_moved_reason": "moved_on_own",
            # Anything else posted is never read: the report has no free text.
            "message": CANARY,
            "receiving_municipality": "kommun-b",
            "moved": "true",
        }
        status, review = await anna.post(f"{path}/utfall/granska", chosen)
        assert status == 200
        text = _text(review)
        assert "Det här skickas till hubben okrypterat" in text
        assert "utan fritext" in text
        assert (
            "Målgrupp Kvinna med barn Flytten genomfördes Nej "
            "Skäl Personen ordnade boende på annat sätt"
        ) in text
        assert CANARY not in review
        assert "Kommun B" not in text.split("Det samordnaren kommer att se")[1]

        sent = _capture(anna)
        status, page = await anna.post(f"{path}/utfall/skicka", chosen)
        assert status == 200
        assert "Utfallet är rapporterat till samordnaren." in page  # said once, after the redirect
        expected = {
            "target_group": "woman_with_children",
            "moved": False,
            "receiving_municipality": None,
            "not_moved_reason": "moved_on_own",
        }
        assert sent == [expected]  # nothing else goes to the hub
        assert CANARY not in json.dumps(sent)
        client = anna.core.client
        assert client is not None
        assert await client.outcome_report(case_id) == expected
        text = _text(page)
        assert re.search(r"Utfallet rapporterat \d{4}-\d{2}-\d{2} \d{2}:\d{2}\.", text)
        assert "Skäl Personen ordnade boende på annat sätt" in text
        assert "Rätta rapporten" in text  # the sender may correct it

        # A correction replaces it.
        status, page = await anna.post(
            f"{path}/utfall/skicka",
            {"target_group": "man_without_children", "not_moved_reason": "threat_changed"},
        )
        assert status == 200
        assert (await client.outcome_report(case_id) or {})["target_group"] == (
            "man_without_children"
        )
        assert "Målgrupp Man utan barn" in _text(page)


async def test_moved_case_reports_the_closed_requests_municipality(net, tmp_path):
    async with (
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "cecilia", tmp_path) as cecilia,
    ):
        await anna.login()
        await cecilia.login()
        case_id = await _moved_case(anna, cecilia)
        path = f"/arende/{case_id.hex()}"
        async with anna.session.post(
            anna.url + f"{path}/close",
            data={
                "csrf": next(iter(anna.auth.sessions.values())),
                "target": "kommun-c",
                "confirmed": "ja",
            },
            headers={"Origin": anna.url},
            allow_redirects=False,
        ) as r:
            assert r.status == 303
            assert r.headers["Location"] == f"{path}#utfall"
        status, page = await anna.page(path)
        text = _text(page)
        assert "Flytten genomfördes Ja Mottagande kommun Kommun C" in text
        assert 'name="not_moved_reason"' not in page
        assert 'name="receiving_municipality"' not in page  # shown, not chosen

        # Nothing chosen: the error summary links to the group, the message sits beside it.
        status, page = await anna.post(f"{path}/utfall/granska", {})
        assert status == 422
        assert '<a href="#utfall-target_group-1">Välj målgrupp.</a>' in page
        assert 'id="utfall-target_group-error"' in page

        # This inbox's copy of the case is out of date (here: the requests swapped round), so
        # the report names the wrong municipality; the hub refuses it (422) and the page says
        # so beside the municipality, now shown as the hub has the case.
        view = await anna.core.cache.get_case(case_id)
        assert view is not None
        b, c = view["requests"]
        stale = {
            **view,
            "requests": [
                {**b, "municipality": c["municipality"]},
                {**c, "municipality": b["municipality"]},
            ],
        }
        await anna.core.cache.put_case(stale, mine=True, sort_key=0, closed=True, dues=[])
        status, review = await anna.post(
            f"{path}/utfall/granska", {"target_group": "woman_without_children"}
        )
        assert "Mottagande kommun Kommun B" in _text(review)
        status, page = await anna.post(
            f"{path}/utfall/skicka", {"target_group": "woman_without_children"}
        )
        assert status == 422
        assert '<a href="#utfall-receiving">' in page
        error = re.search(r'id="utfall-receiving-error">(.*?)</p>', page, re.DOTALL)
        assert error
        assert "Mottagande kommun stämmer inte" in _text(error.group(1))
        client = anna.core.client
        assert client is not None
        assert await client.outcome_report(case_id) is None
        assert "Mottagande kommun Kommun C" in _text(page)  # fetched again
        assert re.search(r'value="woman_without_children"[^>]* checked', page)  # kept

        status, page = await anna.post(
            f"{path}/utfall/skicka", {"target_group": "woman_without_children"}
        )
        assert status == 200
        assert await client.outcome_report(case_id) == {
            "target_group": "woman_without_children",
            "moved": True,
            "receiving_municipality": "kommun-c",
            "not_moved_reason": None,
        }


async def test_unreachable_hub_keeps_the_choice_and_says_so(net, tmp_path):
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        case_id = await anna.core.send_inquiry(_inquiry(), [], ["kommun-b"])
        path = f"/arende/{case_id.hex()}"
        await anna.post(f"{path}/close_not_moved", {"confirmed": "ja"})
        client = anna.core.client
        assert client is not None

        async def down(_case_id: bytes, _report: dict[str, Any]) -> dict[str, Any]:
            raise aiohttp.ClientConnectionError("hub down")

        real = client.put_outcome_report
        client.put_outcome_report = down  # type: ignore[method-assign]
        chosen = {"target_group": "man_with_children", "not_moved_reason": "no_municipality"}
        status, page = await anna.post(f"{path}/utfall/skicka", chosen)
        assert status == 503
        text = _text(page)
        assert "Rapporten är inte skickad. Hubben går inte att nå just nu" in text
        assert "Målgrupp Man med barn" in text
        assert 'name="target_group" value="man_with_children"' in page
        assert 'name="not_moved_reason" value="no_municipality"' in page
        assert "Skicka rapporten" in text
        assert await real(case_id, {**chosen, "moved": False}) is not None  # the hub is fine


async def test_a_reason_the_answers_rule_out_is_refused_before_review(net, tmp_path):
    """No one said yes, so "no housing in the new municipality" cannot be: the form comes
    back with the sentence beside the reason, and nothing reaches the hub."""
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        case_id = await anna.core.send_inquiry(_inquiry(), [], ["kommun-b"])
        path = f"/arende/{case_id.hex()}"
        await anna.core.close_not_moved(case_id)
        await anna.core.sync()
        sent = _capture(anna)
        chosen = {"target_group": "woman_without_children", "not_moved_reason": "no_housing"}
        for step in ("granska", "skicka"):
            status, page = await anna.post(f"{path}/utfall/{step}", chosen)
            assert status == 422
            assert (
                "Enligt ärendet tackade ingen tillfrågad kommun ja. "
                "Välj det skäl som stämmer med ärendet."
            ) in _text(page)
        assert sent == []
        chosen["not_moved_reason"] = "no_municipality"
        status, review = await anna.post(f"{path}/utfall/granska", chosen)
        assert status == 200
        assert "Skäl Ingen tillfrågad kommun kunde ta emot ärendet" in _text(review)

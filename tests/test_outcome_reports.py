"""The outcome report over a real hub: the sender files it once the case is closed, reads it back
and may correct it; it must tell the same story as the case; nobody else sees it."""

from __future__ import annotations

import json

import aiohttp
import pytest

from hub.client.api import API, RemoteError
from hub.crypto.format import MessageKind
from hub.server.typedefs import STORAGE
from tests.hubnet import NETWORK, running_hub

CASE = bytes.fromhex("b7" * 16)
MOVED_TO_B = {
    "target_group": "woman_with_children",
    "moved": True,
    "receiving_municipality": "kommun-b",
}
NOT_MOVED = {"target_group": "man_without_children", "moved": False, "not_moved_reason": "other"}


@pytest.fixture
async def net(tmp_path):
    async with running_hub(tmp_path) as hubnet:
        yield hubnet


async def _envelope(net, sender, to, kind, document):
    data = net.seal_to(sender, [to], document, kind=kind, case_id=CASE)
    ack = await (await net.client(sender)).upload(data, [to])
    return bytes.fromhex(ack.message_id), bytes.fromhex(ack.digest)


async def _ask_b(net):
    """A creates the case and asks B; B's inbox signs the delivery."""
    anna = await net.client("anna")
    await anna.create_case(CASE)
    inquiry, _ = await _envelope(net, "anna", "kommun-b", MessageKind.INQUIRY, {"x": "…"})
    await net.step("anna", CASE, "kommun-b", "send_inquiry", message_id=inquiry)
    await net.step("bertil", CASE, "kommun-b", "deliver", message_id=inquiry)


async def _moved_to_b(net):
    """B accepts, A confirms, the move and the follow-up are recorded, A closes: moved."""
    await _ask_b(net)
    yes, _ = await _envelope(net, "bertil", "kommun-a", MessageKind.ANSWER, {"beslut": "ja"})
    await net.step("bertil", CASE, "kommun-b", "accept", message_id=yes)
    await net.step("anna", CASE, "kommun-b", "confirm")
    await net.step("anna", CASE, "kommun-b", "record_move", details={"moving_date": "2027-02-01"})
    await net.step("anna", CASE, "kommun-b", "record_follow_up")
    view = await net.step("anna", CASE, "kommun-b", "close")
    assert view.outcome == "moved"


async def _raw_put(net, who, body: bytes):
    """PUT the report as bytes, to see the whole error the hub answers."""
    token = (await net.client(who)).signed_in.token
    url = f"{net.url}{API}/cases/{CASE.hex()}/outcome-report"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as session,
        session.put(url, data=body, headers=headers) as response,
    ):
        return response.status, await response.json()


async def test_sender_files_the_report_reads_it_back_and_may_correct_it(net):
    """After the move the sender files the report; it is read back as filed; filing again replaces it."""
    await _moved_to_b(net)
    anna = await net.client("anna")
    assert await anna.outcome_report(CASE) is None
    filed = await anna.put_outcome_report(CASE, MOVED_TO_B)
    assert filed["report"] == {**MOVED_TO_B, "not_moved_reason": None}
    assert await anna.outcome_report(CASE) == {**MOVED_TO_B, "not_moved_reason": None}
    corrected = {**MOVED_TO_B, "target_group": "woman_without_children"}
    await anna.put_outcome_report(CASE, corrected)
    assert (await anna.outcome_report(CASE))["target_group"] == "woman_without_children"


async def test_report_is_refused_until_the_case_is_closed(net):
    """While the case runs the report is refused (409 case_not_closed); after closing it is taken."""
    await _ask_b(net)
    anna = await net.client("anna")
    with pytest.raises(RemoteError) as caught:
        await anna.put_outcome_report(CASE, NOT_MOVED)
    assert (caught.value.status, caught.value.code) == (409, "case_not_closed")
    await net.step("anna", CASE, "kommun-a", "close_not_moved")
    await anna.put_outcome_report(CASE, NOT_MOVED)
    assert (await anna.outcome_report(CASE))["not_moved_reason"] == "other"


async def test_receiving_and_outside_municipalities_get_404(net):
    """Neither B (asked in the case) nor C (not asked) can file or read the report."""
    await _moved_to_b(net)
    await (await net.client("anna")).put_outcome_report(CASE, MOVED_TO_B)
    for person in ("bertil", "cecilia"):
        client = await net.client(person)
        with pytest.raises(RemoteError) as caught:
            await client.put_outcome_report(CASE, MOVED_TO_B)
        assert (caught.value.status, caught.value.code) == (404, "not_found")
        with pytest.raises(RemoteError) as caught:
            await client.outcome_report(CASE)
        assert caught.value.status == 404


async def test_a_report_that_contradicts_the_case_is_refused(net):
    """Not moved for a moved case, or moved to another municipality than B, is refused (422)."""
    await _moved_to_b(net)
    anna = await net.client("anna")
    for wrong, field in (
        (NOT_MOVED, "moved"),
        ({**MOVED_TO_B, "receiving_municipality": "kommun-c"}, "receiving_municipality"),
    ):
        status, body = await _raw_put(net, "anna", _json(wrong))
        assert (status, body["error"]["code"]) == (422, "outcome_report_mismatch")
        assert body["error"]["field"] == field
    assert await anna.outcome_report(CASE) is None


async def test_a_moved_report_for_a_case_closed_without_a_move_is_refused(net):
    await _ask_b(net)
    anna = await net.client("anna")
    await net.step("anna", CASE, "kommun-a", "close_not_moved")
    with pytest.raises(RemoteError) as caught:
        await anna.put_outcome_report(CASE, MOVED_TO_B)
    assert (caught.value.status, caught.value.code) == (422, "outcome_report_mismatch")


async def test_a_not_moved_reason_that_contradicts_the_answers_is_refused(net):
    """ "No municipality could take it" after B said yes, or "no housing in the new
    municipality" when no one said yes, is refused with the field and the case's fact named;
    the reason that fits is filed."""
    await _ask_b(net)
    anna = await net.client("anna")
    await net.step("anna", CASE, "kommun-a", "close_not_moved")
    status, body = await _raw_put(
        net, "anna", _json({**NOT_MOVED, "not_moved_reason": "no_housing"})
    )
    assert (status, body["error"]["code"]) == (422, "outcome_report_mismatch")
    assert body["error"]["field"] == "not_moved_reason"
    assert body["error"]["detail"] == "Enligt ärendet tackade ingen tillfrågad kommun ja."
    await anna.put_outcome_report(CASE, {**NOT_MOVED, "not_moved_reason": "no_municipality"})
    assert (await anna.outcome_report(CASE))["not_moved_reason"] == "no_municipality"


async def test_no_municipality_is_refused_when_one_accepted(net):
    await _ask_b(net)
    anna = await net.client("anna")
    yes, _ = await _envelope(net, "bertil", "kommun-a", MessageKind.ANSWER, {"beslut": "ja"})
    await net.step("bertil", CASE, "kommun-b", "accept", message_id=yes)
    await net.step("anna", CASE, "kommun-a", "close_not_moved")
    status, body = await _raw_put(
        net, "anna", _json({**NOT_MOVED, "not_moved_reason": "no_municipality"})
    )
    assert (status, body["error"]["code"]) == (422, "outcome_report_mismatch")
    assert body["error"]["detail"] == "Enligt ärendet tackade en tillfrågad kommun ja."
    assert await anna.outcome_report(CASE) is None
    await anna.put_outcome_report(CASE, {**NOT_MOVED, "not_moved_reason": "no_housing"})
    assert (await anna.outcome_report(CASE))["not_moved_reason"] == "no_housing"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"moved": False, "not_moved_reason": "other"}, "target_group"),
        ({**NOT_MOVED, "target_group": "child"}, "target_group"),
        ({**NOT_MOVED, "moved": "no"}, "moved"),
        ({"target_group": "man_with_children", "moved": False}, "not_moved_reason"),
        ({**NOT_MOVED, "not_moved_reason": "bostadsbrist"}, "not_moved_reason"),
        ({**NOT_MOVED, "motivering": "fri text"}, "motivering"),
    ],
)
async def test_an_invalid_report_answers_400_naming_the_field(net, body, field):
    await _ask_b(net)
    await net.step("anna", CASE, "kommun-a", "close_not_moved")
    status, answer = await _raw_put(net, "anna", _json(body))
    assert (status, answer["error"]["code"]) == (400, "outcome_report_invalid")
    assert answer["error"]["field"] == field
    assert field in answer["error"]["detail"]
    assert "fri text" not in str(answer)


async def test_nothing_of_the_report_reaches_the_receiving_municipality(net):
    """B's view of the case and its case list carry nothing of the report."""
    await _moved_to_b(net)
    await (await net.client("anna")).put_outcome_report(CASE, MOVED_TO_B)
    bertil = await net.client("bertil")
    seen = str(await bertil.case(CASE)) + str(await bertil.cases())
    assert "woman_with_children" not in seen
    assert "target_group" not in seen
    assert "report" not in seen


async def test_the_report_is_stored_for_the_statistics_and_audited_without_values(net):
    """The stored report is listed per network; the audit names the case only; replaced on refiling."""
    await _moved_to_b(net)
    anna = await net.client("anna")
    await anna.put_outcome_report(CASE, MOVED_TO_B)
    await anna.put_outcome_report(CASE, {**MOVED_TO_B, "target_group": "man_with_children"})
    storage = net.app[STORAGE]
    listed = await storage.list_outcome_reports(NETWORK)
    assert [(case_id, report["target_group"]) for case_id, report, _ in listed] == [
        (CASE, "man_with_children")
    ]
    assert await storage.list_outcome_reports("another-network") == []
    filings = [r async for r in storage.audit_records() if r.action == "outcome_report_filed"]
    assert [r.subject for r in filings] == [{"case_id": CASE.hex()}] * 2


def _json(value: object) -> bytes:
    return json.dumps(value).encode()

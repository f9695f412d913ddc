"""The coordinator's statistics over a real hub: cases driven by real contact persons, then what
a coordinator sees (suppressed tables as JSON and CSV), what others are refused, and a canary
that proves no case content reaches the statistics or the hub's disk."""

from __future__ import annotations

import csv
import io
import json

import aiohttp
import pytest

from hub.client.api import API, RemoteError
from hub.crypto.format import MessageKind
from hub.report.export import CSV_HEADER
from hub.report.suppression import SMALL
from hub.report.wire import report_from_json, report_to_json
from hub.server.report_source import yearly_report
from hub.server.typedefs import CALENDAR, REPORTS, STORAGE
from tests.hubnet import NETWORK, running_hub

MOVED = bytes.fromhex("c1" * 16)  # A asks B; B accepts; the move is done and reported
DECLINED = bytes.fromhex("c2" * 16)  # A asks B and C; B declines; A closes without a move
OPEN = bytes.fromhex("c3" * 16)  # A asks C; no answer yet
CANARY = "KANARIEFÅGEL-7f3a-Qzx9"
# The canary as it could sit on disk: UTF-8, JSON's \u escapes, and its ASCII tail alone.
CANARY_FORMS = (CANARY.encode(), json.dumps(CANARY).encode(), b"7f3a-Qzx9")
YEAR = 2026  # tests.hubnet.START is in November 2026 in Stockholm


@pytest.fixture
async def net(tmp_path):
    async with running_hub(tmp_path) as hubnet:
        await hubnet.enrol("signe", "lansstyrelsen", role="coordinator")
        await hubnet.enrol("styrbjorn", "lansstyrelsen", role="county_board")
        yield hubnet


async def _envelope(  # noqa: PLR0917 - as the other server tests' helper, plus the case
    net, case_id, sender, to, kind, document, *, attachments=None
):
    data = net.seal_to(sender, [to], document, attachments, kind=kind, case_id=case_id)
    ack = await (await net.client(sender)).upload(data, [to])
    return bytes.fromhex(ack.message_id), bytes.fromhex(ack.digest)


async def _delivered(net, case_id, person, message_id):
    """The asked municipality's inbox signs the delivery of the inquiry it took."""
    await net.step(person, case_id, net.municipality_of[person], "deliver", message_id=message_id)


async def _ask(net, case_id, person, municipality, *, document=None, attachments=None):
    """A sends the inquiry; the asked municipality's inbox signs its delivery."""
    inquiry, _ = await _envelope(
        net,
        case_id,
        "anna",
        municipality,
        MessageKind.INQUIRY,
        document or {"bakgrund": "…"},
        attachments=attachments,
    )
    await net.step("anna", case_id, municipality, "send_inquiry", message_id=inquiry)
    await _delivered(net, case_id, person, inquiry)
    return inquiry


async def _three_cases(net):
    """The year's cases, with the canary in every sealed place a contact person types into."""
    anna = await net.client("anna")
    for case_id in (MOVED, DECLINED, OPEN):
        await anna.create_case(case_id)

    await _ask(net, MOVED, "bertil", "kommun-b")
    yes, _ = await _envelope(net, MOVED, "bertil", "kommun-a", MessageKind.ANSWER, {"beslut": "ja"})
    await net.step("bertil", MOVED, "kommun-b", "accept", message_id=yes)
    await net.step("anna", MOVED, "kommun-b", "confirm")
    await net.step("anna", MOVED, "kommun-b", "record_move", details={"moving_date": "2026-12-01"})
    await net.step("anna", MOVED, "kommun-b", "record_follow_up")
    await net.step("anna", MOVED, "kommun-b", "close")
    await anna.put_outcome_report(
        MOVED,
        {
            "target_group": "woman_with_children",
            "moved": True,
            "receiving_municipality": "kommun-b",
        },
    )

    await _ask(
        net,
        DECLINED,
        "bertil",
        "kommun-b",
        document={"bakgrund": f"Hotbild: {CANARY}"},
        attachments=[(f"utredning-{CANARY}.pdf", f"%PDF {CANARY}".encode())],
    )
    await _ask(net, DECLINED, "cecilia", "kommun-c")
    await _envelope(
        net, DECLINED, "anna", "kommun-b", MessageKind.MESSAGE, {"text": f"Fråga: {CANARY}"}
    )
    no, _ = await _envelope(
        net,
        DECLINED,
        "bertil",
        "kommun-a",
        MessageKind.ANSWER,
        {"beslut": "nej", "motivering": f"Kvoten är fylld. {CANARY}"},
    )
    await net.step(
        "bertil",
        DECLINED,
        "kommun-b",
        "decline",
        details={"reason": "quota_reached"},
        message_id=no,
    )
    await net.step("anna", DECLINED, "kommun-a", "close_not_moved")
    await anna.put_outcome_report(
        DECLINED,
        {"target_group": "man_without_children", "moved": False, "not_moved_reason": "other"},
    )

    await _ask(net, OPEN, "cecilia", "kommun-c")


async def _get(net, who, path):
    """GET as `who` and return (status, headers, body bytes), to see the whole answer."""
    token = (await net.client(who)).signed_in.token
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{net.url}{API}{path}", headers={"Authorization": f"Bearer {token}"}) as r,
    ):
        return r.status, r.headers, await r.read()


def _row(body, table, label):
    return next(r for r in _table(body, table)["rows"] if r["label"] == label)["values"]


def _table(body, key):
    return next(t for t in body["tables"] if t["key"] == key)


async def test_coordinator_sees_the_years_figures_with_small_numbers_suppressed(net):
    """Three cases and four inquiries are shown as counts; one move, one child case: "<3".
    The four went two to Kommun B and two to Kommun C: with the total shown, their two "<3"
    could only be 2 and 2, so a cell of that column is hidden too (Kommun A's 0), not the
    headline figure."""
    await _three_cases(net)
    body = await (await net.client("signe")).statistics(YEAR)
    assert body["year"] == YEAR
    assert _row(body, "oversikt", "Ärenden") == ["3"]
    assert _row(body, "oversikt", "Förfrågningar") == ["4"]
    assert _row(body, "oversikt", "Genomförda flyttar") == [SMALL]
    assert _row(body, "oversikt", "Ärenden med barn (enligt utfallsrapporterna)") == [SMALL]
    assert _row(body, "oversikt", "Avslutade ärenden utan utfallsrapport") == ["0"]
    values = [v for t in body["tables"] for r in t["rows"] for v in r["values"]]
    assert values
    assert all(isinstance(v, str) for v in values)
    assert report_to_json(report_from_json(body)) == body  # a client rebuilds the same Report
    assert await (await net.client("signe")).statistics() == body  # no year: this year


async def test_csv_is_the_same_tables_for_a_spreadsheet(net):
    """UTF-8 with a byte order mark, the header line, one shown value a line, as an attachment."""
    await _three_cases(net)
    status, headers, data = await _get(
        net, "signe", f"/networks/{NETWORK}/statistics.csv?year={YEAR}"
    )
    assert status == 200
    assert headers["Content-Type"] == "text/csv; charset=utf-8"
    assert headers["Content-Disposition"] == (
        f'attachment; filename="statistik-{NETWORK}-{YEAR}.csv"'
    )
    assert data.startswith(b"\xef\xbb\xbf" + ";".join(CSV_HEADER).encode() + b"\r\n")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert [str(YEAR), f"Översikt {YEAR}", "Förfrågningar", "Värde", "4"] in rows
    assert [str(YEAR), f"Översikt {YEAR}", "Genomförda flyttar", "Värde", SMALL] in rows
    assert data == await (await net.client("signe")).statistics_csv(YEAR)


async def test_county_board_and_administrator_may_read_a_contact_person_may_not(net):
    """The county board and the administrator see the same tables; a contact person gets the
    refusal every role-restricted route gives (404 forbidden), for JSON and CSV alike."""
    await _three_cases(net)
    expected = await (await net.client("signe")).statistics(YEAR)
    assert await (await net.client("styrbjorn")).statistics(YEAR) == expected
    assert await (await net.client()).statistics(YEAR) == expected
    for person in ("anna", "bertil"):
        client = await net.client(person)
        for call in (client.statistics, client.statistics_csv):
            with pytest.raises(RemoteError) as caught:
                await call(YEAR)
            assert (caught.value.status, caught.value.code) == (404, "forbidden")


async def test_the_year_is_checked(net):
    """From 2000 to next year by the hub's clock; anything else, or another parameter, is 400."""
    signe = await net.client("signe")
    assert (await signe.statistics(YEAR + 1))["year"] == YEAR + 1
    assert (await signe.statistics(2000))["year"] == 2000
    for query in ("year=1999", f"year={YEAR + 2}", "year=abc", "year=02026", "year=", "x=1"):
        for path in ("statistics", "statistics.csv"):
            status, _, data = await _get(net, "signe", f"/networks/{NETWORK}/{path}?{query}")
            assert status == 400, query
            assert json.loads(data)["error"]["code"] == "request_malformed"


async def test_another_networks_path_answers_as_if_it_did_not_exist(net):
    status, _, data = await _get(net, "signe", "/networks/annat-natverk/statistics")
    assert (status, json.loads(data)["error"]["code"]) == (404, "not_found")


async def test_a_coordinator_opens_no_envelope_and_no_case(net):
    """The coordinator's session is refused on every envelope and case route (404, as for a
    case that does not exist), blob downloads, receipts and the signed steps included: no
    signed record of a case reaches the coordinator."""
    await _three_cases(net)
    inquiry = bytes.fromhex((await (await net.client("anna")).envelopes("sent"))[0].message_id)
    signe = await net.client("signe")
    for path in (
        "/cases",
        f"/cases/{MOVED.hex()}",
        f"/cases/{MOVED.hex()}/outcome-report",
        f"/cases/{MOVED.hex()}/steps",
        "/envelopes?box=inbox",
        "/envelopes?box=sent",
        f"/envelopes/{inquiry.hex()}",
        f"/envelopes/{inquiry.hex()}/blob",
        f"/envelopes/{inquiry.hex()}/receipts",
        "/live",
    ):
        status, _, data = await _get(net, "signe", path)
        assert status == 404, path
        assert json.loads(data)["error"]["code"] == "forbidden", path
    for call in (signe.cases, signe.envelopes):
        with pytest.raises(RemoteError) as caught:
            await call()
        assert caught.value.status == 404
    with pytest.raises(RemoteError) as caught:
        await signe.download(inquiry)
    assert caught.value.status == 404
    with pytest.raises(RemoteError) as caught:
        await signe.create_case(bytes(16))
    assert caught.value.status == 404


async def test_canary_never_reaches_the_statistics_or_the_hubs_disk(net):
    """A unique string typed into an inquiry, an attachment's name, a message and a decline
    motivation is sealed on the contact persons' machines: it is in no statistics answer, no
    CSV, and no byte of any file in the hub's data directory (database, WAL, blobs)."""
    await _three_cases(net)
    answers = []
    for who in ("signe", "styrbjorn", None):
        client = await net.client(who)
        answers.append(json.dumps(await client.statistics(YEAR), ensure_ascii=False).encode())
        answers.append(json.dumps(await client.statistics(YEAR)).encode())
        answers.append(await client.statistics_csv(YEAR))
    files = [p for p in net.data_dir.rglob("*") if p.is_file()]
    assert any(p.suffix != ".db" and p.stat().st_size > 1000 for p in files)  # the blobs
    stored = [p.read_bytes() for p in files]
    for form in CANARY_FORMS:
        for data in answers + stored:
            assert form not in data
    # The same scan finds a string the hub does store (so the scan itself reads what it should).
    assert any(NETWORK.encode() in data for data in stored)


async def test_storage_lists_every_case_of_the_network(net):
    """list_network_cases: each case once, with all its requests; another network has none."""
    await _three_cases(net)
    storage = net.app[STORAGE]
    rows = await storage.list_network_cases(NETWORK)
    assert [r.case_id for r in rows] == [MOVED, DECLINED, OPEN]
    assert [[m for m, _, _ in r.requests] for r in rows] == [
        ["kommun-b"],
        ["kommun-b", "kommun-c"],
        ["kommun-c"],
    ]
    assert [r.data for r in rows] == [(await storage.get_case(r.case_id)).data for r in rows]
    assert await storage.list_network_cases("annat-natverk") == []


async def test_a_stored_outcome_report_that_no_longer_reads_is_not_skipped(net):
    """yearly_report raises rather than count a case short; the route answers 500."""
    await _three_cases(net)
    storage = net.app[STORAGE]
    async with storage.transaction() as tx:
        await tx.put_outcome_report(MOVED, NETWORK, "kommun-a", {"target_group": "x"}, 0)
    with pytest.raises(ValueError, match="moved"):
        await yearly_report(
            storage, NETWORK, YEAR, as_of=int(net.clock.now), calendar=net.app[CALENDAR]
        )
    status, _, _ = await _get(net, "signe", f"/networks/{NETWORK}/statistics")
    assert status == 500


# -- the wire format ---------------------------------------------------------------------------


def _wire():
    return {
        "year": 2026,
        "legend": "förklaring",
        "never_received": ["Kommun C"],
        "tables": [
            {
                "key": "t",
                "title": "Tabell",
                "row_header": "",
                "description": "",
                "columns": ["Antal"],
                "rows": [{"label": "Ärenden", "values": [SMALL], "level": 0, "is_total": True}],
            }
        ],
    }


def test_wire_round_trip():
    report = report_from_json(_wire())
    assert report.table("t").rows[0].values == (SMALL,)
    assert report_to_json(report) == _wire()


@pytest.mark.parametrize(
    "spoil",
    [
        lambda w: w.update(extra=1),
        lambda w: w.pop("legend"),
        lambda w: w.update(year="2026"),
        lambda w: w.update(year=True),
        lambda w: w.update(never_received="Kommun C"),
        lambda w: w.update(tables={}),
        lambda w: w["tables"][0].update(extra=1),
        lambda w: w["tables"][0].pop("columns"),
        lambda w: w["tables"].append(w["tables"][0]),
        lambda w: w["tables"][0]["rows"][0].update(values=[1]),
        lambda w: w["tables"][0]["rows"][0].update(values=["1", "2"]),
        lambda w: w["tables"][0]["rows"][0].update(level=True),
        lambda w: w["tables"][0]["rows"][0].update(level=2),
        lambda w: w["tables"][0]["rows"][0].update(is_total=1),
        lambda w: w["tables"][0]["rows"][0].update(secret="x"),
    ],
)
def test_wire_is_read_strictly(spoil):
    wire = _wire()
    spoil(wire)
    with pytest.raises(ValueError):
        report_from_json(wire)


def test_wire_refuses_what_is_not_an_object():
    for data in (None, [], "report", 2026):
        with pytest.raises(ValueError):
            report_from_json(data)


async def test_reports_are_built_once_and_a_new_case_shows_at_once(net):
    """The same figures give the cached report (built once, off the event loop); a new case
    changes the figures, and the next answer counts it."""
    await _three_cases(net)
    signe = await net.client("signe")
    first = await signe.statistics(YEAR)
    assert await signe.statistics(YEAR) == first
    assert len(net.app[REPORTS]) == 1
    later = bytes.fromhex("c4" * 16)
    await (await net.client("anna")).create_case(later)
    await _ask(net, later, "bertil", "kommun-b")
    after = await signe.statistics(YEAR)
    assert _row(first, "oversikt", "Ärenden") == ["3"]
    assert _row(after, "oversikt", "Ärenden") == ["4"]
    assert len(net.app[REPORTS]) == 2

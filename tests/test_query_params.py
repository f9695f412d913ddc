"""Every query parameter of the hub is checked (issue 11): a bad value, an unknown or repeated
parameter answers 400 request_malformed naming it, never 500. Against a real hub."""

from __future__ import annotations

import aiohttp
import pytest

from tests.hubnet import NETWORK, running_hub

NET = f"/api/v1/networks/{NETWORK}"
HUGE = "9" * 40


@pytest.fixture
async def net(tmp_path):
    async with running_hub(tmp_path) as hubnet:
        yield hubnet


async def _answer(net, who, method, path, query, *, data=None) -> tuple[int, dict]:
    client = await net.client(who)
    headers = {"Authorization": f"Bearer {client.signed_in.token}"}
    url = f"{net.url}{path}?{query}" if query else f"{net.url}{path}"
    async with (
        aiohttp.ClientSession() as s,
        s.request(method, url, data=data, headers=headers) as r,
    ):
        return r.status, await r.json()


BAD_LISTINGS = [
    "after=abc",
    "after=-1",
    "after=1e3",
    "after=1_000",
    "after=%201",
    "after=%EF%BC%91",  # a full-width digit one: int() would take it
    f"after={HUGE}",
    "after=9223372036854775808",  # one past SQLite's largest integer
    "after=",
    "box=x",
    "box=",
    "box=inbox&box=sent",
    "after=1&after=2",
    "limit=5",
    "box=inbox&token=x",
]


@pytest.mark.parametrize("query", BAD_LISTINGS)
async def test_a_bad_envelope_listing_query_answers_400(net, query):
    """A cursor that is not a plain number in range, an unknown box, a repeated or unknown
    parameter: 400 with a stable code, not a 500 and not a silently ignored value."""
    status, body = await _answer(net, "anna", "GET", "/api/v1/envelopes", query)
    assert (status, body["error"]["code"]) == (400, "request_malformed")


async def test_the_largest_cursor_is_answered_with_nothing_after_it(net):
    """The top of the range is valid and lists nothing."""
    status, body = await _answer(
        net, "anna", "GET", "/api/v1/envelopes", "box=sent&after=9223372036854775807"
    )
    assert (status, body) == (200, {"envelopes": []})


BAD_TO = [
    "",
    "to=",
    "to=kommun-b,",
    "to=,kommun-b",
    "to=kommun-b,kommun-b",
    "to=%20kommun-b",
    "to=kommun%01b",
    "to=kommun-b%E2%80%8B",  # a zero-width space: not a name the directory could hold
    "to=" + "x" * 201,
    "to=" + ",".join(f"kommun-{i}" for i in range(17)),
    "to=kommun-b&to=kommun-c",
    "to=kommun-b&after=1",
]


@pytest.mark.parametrize("query", BAD_TO)
async def test_a_bad_upload_address_answers_400_and_stores_nothing(net, query):
    """`to` must be 1 to 16 distinct municipality ids written as the directory writes names."""
    data = net.seal_to("anna", ["kommun-b"], {"x": "1"})
    status, body = await _answer(net, "anna", "POST", "/api/v1/envelopes", query, data=data)
    assert (status, body["error"]["code"]) == (400, "request_malformed")
    anna = await net.client("anna")
    assert await anna.envelopes("sent") == []


async def test_an_upload_to_a_municipality_without_keys_is_refused(net):
    """An envelope sealed to the sender's own keys only, addressed to a municipality that is
    not in the directory, is not stored as sent to nobody."""
    data = net.seal_to("anna", [], {"x": "1"})
    status, body = await _answer(net, "anna", "POST", "/api/v1/envelopes", "to=kommun-x", data=data)
    assert (status, body["error"]["code"]) == (422, "envelope_recipients_mismatch")


@pytest.mark.parametrize(
    ("path", "query"),
    [
        (f"{NET}/enrolments", "status=x"),
        (f"{NET}/enrolments", "status=pending,approved"),
        (f"{NET}/enrolments", "status=pending&status=approved"),
        (f"{NET}/enrolments", "state=pending"),
        (f"{NET}/notices", "status="),
        (f"{NET}/notices", "status=failed,failed"),
        (f"{NET}/notices", "status=failed,bogus"),
        (f"{NET}/notices", "status=failed,"),
        (f"{NET}/notices", "page=2"),
        (f"{NET}/statistics", "year=abc"),
        (f"{NET}/statistics", f"year={HUGE}"),
        (f"{NET}/statistics", "year=2026&year=2025"),
        (f"{NET}/statistics.csv", "format=xlsx"),
        (f"{NET}/quotas", "year=2026"),
        (f"{NET}/directory", "since=1"),
        (f"{NET}/contacts", "x=1"),
    ],
)
async def test_the_administrators_lists_check_their_queries(net, path, query):
    """The administrator's lists take only their own parameters, each in its form."""
    status, body = await _answer(net, None, "GET", path, query)
    assert (status, body["error"]["code"]) == (400, "request_malformed")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/cases"),
        ("GET", "/api/v1/cases/" + "00" * 16),
        ("GET", "/api/v1/envelopes/" + "00" * 16),
        ("POST", "/api/v1/cases"),
    ],
)
async def test_a_route_without_parameters_refuses_any(net, method, path):
    """A parameter the route does not take is refused rather than ignored."""
    status, body = await _answer(net, "anna", method, path, "after=1")
    assert (status, body["error"]["code"]) == (400, "request_malformed")


async def test_the_right_parameters_still_work(net):
    """The valid forms answer 200: the cursor, both boxes, a status list, a year."""
    for query in ("", "box=inbox", "box=sent&after=0", "after=12"):
        status, _ = await _answer(net, "anna", "GET", "/api/v1/envelopes", query)
        assert status == 200
    for path, query in (
        (f"{NET}/notices", "status=pending,sent"),
        (f"{NET}/enrolments", "status=approved"),
        (f"{NET}/statistics", "year=2026"),
    ):
        status, _ = await _answer(net, None, "GET", path, query)
        assert status == 200

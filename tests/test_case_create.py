"""Creating a case (issue 11): a retry by the case's own municipality is answered again and
changes nothing; an id another municipality holds is refused exactly as an id that is not an
id at all, so the answer says nothing about who holds it or where. Against a real hub."""

from __future__ import annotations

import json

import aiohttp
import pytest

from hub.storage.sqlite import SqliteStorage
from tests.hubnet import running_hub

CASE = bytes.fromhex("c4" * 16)


@pytest.fixture
async def net(tmp_path):
    async with running_hub(tmp_path) as hubnet:
        yield hubnet


async def _create(net, person: str, case_id: str) -> tuple[int, bytes]:
    """The hub's raw answer to POST /cases: status and body bytes."""
    client = await net.client(person)
    headers = {"Authorization": f"Bearer {client.signed_in.token}"}
    async with (
        aiohttp.ClientSession() as s,
        s.post(f"{net.url}/api/v1/cases", json={"case_id": case_id}, headers=headers) as r,
    ):
        return r.status, await r.read()


def _without_request_id(body: bytes) -> bytes:
    """The body with its request id (random for every request, so it tells nothing) blanked,
    byte for byte otherwise."""
    request_id = json.loads(body)["error"]["request_id"]
    assert len(request_id) == 16
    return body.replace(request_id.encode(), b"-" * 16)


async def _audit_count(net) -> int:
    storage = await SqliteStorage.open(net.data_dir)
    try:
        return len([r async for r in storage.audit_records()])
    finally:
        await storage.close()


async def test_an_id_held_elsewhere_is_refused_as_an_invalid_id_is(net):
    """Bertil (Kommun B) posting Kommun A's case id gets, byte for byte, the answer for an id
    that is not 16 bytes of hex: nothing says the id is taken, or by whom."""
    assert (await _create(net, "anna", CASE.hex()))[0] == 201
    await net.client("bertil")
    before = await _audit_count(net)
    taken = await _create(net, "bertil", CASE.hex())
    invalid = await _create(net, "bertil", "zz" * 16)
    assert taken[0] == invalid[0] == 400
    assert _without_request_id(taken[1]) == _without_request_id(invalid[1])
    assert json.loads(taken[1])["error"]["code"] == "request_malformed"
    assert await _audit_count(net) == before
    assert await (await net.client("bertil")).cases() == []
    assert [c.sender for c in await (await net.client("anna")).cases()] == ["kommun-a"]


async def test_the_same_municipality_creating_its_case_again_gets_it_back(net):
    """A retry of Kommun A's create, by Anna or by a colleague, answers 200 with the case as it
    stands, and stores no second case and no second audit record."""
    await net.enrol("alva", "kommun-a")
    first = await _create(net, "anna", CASE.hex())
    await net.client("alva")
    before = await _audit_count(net)
    again = await _create(net, "anna", CASE.hex())
    by_colleague = await _create(net, "alva", CASE.hex())
    assert first[0] == 201
    assert again == (200, first[1])
    assert by_colleague == (200, first[1])
    assert await _audit_count(net) == before

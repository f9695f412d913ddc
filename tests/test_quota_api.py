"""Each member's quota and what it has received this year, over a real hub: what a contact
person sees while choosing whom to ask (GET /networks/{network}/quotas)."""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING

import pytest

from hub.client.api import RemoteError
from hub.crypto.format import MessageKind
from hub.protocol.settings import DEFAULT_QUOTA_KEY, parse_quota_key
from hub.storage.sqlite import DB_NAME
from tests.hubnet import NETWORK, YEAR, as_json, running_hub
from tests.test_statistics_api import _ask, _envelope

if TYPE_CHECKING:
    from tests.hubnet import HubNet

CASE = bytes.fromhex("d1" * 16)
SENT = bytes.fromhex("d2" * 16)


async def with_quota_key(net: HubNet, key: str = DEFAULT_QUOTA_KEY) -> None:
    """Give the test network a quota key, as `hub network create --quota-key` stores it."""
    await net.stop()
    with sqlite3.connect(net.data_dir / DB_NAME) as db:
        (settings,) = db.execute(
            "SELECT settings FROM networks WHERE id = ?", (NETWORK,)
        ).fetchone()
        db.execute(
            "UPDATE networks SET settings = ? WHERE id = ?",
            (json.dumps({**json.loads(settings), "quota_key": parse_quota_key(key)}), NETWORK),
        )
    await net.restart()


@pytest.fixture
async def net(tmp_path):
    async with running_hub(tmp_path) as hubnet:
        await hubnet.enrol("signe", "lansstyrelsen", role="coordinator")
        yield hubnet


def _by_id(body):
    return {m["id"]: m for m in body["municipalities"]}


async def test_a_delivered_inquiry_counts_against_the_quota(net):
    """After one inquiry delivered to B: B has received 1 of its 3 (25,000 inhabitants under
    0:1,10000:2,20001:3); C, sent one it has not fetched, and A none. Counts only, no case."""
    await with_quota_key(net)
    anna = await net.client("anna")
    await anna.create_case(CASE)
    await _ask(net, CASE, "bertil", "kommun-b")
    await anna.create_case(SENT)  # sent to C, not yet fetched by C's inbox: not received
    inquiry, _ = await _envelope(net, SENT, "anna", "kommun-c", MessageKind.INQUIRY, {"b": "…"})
    await net.step("anna", SENT, "kommun-c", "send_inquiry", message_id=inquiry)

    body = as_json(await (await net.client("cecilia")).quotas())
    assert body["year"] == 2026  # tests.hubnet.START, in Stockholm
    assert _by_id(body) == {
        "kommun-a": {"id": "kommun-a", "quota": 3, "received": 0},
        "kommun-b": {"id": "kommun-b", "quota": 3, "received": 1},
        "kommun-c": {"id": "kommun-c", "quota": 3, "received": 0},
    }
    assert CASE.hex() not in json.dumps(body)
    assert body == as_json(await (await net.client("signe")).quotas())  # others may read it too


async def test_without_a_quota_key_the_quota_is_null(net):
    anna = await net.client("anna")
    await anna.create_case(CASE)
    await _ask(net, CASE, "bertil", "kommun-b")
    members = _by_id(as_json(await (await net.client("bertil")).quotas()))
    assert members["kommun-b"] == {"id": "kommun-b", "quota": None, "received": 1}


async def test_a_new_year_starts_from_nothing(net):
    await with_quota_key(net)
    anna = await net.client("anna")
    await anna.create_case(CASE)
    await _ask(net, CASE, "bertil", "kommun-b")
    net.clock.now += YEAR
    body = as_json(await (await net.client("anna", fresh=True)).quotas())
    assert body["year"] == 2027
    assert _by_id(body)["kommun-b"]["received"] == 0


async def test_another_network_or_a_query_is_refused(net):
    anna = await net.client("anna")
    with pytest.raises(RemoteError) as refused:
        await anna._request("GET", "/api/v1/networks/annat-natverk/quotas")
    assert refused.value.status == 404
    with pytest.raises(RemoteError) as refused:
        await anna._request("GET", f"/api/v1/networks/{NETWORK}/quotas", params={"year": "2025"})
    assert refused.value.status == 400

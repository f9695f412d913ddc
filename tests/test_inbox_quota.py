"""Ny förfrågan shows each municipality's quota so far this year, as the agent last fetched it
from a real hub, as the description of its checkbox; with the hub gone, the last figure with its
date, never an error."""

from __future__ import annotations

import html
import re

import pytest

from tests.hubnet import running_hub  # its clock starts on 2026-11-18 in Stockholm
from tests.inboxnet import running_agent
from tests.test_quota_api import with_quota_key
from tests.test_statistics_api import _ask

CASE = bytes.fromhex("e1" * 16)


@pytest.fixture
async def net(tmp_path):
    async with running_hub(tmp_path) as hubnet:
        yield hubnet


def _description(page: str, municipality: str) -> str:
    """The text the checkbox for `municipality` is described by (its aria-describedby)."""
    box = re.search(rf'<input[^>]*value="{municipality}"[^>]*>', page)
    assert box is not None, municipality
    described = re.search(r'aria-describedby="([^"]+)"', box.group(0))
    assert described is not None
    (text,) = re.findall(rf'id="{described.group(1)}"[^>]*>([^<]*)<', page)
    return html.unescape(text).strip()


async def test_compose_shows_each_quota_as_the_checkbox_description(net, tmp_path):
    await with_quota_key(net)
    await (await net.client("anna")).create_case(CASE)
    await _ask(net, CASE, "bertil", "kommun-b")
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        status, page = await anna.page("/ny")
        assert status == 200
        assert _description(page, "kommun-b") == "Kvot i år: 1 av 3 mottagna"
        assert _description(page, "kommun-c") == "Kvot i år: 0 av 3 mottagna"

        # Two days on, the hub stops answering: the last figures stay, with their date.
        net.clock.now += 2 * 86_400
        real_url = anna.core.client.base_url
        anna.core.client.base_url = "http://127.0.0.1:9"  # nothing listens there
        await anna.core._fetch_year_so_far(anna.core.client)
        anna.core.client.base_url = real_url
        status, page = await anna.page("/ny")
        assert status == 200
        assert (
            _description(page, "kommun-b") == "Kvot i år: 1 av 3 mottagna (uppgift från 2026-11-18)"
        )


async def test_without_a_quota_key_it_says_so(net, tmp_path):
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        _, page = await anna.page("/ny")
        assert _description(page, "kommun-b") == "Kvot i år: ingen kvot, 0 mottagna"


async def test_with_the_hub_gone_the_page_shows_the_last_figures(net, tmp_path):
    await with_quota_key(net)
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        await net.stop()
        anna.core.online = False  # as the live channel notices
        status, page = await anna.page("/ny")
        assert status == 200
        assert (
            _description(page, "kommun-b") == "Kvot i år: 0 av 3 mottagna (uppgift från 2026-11-18)"
        )

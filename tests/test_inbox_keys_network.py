"""Kontakt och nycklar shows the whole network, kept current as the directory changes: every
municipality by its signed name, its kommunmall's contact text as the municipality wrote it,
every key holder with their role and the fingerprint to compare. Real hub, real agent."""

from __future__ import annotations

import re

import pytest

from tests.hubnet import running_hub
from tests.inboxnet import page_text, running_agent

CONTACT_B = (
    "Ring växeln 010-123 45 00 och fråga efter socialjouren. E-post: kontakt@kommun-b.example"
)


@pytest.fixture
async def net(tmp_path):
    async with running_hub(tmp_path) as hubnet:
        await hubnet.sign_kommunmall("kommun-b", "Öppenvård för vuxna och barn.", CONTACT_B)
        await hubnet.register("lansstyrelsen", "Länsstyrelsen i Testlän")
        await hubnet.enrol("gun", "lansstyrelsen", role="county_board")
        yield hubnet


def _section(page: str, name: str) -> str:
    """The words of one municipality's section on the keys page (its heading on)."""
    text = page_text(page)
    found = re.search(rf"{re.escape(name)} (Kontakt enligt|Kommunmallen har)", text)
    assert found, name
    return text[found.start() : found.start() + 600]


async def test_the_whole_network_with_roles_contact_texts_and_fingerprints(net, tmp_path):
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        status, page = await anna.page("/nycklar")
        assert status == 200
        b = _section(page, "Kommun B")
        assert f"Kontakt enligt kommunmallen: {CONTACT_B}" in b
        for person in ("bertil", "britta"):
            assert f"{person} Kontaktperson {net.people[person].public.fingerprint}" in b
        assert "Kommunmallen har inga kontaktuppgifter." in _section(page, "Kommun C")
        board = _section(page, "Länsstyrelsen i Testlän")
        assert f"gun Länsstyrelsen {net.people['gun'].public.fingerprint}" in board
        # Names only: no municipality id reaches the page's words.
        for municipality_id in ("kommun-b", "kommun-c", "lansstyrelsen"):
            assert municipality_id not in page_text(page).replace("@kommun-b.example", "")

        # The directory changes behind the agent's back: the page follows without a sync.
        await net.register("kommun-d", "Kommun D")
        await net.enrol("david", "kommun-c")
        _, page = await anna.page("/nycklar")
        assert f"david Kontaktperson {net.people['david'].public.fingerprint}" in _section(
            page, "Kommun C"
        )
        assert "Ingen har en giltig nyckel i Kommun D just nu" in page_text(page)
        assert "har ändrats" not in page  # a new person is no changed key

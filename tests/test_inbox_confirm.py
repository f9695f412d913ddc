"""Confirm what cannot be undone, through the agent: the first post of an action that ends
something only asks (saying what happens and who is told); the action is taken when the
confirmation's own post comes back."""

from __future__ import annotations

import pytest

from tests.hubnet import running_hub
from tests.inboxnet import running_agent


@pytest.fixture
async def net(tmp_path):
    async with running_hub(tmp_path) as hubnet:
        yield hubnet


async def test_a_withdrawal_is_only_asked_about_until_confirmed(net, tmp_path):
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        case_id = (
            await anna.core.send_inquiry({"boende": "x"}, [], ["kommun-b", "kommun-c"])
        ).hex()
        status, page = await anna.post(f"/arende/{case_id}/withdraw", {"target": "kommun-b"})
        assert status == 200
        assert "<h1>Återkalla förfrågan till Kommun B?</h1>" in page
        assert "Kommun B får besked direkt om att förfrågan är återkallad." in page
        assert 'name="confirmed" value="ja"' in page
        _, case_page = await anna.page(f"/arende/{case_id}")
        assert "Läge:</span> Återkallad" not in case_page

        status, page = await anna.post(f"/arende/{case_id}/close_not_moved", {})
        assert "Kommun B och Kommun C får besked om att ärendet är avslutat" in page

        status, case_page = await anna.post(
            f"/arende/{case_id}/withdraw", {"target": "kommun-b", "confirmed": "ja"}
        )
        assert status == 200
        assert "Läge:</span> Återkallad" in case_page


async def test_a_decline_without_its_motivation_is_refused_before_it_is_asked_about(net, tmp_path):
    async with (
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        await anna.login()
        await bertil.login()
        case_id = (await anna.core.send_inquiry({"boende": "x"}, [], ["kommun-b"])).hex()
        await bertil.core.sync()
        status, page = await bertil.post(
            f"/arende/{case_id}/decline", {"target": "kommun-b", "reason": "quota_reached"}
        )
        assert status == 422
        assert "confirmed" not in page
        motivation = "Vi har redan tagit emot det överenskomna antalet ärenden."
        form = {"target": "kommun-b", "reason": "quota_reached", "motivation": motivation}
        status, page = await bertil.post(f"/arende/{case_id}/decline", form)
        assert status == 200
        assert "Neka förfrågan från Kommun A?" in page
        assert motivation in page
        _, case_page = await bertil.page(f"/arende/{case_id}")
        assert "Läge:</span> Nekad" not in case_page
        status, case_page = await bertil.post(
            f"/arende/{case_id}/decline", {**form, "confirmed": "ja"}
        )
        assert "Läge:</span> Nekad" in case_page

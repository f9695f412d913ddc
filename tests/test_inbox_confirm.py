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
        async with anna.session.post(
            anna.url + f"/arende/{case_id}/withdraw",
            data={"csrf": next(iter(anna.auth.sessions.values())), "target": "kommun-b"},
            headers={"Origin": anna.url},
            allow_redirects=False,
        ) as r:  # the post only redirects to the question: reload and Back send nothing
            assert r.status == 303
            assert r.headers["Location"] == f"/arende/{case_id}?bekrafta=withdraw&till=kommun-b"
        status, page = await anna.page(r.headers["Location"])
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
        assert "Förfrågan till Kommun B är återkallad. Kommun B har fått besked." in case_page

        # Back to the confirmation, or its post again: overtaken, said so, nothing done.
        for again in (
            anna.page(f"/arende/{case_id}?bekrafta=withdraw&till=kommun-b"),
            anna.post(f"/arende/{case_id}/withdraw", {"target": "kommun-b", "confirmed": "ja"}),
        ):
            status, page = await again
            assert status == 200
            assert "Åtgärden gjordes inte, eftersom ärendet hann ändras." in page
            assert "Läget nu för Kommun B: Återkallad." in page
            assert "transition_invalid" not in page


async def test_a_decline_is_taken_only_with_its_box_ticked(net, tmp_path):
    """A decline asks in its own form (the typed motivation stays on the page): without the
    ticked box, or without a motivation, nothing is done and the page says why."""
    async with (
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        await anna.login()
        await bertil.login()
        case_id = (await anna.core.send_inquiry({"boende": "x"}, [], ["kommun-b"])).hex()
        await bertil.core.sync()
        _, case_page = await bertil.page(f"/arende/{case_id}")
        assert "Jag förstår att Kommun A får besked direkt" in case_page
        motivation = "Vi har redan tagit emot det överenskomna antalet ärenden."
        form = {"target": "kommun-b", "reason": "quota_reached", "motivation": motivation}
        for sent in ({**form, "motivation": "", "confirmed": "ja"}, form):
            status, page = await bertil.post(f"/arende/{case_id}/decline", sent)
            assert status == 422
            assert 'href="/arende/' in page
            _, case_page = await bertil.page(f"/arende/{case_id}")
            assert "Läge:</span> Nekad" not in case_page
        assert "beslutet inte går att ångra" in page
        status, case_page = await bertil.post(
            f"/arende/{case_id}/decline", {**form, "confirmed": "ja"}
        )
        assert "Läge:</span> Nekad" in case_page
        assert "Förfrågan från Kommun A är nekad. Kommun A har fått besked." in case_page
        _, again = await bertil.page(f"/arende/{case_id}")
        assert "är nekad" not in again  # shown once

"""Check before sending, through the agent: the review step shows what it found, and Skicka
sends nothing until each finding is confirmed as needed (or removed with Ändra)."""

from __future__ import annotations

import re

import aiohttp
import pytest

from hub.inbox import forms
from tests.hubnet import running_hub
from tests.inboxnet import running_agent


@pytest.fixture
async def net(tmp_path):
    async with running_hub(tmp_path) as hubnet:
        yield hubnet


def _form(boende: str, file_name: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    for field in forms.INQUIRY_FIELDS:
        value = "2026-11-24" if field.kind == "date" else f"{field.label_sv}: uppgift"
        form.add_field(field.id, boende if field.id == "boende" else value)
    form.add_field("municipalities", "kommun-b")
    form.add_field("attachments", b"%PDF-1.4", filename=file_name, content_type="application/pdf")
    return form


async def test_send_is_refused_until_each_finding_is_confirmed(net, tmp_path):
    """A Luhn-valid personnummer in the text and a phone number in a file name are shown in
    context; Skicka without both ticked sends nothing and says why; with both ticked it sends."""
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        boende = "Bor i dag hos en väninna, pnr 811218-9876, söker eget."
        status, review = await anna.post("/ny/granska", _form(boende, "samtal_070-1234567.pdf"))
        assert status == 200, review
        assert "Kontroll före sändning" in review
        assert "<mark>811218-9876</mark>" in review
        assert "väninna, pnr " in review
        assert "Bilagans filnamn: samtal_070-1234567.pdf" in review
        assert "Innehållet i bilagorna kontrolleras inte" in review
        draft_id = review.split('name="draft_id" value="')[1].split('"')[0]
        keys = re.findall(r'name="needed" value="([0-9a-f]+)"', review)
        assert len(keys) == 2

        for ticked in ([], keys[:1], ["0" * 16, keys[1]]):
            status, page = await anna.post("/ny/skicka", {"draft_id": draft_id, "needed": ticked})
            assert status == 422
            assert "Förfrågan skickades inte." in page
            assert await anna.core.cache.outbox_count() == 0
            assert await anna.core.cache.get_draft(draft_id) is not None
        assert not await (await net.client("anna")).envelopes("sent")
        assert "checked" in page.split(f'value="{keys[1]}"')[1].split(">")[0]

        status, page = await anna.post("/ny/skicka", {"draft_id": draft_id, "needed": keys})
        assert status == 200
        assert "Kommun B" in page
        assert await anna.core.cache.get_draft(draft_id) is None


async def test_a_clean_inquiry_sends_at_once(net, tmp_path):
    """With nothing found, the review says so and Skicka needs no confirmation; an invalid
    check digit and a plain date are not flagged."""
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        boende = "Beslut 20261124-1234 och 811218-9875, flytt 2026-12-15."
        status, review = await anna.post("/ny/granska", _form(boende, "utredning.pdf"))
        assert status == 200
        assert "Granskningen hittade inga personnummer" in review
        assert 'name="needed"' not in review
        draft_id = review.split('name="draft_id" value="')[1].split('"')[0]
        status, _ = await anna.post("/ny/skicka", {"draft_id": draft_id})
        assert status == 200
        assert await anna.core.cache.get_draft(draft_id) is None

"""Every post redirects (POST-redirect-GET): what it did is said once on the next page; Back to
a step already taken says so; the agent's notices can be closed; every error page, 404
included, is Swedish and links back to Inkorg."""

from __future__ import annotations

from types import SimpleNamespace

import aiohttp
import pytest

from hub.errors import MESSAGES
from hub.inbox import forms
from hub.inbox.pages.notices import notice_key, shown_notices
from hub.inbox.watch import SEE_KEYS
from tests.hubnet import running_hub
from tests.inboxnet import running_agent


@pytest.fixture
async def net(tmp_path):
    async with running_hub(tmp_path) as hubnet:
        yield hubnet


def _inquiry() -> aiohttp.FormData:
    form = aiohttp.FormData()
    for field in forms.INQUIRY_FIELDS:
        form.add_field(field.id, "2026-11-24" if field.kind == "date" else "Avidentifierat.")
    form.add_field("municipalities", "kommun-b")
    form.add_field("municipalities", "kommun-c")
    return form


async def _post(agent, path: str, data: dict[str, str] | aiohttp.FormData) -> str:
    """The post's redirect (it must be one), not followed."""
    if isinstance(data, dict):
        form = aiohttp.FormData()
        for key, value in data.items():
            form.add_field(key, value)
        data = form
    data.add_field("csrf", next(iter(agent.auth.sessions.values())))
    async with agent.session.post(
        agent.url + path, data=data, headers={"Origin": agent.url}, allow_redirects=False
    ) as r:
        assert r.status == 303, await r.text()
        return r.headers["Location"]


async def test_review_and_send_redirect_and_back_says_it_was_sent(net, tmp_path):
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        review_url = await _post(anna, "/ny/granska", _inquiry())
        assert review_url.startswith("/ny?granska=")
        draft_id = review_url.split("=", 1)[1]
        status, review = await anna.page(review_url)
        assert status == 200
        assert "<h1>Granska förfrågan</h1>" in review
        status, again = await anna.page(review_url)  # reload: the same page, nothing sent
        assert again == review
        assert await anna.core.cache.outbox_count() == 0

        case_url = await _post(anna, "/ny/skicka", {"draft_id": draft_id})
        assert case_url.startswith("/arende/")
        _, case_page = await anna.page(case_url)
        assert "Förfrågan skickades till Kommun B och Kommun C." in case_page
        _, case_page = await anna.page(case_url)
        assert "Förfrågan skickades" not in case_page  # once

        status, back = await anna.page(review_url)  # the browser's Back
        assert status == 200
        assert "<h1>Förfrågan är redan skickad</h1>" in back
        assert f'href="{case_url}"' in back
        assert len(await (await net.client("anna")).envelopes("sent")) == 2

        assert await _post(anna, "/ny/skicka", {"draft_id": draft_id}) == review_url


async def test_saving_a_draft_and_changing_redirect_to_the_form(net, tmp_path):
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        form_url = await _post(anna, "/ny/spara", {"boende": "Tre rum."})
        assert form_url.startswith("/ny?utkast=")
        _, page = await anna.page(form_url)
        assert "Utkastet är sparat." in page
        assert "Tre rum." in page
        draft_id = form_url.split("=", 1)[1]
        assert await _post(anna, "/ny", {"draft_id": draft_id}) == form_url


async def test_a_notice_can_be_closed(net, tmp_path):
    """An overtaken step's notice (in the words of hub.errors.MESSAGES, never its code) has a
    Stäng button that removes it and comes back to the page it was on, and only there."""
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        anna.core.notices.append({"level": "warning", "text": MESSAGES["transition_invalid"]})
        _, page = await anna.page("/ny")
        assert MESSAGES["transition_invalid"] in page
        assert "transition_invalid" not in page
        notice = page.split('name="notice" value="')[1].split('"')[0]
        back = await _post(anna, "/meddelande/stang", {"notice": notice, "back": "/ny"})
        assert back == "/ny"
        _, page = await anna.page("/")
        assert MESSAGES["transition_invalid"] not in page
        assert await _post(anna, "/meddelande/stang", {"notice": "x", "back": "//evil"}) == "/"


def test_a_key_warning_is_not_closed_from_its_banner() -> None:
    """A key added or revoked behind the municipality's back stays until acknowledged under
    Kontakt och nycklar (G31): its banner has no Stäng."""
    key_warning = {"level": "warning", "text": f"En ny nyckel för Kommun A. {SEE_KEYS}"}
    other = {"level": "warning", "text": MESSAGES["transition_invalid"]}
    core = SimpleNamespace(notices=[key_warning, other])
    shown = shown_notices(core)  # type: ignore[arg-type]
    assert shown[0]["dismiss"] == ""
    assert shown[1]["dismiss"] == notice_key(other)


@pytest.mark.parametrize(
    ("method", "path", "title"),
    [
        ("GET", "/finns-inte", "Sidan finns inte"),
        ("GET", "/arende/inte-ett-id", "Sidan finns inte"),
        ("GET", "/arende/" + "ab" * 16, "Ärendet finns inte"),
        ("GET", "/ny/skicka", "Sidan går inte att visa så"),
    ],
)
async def test_every_error_page_is_swedish_and_links_to_the_inbox(
    net, tmp_path, method, path, title
):
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        async with anna.session.request(method, anna.url + path) as r:
            assert r.status in {404, 405}
            text = await r.text()
        assert r.content_type == "text/html"
        assert f"<h1>{title}</h1>" in text
        assert '<a href="/">Tillbaka till inkorgen</a>' in text
        assert '<html lang="sv">' in text
        assert "Not Found" not in text
        assert "Method Not Allowed" not in text


async def test_a_page_that_fails_is_a_swedish_page_too(net, tmp_path, monkeypatch):
    """A failure inside a page (here the cache, as a broken disk would) is not a bare
    "500 Internal Server Error": a Swedish page with the way back to Inkorg."""
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()

        async def broken() -> int:
            raise OSError("disk")

        monkeypatch.setattr(anna.core.cache, "list_drafts", broken)
        async with anna.session.get(anna.url + "/ny") as r:
            assert r.status == 500
            text = await r.text()
        assert "<h1>Något gick fel</h1>" in text
        assert '<a href="/">Tillbaka till inkorgen</a>' in text
        assert "Internal Server Error" not in text

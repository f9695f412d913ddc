"""The local inbox agent over HTTP, as a browser uses it: its guard, and a whole exchange
between two municipalities' agents through a real hub."""

from __future__ import annotations

import asyncio
import json
import os
import re
import tempfile
from datetime import time
from pathlib import Path

import aiohttp
import pytest

from hub.crypto.format import MessageKind
from hub.inbox import forms
from hub.inbox.agent import InboxConfig, open_core
from hub.inbox.sync import Attachment
from hub.localagent.security import COOKIE, CSP
from tests.hubnet import NETWORK, running_hub
from tests.inboxnet import running_agent

CANARY = "KANARIE-inkorgen-7c2e"


@pytest.fixture
async def net(tmp_path):
    async with running_hub(tmp_path) as hubnet:
        yield hubnet


def _filled_inquiry() -> dict[str, object]:
    values: dict[str, object] = {}
    for field in forms.INQUIRY_FIELDS:
        values[field.id] = "2026-11-24" if field.kind == "date" else f"{field.label_sv}: uppgift"
    values["bakgrund_till_placering"] = f"Hotbild beskriven. {CANARY}"
    return values


async def test_nothing_answers_without_the_launch_token(net, tmp_path):
    """Before the one-time link is opened, every page is refused; the link works once."""
    async with running_agent(net, "anna", tmp_path) as anna:
        status, text = await anna.page("/")
        assert status == 403
        assert "länken" in text
        async with anna.session.get(anna.auth.launch_url, allow_redirects=False) as r:
            assert r.status == 303
            cookie = r.cookies[COOKIE]
            assert cookie["httponly"]
            assert cookie["samesite"] == "Strict"
        assert (await anna.page("/"))[0] == 200
        async with (
            aiohttp.ClientSession() as other,
            other.get(anna.auth.launch_url, allow_redirects=False) as r,
        ):
            assert r.status == 403


async def test_every_page_carries_the_strict_headers(net, tmp_path):
    """Pages carry the strict CSP, refuse framing and send no referrer."""
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        for path in ("/", "/ny", "/nycklar"):
            async with anna.session.get(anna.url + path) as r:
                assert r.status == 200, path
                assert r.headers["Content-Security-Policy"] == CSP
                assert r.headers["X-Frame-Options"] == "DENY"
                assert r.headers["Referrer-Policy"] == "no-referrer"


async def test_requests_from_elsewhere_are_refused(net, tmp_path):
    """Another origin, a rebound host name, or a form without the CSRF token changes nothing."""
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        async with anna.session.post(
            anna.url + "/ny/skicka",
            data={"draft_id": "x"},
            headers={"Origin": "https://evil.example"},
        ) as r:
            assert r.status == 403
        async with anna.session.post(
            anna.url + "/ny/skicka", data={"draft_id": "x"}, headers={"Origin": anna.url}
        ) as r:
            assert r.status == 403  # no CSRF token
        async with anna.session.get(anna.url + "/", headers={"Host": "evil.example"}) as r:
            assert r.status == 403
        async with anna.session.post(
            anna.url + "/ny/skicka",
            data={"draft_id": "x"},
            headers={"Origin": "null", "Sec-Fetch-Site": "cross-site"},
        ) as r:
            assert r.status == 403  # a sandboxed frame elsewhere: origin hidden, site told


async def test_inquiry_goes_from_a_to_b_and_b_answers(net, tmp_path):
    """A sends an inquiry with an attachment; B reads it (A sees the signed receipt) and declines."""
    async with (
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        await anna.login()
        await bertil.login()
        form = aiohttp.FormData()
        for key, value in _filled_inquiry().items():
            form.add_field(key, str(value))
        form.add_field("municipalities", "kommun-b")
        form.add_field(
            "attachments",
            b"%PDF-1.4 anonymiserad",
            filename="utredning.pdf",
            content_type="application/pdf",
        )
        status, review = await anna.post("/ny/granska", form)
        assert status == 200, review
        assert "avidentifierad" in review
        draft_id = review.split('name="draft_id" value="')[1].split('"')[0]
        status, case_page = await anna.post("/ny/skicka", {"draft_id": draft_id})
        assert status == 200
        assert "Kommun B" in case_page

        await bertil.core.sync()
        status, inbox = await bertil.page("/")
        assert "Förfrågan från Kommun A" in inbox
        case_id = inbox.split('href="/arende/')[1].split('"')[0]
        status, page = await bertil.page(f"/arende/{case_id}")
        assert status == 200
        assert CANARY in page
        assert "utredning.pdf" in page

        await anna.core.sync()
        status, page = await anna.page(f"/arende/{case_id}")
        assert "Förfrågan läst av Kommun B" in page

        status, _ = await bertil.post(
            f"/arende/{case_id}/decline",
            {
                "target": "kommun-b",
                "reason": "quota_reached",
                "motivation": "Vi har redan tagit emot det överenskomna antalet ärenden i år.",
                "confirmed": "ja",
            },
        )
        assert status == 200
        await anna.core.sync()
        status, page = await anna.page(f"/arende/{case_id}")
        assert "Nekad" in page


async def test_a_script_in_a_message_is_shown_as_text(net, tmp_path):
    """A message containing <script> is rendered as text in the other municipality's inbox."""
    async with (
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        await anna.login()
        await bertil.login()
        case_id = (
            await anna.core.send_inquiry({"bakgrund_till_placering": "x"}, [], ["kommun-b"])
        ).hex()
        await anna.post(
            f"/arende/{case_id}/message",
            {"target": "kommun-b", "message": "<script>alert('hej')</script>"},
        )
        await bertil.core.sync()
        _, page = await bertil.page(f"/arende/{case_id}")
        assert "<script>alert" not in page
        assert "&lt;script&gt;alert" in page


async def test_unreachable_hub_keeps_the_inquiry_in_the_outbox(net, tmp_path):
    """With the hub down, a sent inquiry waits in the outbox and the page says so; it goes when the hub is back."""
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        real_url = anna.core.hub_url
        anna.core.client.base_url = "http://127.0.0.1:9"  # nothing listens there
        anna.core.online = False
        await anna.core.send_inquiry({"bakgrund_till_placering": "väntar"}, [], ["kommun-b"])
        assert await anna.core.cache.outbox_count() == 1
        _, page = await anna.page("/")
        assert "utkorgen" in page
        anna.core.client.base_url = real_url
        await anna.core.flush_outbox()
        assert await anna.core.cache.outbox_count() == 0
        await asyncio.sleep(0)
        assert len(await (await net.client("anna")).envelopes("sent")) == 1


async def test_a_changed_contact_key_is_flagged_until_checked(net, tmp_path):
    """When a contact person's key is replaced, the keys page warns until the user confirms a phone check."""
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        _, page = await anna.page("/nycklar")
        assert "har ändrats" not in page
        await net.revoke("bertil", at=int(net.clock.now) + 1, reason="superseded")
        net.clock.now += 2
        net.people.pop("bertil")
        await net.enrol("bertil", "kommun-b", key="/ny")  # the same person, a new key
        await anna.core.sync()
        _, page = await anna.page("/nycklar")
        assert "Varning: 1 nyckel har ändrats" in page
        assert net.people["bertil"].public.fingerprint in page
        status, page = await anna.post("/nycklar/kontrollerad", {})
        assert status == 200
        assert "har ändrats" not in page


async def test_a_saved_draft_is_kept_encrypted_and_can_be_continued(net, tmp_path):
    """Spara utkast keeps what was typed (encrypted on disk); the draft is listed and opens again."""
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        status, page = await anna.post(
            "/ny/spara", {"sokandes_bakgrund": f"Påbörjad {CANARY}", "municipalities": "kommun-b"}
        )
        assert status == 200
        assert "Utkastet är sparat" in page
        draft_id = page.split('name="draft_id" value="')[1].split('"')[0]
        _, page = await anna.page("/ny")
        assert f"/ny?utkast={draft_id}" in page
        _, page = await anna.page(f"/ny?utkast={draft_id}")
        assert CANARY in page
        for path in (tmp_path / "cache-anna").rglob("*"):
            if path.is_file():
                assert CANARY.encode() not in path.read_bytes(), path
        _, page = await anna.page("/ny")
        assert 'value="anna"' in page  # the case officer, prefilled from the signed directory


async def test_the_answer_deadline_shows_with_days_left_and_turns_overdue(net, tmp_path):
    """B's inbox shows the answer deadline (14 days after delivery, on a working day) and marks it overdue when passed."""
    async with (
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        await bertil.login()
        await anna.core.send_inquiry({"bakgrund_till_placering": "x"}, [], ["kommun-b"])
        await bertil.core.sync()  # delivered: the answer clock starts
        await bertil.core.sync()
        view = (await bertil.core.cache.list_cases("inbox"))[0]
        due = bertil.core.next_due(view)
        assert due is not None
        assert bertil.core.calendar.is_working_day(due.due_date)
        _, page = await bertil.page("/")
        assert due.due_date.isoformat() in page
        assert "försenad" not in page.lower()
        net.clock.now = due.due_at.timestamp() + 86_400
        _, page = await bertil.page("/")
        assert "försenad" in page.lower()


def _banner(page: str) -> str:
    """The deadline banner's text as a screen reader says it, or "" when there is none."""
    if "<strong>Tidsfrister:</strong>" not in page:
        return ""
    part = page.split("<strong>Tidsfrister:</strong>")[1].split("</div>", maxsplit=1)[0]
    part = re.sub(r'<span[^>]*aria-hidden="true"[^>]*>[^<]*</span>', "", part)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", part)).strip()


def _listed(page: str) -> list[str]:
    """The case ids the list shows, in order."""
    return re.findall(r'<a href="/arende/([0-9a-f]{32})">', page)


async def test_deadline_banners_say_what_the_email_says_as_the_clock_moves(net, tmp_path):
    """B's inbox counts its cases by deadline in the e-mails' words (soon, today, passed), as
    the injected clock moves on; each banner links to a list of just those cases."""
    async with (
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        await bertil.login()
        first = await anna.core.send_inquiry({"bakgrund_till_placering": "x"}, [], ["kommun-b"])
        second = await anna.core.send_inquiry({"bakgrund_till_placering": "y"}, [], ["kommun-b"])
        await bertil.core.sync()  # delivered: both answer clocks start
        await bertil.core.sync()
        due = bertil.core.next_due((await bertil.core.cache.list_cases("inbox"))[0])
        assert due is not None
        assert due.remind_at is not None
        _, page = await bertil.page("/")
        assert _banner(page) == ""

        net.clock.now = due.remind_at.timestamp()
        _, page = await bertil.page("/")
        assert _banner(page) == "2 ärenden har en tidsfrist som går ut snart"
        assert 'role="status"' in page.split("Tidsfrister:")[0].rsplit("<div", 1)[1]
        assert '<a href="/?frist=due_soon">' in page

        net.clock.now = bertil.core.calendar.at_local(due.due_date, time(8)).timestamp()
        _, page = await bertil.page("/")
        assert _banner(page) == "2 ärenden har en tidsfrist som går ut i dag"

        status, _ = await bertil.post(
            f"/arende/{first.hex()}/decline",
            {
                "target": "kommun-b",
                "reason": "quota_reached",
                "motivation": "M" * 30,
                "confirmed": "ja",
            },
        )
        assert status == 200
        _, page = await bertil.page("/")
        assert _banner(page) == "1 ärende har en tidsfrist som går ut i dag"

        net.clock.now = due.due_at.timestamp() + 1  # the first second after the last day
        _, page = await bertil.page("/")
        assert _banner(page) == "1 ärende har en tidsfrist som har passerat"
        assert '<a href="/?frist=overdue">' in page
        _, listed = await bertil.page("/?frist=overdue")
        assert _listed(listed) == [second.hex()]
        assert "Visar bara ärenden där tidsfristen har passerat" in listed
        _, listed = await bertil.page("/?frist=due_today")
        assert _listed(listed) == []
        _, everything = await bertil.page("/?box=closed")
        assert _listed(everything) == [first.hex()]  # declined: gone from the open list


async def test_inbox_lists_nearest_deadline_first_then_latest_activity(net, tmp_path):
    """A's list: cases with a running deadline by the nearest one, then the cases without a
    deadline, the most recently active first."""
    async with (
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        await anna.login()
        later = await anna.core.send_inquiry({"bakgrund_till_placering": "c"}, [], ["kommun-c"])
        sooner = await anna.core.send_inquiry({"bakgrund_till_placering": "b"}, [], ["kommun-b"])
        await bertil.core.sync()  # B's answer clock starts now
        net.clock.now += 5 * 86_400
        async with running_agent(net, "cecilia", tmp_path):
            pass  # C's agent starts, fetches and acknowledges: five days later, so due later
        net.clock.now += 3600
        older = await anna.core.send_inquiry({"bakgrund_till_placering": "1"}, [], ["kommun-c"])
        net.clock.now += 3600
        newer = await anna.core.send_inquiry({"bakgrund_till_placering": "2"}, [], ["kommun-c"])
        await anna.core.sync()  # C's agent is not running: neither is delivered, no deadline
        _, page = await anna.page("/")
        assert _listed(page) == [c.hex() for c in (sooner, later, newer, older)]
        assert page.index("Ingen tidsfrist") > page.index(f"/arende/{later.hex()}")


async def test_autosave_keeps_what_was_typed_and_what_the_review_made(net, tmp_path):
    """An autosave (as autosave.js sends it) stores what was typed, encrypted, and answers with
    the draft and the time; the next one updates the same draft without dropping the
    attachments and the checked document the review step stored."""
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        async with anna.session.post(
            anna.url + "/ny/autospara",
            data={"sokandes_bakgrund": f"Skrivet {CANARY}", "csrf": _csrf(anna)},
            headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"},  # as Chromium sends
        ) as r:
            assert r.status == 200
            assert r.headers["Content-Security-Policy"] == CSP
            saved = await r.json()
        assert re.fullmatch(r"\d\d:\d\d", saved["saved_at"])
        draft_id = saved["draft_id"]
        _, page = await anna.page(f"/ny?utkast={draft_id}")
        assert f"Skrivet {CANARY}" in page
        for path in (tmp_path / "cache-anna").rglob("*"):
            if path.is_file():
                assert CANARY.encode() not in path.read_bytes(), path

        form = aiohttp.FormData()
        for key, value in {**_filled_inquiry(), "municipalities": "kommun-b"}.items():
            form.add_field(key, str(value))
        form.add_field("draft_id", draft_id)
        form.add_field(
            "attachments", b"%PDF-1.4 x", filename="u.pdf", content_type="application/pdf"
        )
        status, _ = await anna.post("/ny/granska", form)
        assert status == 200
        reviewed = await anna.core.cache.get_draft(draft_id)
        assert reviewed is not None
        status, _ = await anna.post(
            "/ny/autospara", {"draft_id": draft_id, "sokandes_bakgrund": "Ändrat efteråt"}
        )
        assert status == 200
        draft = await anna.core.cache.get_draft(draft_id)
        assert draft is not None
        assert draft["values"]["sokandes_bakgrund"] == "Ändrat efteråt"
        assert draft["document"] == reviewed["document"]
        assert draft["attachments"] == reviewed["attachments"]
        assert len(await anna.core.cache.list_drafts()) == 1


async def test_autosave_without_the_token_or_from_elsewhere_changes_nothing(net, tmp_path):
    """An autosave without the CSRF token, or from another web site, is refused and the draft
    stays as it was; a late autosave of a draft already sent does not bring it back."""
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        status, _ = await anna.post("/ny/autospara", {"sokandes_bakgrund": "Original"})
        assert status == 200
        [(draft_id, at, before)] = await anna.core.cache.list_drafts()
        attempts = [
            ({"Origin": anna.url}, False),  # no CSRF token
            ({"Origin": "https://evil.example"}, True),
            ({"Origin": "null", "Sec-Fetch-Site": "cross-site"}, True),
        ]
        for headers, with_token in attempts:
            data = {"draft_id": draft_id, "sokandes_bakgrund": "Ändrat utifrån"}
            if with_token:
                data["csrf"] = _csrf(anna)
            async with anna.session.post(
                anna.url + "/ny/autospara", data=data, headers=headers
            ) as r:
                assert r.status == 403, headers
        assert await anna.core.cache.list_drafts() == [(draft_id, at, before)]

        await anna.core.cache.delete_draft(draft_id)  # as Skicka does
        async with anna.session.post(
            anna.url + "/ny/autospara",
            data={"draft_id": draft_id, "sokandes_bakgrund": "Sent", "csrf": _csrf(anna)},
            headers={"Origin": anna.url},
        ) as r:
            assert r.status == 410
        assert await anna.core.cache.list_drafts() == []


def _csrf(agent) -> str:
    return agent.auth.sessions[next(iter(agent.auth.sessions))]


async def test_attachments_over_the_limit_are_refused_in_words(net, tmp_path):
    """Files over the limit get the form back with the limit in Swedish and nothing saved;
    a post far over it gets a Swedish page, not a bare error."""
    async with running_agent(net, "anna", tmp_path, max_attachment_mb=1) as anna:
        await anna.login()
        form = aiohttp.FormData()
        for key, value in {**_filled_inquiry(), "municipalities": "kommun-b"}.items():
            form.add_field(key, str(value))
        form.add_field("attachments", b"x" * (3 * 1024 * 1024 // 2), filename="stor.pdf")
        status, page = await anna.post("/ny/granska", form)
        assert status == 422
        assert "Bilagorna är för stora: 1,5 MB. Högst 1 MB sammanlagt går att skicka." in page
        assert 'href="#attachments"' in page
        assert await anna.core.cache.list_drafts() == []

        form = aiohttp.FormData()
        form.add_field("attachments", b"x" * (7 * 1024 * 1024), filename="enorm.pdf")
        status, page = await anna.post("/ny/granska", form)
        assert status == 413
        assert "<h1>För stora bilagor</h1>" in page
        assert await anna.core.cache.list_drafts() == []


async def test_status_says_how_far_the_outbox_has_got_in_counts_only(net, tmp_path):
    """While the agent uploads an inquiry to two municipalities, /status.json says which
    envelope, which stage and how many bytes, and nothing else; then that nothing is on its
    way. The pages answer meanwhile: sealing runs off the event loop."""
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        assert anna.core.client is not None
        real_upload = anna.core.client.upload
        started, release = asyncio.Event(), asyncio.Event()

        async def held_upload(data, to):
            started.set()
            await release.wait()
            return await real_upload(data, to)

        anna.core.client.upload = held_upload
        attachment = Attachment("utredning.pdf", "application/pdf", b"%PDF " + b"x" * 300_000)
        sending = asyncio.create_task(
            anna.core.send_inquiry(
                {"bakgrund_till_placering": CANARY}, [attachment], ["kommun-b", "kommun-c"]
            )
        )
        await started.wait()
        status, text = await anna.page("/status.json")
        assert status == 200
        progress = json.loads(text)["sending"]
        assert progress["envelopes"] == 2
        assert progress["done"] == 0
        assert progress["stage"] == "uploading"
        assert progress["size"] > 300_000
        assert set(progress) == {"envelopes", "done", "stage", "sent", "size"}
        assert CANARY not in text
        assert "utredning" not in text
        release.set()
        await sending
        _, text = await anna.page("/status.json")
        assert json.loads(text)["sending"] is None
        assert len(await (await net.client("anna")).envelopes("sent")) == 2


async def test_read_receipts_name_their_message_and_only_verified_ones_count(net, tmp_path, caplog):
    """A sends the inquiry and a message; B opens the case; A writes again. A's case page
    shows B's receipt with the inquiry and under the first message, and none under the
    second, even when the hub passes off the first message's receipt as the second's."""
    async with (
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        await anna.login()
        await bertil.login()
        case_id = (
            await anna.core.send_inquiry({"bakgrund_till_placering": "x"}, [], ["kommun-b"])
        ).hex()
        message = {"target": "kommun-b", "message": "Första meddelandet"}
        await anna.post(f"/arende/{case_id}/message", message)
        await bertil.core.sync()
        await bertil.page(f"/arende/{case_id}")  # B reads both: signed read receipts
        net.clock.now += 3600
        await anna.post(f"/arende/{case_id}/message", {**message, "message": "Andra meddelandet"})

        envelopes = await anna.core.cache.envelopes_of_case(bytes.fromhex(case_id))
        first, second = [e.message_id for e in envelopes if e.kind == MessageKind.MESSAGE]
        assert anna.core.client is not None
        real_receipts = anna.core.client.receipts

        async def swapped(message_id):
            return await real_receipts(first if message_id == second else message_id)

        anna.core.client.receipts = swapped
        _, page = await anna.page(f"/arende/{case_id}")
        assert "receipt refused" in caplog.text  # the swapped one did not verify
        document = page.split('<section class="document"')[1].split("</section>")[0]
        assert re.search(r"Förfrågan läst av Kommun B \d{4}-\d\d-\d\d \d\d:\d\d", document)
        articles = [a.split("</article>")[0] for a in page.split('<article class="message">')[1:]]
        assert "Första meddelandet" in articles[0]
        assert "Läst av Kommun B" in articles[0]
        assert "Andra meddelandet" in articles[1]
        assert "Ingen läskvittens ännu" in articles[1]
        assert "Läst av" not in articles[1]
        receipts = page.split('id="receipts-title"')[1].split("</section>")[0]
        assert receipts.count("läst av Kommun B") == 2  # the inquiry and the first message
        assert re.search(r"Meddelandet \(\d{4}-\d\d-\d\d \d\d:\d\d\) läst av Kommun B", receipts)
        _, inbox = await anna.page("/")
        assert "Förfrågan läst av Kommun B" in inbox


async def test_a_coordinators_key_gets_no_inbox(tmp_path):
    """The coordinator never sees a case: `hub inbox` with a coordinator's key refuses to start
    and says where the coordinator works instead; nothing is left running."""
    async with running_hub(tmp_path) as net:
        await net.enrol("signe", "samordnaren", role="coordinator")
        config = InboxConfig(net.url, NETWORK, tmp_path / "keys", cache_dir=tmp_path / "cache")
        with pytest.raises(ValueError, match="hub uppfoljning"):
            await open_core(config, net.people["signe"], net.admin.public)


def _kept_ids(page: str) -> dict[str, str]:
    """The draft's saved attachments on the compose page: file name -> its keep checkbox value."""
    found = re.findall(
        r'name="keep_attachment" value="([^"]+)"[^>]*checked[^>]*>\s*<label for="kept-\d+">([^<]+) ',
        page,
    )
    return {name: blob for blob, name in found}


async def test_a_drafts_attachments_come_back_with_it_and_can_be_removed(net, tmp_path):
    """Saved with two files, the draft reopens with both ticked; Granska with one unticked and
    no new file sends the other; the saved files count against the size limit."""
    async with (
        running_agent(net, "anna", tmp_path, max_attachment_mb=1) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        await anna.login()
        form = aiohttp.FormData()
        for key, value in {**_filled_inquiry(), "municipalities": "kommun-b"}.items():
            form.add_field(key, str(value))
        form.add_field("attachments", b"%PDF utredning", filename="utredning.pdf")
        form.add_field("attachments", b"%PDF gammal", filename="gammal.pdf")
        status, page = await anna.post("/ny/spara", form)
        assert status == 200
        draft_id = page.split('name="draft_id" value="')[1].split('"')[0]

        status, page = await anna.page(f"/ny?utkast={draft_id}")
        kept = _kept_ids(page)
        assert set(kept) == {"utredning.pdf", "gammal.pdf"}
        assert "Bilagor som är sparade i utkastet" in page

        # The saved files and a new one together over the limit: refused, the saved ones stay.
        form = aiohttp.FormData()
        for key, value in {**_filled_inquiry(), "municipalities": "kommun-b"}.items():
            form.add_field(key, str(value))
        form.add_field("draft_id", draft_id)
        form.add_field("keep_attachment", kept["utredning.pdf"])
        form.add_field("attachments", b"x" * (1024 * 1024), filename="stor.pdf")
        status, page = await anna.post("/ny/granska", form)
        assert status == 422
        assert "Bilagorna är för stora: 1,0 MB." in page
        assert "Bilagorna som är sparade i utkastet finns kvar." in page
        assert set(_kept_ids(page)) == {"utredning.pdf"}

        form = aiohttp.FormData()
        for key, value in {**_filled_inquiry(), "municipalities": "kommun-b"}.items():
            form.add_field(key, str(value))
        form.add_field("draft_id", draft_id)
        form.add_field("keep_attachment", kept["utredning.pdf"])  # gammal.pdf unticked
        status, review = await anna.post("/ny/granska", form)
        assert status == 200, review
        assert "utredning.pdf" in review
        assert "gammal.pdf" not in review
        status, _ = await anna.post("/ny/skicka", {"draft_id": draft_id})
        assert status == 200

        await bertil.login()
        await bertil.core.sync()
        _, inbox = await bertil.page("/")
        case_id = inbox.split('href="/arende/')[1].split('"')[0]
        _, page = await bertil.page(f"/arende/{case_id}")
        assert "utredning.pdf" in page
        assert "gammal.pdf" not in page


async def _attachment_link(bertil, case_id: bytes) -> str:
    await bertil.core.sync()
    [inquiry] = await bertil.core.cache.envelopes_of_case(case_id)
    return f"/arende/{case_id.hex()}/bilaga/{inquiry.message_id.hex()}/0"


async def _gone(folder: Path) -> bool:
    """The folder empties within a few seconds (a stopped download ends on the agent's side)."""
    for _ in range(100):
        if not await asyncio.to_thread(os.listdir, folder):
            return True
        await asyncio.sleep(0.05)
    return False


async def test_an_attachment_downloads_as_sent_with_the_strict_headers_and_no_copy_left(
    net, tmp_path, monkeypatch
):
    """B downloads A's 8 MB attachment byte for byte, as a file to save (never shown in the
    page) under its own name, with the strict headers; the decrypted copy it came from is gone
    afterwards, also when the browser stops the download halfway."""
    work = tmp_path / "tmp"
    work.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(work))  # where the agent decrypts to
    data = CANARY.encode() + os.urandom(8_000_000)
    async with (
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        await bertil.login()
        attachment = Attachment("utredning 1 (ny).pdf", "application/pdf", data)
        case_id = await anna.core.send_inquiry(
            {"bakgrund_till_placering": "x"}, [attachment], ["kommun-b"]
        )
        link = await _attachment_link(bertil, case_id)

        async with bertil.session.head(bertil.url + link) as r:  # headers only: the next works
            assert r.status == 200
            assert r.headers["Content-Length"] == str(len(data))
        async with bertil.session.get(bertil.url + link) as r:
            assert r.status == 200
            assert r.headers["Content-Disposition"] == (
                "attachment; filename*=UTF-8''utredning%201%20%28ny%29.pdf"
            )
            assert r.headers["Content-Type"] == "application/octet-stream"
            assert r.headers["Content-Length"] == str(len(data))
            assert r.headers["Content-Security-Policy"] == CSP
            assert r.headers["X-Content-Type-Options"] == "nosniff"
            assert r.headers["Cache-Control"] == "no-store"
            assert await r.read() == data
        assert await _gone(work)

        async with bertil.session.get(bertil.url + link) as r:
            assert r.status == 200
            assert (await r.content.read(65536)).startswith(CANARY.encode())
        assert await _gone(work)


async def test_a_changed_envelope_on_disk_gives_out_no_attachment(net, tmp_path, monkeypatch):
    """If the envelope kept on B's disk has been changed, the attachment is checked again on
    download and refused, with a Swedish page, before a byte of it is given out; no decrypted
    copy is left. An attachment the message does not have is a Swedish 404."""
    work = tmp_path / "tmp"
    work.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(work))
    data = CANARY.encode() + os.urandom(300_000)
    async with (
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        await bertil.login()
        attachment = Attachment("utredning.pdf", "application/pdf", data)
        case_id = await anna.core.send_inquiry(
            {"bakgrund_till_placering": "x"}, [attachment], ["kommun-b"]
        )
        link = await _attachment_link(bertil, case_id)
        missing = link.rsplit("/", 1)[0] + "/7"  # the message has one attachment
        async with bertil.session.get(bertil.url + missing) as r:
            assert r.status == 404
            assert "<h1>Bilagan finns inte</h1>" in await r.text()

        stored = bertil.core.cache.envelope_path(bytes.fromhex(link.split("/")[4]))
        changed = bytearray(stored.read_bytes())
        changed[len(changed) // 2] ^= 1
        stored.write_bytes(bytes(changed))

        async with bertil.session.get(bertil.url + link) as r:
            assert r.status == 422
            page = await r.text()
            assert CANARY not in page
            assert "<h1>Bilagan kunde inte öppnas</h1>" in page
            assert re.search(r"\(envelope_[a-z_]+\)", page)  # the check that failed
            assert r.headers["Content-Security-Policy"] == CSP
        assert await _gone(work)

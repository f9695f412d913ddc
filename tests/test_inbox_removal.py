"""Removing one ended case from the inbox by hand (issue 16, "Gallra"): a confirmation says
what goes and what stays, nothing goes before it is confirmed, and afterwards no file of the
agent holds the case; a running case cannot be removed, nor one with something in the outbox."""

from __future__ import annotations

from hub.inbox.pages.removal import NOT_ENDED, WAITING
from hub.protocol.case_reference import case_reference
from tests.hubnet import running_hub
from tests.inboxnet import page_text, running_agent
from tests.test_inbox_retention import _declined_by_b

CANARY = "KANARIE-gallra-by-hand-7f3e"


async def test_an_ended_case_is_removed_after_its_confirmation_and_leaves_no_trace(tmp_path):
    async with (
        running_hub(tmp_path) as net,
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        await bertil.login()
        case_id = await anna.core.send_inquiry(
            {"bakgrund_till_placering": CANARY}, [], ["kommun-b"]
        )
        await _declined_by_b(anna, bertil, case_id)
        path = f"/arende/{case_id.hex()}/ta-bort"
        _, page = await bertil.page(f"/arende/{case_id.hex()}")
        assert f'href="{path}"' in page  # the ended case's page offers it

        status, page = await bertil.page(path)
        text = page_text(page)
        assert status == 200
        assert f"Ta bort ärende {case_reference(case_id)} från inkorgen?" in text
        assert "Det du har exporterat till er akt (PDF) finns kvar där" in text
        assert "Ingen annan får besked" in text
        assert await bertil.core.cache.get_case(case_id) is not None  # asked, nothing done

        status, _ = await bertil.post(path, {})  # not confirmed: back to the question
        assert status == 200
        assert await bertil.core.cache.get_case(case_id) is not None

        status, page = await bertil.post(path, {"confirmed": "ja"})
        assert status == 200
        assert "Avslutade" in page
        assert f"Ärende {case_reference(case_id)} är borttaget från inkorgen" in page_text(page)
        assert await bertil.core.cache.get_case(case_id) is None
        folder = tmp_path / "cache-bertil"
        holding = [
            p.name
            for p in folder.rglob("*")
            if p.is_file() and (CANARY.encode() in p.read_bytes() or case_id in p.read_bytes())
        ]
        assert holding == []
        await bertil.core.sync()  # the hub still lists the case: it does not come back
        assert await bertil.core.cache.get_case(case_id) is None
        status, _ = await bertil.page(f"/arende/{case_id.hex()}")
        assert status == 404
        # A's copy is A's: B's removal told nobody and removed nothing there.
        assert await anna.core.cache.get_case(case_id) is not None


async def test_a_running_case_or_one_waiting_in_the_outbox_is_not_removed(tmp_path):
    async with (
        running_hub(tmp_path) as net,
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        await bertil.login()
        await anna.login()
        running = await anna.core.send_inquiry({"bakgrund_till_placering": "x"}, [], ["kommun-c"])
        await bertil.core.sync()
        _, page = await anna.page(f"/arende/{running.hex()}")
        assert "/ta-bort" not in page  # a running case's page does not offer it
        status, page = await anna.page(f"/arende/{running.hex()}/ta-bort")
        assert status == 200
        assert NOT_ENDED in page_text(page)
        status, page = await anna.post(f"/arende/{running.hex()}/ta-bort", {"confirmed": "ja"})
        assert NOT_ENDED in page_text(page)
        assert await anna.core.cache.get_case(running) is not None

        ended = await anna.core.send_inquiry({"bakgrund_till_placering": "y"}, [], ["kommun-b"])
        await _declined_by_b(anna, bertil, ended)
        anna.core.client.base_url = "http://127.0.0.1:9"  # out of reach: the thank-you waits
        anna.core.online = False
        await anna.core.send_message(ended, "kommun-b", {"message": "Tack för svaret."}, [])
        assert await anna.core.cache.outbox() != []
        status, page = await anna.post(f"/arende/{ended.hex()}/ta-bort", {"confirmed": "ja"})
        assert WAITING in page_text(page)
        assert await anna.core.cache.get_case(ended) is not None

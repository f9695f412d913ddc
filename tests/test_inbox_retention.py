"""The inbox keeps less (issue 16, "Gallra"): a case's decrypted copy goes from the contact
person's machine once the case has ended for their municipality longer ago than the network's
inbox retention; a running case, or one whose history cannot be proved ended, stays."""

from __future__ import annotations

import pytest

from hub.crypto.format import MessageKind
from hub.crypto.registry import NATIONAL
from hub.inbox.inbox_retention import DAY, due_for_removal, retention_days
from tests.hubnet import running_hub
from tests.inboxnet import running_agent

DECLINE = {"reason": "quota_reached", "motivation": "Kvoten är fylld i år."}
T = 1_800_000_000


def _view(states: list[str], *, sender: str = "kommun-a", problems: list | None = None) -> dict:
    return {
        "case_id": "ab" * 16,
        "from": sender,
        "outcome": None,
        "closed_at": None,
        "problems": problems or [],
        "requests": [
            {
                "municipality": "kommun-b",
                "state": state,
                "history": [
                    {"event": "send_inquiry", "role": "sender", "at": T - 100, "state": "sent"},
                    {"event": "deliver", "role": "receiver", "at": T - 50, "state": "delivered"},
                    *(
                        [{"event": "decline", "role": "receiver", "at": T, "state": "declined"}]
                        if state == "declined"
                        else []
                    ),
                ],
            }
            for state in states
        ],
    }


@pytest.mark.parametrize(
    ("view", "me", "now", "due"),
    [
        (_view(["declined"]), "kommun-b", T + 10 * DAY - 1, False),  # not yet ten days
        (_view(["declined"]), "kommun-b", T + 10 * DAY, True),
        (_view(["declined"]), "kommun-a", T + 10 * DAY, True),  # the sender's whole case ended
        (_view(["delivered"]), "kommun-b", T + 1000 * DAY, False),  # still running
        (
            _view(["declined"], problems=[["step_missing", "kommun-b", None]]),
            "kommun-b",
            T + 1000 * DAY,
            False,
        ),
        (_view(["conflicting"]), "kommun-b", T + 1000 * DAY, False),
    ],
    ids=["early", "due", "sender", "running", "unproved", "conflicting"],
)
def test_a_case_goes_only_once_it_has_ended_for_us_long_enough(view, me, now, due):
    assert due_for_removal(view, me=me, days=10, now=now) is due


def test_the_national_days_count_until_the_network_signs_its_own():
    assert retention_days({}) == NATIONAL.inbox_retention_days
    assert retention_days({"inbox_retention_days": 30}) == 30


async def _declined_by_b(anna, bertil, case_id: bytes) -> None:
    """B's inbox takes the inquiry and declines it, which ends the case for both; A fetches."""
    await bertil.core.sync()
    await bertil.core.answer(
        case_id,
        "decline",
        target="kommun-b",
        document=DECLINE,
        details={"reason": "quota_reached"},
    )
    await anna.core.sync()


async def test_an_ended_case_leaves_no_trace_of_it_in_the_inbox_and_a_running_one_stays(tmp_path):
    """B declines A's inquiry; A's inquiry to C runs on. After the national inbox retention,
    B's inbox and A's (for the case B ended) hold no row, file or id of the ended case, the
    running one stays whole, and the removed inquiry's id stays among those seen, so it is still
    refused if the hub sends it again."""
    async with (
        running_hub(tmp_path) as net,
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        await bertil.login()
        ended = await anna.core.send_inquiry({"bakgrund_till_placering": "x"}, [], ["kommun-b"])
        running = await anna.core.send_inquiry({"bakgrund_till_placering": "y"}, [], ["kommun-c"])
        await _declined_by_b(anna, bertil, ended)
        held = await bertil.core.cache.envelopes_of_case(ended)
        [inquiry] = [e for e in held if e.kind == MessageKind.INQUIRY]
        # The case's id, and pieces of what holds its text: the sealed documents in the cache's
        # rows and the envelope files as received (message ids stay among those seen, by design).
        needles = [ended, ended.hex().encode()]
        for agent in (bertil, anna):
            async with agent.core.cache._db.execute(
                "SELECT document FROM envelopes WHERE case_id = ?", (ended,)
            ) as cur:
                needles += [bytes(r[0])[16:64] for r in await cur.fetchall()]
            for e in await agent.core.cache.envelopes_of_case(ended):
                needles.append(agent.core.cache.envelope_path(e.message_id).read_bytes()[-64:])
        net.clock.now += (NATIONAL.inbox_retention_days - 1) * DAY
        await bertil.core.sync()
        assert await bertil.core.cache.get_case(ended) is not None  # not yet

        net.clock.now += 2 * DAY
        await bertil.core.sync()
        await anna.core.sync()
        assert await bertil.core.cache.get_case(ended) is None
        assert await bertil.core.cache.envelopes_of_case(ended) == []
        assert await anna.core.cache.get_case(ended) is None
        assert await anna.core.cache.get_case(running) is not None
        assert len(await anna.core.cache.envelopes_of_case(running)) == 1
        for agent in (bertil, anna):
            folder = tmp_path / f"cache-{agent.person}"
            holding = [
                p.name
                for p in folder.rglob("*")
                if p.is_file() and any(n in p.read_bytes() for n in needles)
            ]
            assert holding == [], (agent.person, holding)
        status, _ = await bertil.page(f"/arende/{ended.hex()}")
        assert status == 404
        assert inquiry.message_id in await bertil.core.cache.seen_message_ids()


async def test_an_ended_case_with_something_still_in_the_outbox_stays(tmp_path):
    """Anna writes in the ended case while the hub is out of reach: her copy of the case stays,
    past the retention, until the outbox has sent what waits."""
    async with (
        running_hub(tmp_path) as net,
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        ended = await anna.core.send_inquiry({"bakgrund_till_placering": "x"}, [], ["kommun-b"])
        await _declined_by_b(anna, bertil, ended)
        real_url = anna.core.client.base_url
        anna.core.client.base_url = "http://127.0.0.1:9"  # nothing listens there
        anna.core.online = False
        await anna.core.send_message(ended, "kommun-b", {"message": "Tack för svaret."}, [])
        assert len(await anna.core.cache.outbox()) == 1
        net.clock.now += (NATIONAL.inbox_retention_days + 1) * DAY
        assert await anna.core.keep_less() == 0
        assert await anna.core.cache.get_case(ended) is not None
        anna.core.client.base_url = real_url
        await anna.core.flush_outbox()  # sends, then syncs: whose retention pass removes it
        assert await anna.core.cache.outbox() == []
        assert await anna.core.cache.get_case(ended) is None

"""Deadline notices end to end: a real hub with its scheduler, a real SMTP server (aiosmtpd)
catching the mail, and the hub's clock moved forward instead of sleeping."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from hub.client.api import RemoteError
from hub.crypto.format import MessageKind
from hub.crypto.receipts import make_receipt
from hub.protocol.notices import Audience, Topic, render_notice
from hub.server.typedefs import SCHEDULER, STORAGE
from hub.storage.postgres import LEASE_SECONDS
from tests.hubnet import NETWORK, as_json, running_hub
from tests.mailcatch import LINK, SENDER, mail_catcher

CASE = bytes.fromhex("c0" * 16)
ADDRESSES = {
    "anna": ("kommun-a", "anna@kommun-a.example"),
    "bertil": ("kommun-b", "bertil@kommun-b.example"),
    "britta": ("kommun-b", "britta@kommun-b.example"),
    "cecilia": ("kommun-c", "cecilia@kommun-c.example"),
}
B_CONTACTS = {"bertil@kommun-b.example", "britta@kommun-b.example"}
# Nothing of a case or a member may appear anywhere in a notice, headers included.
NEVER_IN_A_NOTICE = (CASE.hex(), "kommun-a", "kommun-b", "kommun-c", "Kommun", "anna", "bertil")


@pytest.fixture
def catcher():
    with mail_catcher() as caught:
        yield caught


@pytest.fixture
async def net(tmp_path, catcher, database):
    # A short timeout: a hub stopped mid-send waits that long for the stalled server's QUIT.
    async with running_hub(
        tmp_path, smtp=catcher.config(timeout_seconds=2), database=database
    ) as hubnet:
        admin = await hubnet.client()
        for person, (municipality, address) in ADDRESSES.items():
            await admin.put_contact_address(municipality, person, address)
        # The set-up's enrolments told each manager of the new keys (tests/test_directory_
        # notice.py): sent and cleared here, so each test counts its own e-mails.
        await hubnet.app[SCHEDULER].tick()
        catcher.caught.clear()
        yield hubnet


async def tick(net):
    return await net.app[SCHEDULER].tick()


async def ask(net, municipality, *, deliver=True):
    """A sends the inquiry to `municipality`; its contact person's inbox takes it at once."""
    anna = await net.client("anna")
    await anna.create_case(CASE)
    person = {"kommun-b": "bertil", "kommun-c": "cecilia"}[municipality]
    data = net.seal_to("anna", [municipality], {"bakgrund": "…"}, case_id=CASE)
    ack = await anna.upload(data, [municipality])
    message_id, digest = bytes.fromhex(ack.message_id), bytes.fromhex(ack.digest)
    await net.step("anna", CASE, municipality, "send_inquiry", message_id=message_id)
    if deliver:  # the receipt ends the delivery notices; the signed step starts the clock
        await receipt(net, person, message_id, digest, "delivered")
        await net.step(person, CASE, municipality, "deliver", message_id=message_id)
    return message_id


async def receipt(net, person, message_id, digest, event):
    wire = make_receipt(
        net.people[person],
        network=NETWORK,
        message_id=message_id,
        envelope_digest=digest,
        event=event,
        time=int(net.clock.now),
    )
    await (await net.client(person)).post_receipt(message_id, wire)


async def fire_times(net):
    return {(a.kind, a.stage): a.fire_at for a in await net.app[STORAGE].list_alarms(CASE)}


def local_time(at: int) -> str:
    return datetime.fromtimestamp(at, UTC).astimezone().isoformat()


def assert_content_free(catcher):
    for caught in catcher.caught:
        text = caught.everything
        for secret in NEVER_IN_A_NOTICE:
            assert secret not in text, secret
        assert caught.message["From"] == SENDER


async def test_answer_clock_reminds_then_notices_on_the_day_then_escalates_each_once(net, catcher):
    """B's contact persons are reminded and told on the day; when late, B's manager is told
    and A learns it waits; every stage exactly once, and nothing about the case in any mail."""
    await ask(net, "kommun-b")
    times = await fire_times(net)
    assert sorted(times) == [("answer", 1), ("answer", 2), ("answer", 3)]

    net.clock.now = times[("answer", 1)]
    await tick(net)
    await tick(net)  # again, at the same instant: nothing more
    soon = render_notice(Audience.CONTACTS, {Topic.DUE_SOON: 1}, LINK)
    assert sorted(c.to for c in catcher.caught) == [(a,) for a in sorted(B_CONTACTS)]
    assert {c.body for c in catcher.caught} == {soon.body}
    assert {c.message["Subject"] for c in catcher.caught} == {"Nytt i hubben"}

    net.clock.now = times[("answer", 2)]
    await tick(net)
    today = render_notice(Audience.CONTACTS, {Topic.DUE_TODAY: 1}, LINK)
    assert [c.body for c in catcher.to("bertil@kommun-b.example")] == [soon.body, today.body]

    net.clock.now = times[("answer", 3)] + 3600
    await tick(net)
    [escalation] = catcher.to("chef@kommun-b.example")
    assert escalation.body == render_notice(Audience.MANAGER, {Topic.OVERDUE: 1}, LINK).body
    [waiting] = catcher.to("anna@kommun-a.example")
    assert waiting.body == render_notice(Audience.CONTACTS, {Topic.OVERDUE: 1}, LINK).body
    assert len(catcher.to("bertil@kommun-b.example")) == 2  # the escalation is not theirs
    assert catcher.to("cecilia@kommun-c.example") == []
    assert len(catcher.caught) == 6
    assert_content_free(catcher)


async def test_an_answer_stops_the_clock_and_its_notices(net, catcher):
    """Once B has declined, nobody is reminded of B's answer any more."""
    await ask(net, "kommun-b")
    times = await fire_times(net)
    bertil = await net.client("bertil")
    data = net.seal_to(
        "bertil", ["kommun-a"], {"beslut": "nej"}, kind=MessageKind.ANSWER, case_id=CASE
    )
    answer = bytes.fromhex((await bertil.upload(data, ["kommun-a"])).message_id)
    await net.step(
        "bertil",
        CASE,
        "kommun-b",
        "decline",
        details={"reason": "quota_reached"},
        message_id=answer,
    )
    assert await fire_times(net) == {}
    net.clock.now = times[("answer", 3)] + 86_400
    report = await tick(net)
    assert report.alarms_fired == 0
    # A's own new-message notice for the answer is due too, and is all that goes out.
    assert [c.to for c in catcher.caught] == [("anna@kommun-a.example",)]
    assert catcher.caught[0].body == render_notice(Audience.CONTACTS, {Topic.NEW: 1}, LINK).body


async def test_an_undelivered_message_is_announced_once_a_delivered_one_never(net, catcher):
    """A running inbox fetches a message at once and its person needs no e-mail; a message
    still waiting ten minutes later is announced, once."""
    await ask(net, "kommun-b", deliver=True)
    net.clock.now += 601
    await tick(net)
    assert catcher.caught == []

    anna = await net.client("anna")
    data = net.seal_to("anna", ["kommun-c"], {"bakgrund": "…"}, case_id=CASE)
    await anna.upload(data, ["kommun-c"])
    net.clock.now += 599
    await tick(net)
    assert catcher.caught == []
    net.clock.now += 2
    await tick(net)
    await tick(net)
    [new] = catcher.caught
    assert new.to == ("cecilia@kommun-c.example",)
    assert new.body == render_notice(Audience.CONTACTS, {Topic.NEW: 1}, LINK).body
    assert_content_free(catcher)


async def test_a_hub_down_for_days_sends_what_came_due_once_on_restart(net, catcher):
    """Down from before the reminder until after the due day: on restart, only the latest
    stage goes out (the reminder would now be false), once, however often it restarts."""
    await ask(net, "kommun-b")
    times = await fire_times(net)
    await net.stop()
    net.clock.now = times[("answer", 2)] + 3600
    await net.restart()
    await tick(net)
    today = render_notice(Audience.CONTACTS, {Topic.DUE_TODAY: 1}, LINK)
    assert sorted(c.to for c in catcher.caught) == [(a,) for a in sorted(B_CONTACTS)]
    assert {c.body for c in catcher.caught} == {today.body}
    await net.restart()
    await tick(net)
    assert len(catcher.caught) == 2


async def test_a_notice_being_sent_when_the_hub_stops_is_never_sent_again(net, catcher):
    """At most once: the hub stops while the mail server has the message but has not answered;
    after the restart that notice is not sent again, and the administrator sees it as
    'unknown'."""
    await ask(net, "kommun-b")
    times = await fire_times(net)
    catcher.stall.set()
    net.clock.now = times[("answer", 1)]
    net.app[SCHEDULER].poke()  # the hub's own clock loop fires the reminder and starts sending
    await until(lambda: catcher.stalled == 1)
    await net.stop()
    catcher.stall.clear()
    catcher.release()
    await net.restart()
    await tick(net)
    assert catcher.caught == []
    if net.database is not None:
        # Several instances share PostgreSQL: the claim may be a live instance's, so it is
        # settled only once its lease has run out, by any instance's next tick.
        held = await (await net.client()).notices(("sending",))
        assert sorted(n.address for n in held) == sorted(B_CONTACTS)
        net.clock.now += LEASE_SECONDS
        await tick(net)
        assert catcher.caught == []
    unknown = await (await net.client()).notices()
    assert sorted(n.address for n in unknown) == sorted(B_CONTACTS)
    assert {n.status for n in unknown} == {"unknown"}
    assert CASE.hex() not in str(unknown)


async def until(predicate):
    """Wait for something that happens in the mail server's thread."""
    async with asyncio.timeout(10):
        while not predicate():  # noqa: ASYNC110 - the condition lives in another thread
            await asyncio.sleep(0.02)


async def test_refused_addresses_fail_for_good_and_the_administrator_sees_them(net, catcher):
    """A 5xx refusal is final and listed for the administrator; a 4xx is retried with
    back-off until the server takes it."""
    catcher.refuse["bertil@kommun-b.example"] = "550 5.1.1 No such user"
    catcher.refuse["britta@kommun-b.example"] = "451 4.3.0 Try again later"
    await ask(net, "kommun-b")
    times = await fire_times(net)
    net.clock.now = times[("answer", 1)]
    report = await tick(net)
    assert (report.emails_sent, report.emails_failed, report.emails_retrying) == (0, 1, 1)
    admin = await net.client(fresh=True)
    [failed] = await admin.notices()
    assert (failed.address, failed.status, failed.last_error) == (
        "bertil@kommun-b.example",
        "failed",
        "SMTP 550",
    )
    [waiting] = await admin.notices(("pending",))
    assert (waiting.address, waiting.attempts) == ("britta@kommun-b.example", 1)

    del catcher.refuse["britta@kommun-b.example"]
    net.clock.now += 30  # before the first retry (a minute later): nothing
    await tick(net)
    assert catcher.caught == []
    net.clock.now += 31
    await tick(net)
    assert [c.to for c in catcher.caught] == [("britta@kommun-b.example",)]
    assert await admin.notices(("pending",)) == []


async def test_only_the_administrator_manages_notice_addresses(net):
    """A contact person can neither redirect notices nor read the outbox (the hub answers as
    if the page did not exist); an address that could smuggle a header is refused."""
    bertil = await net.client("bertil")
    with pytest.raises(RemoteError) as caught:
        await bertil.put_contact_address("kommun-b", "bertil", "elsewhere@example.org")
    assert (caught.value.status, caught.value.code) == (404, "forbidden")
    with pytest.raises(RemoteError) as caught:
        await bertil.notices()
    assert (caught.value.status, caught.value.code) == (404, "forbidden")
    admin = await net.client()
    with pytest.raises(RemoteError) as caught:
        await admin.put_contact_address("kommun-b", "bertil", "a@b.example\r\nBcc: x@y.example")
    assert (caught.value.status, caught.value.code) == (400, "request_malformed")
    # A name with characters that mean something in a URL still names that person.
    await admin.put_contact_address("kommun-b", "Britt?a #2/b%", "britt@kommun-b.example")
    contacts = as_json(await admin.contact_addresses())
    assert {
        "municipality": "kommun-b",
        "person": "Britt?a #2/b%",
        "email": "britt@kommun-b.example",
    } in contacts
    assert {"municipality": "kommun-b", "person": "bertil", "email": "bertil@kommun-b.example"} in (
        contacts
    )


async def test_a_revoked_contact_person_gets_no_more_notices(net, catcher):
    await ask(net, "kommun-b")
    times = await fire_times(net)
    await net.revoke("britta", at=int(net.clock.now))
    net.clock.now = times[("answer", 1)]
    await tick(net)
    # Britta hears nothing more; Kommun B's manager hears that a key was revoked.
    assert sorted(c.to for c in catcher.caught) == [
        ("bertil@kommun-b.example",),
        ("chef@kommun-b.example",),
    ]


async def test_an_offer_reminds_the_sender_and_escalates_to_the_senders_manager(net, catcher):
    """The same pattern for the offer: A is reminded of C's offer; once late, A's manager is
    told and C, who waits, hears that a deadline has passed."""
    await ask(net, "kommun-c")
    cecilia = await net.client("cecilia")
    data = net.seal_to(
        "cecilia", ["kommun-a"], {"beslut": "ja"}, kind=MessageKind.ANSWER, case_id=CASE
    )
    yes = bytes.fromhex((await cecilia.upload(data, ["kommun-a"])).message_id)
    await net.step("cecilia", CASE, "kommun-c", "accept", message_id=yes)
    times = await fire_times(net)
    assert sorted(times) == [("offer_response", 1), ("offer_response", 2), ("offer_response", 3)]
    catcher.caught.clear()

    net.clock.now = times[("offer_response", 1)]
    await tick(net)
    soon = render_notice(Audience.CONTACTS, {Topic.DUE_SOON: 1, Topic.NEW: 1}, LINK)
    [reminder] = catcher.caught
    assert (reminder.to, reminder.body) == (("anna@kommun-a.example",), soon.body)

    net.clock.now = times[("offer_response", 3)]
    await tick(net)
    [escalation] = catcher.to("chef@kommun-a.example")
    assert escalation.body == render_notice(Audience.MANAGER, {Topic.OVERDUE: 1}, LINK).body
    [waiting] = catcher.to("cecilia@kommun-c.example")
    assert waiting.body == render_notice(Audience.CONTACTS, {Topic.OVERDUE: 1}, LINK).body
    assert_content_free(catcher)

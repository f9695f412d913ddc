"""The hub keeps the verified directory and the sessions in memory (issue 19); a revoked key
still acts on nothing once its revocation is stored. Against a real hub."""

from __future__ import annotations

import asyncio
import time

import pytest

from hub.client.api import RemoteError
from tests.hubnet import START, running_hub


@pytest.fixture
async def net(tmp_path, database):
    async with running_hub(tmp_path, database=database) as hubnet:
        yield hubnet


async def test_a_session_in_use_stops_at_once_when_its_key_is_revoked(net):
    """Britta's session has been used (so it and the directory are cached); the first calls
    after the administrator's revocation is answered are refused: listing, upload, cases."""
    britta = await net.client("britta")
    assert await britta.envelopes() == []
    assert await britta.cases() == []
    await net.revoke("britta", at=START - 10)
    data = net.seal_to("britta", ["kommun-a"], {"x": "1"})
    for call in (britta.envelopes(), britta.cases(), britta.upload(data, ["kommun-a"])):
        with pytest.raises(RemoteError) as caught:
            await call
        assert (caught.value.status, caught.value.code) == (401, "auth_required")


async def test_no_call_that_starts_after_the_revocation_is_stored_gets_through(net):
    """Eight connections of Britta's list without pause while the revocation is stored: every
    call that began after the administrator had the answer is refused, and some of the calls
    before it went through (the race was real)."""
    clients = [await net.client("britta", fresh=True) for _ in range(8)]
    calls: list[tuple[float, str]] = []  # (when it began, "ok" or the error code)
    stored_at = float("inf")

    async def keep_listing(client) -> None:
        while time.monotonic() < stored_at + 0.3:
            began = time.monotonic()
            try:
                await client.envelopes()
            except RemoteError as exc:
                calls.append((began, exc.code))
            else:
                calls.append((began, "ok"))

    listing = [asyncio.create_task(keep_listing(c)) for c in clients]
    await asyncio.sleep(0.2)
    await net.revoke("britta", at=START - 10)
    stored_at = time.monotonic()
    await asyncio.gather(*listing)
    assert "ok" in {answer for began, answer in calls if began < stored_at}
    after = {answer for began, answer in calls if began > stored_at}
    assert after == {"auth_required"}


async def test_a_session_held_in_memory_ends_at_its_expiry(net):
    """A session used a moment ago (so held in memory) is refused once its 15 minutes are up,
    exactly as one read from the database."""
    anna = await net.client("anna")
    assert await anna.envelopes() == []
    net.clock.now = anna.signed_in.expires_at - 1
    assert await anna.envelopes() == []
    net.clock.now = anna.signed_in.expires_at
    with pytest.raises(RemoteError) as caught:
        await anna.envelopes()
    assert (caught.value.status, caught.value.code) == (401, "auth_required")

"""The manager hears of a key change in the municipality (issue 14, self-monitoring): when the
administrator signs a key for, or revokes one of, a municipality's keys, the hub sends its
manager a content-free e-mail, because the one contact person may be the one who is gone.
(The inbox's own notice does not depend on it: tests/test_lying_log.py.)"""

from __future__ import annotations

import pytest

from hub.protocol.notices import Audience, Topic, render_notice
from hub.server.typedefs import SCHEDULER
from tests.hubnet import running_hub
from tests.mailcatch import LINK, mail_catcher


@pytest.fixture
def catcher():
    with mail_catcher() as caught:
        yield caught


async def test_a_key_added_or_revoked_tells_the_municipalitys_manager_and_nothing_more(
    tmp_path, catcher
):
    async with running_hub(tmp_path, smtp=catcher.config(timeout_seconds=2)) as net:
        await net.app[SCHEDULER].tick()
        before = len(catcher.caught)  # the set-up's own enrolments told their managers too
        await net.enrol("mallory", "kommun-a")
        await net.app[SCHEDULER].tick()
        [added] = catcher.caught[before:]
        assert added.to == ("chef@kommun-a.example",)
        assert added.body == render_notice(Audience.MANAGER, {Topic.DIRECTORY: 1}, LINK).body
        assert "ändring av er kommuns nycklar har signerats" in added.body
        key_id = net.people["mallory"].public.key_id.hex()
        for secret in ("mallory", key_id[:8], "Kommun", "kommun-a", "tidsfrist"):
            assert secret not in added.body, secret

        await net.revoke("mallory", at=int(net.clock.now))
        await net.sign_settings(answer_days=20)  # not a key: no one is told
        await net.app[SCHEDULER].tick()
        [revoked] = catcher.caught[before + 1 :]
        assert revoked.to == ("chef@kommun-a.example",)
        assert revoked.body == added.body

"""Every agent keeps the last view it verified in its own state folder and refuses an older one
on a later run (issue 12 point 2; issue 14 "Clients remember"): the follow-up agent and
`hub admin` keep it in the key folder (hub/client/view_file.py), as the inbox keeps it in its
cache (tests/test_lying_registry.py). The hub serves the view from before a revocation."""

from __future__ import annotations

import json
import stat
import sys

import pytest

from hub.client.view_file import VIEW_NAME, ViewFile
from hub.errors import HubError
from hub.followup.agent import FollowupConfig, new_core
from tests.hubnet import NETWORK
from tests.lyinghub import LyingHub, log_as_served, older_view
from tests.test_admin import ADMIN, admin_setup

REGISTRY = f"/api/v1/networks/{NETWORK}/registry"


async def test_the_follow_up_agent_refuses_an_older_view_on_its_next_run(tmp_path):
    proxy = LyingHub()
    try:
        async with admin_setup(tmp_path, front=proxy.start) as s:
            state = tmp_path / "admin-keys"
            config = FollowupConfig(s.net.url, NETWORK, state=state)
            before = await log_as_served(s.net)
            await s.net.revoke("bertil", at=int(s.net.clock.now))
            first = new_core(config, s.net.admin, s.net.admin.public)
            try:
                await first.connect()
                assert (await first.registry()).serial == s.net.serial
            finally:
                await first.close()
            kept = json.loads((state / VIEW_NAME).read_text())
            assert kept[NETWORK]["serial"] == s.net.serial
            assert kept[NETWORK]["checkpoint"].split("\n")[1] == str(s.net.serial)
            if sys.platform != "win32":
                assert stat.S_IMODE((state / VIEW_NAME).stat().st_mode) == 0o600

            proxy.lie(older_view(before))
            again = new_core(config, s.net.admin, s.net.admin.public)
            try:
                await again.connect()
                with pytest.raises(HubError) as refused:
                    await again.registry()
            finally:
                await again.close()
            assert refused.value.code == "checkpoint_rolled_back"
            assert ViewFile(state, NETWORK).serial() == s.net.serial  # never written smaller
    finally:
        await proxy.stop()


async def test_hub_admin_refuses_an_older_view_on_its_next_run(tmp_path):
    proxy = LyingHub()
    try:
        async with admin_setup(tmp_path, front=proxy.start) as s:
            before = await log_as_served(s.net)
            await s.net.revoke("bertil", at=int(s.net.clock.now))
            shown = await s.hub("admin", "directory", *ADMIN)
            assert shown.returncode == 0, shown.stderr
            assert ViewFile(tmp_path / "admin-keys", NETWORK).serial() == s.net.serial

            proxy.lie(older_view(before))
            refused = await s.hub("admin", "directory", *ADMIN)
            assert refused.returncode != 0
            assert "checkpoint_rolled_back" in refused.stderr
            assert "äldre katalog" in refused.stderr
            assert "bertil" not in refused.stdout.lower()

            proxy.lies.clear()
            shown = await s.hub("admin", "directory", *ADMIN)
            assert shown.returncode == 0, shown.stderr
    finally:
        await proxy.stop()


def test_a_damaged_view_file_is_refused_not_taken_as_none(tmp_path):
    (tmp_path / VIEW_NAME).write_text("{not json")
    with pytest.raises(ValueError, match="skadad"):
        ViewFile(tmp_path, NETWORK).serial()

"""The receiver's own steps (deliver, read) taken during a sync leave no false warning: the hub's
view kept with the case is the one after those steps. Real hub, real agents."""

from __future__ import annotations

import pytest

from hub.inbox import forms
from tests.hubnet import running_hub
from tests.inboxnet import running_agent


@pytest.fixture
async def net(tmp_path):
    async with running_hub(tmp_path) as hubnet:
        yield hubnet


async def test_a_received_inquiry_is_not_flagged_as_the_hub_disagreeing(net, tmp_path):
    """The receiver's inbox signs its delivery and read steps itself during a sync; the hub's
    view it then keeps must be the one after those steps, or every received case would carry
    the lying-hub warning for good."""
    async with (
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        await bertil.login()
        case_id = await anna.core.send_inquiry(
            {f.id: "Avidentifierat." for f in forms.INQUIRY_FIELDS}, [], ["kommun-b"]
        )
        await bertil.core.sync()
        view = await bertil.core.cache.get_case(case_id)
        assert view["requests"][0]["state"] == "delivered"
        assert view["hub_disagrees"] is False
        _, page = await bertil.page(f"/arende/{case_id.hex()}")  # opened: read
        await bertil.core.sync()
        _, page = await bertil.page(f"/arende/{case_id.hex()}")
        assert "Hubbens uppgifter om ärendet stämde inte" not in page

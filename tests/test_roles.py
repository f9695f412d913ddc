"""Account roles are one enum (issue 19): the directory's three roles and the county
administrator. Each signs in with its own and is let through only where that role may go."""

from __future__ import annotations

import pytest

from hub.client.api import RemoteError
from hub.crypto.directory import Role
from hub.protocol.roles import AccountRole
from tests.hubnet import running_hub


def test_the_account_roles_are_the_directory_roles_and_the_county_administrator():
    assert {str(r) for r in AccountRole} == {str(r) for r in Role} | {"county_admin"}
    assert all(AccountRole.of(role) == role for role in Role)


async def test_each_role_signs_in_as_itself_and_reaches_only_its_own_routes(tmp_path):
    """A coordinator reads statistics but no envelopes; a county board reads its inbox but no
    statistics of contact persons' cases; the administrator reads enrolments."""
    async with running_hub(tmp_path) as net:
        await net.enrol("siv", "kommun-a", role="coordinator")
        await net.enrol("lena", "lansstyrelsen", role="county_board")
        admin = await net.client()
        coordinator = await net.client("siv")
        board = await net.client("lena")
        anna = await net.client("anna")
        assert [c.signed_in.role for c in (admin, coordinator, board, anna)] == [
            "county_admin",
            "coordinator",
            "county_board",
            "contact_person",
        ]
        assert "year" in await coordinator.statistics()
        assert await board.envelopes() == []
        assert await admin.enrolments() == []
        for call in (coordinator.envelopes(), anna.statistics(), anna.enrolments()):
            with pytest.raises(RemoteError) as caught:
                await call
            assert caught.value.status == 404  # access the role does not have: as if absent

"""`hub admin` signs the registry (issue 12): municipalities, the network's settings (the first
record from what the operator set, over the national defaults) and kommunmallar, each verified
by the client against the administrator's key; the manager's e-mail stays on the hub."""

from __future__ import annotations

import base64

import pytest

from hub.server.typedefs import STORAGE
from tests.hubnet import NETWORK
from tests.test_admin import ADMIN, admin_setup


@pytest.fixture
async def s(tmp_path):
    async with admin_setup(
        tmp_path, network_settings={"answer_days": 21}, signed_registry=False
    ) as setup:
        yield setup


async def test_municipality_add_signs_the_name_and_keeps_the_email_on_the_hub(s):
    added = await s.hub(
        "admin", "municipality", "add", "kommun-d", "--name", "Kommun D", "--population", "8000",
        "--manager-email", "chef@kommun-d.example", *ADMIN,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "signerade poster 5" in added.stdout
    admin = await s.admin()
    registry = await admin.registry(s.net.admin.public)
    assert (registry.name_of("kommun-d"), registry.municipalities["kommun-d"].population) == (
        "Kommun D",
        8000,
    )
    stored = {m.id: m for m in await s.net.app[STORAGE].list_municipalities(NETWORK)}
    assert stored["kommun-d"].manager_email == "chef@kommun-d.example"
    served = await admin._request("GET", f"/api/v1/networks/{NETWORK}/registry")
    assert not any(b"chef@" in base64.b64decode(r["record"]) for r in served["records"])
    again = await s.hub(
        "admin", "municipality", "add", "kommun-d", "--name", "Kommun D", "--population", "8000",
        "--manager-email", "ny@kommun-d.example", *ADMIN,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "signerade" not in again.stdout  # nothing to sign: only the e-mail changed
    assert (await admin.registry(s.net.admin.public)).serial == 5


async def test_settings_bootstrap_signs_what_the_operator_set_then_changes(s):
    """The first record takes the operator's answer time (21) over the national defaults; a
    later one changes only what is given."""
    first = await s.hub("admin", "settings", "--yes", *ADMIN)
    assert first.returncode == 0, first.stderr
    assert "hubbens nuvarande inställningar (osignerade)" in first.stdout
    admin = await s.admin()
    registry = await admin.registry(s.net.admin.public)
    assert registry.settings is not None
    assert (registry.settings.answer_days, registry.settings.offer_response_days) == (21, 14)
    second = await s.hub(
        "admin", "settings", "--answer-days", "10", "--quota-key", "0:2,5000:3",
        "--outcome-free-text", "nej", "--yes", *ADMIN,
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    settings = (await admin.registry(s.net.admin.public)).settings
    assert settings is not None
    assert (settings.answer_days, settings.quota_key, settings.outcome_free_text) == (
        10,
        ((0, 2), (5000, 3)),
        False,
    )
    assert settings.case_retention_days == 365  # kept from the first record
    refused = await s.hub("admin", "settings", "--answer-days", "0", "--yes", *ADMIN)
    assert refused.returncode != 0
    assert (await admin.registry(s.net.admin.public)).serial == 6


async def test_kommunmall_is_signed_for_a_registered_municipality_only(s):
    offer = s.root / "erbjudande.txt"
    offer.write_text("Två lägenheter per år.\nRing socialtjänsten.", encoding="utf-8")
    refused = await s.hub("admin", "kommunmall", "kommun-b", "--offer", str(offer), *ADMIN)
    assert refused.returncode != 0
    assert "ingen signerad post" in refused.stderr
    await s.net.sign_registry()
    signed = await s.hub("admin", "kommunmall", "kommun-b", "--offer", str(offer), *ADMIN)
    assert signed.returncode == 0, signed.stderr
    registry = await (await s.admin()).registry(s.net.admin.public)
    assert registry.kommunmallar["kommun-b"].offer == "Två lägenheter per år.\nRing socialtjänsten."
    listed = await s.hub("admin", "directory", *ADMIN)
    assert "Kommun B (kommun-b)" in listed.stdout
    assert "inte signerade" in listed.stdout

"""`hub admin` signs the registry (issue 12): municipalities, the network's settings (the first
record from what the operator set, over the national defaults) and kommunmallar, each verified
by the client against the administrator's key; the manager's e-mail stays on the hub."""

from __future__ import annotations

import base64
import json
import re
import stat
from typing import Any

import pytest

from hub.cli.invites import INVITES_NAME
from hub.client.api import HubClient, RemoteError
from hub.crypto.keys import PrivateIdentity
from hub.errors import ApiError
from hub.inbox.agent import InboxConfig, open_core
from hub.protocol.enrolment import invite_code_hash, new_invite_code
from hub.server.typedefs import STORAGE
from tests.hubnet import NETWORK
from tests.lyinghub import LyingHub
from tests.test_admin import ADMIN, CODE, admin_setup, enrol_args


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
    # The network's settings are not signed yet: the administrator is told what follows.
    assert "inga signerade inställningar ännu" in added.stderr
    assert "hub admin settings" in added.stderr
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
    added = await s.hub(
        "admin", "municipality", "add", "kommun-d", "--name", "Kommun D", "--population", "8000",
        "--manager-email", "chef@kommun-d.example", *ADMIN,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "inga signerade inställningar" not in added.stderr  # signed now: nothing to say


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


# --- enrolment: judged by the administrator's own record of the invite -----------------------


async def _invited_and_enrolled(s: Any, person: str, keys: str) -> tuple[str, PrivateIdentity]:
    invited = await s.hub(
        "admin", "invite", "--municipality", "kommun-a", "--person", person, *ADMIN
    )
    assert invited.returncode == 0, invited.stderr
    code = CODE.search(invited.stdout)
    assert code is not None
    enrolled = await s.hub(*enrol_args(s, code.group(), keys))
    assert enrolled.returncode == 0, enrolled.stderr
    pending = await s.hub("admin", "pending", *ADMIN)
    found = re.search(rf"registrering (\d+): kommun-a, {person}", pending.stdout)
    assert found is not None
    # by its signed name where the municipality has one (admin_setup signs them)
    invited = re.search(r"inbjuden härifrån: (.*), " + person, pending.stdout)
    assert invited is not None
    assert invited.group(1) in {"Kommun A (kommun-a)", "kommun-a (inget signerat namn)"}
    return found.group(1), s.identity(keys)


async def test_invite_is_kept_on_the_administrators_machine_without_the_code(s):
    invited = await s.hub(
        "admin", "invite", "--municipality", "kommun-a", "--person", "Ulla", *ADMIN
    )
    code = CODE.search(invited.stdout)
    assert code is not None
    path = s.root / "admin-keys" / INVITES_NAME
    kept = json.loads(path.read_text(encoding="utf-8"))
    assert kept[invite_code_hash(code.group()).hex()]["person"] == "Ulla"
    assert code.group() not in path.read_text(encoding="utf-8")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_an_approval_whose_municipality_the_hub_changed_is_refused(tmp_path):
    """The hub describes Dora's pending enrolment as Kommun C's: `hub admin approve` compares it
    with the invite kept on the administrator's machine, says what differs, and signs nothing."""
    proxy = LyingHub()
    try:
        async with admin_setup(tmp_path, front=proxy.start) as s:
            enrolment_id, dora = await _invited_and_enrolled(s, "Dora Dahl", "dora-keys")

            def other_municipality(method: str, path: str, said: Any) -> Any:
                if method == "GET" and path.endswith("/enrolments"):
                    return {
                        "enrolments": [
                            {**e, "municipality": "kommun-c"} for e in said["enrolments"]
                        ]
                    }
                return said

            proxy.lie(other_municipality)
            before = (await (await s.admin()).registry(s.net.admin.public)).serial
            approved = await s.hub(
                "admin", "approve", enrolment_id, "--yes",
                "--fingerprint", dora.public.fingerprint, *ADMIN,
            )  # fmt: skip
            assert approved.returncode != 0
            assert "hubben uppger kommun-c, Dora Dahl" in approved.stderr
            assert "du bjöd in kommun-a, Dora Dahl" in approved.stderr
            proxy.lies.clear()
            registry = await (await s.admin()).registry(s.net.admin.public)
            assert registry.serial == before
            assert registry.directory.entry_for_key(dora.key_id) is None
    finally:
        await proxy.stop()


async def test_an_enrolment_from_an_invite_not_made_here_is_refused(s):
    """An invite this machine has no record of (made by the hub, or elsewhere) is not approved."""
    code = new_invite_code()
    client = await s.admin()
    await client.create_invite(
        invite_code_hash(code),
        municipality="kommun-a",
        person="Okänd",
        role="contact_person",
        expires_at=int(s.net.clock.now) + 86_400,
    )
    enrolled = await s.hub(*enrol_args(s, code, "okand-keys"))
    assert enrolled.returncode == 0, enrolled.stderr
    pending = await s.hub("admin", "pending", *ADMIN)
    enrolment_id = re.search(r"registrering (\d+):", pending.stdout).group(1)
    assert "ingen inbjudan från den här datorn: godkänn inte" in pending.stdout
    identity = s.identity("okand-keys")
    approved = await s.hub(
        "admin", "approve", enrolment_id, "--yes",
        "--fingerprint", identity.public.fingerprint, *ADMIN,
    )  # fmt: skip
    assert approved.returncode != 0
    assert "inte till någon inbjudan som gjorts på den här datorn" in approved.stderr


async def test_reject_refuses_an_enrolment_for_good(s):
    enrolment_id, erik = await _invited_and_enrolled(s, "Erik Ek", "erik-keys")
    rejected = await s.hub("admin", "reject", enrolment_id, *ADMIN)
    assert rejected.returncode == 0, rejected.stderr
    assert "avslagen" in rejected.stdout
    client = await s.admin()
    assert [e["id"] for e in await client.enrolments("rejected")] == [int(enrolment_id)]
    assert await client.enrolments("pending") == []
    approved = await s.hub(
        "admin", "approve", enrolment_id, "--yes",
        "--fingerprint", erik.public.fingerprint, *ADMIN,
    )  # fmt: skip
    assert approved.returncode != 0
    assert "ingen väntande registrering" in approved.stderr


async def test_the_person_whose_enrolment_was_rejected_is_told_and_no_one_else_is(s, tmp_path):
    """After `hub admin reject`, the rejected key's own sign-in is answered enrolment_rejected
    (which `hub inbox` says in Swedish and stops on); the same sign-in signed by another key,
    or by an unknown key, is the usual auth_failed, so nobody else learns the enrolment's fate."""
    enrolment_id, erik = await _invited_and_enrolled(s, "Erik Ek", "erik-keys")
    rejected = await s.hub("admin", "reject", enrolment_id, *ADMIN)
    assert rejected.returncode == 0, rejected.stderr

    client = HubClient(s.net.url, NETWORK)
    try:
        with pytest.raises(RemoteError) as told:
            await client.sign_in(erik)
        assert (told.value.status, told.value.code) == (403, "enrolment_rejected")
    finally:
        await client.close()

    stranger = PrivateIdentity.generate()
    other = HubClient(s.net.url, NETWORK)
    try:
        with pytest.raises(RemoteError) as refused:
            await other.sign_in(stranger)
        assert refused.value.code == "auth_failed"
    finally:
        await other.close()

    # A forged sign-in for Erik's key id, signed by another key: auth_failed, not his fate.
    forger = _ForgedKey(erik.key_id, stranger)
    other = HubClient(s.net.url, NETWORK)
    try:
        with pytest.raises(RemoteError) as refused:
            await other.sign_in(forger)  # type: ignore[arg-type]
        assert refused.value.code == "auth_failed"
    finally:
        await other.close()

    config = InboxConfig(s.net.url, NETWORK, tmp_path / "erik-inbox", cache_dir=tmp_path / "c")
    with pytest.raises(ApiError) as stopped:
        await open_core(config, erik, s.net.admin.public)
    assert stopped.value.code == "enrolment_rejected"
    assert "avslagit registreringen" in stopped.value.message


class _ForgedKey:
    """Claims another key's id and signs with its own key."""

    def __init__(self, key_id: bytes, signer: PrivateIdentity) -> None:
        self.key_id = key_id
        self._signer = signer

    def sign(self, message: bytes) -> bytes:
        return self._signer.sign(message)

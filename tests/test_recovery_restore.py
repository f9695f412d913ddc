"""Recovery through the hub, as a contact person and the administrator run it (issue 17): real
`hub` processes against a real hub, and the inbox agent started from the restored key folder
as `hub inbox` starts it. Dora, Kommun D's one contact person, keeps her recovery copy on the hub at enrolment; her
laptop is lost; on a new machine, with the code alone, her keys come back and her inbox fetches
and opens the open case. After a stolen laptop she gets a new key and the old one is revoked as
compromised from the time of loss, and her inbox still reads the case. A wrong or altered code
leaves nothing behind."""

from __future__ import annotations

import re
import shutil
import sqlite3
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from hub.client.api import HubClient, RemoteError
from hub.crypto import keyfile
from hub.crypto.format import MessageKind
from hub.crypto.keys import PrivateIdentity, loads_public_signing_key
from hub.inbox.agent import InboxConfig, init_inbox, keeper_for
from hub.inbox.sending import Attachment
from hub.localagent.previous_keys import PREVIOUS_KEYS
from hub.protocol.recovery import (
    dumps_recovery_copy,
    loads_recovery_copy,
    new_recovery_code,
    recovery_lookup,
)
from tests.hubnet import NETWORK
from tests.inboxnet import Agent, page_text, running_agent, serving
from tests.test_admin import ADMIN, Setup, admin_setup, enrol_args, hub_cli

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path


@pytest.fixture
async def s(tmp_path):
    async with admin_setup(tmp_path) as setup:
        yield setup


RECOVERY_CODE = re.compile(r"\b[0-9A-Z]{5}(?:-[0-9A-Z]{5}){5}\b")
NEW_PASSPHRASE = "ny dator nytt lösenord för nycklarna"
INQUIRY = {"bakgrund_till_placering": "Behöver boende innan stölden"}
REPORT = Attachment("utredning.pdf", "application/pdf", b"%PDF-1.7 utredningen " + b"x" * 5000)


async def _dora_with_copy_on_hub(s: Setup) -> tuple[PrivateIdentity, str]:
    """Kommun D joins with Dora as its one contact person, enrolled with her copy kept on the
    hub and approved; (key, code)."""
    await s.net.register("kommun-d", "Kommun D", 8000)
    await (await s.admin()).put_municipality(
        "kommun-d", name="Kommun D", population=8000, manager_email="chef@kommun-d.example"
    )
    enrolled = await s.hub(
        *enrol_args(s, await s.invite("Dora Dahl", "kommun-d"), "dora-keys"),
        "--recovery-copy",
        "kopia.json",
        "--recovery-on-hub",
    )
    assert enrolled.returncode == 0, enrolled.stderr
    assert "Den finns också på hubben" in enrolled.stdout
    [code] = RECOVERY_CODE.findall(enrolled.stdout)
    dora = s.identity("dora-keys")
    await s.approve(dora, "Dora Dahl", "kommun-d")
    return dora, code


async def _restore(s: Setup, keys: str, code: str, *extra: str):
    (s.root / "kod.txt").write_text(code + "\n", encoding="utf-8")
    env = {"HUB_URL": s.net.url, "HUB_NETWORK": NETWORK, "HUB_PASSPHRASE": NEW_PASSPHRASE}
    return await hub_cli(
        s.root, "recovery", "restore", "--from-hub", "--keys", keys, "--code-file", "kod.txt",
        "--kdf", "interactive", "--admin-key", "admin-keys/network.pub",
        "--admin-fingerprint", s.net.admin.fingerprint, *extra, env=env,
    )  # fmt: skip


@asynccontextmanager
async def inbox_from(s: Setup, keys: Path, person: str) -> AsyncIterator[Agent]:
    """The inbox as `hub inbox --keys KEYS` starts it, unlocked with the new passphrase as the
    page's Lås upp does: its cache is new, in the key folder."""
    admin_public = loads_public_signing_key((keys / "network.pub").read_bytes())
    keeper = keeper_for(InboxConfig(s.net.url, NETWORK, keys), admin_public)
    await keeper.unlock(NEW_PASSPHRASE)
    try:
        async with serving(person, keeper.held, lambda auth: init_inbox(keeper, auth)) as agent:
            await agent.login()
            yield agent
    finally:
        await keeper.lock()


async def _inquiry_to_kommun_d(s: Setup) -> bytes:
    """Anna's inquiry to Kommun D, with the investigation attached."""
    async with running_agent(s.net, "anna", s.root) as anna:
        await anna.core.refresh_members()
        return await anna.core.send_inquiry(INQUIRY, [REPORT], ["kommun-d"])


async def test_keys_restored_from_the_hub_by_the_code_bring_the_open_case_back(s):
    dora, code = await _dora_with_copy_on_hub(s)
    case_id = await _inquiry_to_kommun_d(s)
    shutil.rmtree(s.root / "dora-keys")  # the laptop is gone, and the copy's file with it
    (s.root / "kopia.json").unlink()

    restored = await _restore(s, "ny-dator", code.lower().replace("-", " "))  # typed loosely
    assert restored.returncode == 0, restored.stderr
    assert dora.key_id.hex() in restored.stdout
    keys = s.root / "ny-dator"
    assert keyfile.read_keyfile(keys / "identity.key", NEW_PASSPHRASE).key_id == dora.key_id  # type: ignore[union-attr]
    assert not (keys / "inbox-cache").exists()  # nothing of the old machine

    async with inbox_from(s, keys, "dora") as inbox:
        status, page = await inbox.page("/")
        assert status == 200
        assert "Kommun A" in page_text(page)
        status, page = await inbox.page(f"/arende/{case_id.hex()}")
        assert status == 200
        assert INQUIRY["bakgrund_till_placering"] in page_text(page)


async def test_a_wrong_mistyped_or_altered_code_or_copy_leaves_nothing_behind(s):
    """Dora later makes a new copy on the hub (`hub recovery create --on-hub`), which replaces
    the one of her enrolment. Refused in Swedish, and no keys folder appears: a mistyped code
    (before the hub is asked), the replaced code (its copy is no longer on the hub), and the
    right code when the hub altered the copy it keeps. Then the right code restores."""
    dora, first = await _dora_with_copy_on_hub(s)
    made = await s.hub(
        "recovery", "create", "--keys", "dora-keys", "--kdf", "interactive", "--on-hub", "ny.json"
    )
    assert made.returncode == 0, made.stderr
    [code] = RECOVERY_CODE.findall(made.stdout)
    mistyped = code[:7] + ("X" if code[7] != "X" else "Y") + code[8:]
    for typed, says, asked in (
        (mistyped, "felskriven", False),  # refused before any id is derived or the hub asked
        (first, "Hubben har ingen återställningskopia för den här koden", True),
    ):
        refused = await _restore(s, "ny-dator", typed)
        assert refused.returncode != 0
        assert says in refused.stderr
        assert not (s.root / "ny-dator").exists()
        assert [p.name for p in s.root.iterdir() if p.name.startswith(".ny-dator")] == []
        assert ("Härleder kopians id" in refused.stdout) == asked

    # The hub alters the copy it keeps (one character of the sealed key): refused, nothing left.
    database = sqlite3.connect(s.net.data_dir / "hub.sqlite3")
    try:
        with database:
            (kept,) = database.execute("SELECT copy FROM recovery_copies").fetchone()
            changed = re.sub(r'"ciphertext": "(.)', _other_first_character, kept)
            database.execute("UPDATE recovery_copies SET copy = ?", (changed,))
        refused = await _restore(s, "ny-dator", code)
        assert refused.returncode != 0
        assert "Återställningskopian är skadad" in refused.stderr
        assert not (s.root / "ny-dator").exists()
        with database:
            database.execute("UPDATE recovery_copies SET copy = ?", (kept,))
    finally:
        database.close()
    restored = await _restore(s, "ny-dator", code)
    assert restored.returncode == 0, restored.stderr
    key = keyfile.read_keyfile(s.root / "ny-dator" / "identity.key", NEW_PASSPHRASE)
    assert key.key_id == dora.key_id  # type: ignore[union-attr]


def _other_first_character(match: re.Match[str]) -> str:
    return '"ciphertext": "' + ("B" if match.group(1) != "B" else "C")


async def test_a_stolen_laptop_leads_to_a_new_key_and_the_old_one_revoked_from_the_loss(s):
    """Dora restores with --stolen and a new invite: a new key is enrolled, the old one kept
    beside it only to open. The administrator rotates with --compromised-at: the thief's key
    cannot sign in, and Dora's inbox on the new key reads the case sealed to the old one (no
    colleague could hand anything over: Dora is Kommun D's only one) and answers in it; Anna
    sees the answer."""
    old, code = await _dora_with_copy_on_hub(s)
    case_id = await _inquiry_to_kommun_d(s)
    stolen_at = int(s.net.clock.now) - 600
    shutil.rmtree(s.root / "dora-keys")

    invite = await s.invite("Dora Dahl", "kommun-d")
    restored = await _restore(s, "ny-dator", code, "--stulen", "--invite", invite)
    assert restored.returncode == 0, restored.stderr
    keys = s.root / "ny-dator"
    new = keyfile.read_keyfile(keys / "identity.key", NEW_PASSPHRASE)
    assert isinstance(new, PrivateIdentity)
    assert new.key_id != old.key_id
    kept = keyfile.read_keyfile(keys / PREVIOUS_KEYS / f"{old.key_id.hex()}.key", NEW_PASSPHRASE)
    assert kept.key_id == old.key_id  # type: ignore[union-attr]
    assert new.public.fingerprint in restored.stdout
    enrolment = re.search(r"registrerad \(nummer (\d+)\)", restored.stdout).group(1)
    assert f"--old {old.key_id.hex()} --enrolment {enrolment}" in restored.stdout

    at = datetime.fromtimestamp(stolen_at, UTC).isoformat()
    rotated = await s.hub(
        "admin", "rotate", "--old", old.key_id.hex(), "--enrolment", enrolment,
        "--compromised-at", at, "--yes", "--fingerprint", new.public.fingerprint, *ADMIN,
    )  # fmt: skip
    assert rotated.returncode == 0, rotated.stderr
    directory = await s.directory()
    revocation = directory.revocation_for(old.key_id)
    assert (revocation.reason, revocation.revoked_at) == ("compromised", stolen_at)
    assert directory.entry_for_key(new.key_id) is not None
    with pytest.raises(RemoteError) as caught:
        await s.sign_in(old)  # the thief
    assert caught.value.code == "auth_failed"

    async with inbox_from(s, keys, "dora") as inbox:
        status, page = await inbox.page(f"/arende/{case_id.hex()}")
        assert status == 200
        assert INQUIRY["bakgrund_till_placering"] in page_text(page)
        held = await inbox.core.cache.envelopes_of_case(case_id)
        assert [e.kind for e in held] == [MessageKind.INQUIRY]  # no rewrap: opened by the old key
        assert held[0].sender == "kommun-a"
        async with inbox.session.get(
            f"{inbox.url}/arende/{case_id.hex()}/bilaga/{held[0].message_id.hex()}/0"
        ) as r:  # the attachment, opened again with the old key when asked for
            assert r.status == 200
            assert await r.read() == REPORT.data
        await inbox.core.answer(
            case_id,
            "decline",
            target="kommun-d",
            document={"reason": "quota_reached", "motivation": "Kvoten är fylld i år."},
            details={"reason": "quota_reached"},
        )
    async with running_agent(s.net, "anna", s.root / "igen") as anna:
        kept_case = await anna.core.cache.get_case(case_id)
        assert [r["state"] for r in kept_case["requests"]] == ["declined"]

    # Without the old key beside it, the new key alone cannot open the case: it is what opens.
    shutil.rmtree(keys / PREVIOUS_KEYS)
    shutil.rmtree(keys / "inbox-cache")
    async with inbox_from(s, keys, "dora") as inbox:
        refused = await inbox.core.cache.refused_ids("envelope_not_recipient")
        assert len(refused) == 1


async def test_a_copy_the_hub_will_not_keep_leaves_no_file_and_shows_no_code(s):
    """Before the administrator approves Dora's key the hub does not let her sign in, so
    `hub recovery create --on-hub` fails: no copy file is written and no code is shown (a code
    for a copy that exists nowhere would be worse than none)."""
    enrolled = await s.hub(*enrol_args(s, await s.invite("Dora Dahl", "kommun-a"), "dora-keys"))
    assert enrolled.returncode == 0, enrolled.stderr
    made = await s.hub(
        "recovery", "create", "--keys", "dora-keys", "--kdf", "interactive", "--on-hub", "ny.json"
    )
    assert made.returncode != 0
    assert "Inloggningen misslyckades" in made.stderr  # the key is not valid (yet)
    assert not (s.root / "ny.json").exists()
    assert RECOVERY_CODE.findall(made.stdout + made.stderr) == []


async def test_an_enrolment_carrying_another_keys_copy_is_refused_and_its_invite_still_works(s):
    """The copy sent with an enrolment must hold the enrolling key: otherwise the enrolment is
    refused before the invite is used, and the same code then enrols with the right copy."""
    code = await s.invite("Dora Dahl", "kommun-a")
    dora, stranger = PrivateIdentity.generate(), PrivateIdentity.generate()
    recovery_code = new_recovery_code()
    lookup = recovery_lookup(recovery_code, NETWORK, opslimit=1, memlimit=8192)

    def copy_of(key: PrivateIdentity) -> str:
        return dumps_recovery_copy(key, recovery_code, opslimit=1, memlimit=8192)

    client = HubClient(s.net.url, NETWORK)
    s.net.clients.append(client)
    with pytest.raises(RemoteError) as caught:
        await client.enrol(code, dora, (lookup, copy_of(stranger)))
    assert (caught.value.status, caught.value.code) == (403, "not_your_copy")
    assert await (await s.admin()).enrolments("pending") == []
    await client.enrol(code, dora, (lookup, copy_of(dora)))
    fetched = await client.recovery_copy(lookup)
    assert loads_recovery_copy(fetched, recovery_code).key_id == dora.key_id  # type: ignore[union-attr]


async def test_a_stolen_restore_whose_enrolment_is_refused_leaves_nothing(s):
    """A wrong invite code: the enrolment is refused, and neither the new key nor the old one
    is left anywhere (they were staged beside the folder's name, never under it)."""
    _, code = await _dora_with_copy_on_hub(s)
    refused = await _restore(s, "ny-dator", code, "--stulen", "--invite", "AAAAA-AAAAA-AAAAA-AAAAA")
    assert refused.returncode != 0
    assert not (s.root / "ny-dator").exists()
    assert [p.name for p in s.root.iterdir() if p.name.startswith(".ny-dator")] == []
    assert await (await s.admin()).enrolments("pending") == []


async def test_revoked_at_once_then_restored_the_new_key_still_reads_the_case(s):
    """The usual order when a laptop is stolen: Dora calls the county, which revokes her key as
    compromised at once (`hub admin revoke --at`). Her copy is still on the hub; she restores
    with --stulen days later, the administrator approves the new key, and her inbox reads the
    case sealed to the revoked key."""
    old, code = await _dora_with_copy_on_hub(s)
    case_id = await _inquiry_to_kommun_d(s)
    at = datetime.fromtimestamp(int(s.net.clock.now) - 600, UTC).isoformat()
    revoked = await s.hub(
        "admin", "revoke", old.key_id.hex(), "--reason", "compromised", "--at", at, *ADMIN
    )
    assert revoked.returncode == 0, revoked.stderr
    shutil.rmtree(s.root / "dora-keys")

    invite = await s.invite("Dora Dahl", "kommun-d")
    restored = await _restore(s, "ny-dator", code, "--stulen", "--invite", invite)
    assert restored.returncode == 0, restored.stderr
    keys = s.root / "ny-dator"
    new = keyfile.read_keyfile(keys / "identity.key", NEW_PASSPHRASE)
    enrolment = re.search(r"registrerad \(nummer (\d+)\)", restored.stdout).group(1)
    approved = await s.hub(
        "admin", "approve", enrolment, "--yes", "--fingerprint", new.public.fingerprint, *ADMIN
    )  # type: ignore[union-attr]
    assert approved.returncode == 0, approved.stderr

    async with inbox_from(s, keys, "dora") as inbox:
        status, page = await inbox.page(f"/arende/{case_id.hex()}")
        assert status == 200
        assert INQUIRY["bakgrund_till_placering"] in page_text(page)

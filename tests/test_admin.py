"""The county administrator's commands and enrolment, against a real hub on a free port: the
`hub` command runs as a real process, as a person runs it, with real key files."""

from __future__ import annotations

import asyncio
import base64
import io
import os
import re
import stat
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hub.cli.exits import EXIT_ATTENTION
from hub.cli.invites import remember_invite
from hub.client.api import HubClient, RemoteError
from hub.crypto import keyfile
from hub.crypto.directory import Directory, make_entry
from hub.crypto.envelope import seal
from hub.crypto.format import MessageKind
from hub.crypto.keys import (
    PrivateIdentity,
    PublicIdentity,
    SigningKey,
    dumps_public_signing_key,
    fingerprint_of,
    loads_public_signing_key,
)
from hub.protocol.enrolment import enrol_message, invite_code_hash, new_invite_code
from hub.protocol.recovery import loads_recovery_copy
from hub.server.typedefs import SCHEDULER
from tests.hubnet import NETWORK, YEAR, HubNet, as_json, running_hub
from tests.mailcatch import mail_catcher

PASSPHRASE = "korrekt häst batteri häftstift"
CODE = re.compile(r"\b[0-9A-Z]{5}(?:-[0-9A-Z]{5}){3}\b")


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


async def hub_cli(
    cwd: Path, *args: str, env: dict[str, str] | None = None, stdin: bytes | None = None
) -> Run:
    """Run `python -m hub.cli ARGS` as a process, without blocking the loop the hub runs in."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub.cli",
        *args,
        cwd=cwd,
        env={**os.environ, "HUB_PASSPHRASE": PASSPHRASE, **(env or {})},
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), timeout=60)
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


@dataclass
class Setup:
    net: HubNet
    root: Path  # the working folder of every command; the administrator's keys in admin-keys/

    async def hub(self, *args: str, stdin: bytes | None = None) -> Run:
        result = await hub_cli(
            self.root, *args, env={"HUB_URL": self.net.url, "HUB_NETWORK": NETWORK}, stdin=stdin
        )
        # The commands sign with the wall clock; the hub's clock follows it (never backwards).
        self.net.clock.now = max(self.net.clock.now, time.time())
        return result

    async def admin(self) -> HubClient:
        return await self.net.client()

    async def invite(self, person: str, municipality: str = "kommun-a", days: int = 14) -> str:
        """An invite made in-process, as `hub admin invite` makes it; returns the code."""
        code = new_invite_code()
        invite = {
            "municipality": municipality,
            "person": person,
            "role": "contact_person",
            "expires_at": int(self.net.clock.now) + days * 86_400,
        }
        await (await self.admin()).create_invite(invite_code_hash(code), **invite)
        remember_invite(self.root / "admin-keys", invite_code_hash(code), **invite)
        return code

    async def enrol(self, code: str, identity: PrivateIdentity) -> int:
        client = HubClient(self.net.url, NETWORK)
        self.net.clients.append(client)
        return await client.enrol(code, identity)

    async def approve(self, identity: PrivateIdentity, person: str, municipality: str) -> None:
        """An approval made in-process, as `hub admin approve` makes it."""
        admin = await self.admin()
        serial = (await admin.registry(self.net.admin.public)).serial + 1
        now = int(self.net.clock.now)
        await self.net.append(
            make_entry(
                self.net.admin,
                network=NETWORK,
                municipality=municipality,
                person=person,
                role="contact_person",
                identity=identity.public,
                not_before=now,
                not_after=now + YEAR,
                serial=serial,
            )
        )

    async def sign_in(self, identity: PrivateIdentity) -> HubClient:
        client = HubClient(self.net.url, NETWORK)
        self.net.clients.append(client)
        await client.sign_in(identity)
        return client

    async def directory(self) -> Directory:
        return await (await self.admin()).directory(self.net.admin.public)

    def identity(self, keys: str) -> PrivateIdentity:
        key = keyfile.read_keyfile(self.root / keys / "identity.key", PASSPHRASE)
        assert isinstance(key, PrivateIdentity)
        return key


@pytest.fixture
async def s(tmp_path):
    async with admin_setup(tmp_path) as setup:
        yield setup


@asynccontextmanager
async def admin_setup(tmp_path: Path, **config: Any) -> AsyncIterator[Setup]:
    async with running_hub(tmp_path, **config) as net:
        # The commands sign with the wall clock: move the hub to it (hubnet's keys stay valid).
        net.clock.now = max(net.clock.now, time.time())
        await net.client(fresh=True)
        admin_keys = tmp_path / "admin-keys"
        admin_keys.mkdir()
        keyfile.write_keyfile(
            admin_keys / "network.key",
            net.admin,
            PASSPHRASE,
            opslimit=keyfile.INTERACTIVE_OPSLIMIT,
            memlimit=keyfile.INTERACTIVE_MEMLIMIT,
        )
        (admin_keys / "network.pub").write_text(dumps_public_signing_key(net.admin.public))
        yield Setup(net, tmp_path)


ADMIN = ("--keys", "admin-keys")


def enrol_args(s: Setup, code: str, keys: str) -> tuple[str, ...]:
    return (
        "enrol",
        "--code",
        code,
        "--keys",
        keys,
        "--kdf",
        "interactive",
        "--admin-key",
        "admin-keys/network.pub",
        "--admin-fingerprint",
        s.net.admin.fingerprint,
    )


async def test_admin_init_makes_an_encrypted_network_key_and_prints_its_fingerprint(tmp_path):
    """`hub admin init` writes the network key encrypted (0600) and its public file, and prints the fingerprint to read to the hub's operator."""
    made = await hub_cli(tmp_path, "admin", "init", "--kdf", "interactive", "keys")
    assert made.returncode == 0, made.stderr
    private, public = tmp_path / "keys" / "network.key", tmp_path / "keys" / "network.pub"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert PASSPHRASE.encode() not in private.read_bytes()
    key = keyfile.read_keyfile(private, PASSPHRASE)
    assert isinstance(key, SigningKey)
    assert loads_public_signing_key(public.read_bytes()) == key.public
    assert key.fingerprint in made.stdout
    assert "hub network create --admin-key network.pub" in made.stdout


async def test_invite_enrol_approve_and_the_new_contact_person_signs_in(s):
    """The administrator invites Dora, she enrols with the code, the administrator sees her fingerprint, approves it, and she can sign in."""
    invited = await s.hub(
        "admin", "invite", "--municipality", "kommun-a", "--person", "Dora Dahl", *ADMIN
    )
    assert invited.returncode == 0, invited.stderr
    code = CODE.search(invited.stdout)
    assert code is not None
    assert s.net.admin.fingerprint in invited.stdout  # to read to Dora with network.pub

    enrolled = await s.hub(*enrol_args(s, code.group(), "dora-keys"))
    assert enrolled.returncode == 0, enrolled.stderr
    dora = s.identity("dora-keys")
    assert dora.public.fingerprint in enrolled.stdout
    pinned = (s.root / "dora-keys" / "network.pub").read_bytes()
    assert loads_public_signing_key(pinned) == s.net.admin.public
    # The hub got the public keys and the code's hash, never the code or a private key.
    database = b"".join(p.read_bytes() for p in s.net.data_dir.glob("hub.sqlite3*"))
    assert code.group().encode() not in database
    assert dora.signing_seed not in database

    pending = await s.hub("admin", "pending", *ADMIN)
    assert pending.returncode == 0, pending.stderr
    assert "Dora Dahl" in pending.stdout
    assert dora.public.fingerprint in pending.stdout
    enrolment_id = re.search(r"registrering (\d+):", pending.stdout).group(1)

    with pytest.raises(RemoteError) as caught:
        await s.sign_in(dora)  # not before the administrator has signed her entry
    assert caught.value.code == "auth_failed"

    approved = await s.hub(
        "admin", "approve", enrolment_id, "--yes", "--fingerprint", dora.public.fingerprint, *ADMIN
    )
    assert approved.returncode == 0, approved.stderr
    client = await s.sign_in(dora)
    assert (client.signed_in.municipality, client.signed_in.role) == ("kommun-a", "contact_person")
    entry = (await s.directory()).entry_for_key(dora.key_id)
    assert (entry.person, entry.municipality) == ("Dora Dahl", "kommun-a")
    admin = await s.admin()
    assert await admin.enrolments("pending") == []
    assert [e["key_id"] for e in await admin.enrolments("approved")] == [dora.key_id.hex()]


async def test_enrol_can_make_the_recovery_copy_at_once(s):
    """Dora asks for a recovery copy as she enrols: the code is printed once, opens the copy to
    her new key, and never reaches the hub. A copy already there is refused before any key is
    made or sent."""
    (s.root / "finns.json").write_text("en annan kopia", encoding="utf-8")
    refused = await s.hub(
        *enrol_args(s, await s.invite("Dora Dahl"), "dora-keys"), "--recovery-copy", "finns.json"
    )
    assert refused.returncode == 1
    assert not (s.root / "dora-keys" / "identity.key").exists()
    assert await (await s.admin()).enrolments("pending") == []

    code = await s.invite("Dora Dahl")
    enrolled = await s.hub(*enrol_args(s, code, "dora-keys"), "--recovery-copy", "kopia.json")
    assert enrolled.returncode == 0, enrolled.stderr
    found = re.findall(r"\b[0-9A-Z]{5}(?:-[0-9A-Z]{5}){5}\b", enrolled.stdout)
    assert len(found) == 1
    restored = loads_recovery_copy((s.root / "kopia.json").read_bytes(), found[0])
    assert restored.key_id == s.identity("dora-keys").key_id  # type: ignore[union-attr]
    database = b"".join(p.read_bytes() for p in s.net.data_dir.glob("hub.sqlite3*"))
    assert found[0].encode() not in database
    assert (s.root / "finns.json").read_text(encoding="utf-8") == "en annan kopia"


async def test_approve_with_a_wrong_fingerprint_changes_nothing(s):
    """Approving with a fingerprint other than the one read aloud, or answering no, signs nothing and the key stays unusable."""
    erik = PrivateIdentity.generate()
    enrolment_id = await s.enrol(await s.invite("Erik Ek"), erik)
    before = await (await s.admin()).directory_records()
    wrong = fingerprint_of(os.urandom(32))

    refused = await s.hub(
        "admin", "approve", str(enrolment_id), "--yes", "--fingerprint", wrong, *ADMIN
    )
    assert refused.returncode == 1
    assert "fingeravtrycket stämmer inte" in refused.stderr
    assert "Traceback" not in refused.stderr

    unchecked = await s.hub("admin", "approve", str(enrolment_id), "--yes", *ADMIN)
    assert unchecked.returncode == 1
    assert "--fingerprint" in unchecked.stderr

    declined = await s.hub("admin", "approve", str(enrolment_id), *ADMIN, stdin=b"n\n")
    assert declined.returncode == 1
    assert "Stämmer fingeravtrycket med det kontaktpersonen läste upp? [j/N]" in declined.stdout
    assert erik.public.fingerprint in declined.stdout

    assert await (await s.admin()).directory_records() == before
    assert [e["id"] for e in await (await s.admin()).enrolments("pending")] == [enrolment_id]
    with pytest.raises(RemoteError):
        await s.sign_in(erik)


async def test_an_invite_code_works_once(s):
    """A second enrolment with a used code is refused and leaves no keys behind."""
    code = await s.invite("Frida Fors")
    first = await s.hub(*enrol_args(s, code, "frida-keys"))
    assert first.returncode == 0, first.stderr
    # Typed from the phone: lower case and spaces are the same code.
    again = await s.hub(*enrol_args(s, code.lower().replace("-", " "), "mallory-keys"))
    assert again.returncode == 1
    assert "fel: not_found:" in again.stderr
    assert not (s.root / "mallory-keys" / "identity.key").exists()
    assert not (s.root / "mallory-keys" / "network.pub").exists()
    assert len(await (await s.admin()).enrolments("pending")) == 1


async def test_an_expired_invite_is_refused(s):
    """A code used after its last day is refused as unknown, and nothing is registered."""
    code = await s.invite("Gustav Gran", days=1)
    s.net.clock.now += 2 * 86_400
    late = await s.hub(*enrol_args(s, code, "gustav-keys"))
    assert late.returncode == 1
    assert "fel: not_found:" in late.stderr
    assert not (s.root / "gustav-keys" / "identity.key").exists()


async def test_a_forged_proof_is_refused_and_the_code_still_works(s):
    """Keys sent with a proof signed by another key are refused, and the invite stays usable by its owner."""
    code = await s.invite("Hanna Holm")
    victim, thief = PrivateIdentity.generate(), PrivateIdentity.generate()
    message = enrol_message(network=NETWORK, code_hash=invite_code_hash(code), key_id=victim.key_id)
    client = HubClient(s.net.url, NETWORK)
    s.net.clients.append(client)
    with pytest.raises(RemoteError) as caught:
        await client._request(
            "POST",
            "/api/v1/enrol",
            json={
                "network": NETWORK,
                "code": code,
                "public_identity": victim.public.to_json(),
                "proof": base64.b64encode(thief.sign(message)).decode(),
            },
        )
    assert (caught.value.status, caught.value.code) == (401, "auth_failed")
    assert await (await s.admin()).enrolments() == []
    assert await s.enrol(code, victim) >= 1


async def test_a_contact_person_cannot_make_invites_or_see_enrolments(s):
    """Invites and the list of enrolments are the administrator's: a contact person gets 404, as for something that does not exist."""
    ivar = PrivateIdentity.generate()
    await s.enrol(await s.invite("Ivar Ås"), ivar)
    await s.approve(ivar, "Ivar Ås", "kommun-a")
    client = await s.sign_in(ivar)
    with pytest.raises(RemoteError) as caught:
        await client.create_invite(
            invite_code_hash(new_invite_code()),
            municipality="kommun-a",
            person="Inbjuden av fel person",
            role="contact_person",
            expires_at=int(s.net.clock.now) + 86_400,
        )
    assert (caught.value.status, caught.value.code) == (404, "forbidden")
    with pytest.raises(RemoteError) as caught:
        await client.enrolments()
    assert caught.value.status == 404


async def test_rotation_replaces_the_old_key_and_nothing_new_is_sealed_to_it(s):
    """After `hub admin rotate` the old key can neither sign in nor receive, and the successor can do both."""
    added = await s.hub(
        "admin",
        "municipality",
        "add",
        "kommun-d",
        "--name",
        "Kommun D",
        "--population",
        "8000",
        "--manager-email",
        "chef@kommun-d.example",
        *ADMIN,
    )
    assert added.returncode == 0, added.stderr
    old = PrivateIdentity.generate()
    await s.enrol(await s.invite("Dora Dahl", "kommun-d"), old)
    await s.approve(old, "Dora Dahl", "kommun-d")

    successor = await s.hub(*enrol_args(s, await s.invite("Dag Dal", "kommun-d"), "dag-keys"))
    assert successor.returncode == 0, successor.stderr
    dag = s.identity("dag-keys")
    enrolment_id = re.search(r"Registrerad \(nummer (\d+)\)", successor.stdout).group(1)

    rotated = await s.hub(
        "admin",
        "rotate",
        "--old",
        old.key_id.hex(),
        "--enrolment",
        enrolment_id,
        "--yes",
        "--fingerprint",
        dag.public.fingerprint,
        *ADMIN,
    )
    assert rotated.returncode == 0, rotated.stderr
    directory = await s.directory()
    entry, revocation = directory.entry_for_key(dag.key_id), directory.revocation_for(old.key_id)
    assert revocation.reason == "superseded"
    assert entry.serial < revocation.serial  # the successor first: never without a valid key
    assert entry.not_before <= revocation.revoked_at

    with pytest.raises(RemoteError) as caught:
        await s.sign_in(old)
    assert caught.value.code == "auth_failed"
    client = await s.sign_in(dag)
    assert client.signed_in.municipality == "kommun-d"

    def sealed_to(*recipients: PublicIdentity) -> bytes:
        out = io.BytesIO()
        seal(
            out,
            sender=dag,
            recipients=list(recipients),
            kind=MessageKind.INQUIRY,
            case_id=os.urandom(16),
            document={"bakgrund": "överlämning"},
            created_at=int(s.net.clock.now),
        )
        return out.getvalue()

    with pytest.raises(RemoteError) as caught:
        await client.upload(sealed_to(old.public, dag.public), ["kommun-d"])
    assert (caught.value.status, caught.value.code) == (422, "envelope_recipients_mismatch")
    assert (await client.upload(sealed_to(dag.public), ["kommun-d"])).seq >= 1

    shown = await s.hub("admin", "directory", *ADMIN)
    assert shown.returncode == 0, shown.stderr
    line_of = {
        k: next(line for line in shown.stdout.splitlines() if k.hex() in line)
        for k in (old.key_id, dag.key_id)
    }
    assert "återkallad" in line_of[old.key_id]
    assert "superseded" in line_of[old.key_id]
    assert line_of[dag.key_id].endswith("giltig")


async def test_directory_marks_each_municipality_with_a_single_key_as_fragile(s):
    """A and C have one contact person each, B two: A and C are marked, with what to do."""
    shown = await s.hub("admin", "directory", *ADMIN)
    assert shown.returncode == 0, shown.stderr
    fragile = [line for line in shown.stdout.splitlines() if "en enda nyckel: sårbar" in line]
    assert [line.split(":", 1)[0].strip() for line in fragile] == [
        "Kommun A (kommun-a)",
        "Kommun C (kommun-c)",
    ]
    assert "Lägg till en andra kontaktperson med hub admin invite." in shown.stdout

    # A second contact person for A: A is no longer marked.
    dag = PrivateIdentity.generate()
    await s.enrol(await s.invite("Dag Dahl"), dag)
    await s.approve(dag, "Dag Dahl", "kommun-a")
    shown = await s.hub("admin", "directory", *ADMIN)
    fragile = [line for line in shown.stdout.splitlines() if "en enda nyckel: sårbar" in line]
    assert [line.split(":", 1)[0].strip() for line in fragile] == ["Kommun C (kommun-c)"]


async def test_revoke_as_compromised_from_a_past_time(s):
    """A key revoked as compromised from a past moment stops working at once, and the directory records that moment."""
    jon = PrivateIdentity.generate()
    await s.enrol(await s.invite("Jon Jarl"), jon)
    await s.approve(jon, "Jon Jarl", "kommun-a")
    await s.sign_in(jon)
    suspected = int(s.net.clock.now) - 3600
    at = datetime.fromtimestamp(suspected, UTC).isoformat()

    revoked = await s.hub(
        "admin", "revoke", jon.key_id.hex(), "--reason", "compromised", "--at", at, *ADMIN
    )
    assert revoked.returncode == 0, revoked.stderr
    revocation = (await s.directory()).revocation_for(jon.key_id)
    assert (revocation.reason, revocation.revoked_at) == ("compromised", suspected)
    with pytest.raises(RemoteError) as caught:
        await s.sign_in(jon)
    assert caught.value.code == "auth_failed"

    unknown = await s.hub("admin", "revoke", "00" * 16, "--reason", "left", *ADMIN)
    assert unknown.returncode == 1
    assert "finns inte i katalogen" in unknown.stderr


# --- where notices go, and the notices that could not be sent ---------------------------------


async def test_contact_addresses_are_set_listed_replaced_and_removed(s):
    """The administrator sets where each contact person's deadline notices go, sees who gets
    them now (a person without a valid key gets none yet), and removes an address."""
    empty = await s.hub("admin", "contact", "list", *ADMIN)
    assert empty.returncode == 0, empty.stderr
    assert "Inga e-postadresser för aviseringar är sparade." in empty.stdout

    bertil = await s.hub(
        "admin", "contact", "set", "kommun-b", "bertil", "bertil@kommun-b.example", *ADMIN
    )
    assert bertil.returncode == 0, bertil.stderr
    assert "Aviseringar till bertil (kommun-b) går nu till bertil@kommun-b.example." in (
        bertil.stdout
    )
    assert "Obs" not in bertil.stdout
    asa = await s.hub(
        "admin", "contact", "set", "kommun-b", " Åsa Öberg ", "asa@kommun-b.example", *ADMIN
    )
    assert asa.returncode == 0, asa.stderr
    assert "Obs: Åsa Öberg har ingen giltig nyckel" in asa.stdout
    moved = await s.hub(
        "admin", "contact", "set", "kommun-b", "bertil", "bertil.berg@kommun-b.example", *ADMIN
    )
    assert moved.returncode == 0, moved.stderr

    admin = await s.admin()
    assert as_json(await admin.contact_addresses()) == [
        {"municipality": "kommun-b", "person": "bertil", "email": "bertil.berg@kommun-b.example"},
        {"municipality": "kommun-b", "person": "Åsa Öberg", "email": "asa@kommun-b.example"},
    ]
    listed = await s.hub("admin", "contact", "list", *ADMIN)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0] == "E-postadresser för aviseringar (2):"
    assert [cells(line) for line in lines[1:2] + lines[3:]] == [
        ["Kommun", "Person", "E-post", "Just nu"],
        ["kommun-b", "bertil", "bertil.berg@kommun-b.example", "får aviseringar"],
        [
            "kommun-b",
            "Åsa Öberg",
            "asa@kommun-b.example",
            "ingen giltig nyckel: får inga aviseringar",
        ],
    ]

    removed = await s.hub("admin", "contact", "remove", "kommun-b", "Åsa Öberg", *ADMIN)
    assert removed.returncode == 0, removed.stderr
    assert "asa@kommun-b.example" in removed.stdout
    again = await s.hub("admin", "contact", "remove", "kommun-b", "Åsa Öberg", *ADMIN)
    assert again.returncode == 1
    assert "fel: det finns ingen e-postadress för Åsa Öberg i kommun-b" in again.stderr
    assert [c.person for c in await admin.contact_addresses()] == ["bertil"]


async def test_a_bad_address_or_municipality_is_refused_and_nothing_changes(s):
    """An address the hub would not send to, or a municipality outside the network, is a clear
    `fel:` and stores nothing."""
    cases = [
        (("kommun-x", "bertil", "bertil@kommun-b.example"), "fel: kommunen kommun-x finns inte"),
        (("kommun-b", "bertil", "a@b.example, c@d.example"), "är inte en e-postadress"),
        (("kommun-b", "bertil", "ingen-adress"), "är inte en e-postadress"),
        # Passes the command's first check; the hub's stricter one refuses it.
        (("kommun-b", "bertil", "bertil@kommun-b.x"), "fel: hubben tar inte emot"),
        # A name the address API's path would cut short ("a?b" would set "a"'s address).
        (("kommun-b", "a?b", "ab@kommun-b.example"), "kan inte få en e-postadress"),
        (("kommun-b", "a/b", "ab@kommun-b.example"), "kan inte få en e-postadress"),
    ]
    for arguments, error in cases:
        refused = await s.hub("admin", "contact", "set", *arguments, *ADMIN)
        assert refused.returncode == 1, arguments
        assert error in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
    assert await (await s.admin()).contact_addresses() == []


async def test_an_invite_can_set_where_the_new_persons_notices_go(s):
    """`hub admin invite --email` stores the address with the invite; a refused address, or an
    address for someone who gets no notices (not a contact person), stops it before any code."""
    invited = await s.hub(
        "admin",
        "invite",
        "--municipality",
        "kommun-a",
        "--person",
        "Dora Dahl",
        "--email",
        "dora@kommun-a.example",
        *ADMIN,
    )
    assert invited.returncode == 0, invited.stderr
    assert CODE.search(invited.stdout) is not None
    assert "Aviseringar till Dora Dahl går till dora@kommun-a.example" in invited.stdout
    admin = await s.admin()
    assert as_json(await admin.contact_addresses()) == [
        {"municipality": "kommun-a", "person": "Dora Dahl", "email": "dora@kommun-a.example"}
    ]

    refused = await s.hub(
        "admin",
        "invite",
        "--municipality",
        "kommun-a",
        "--person",
        "Erik Ek",
        "--email",
        "erik@kommun-a.x",
        *ADMIN,
    )
    assert refused.returncode == 1
    assert "fel: hubben tar inte emot" in refused.stderr
    assert CODE.search(refused.stdout) is None
    coordinator = await s.hub(
        "admin",
        "invite",
        "--municipality",
        "kommun-a",
        "--person",
        "Frida Fors",
        "--role",
        "coordinator",
        "--email",
        "frida@kommun-a.example",
        *ADMIN,
    )
    assert coordinator.returncode == 1
    assert "fel: --email gäller bara kontaktpersoner" in coordinator.stderr
    assert len(await admin.contact_addresses()) == 1


async def test_notices_lists_what_could_not_be_sent_in_swedish_and_stockholm_time(tmp_path):
    """Nothing to do: exit 0 and one sentence. A notice the mail server refused for good: its
    address, what it was about, status, attempts, the server's answer and its times in
    Stockholm time, and exit 3; a notice that went out shows only when asked for (exit 0)."""
    with mail_catcher() as catcher:
        async with admin_setup(tmp_path, smtp=catcher.config()) as s:
            quiet = await s.hub("admin", "notices", *ADMIN)
            assert quiet.returncode == 0, quiet.stderr
            assert quiet.stdout == "Inga aviseringar behöver åtgärdas.\n"

            for municipality, person in (("kommun-b", "bertil"), ("kommun-c", "cecilia")):
                address = f"{person}@{municipality}.example"
                done = await s.hub("admin", "contact", "set", municipality, person, address, *ADMIN)
                assert done.returncode == 0, done.stderr
            catcher.refuse["cecilia@kommun-c.example"] = "550 5.1.1 No such user"
            anna = await s.net.client("anna")
            data = s.net.seal_to("anna", ["kommun-b", "kommun-c"], {"bakgrund": "…"})
            await anna.upload(data, ["kommun-b", "kommun-c"])
            s.net.clock.now += 601  # nobody fetched it: each municipality is told
            report = await s.net.app[SCHEDULER].tick()
            assert (report.emails_sent, report.emails_failed) == (1, 1)

            listed = await s.hub("admin", "notices", *ADMIN)
            assert listed.returncode == EXIT_ATTENTION, listed.stderr  # for cron: look
            [failed] = await (await s.admin()).notices()
            lines = listed.stdout.splitlines()
            assert lines[0] == (
                "Aviseringar som behöver åtgärdas (1), tider i svensk tid (Europe/Stockholm):"
            )
            assert cells(lines[1]) == [
                "Skapad",
                "Avslutad",
                "Kommun",
                "Till",
                "Adress",
                "Gäller",
                "Status",
                "Försök",
                "Senaste fel",
            ]
            assert cells(lines[3]) == [
                stockholm(failed.created_at),
                stockholm(failed.finished_at),
                "kommun-c",
                "kontaktperson",
                "cecilia@kommun-c.example",
                "nytt meddelande",
                "misslyckad",
                "1",
                "SMTP 550",
            ]
            assert "bertil" not in listed.stdout  # his went out
            assert "hub admin contact set" in listed.stdout

            sent = await s.hub("admin", "notices", "--status", "sent", *ADMIN)
            assert sent.returncode == 0, sent.stderr
            # Bertil's, and the managers' of the set-up's new keys (tests/test_directory_notice.py)
            assert "bertil@kommun-b.example  nytt meddelande  skickad" in sent.stdout
            assert sent.stdout.count("nytt meddelande") == 1
            assert "bertil@kommun-b.example" in sent.stdout
            assert "skickad" in sent.stdout
            assert "cecilia" not in sent.stdout
            none = await s.hub("admin", "notices", "--status", "pending,sending", *ADMIN)
            assert none.returncode == 0, none.stderr
            assert none.stdout == "Inga aviseringar med status väntar, skickas.\n"

            bad = await s.hub("admin", "notices", "--status", "failed,bogus", *ADMIN)
            assert bad.returncode == 1
            assert "fel: okänd status bogus: välj bland pending, sending, sent" in bad.stderr


def cells(line: str) -> list[str]:
    """A table line's cells: columns are at least two spaces apart."""
    return re.split(r"\s{2,}", line.strip())


def stockholm(at: int) -> str:
    return datetime.fromtimestamp(at, ZoneInfo("Europe/Stockholm")).strftime("%Y-%m-%d %H:%M")

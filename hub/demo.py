"""A working demo network on this machine: a hub on the embedded default, three municipalities
with one enrolled contact person each, each with their own local inbox agent, and a sample case
in flight (Kommun A has asked Kommun B and Kommun C). The county administrator (with the
network key) and a coordinator (enrolled as one) each get their own follow-up agent
(`hub uppfoljning`), so every role can be tried.

Everything runs in one process on 127.0.0.1, with real keys, real signatures and real
encryption; only the names and the sample text are invented.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from hub.client.admin_log import append, verified_records
from hub.client.api import HubClient
from hub.crypto import keyfile
from hub.crypto.directory import make_entry
from hub.crypto.keys import PrivateIdentity, SigningKey, dumps_public_signing_key
from hub.crypto.registry import make_kommunmall, make_municipality, make_settings
from hub.followup.agent import FollowupCore, init_followup, local_auth
from hub.inbox.agent import CACHE_PURPOSE, InboxConfig, init_inbox, keeper_for
from hub.inbox.cache import InboxCache
from hub.inbox.sync import AgentCore, Attachment
from hub.localagent import security
from hub.protocol.settings import DEFAULT_SETTINGS
from hub.server.app import init_app
from hub.server.config import ServerConfig
from hub.storage.base import Network
from hub.storage.sqlite import create_network

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

NETWORK = "demo-lanskompotten"
PASSPHRASE = "demo-lösenfras-endast-för-prov"  # noqa: S105 - a demo, printed on screen
YEAR = 365 * 86_400
MUNICIPALITIES = (
    ("kommun-a", "Kommun A", 24_000, "Anna Andersson"),
    ("kommun-b", "Kommun B", 8_500, "Bertil Berg"),
    ("kommun-c", "Kommun C", 56_000, "Cecilia Carlsson"),
)
TEMPLATES = {
    "kommun-a": "Stödboende med personal dygnet runt; tolk finns att tillgå.",
    "kommun-b": "Mindre kommun; lägenheter i flerfamiljshus; skola med särskilt stöd.",
    "kommun-c": "Flera stadsdelar; skyddat boende; barnahus i kommunen.",
}
SAMPLE_INQUIRY = {
    "datum": "2026-11-24",
    "ansvarig_kommun": "Kommun A",
    "handlaggare": "Anna Andersson, socialsekreterare",
    "sokandes_bakgrund": "Kvinna, 34 år, två barn (6 och 9 år). Skyddade personuppgifter sökta. "
    "Talar svenska och arabiska.",
    "bakgrund_till_placering": "Upprepat våld från tidigare partner. Strukturerad "
    "riskbedömning enligt FREDA visar hög risk.",
    "kontakter_med_polis": "Polisanmälan gjord; kontaktförbud beviljat.",
    "nuvarande_och_behov_av_stod": "Stödsamtal varje vecka; behöver fortsatt stöd och "
    "hjälp med skola för barnen.",
    "boende": "Behöver tre rum; inga husdjur; inga betalningsanmärkningar.",
    "ekonomi_och_sysselsattning": "Arbetssökande; försörjningsstöd.",
    "barn": "Gemensam vårdnad; barnen är informerade och samtycker.",
    "lamplig_kommun": "Långt från nuvarande ort; inget eget nätverk där.",
    "ovrigt": "",
}


COORDINATOR = ("lansstyrelsen", "Sara Samordnare")  # enrolled under the county's id
# The file names `hub admin` and `hub uppfoljning` use in a key folder
NETWORK_KEY_NAME = "network.key"
NETWORK_PUB_NAME = "network.pub"


@dataclass
class Follower:
    """The county administrator or the coordinator: `hub uppfoljning` on their own machine."""

    title: str  # "Länsstyrelsen (administratör)", "Samordnare: Sara Samordnare"
    keys_dir: Path
    admin: bool  # signs in with the network key (--admin)
    launch_url: str
    core: FollowupCore


@dataclass
class DemoPerson:
    person: str
    name: str
    municipality: str
    municipality_name: str
    keys_dir: Path
    inbox_url: str
    launch_url: str
    core: AgentCore


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _start_site(app: web.Application, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def run_demo(
    root: Path,
    *,
    check: bool,
    report: Callable[[str], None],
    clock: Callable[[], float] = time.time,
) -> list[DemoPerson]:
    """Start the network, send the sample case, report the addresses; serve until cancelled
    (or, with `check`, verify the case arrived and stop)."""
    now = int(clock())
    admin = SigningKey.generate()
    await asyncio.to_thread(_prepare_root, root, admin)
    data_dir = root / "hub-data"
    await create_network(
        data_dir, Network(NETWORK, "Demonätverket", admin.public, dict(DEFAULT_SETTINGS), now)
    )

    hub_port = _free_port()
    hub_url = f"http://127.0.0.1:{hub_port}"
    runners = [
        await _start_site(
            init_app(ServerConfig(data_dir=data_dir, port=hub_port, public_url=hub_url)), hub_port
        )
    ]
    people: list[DemoPerson] = []
    followers: list[Follower] = []
    try:
        async with HubClient(hub_url, NETWORK) as admin_client:
            await admin_client.sign_in(admin)
            signer = _Administrator(admin_client, admin, root / "lansstyrelsen" / "keys")
            # The network's settings first, as `hub admin settings` signs them (the national
            # ones), then each member's name, kommunmall and contact person's key.
            await signer.sign(make_settings)
            for municipality, name, population, person in MUNICIPALITIES:
                # The signed name first; then the manager's e-mail, which stays on the hub and
                # in no record; then the signed kommunmall (as `hub admin municipality add`).
                await signer.sign(
                    make_municipality, municipality=municipality, name=name, population=population
                )
                await admin_client.put_municipality(
                    municipality,
                    name=name,
                    population=population,
                    manager_email=f"chef@{municipality}.example",
                )
                await signer.sign(
                    make_kommunmall,
                    municipality=municipality,
                    offer=TEMPLATES[municipality],
                    contact=f"Ring växeln och fråga efter kontaktpersonen ({person}).",
                )
                identity = PrivateIdentity.generate()
                keys_dir = root / municipality / "keys"
                keys_dir.mkdir(parents=True, exist_ok=True)
                keyfile.write_keyfile(
                    keys_dir / "identity.key",
                    identity,
                    PASSPHRASE,
                    opslimit=keyfile.INTERACTIVE_OPSLIMIT,
                    memlimit=keyfile.INTERACTIVE_MEMLIMIT,
                )
                (keys_dir / "identity.pub").write_text(identity.public.dumps())
                (keys_dir / "network.pub").write_text(dumps_public_signing_key(admin.public))
                await signer.sign(
                    make_entry,
                    municipality=municipality,
                    person=person,
                    role="contact_person",
                    identity=identity.public,
                    not_before=now - 60,
                    not_after=now + YEAR,
                )
                people.append(
                    await _start_agent(
                        hub_url,
                        identity=identity,
                        admin_public=admin.public,
                        keys_dir=keys_dir,
                        municipality=municipality,
                        municipality_name=name,
                        person=person,
                        runners=runners,
                    )
                )
            coordinator_keys = root / "samordnare" / "keys"
            coordinator = await _enrol_coordinator(signer, coordinator_keys, now)
        for title, key, keys, is_admin in (
            ("Länsstyrelsen (administratör)", admin, root / "lansstyrelsen" / "keys", True),
            (f"Samordnare: {COORDINATOR[1]}", coordinator, coordinator_keys, False),
        ):
            followers.append(
                await _start_follower(
                    hub_url,
                    title=title,
                    key=key,
                    admin_public=admin.public,
                    keys_dir=keys,
                    is_admin=is_admin,
                    runners=runners,
                )
            )
        sender = people[0].core
        await sender.send_inquiry(
            SAMPLE_INQUIRY,
            [
                Attachment(
                    "anonymiserad-utredning.pdf",
                    "application/pdf",
                    b"%PDF-1.4\n% Anonymiserad utredning (exempel)\n",
                )
            ],
            ["kommun-b", "kommun-c"],
        )
        for member in people:
            await member.core.sync()
        _report(report, hub_url, root, people, followers)
        if check:
            await _check(people, followers, report)
            return people
        await asyncio.Event().wait()
        return people
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
        for member in people:
            with contextlib.suppress(Exception):
                await member.core.cache.close()
        for follower in followers:
            with contextlib.suppress(Exception):
                await follower.core.close()


async def _start_agent(  # noqa: PLR0913 - the parts of one contact person's machine
    hub_url: str,
    *,
    identity: PrivateIdentity,
    admin_public: bytes,
    keys_dir: Path,
    municipality: str,
    municipality_name: str,
    person: str,
    runners: list[web.AppRunner],
) -> DemoPerson:
    cache = await InboxCache.open(keys_dir / "inbox-cache", identity.local_key(CACHE_PURPOSE))
    core = AgentCore(hub_url, NETWORK, identity, admin_public, cache)
    await core.connect()
    port = _free_port()
    auth = security.LocalAuth(f"http://127.0.0.1:{port}")
    # Open from the start, as with --passphrase-file; after "Lås nu" the printed passphrase
    # unlocks it again in the page.
    keeper = keeper_for(InboxConfig(hub_url, NETWORK, keys_dir), admin_public)
    keeper.held, keeper.locked_at = core, None
    runners.append(await _start_site(init_inbox(keeper, auth), port))
    return DemoPerson(
        person,
        person,
        municipality,
        municipality_name,
        keys_dir,
        auth.origin,
        auth.launch_url,
        core,
    )


async def _check(
    people: list[DemoPerson], followers: list[Follower], report: Callable[[str], None]
) -> None:
    for member in people[1:]:
        if not await member.core.cache.list_cases("inbox"):
            raise RuntimeError(f"the sample case did not reach {member.municipality}")
    report("Kontroll: exempelärendet har nått Kommun B och Kommun C.")
    for follower in followers:
        if not follower.core.allowed:
            raise RuntimeError(f"the hub refused the follow-up of {follower.title}")
    report("Kontroll: länsstyrelsen och samordnaren är inloggade i uppföljningen.")


async def _enrol_coordinator(signer: _Administrator, keys_dir: Path, now: int) -> PrivateIdentity:
    """The coordinator's own key, enrolled as the county's coordinator."""
    coordinator = PrivateIdentity.generate()
    await asyncio.to_thread(_write_keys, keys_dir, coordinator, signer.key.public)
    await signer.sign(
        make_entry,
        municipality=COORDINATOR[0],
        person=COORDINATOR[1],
        role="coordinator",
        identity=coordinator.public,
        not_before=now - 60,
        not_after=now + YEAR,
    )
    return coordinator


@dataclass
class _Administrator:
    """The county administrator's tools as `hub admin` runs them: each record signed with the
    next serial and sent with the checkpoint of the log it makes (hub.client.admin_log), so the
    demo network has signed names, kommunmallar and settings, and its directory log."""

    client: HubClient
    key: SigningKey
    keys: Path

    async def sign(self, make: Callable[..., dict[str, str]], **fields: object) -> None:
        """`make` (make_entry, make_settings …) signs the record with the next serial."""
        records, _ = await verified_records(self.client, self.key, self.keys)
        wire = make(self.key, network=NETWORK, serial=len(records) + 1, **fields)
        await append(self.client, self.key, self.keys, wire)


async def _start_follower(  # noqa: PLR0913 - the parts of one follow-up machine
    hub_url: str,
    *,
    title: str,
    key: PrivateIdentity | SigningKey,
    admin_public: bytes,
    keys_dir: Path,
    is_admin: bool,
    runners: list[web.AppRunner],
) -> Follower:
    core = FollowupCore(HubClient(hub_url, NETWORK), key, admin_public)
    await core.connect()
    port = _free_port()
    auth = local_auth(f"http://127.0.0.1:{port}")
    runners.append(await _start_site(init_followup(core, auth), port))
    return Follower(title, keys_dir, is_admin, auth.launch_url, core)


def _write_keys(keys_dir: Path, key: PrivateIdentity | SigningKey, admin_public: bytes) -> None:
    keys_dir.mkdir(parents=True, exist_ok=True)
    name = "identity.key" if isinstance(key, PrivateIdentity) else NETWORK_KEY_NAME
    keyfile.write_keyfile(
        keys_dir / name,
        key,
        PASSPHRASE,
        opslimit=keyfile.INTERACTIVE_OPSLIMIT,
        memlimit=keyfile.INTERACTIVE_MEMLIMIT,
    )
    (keys_dir / NETWORK_PUB_NAME).write_text(dumps_public_signing_key(admin_public))


def _prepare_root(root: Path, admin: SigningKey) -> None:
    (root / "lansstyrelsen").mkdir(parents=True, exist_ok=True)
    (root / "lansstyrelsen" / "network.pub").write_text(dumps_public_signing_key(admin.public))
    _write_keys(root / "lansstyrelsen" / "keys", admin, admin.public)


def _report(
    report: Callable[[str], None],
    hub_url: str,
    root: Path,
    people: list[DemoPerson],
    followers: list[Follower],
) -> None:
    report(f"Demonätverket kör. Hubben: {hub_url}  (data i {root / 'hub-data'})")
    report("Kommun A har skickat en förfrågan till Kommun B och Kommun C.\n")
    for p in people:
        report(f"{p.municipality_name}: {p.name}")
        report(f"  inkorg (länken fungerar en gång): {p.launch_url}")
        report(f"  nycklar: {p.keys_dir}  (lösenfras: {PASSPHRASE})")
    for f in followers:
        report(f"{f.title}")
        report(f"  uppföljning (länken fungerar en gång): {f.launch_url}")
        admin = " --admin" if f.admin else ""
        report(
            f"  eller själv: hub uppfoljning --hub {hub_url} --network {NETWORK} "
            f"--keys {f.keys_dir}{admin}  (lösenfras: {PASSPHRASE})"
        )
    report("\nÖppna länkarna i var sitt webbläsarfönster (privata fönster). Avsluta med Ctrl-C.")

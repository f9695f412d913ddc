"""A real hub on a free port with a small network: an administrator, municipalities, and
contact persons with keys, signed into the directory. Shared by the server tests."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import msgspec
import psycopg
from aiohttp import web

from hub.client.admin_log import checkpoint_over
from hub.client.api import HubClient
from hub.crypto.directory import make_entry, make_revocation
from hub.crypto.envelope import AttachmentSource, open_envelope, seal
from hub.crypto.format import MessageKind
from hub.crypto.keys import PrivateIdentity, SigningKey
from hub.crypto.registry import make_kommunmall, make_municipality, make_settings
from hub.crypto.rewrap import HandedKey, rewrap_document
from hub.protocol.chain import derive, sign_batch
from hub.protocol.lifecycle import Action, Case, Event, Role
from hub.server.app import init_app
from hub.server.config import ServerConfig
from hub.server.typedefs import CONFIG
from hub.storage.backup import restore
from hub.storage.base import Network
from hub.storage.choose import create_network, open_storage
from tests.pgserver import pg_bin
from tests.vectors._rng import SeededRng

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from hub.protocol import wire
    from hub.storage.base import Storage

NETWORK = "lanskompotten-test"
START = 1_795_000_000
YEAR = 365 * 86_400


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


MUNICIPALITIES = (("kommun-a", "Kommun A"), ("kommun-b", "Kommun B"), ("kommun-c", "Kommun C"))


@dataclass
class HubNet:
    url: str
    app: web.Application
    data_dir: Path
    clock: FakeClock
    admin: SigningKey
    people: dict[str, PrivateIdentity]  # person -> identity
    municipality_of: dict[str, str]  # person -> municipality
    serial: int = 0
    clients: list[HubClient] = field(default_factory=list)
    database: str | None = None  # None: SQLite in data_dir; else PostgreSQL's URL

    async def open_storage(self) -> Storage:
        """The hub's storage, opened beside the running hub (close it after use)."""
        return await open_storage(self.data_dir, self.database)

    def blob_names(self) -> list[str]:
        """Every blob the hub keeps outside its rows' bodies: files under blobs/ (SQLite), or
        the linked blobs' message ids and 'staged:' blob ids (PostgreSQL)."""
        if self.database is None:
            return sorted(p.name for p in (self.data_dir / "blobs").rglob("*") if p.is_file())
        with psycopg.connect(self.database, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT encode(e.message_id, 'hex') FROM envelope_blobs b"
                " JOIN envelopes e ON e.seq = b.seq UNION ALL"
                " SELECT 'staged:' || encode(blob_id, 'hex') FROM blob_uploads UNION ALL"
                " SELECT DISTINCT 'chunks:' || encode(blob_id, 'hex') FROM blob_chunks c"
                " WHERE NOT EXISTS (SELECT 1 FROM envelope_blobs l WHERE l.blob_id = c.blob_id)"
            ).fetchall()
        return sorted(r[0] for r in rows)

    def stored_bytes(self) -> list[tuple[str, bytes]]:
        """Everything the hub stores, as (where, bytes): each file of its data folder, and on
        PostgreSQL a plain pg_dump of its database (rows, blobs, the audit log)."""
        found = [(str(p), p.read_bytes()) for p in self.data_dir.rglob("*") if p.is_file()]
        if self.database is not None:
            dump = subprocess.run(
                [str(pg_bin() / "pg_dump"), "--data-only", self.database],
                check=True,
                capture_output=True,
                timeout=120,
            ).stdout
            found.append(("pg_dump", dump))
        return found

    async def client(self, who: str | None = None, *, fresh: bool = False) -> HubClient:
        """A client signed in as `who` (a person), or as the administrator when None; one per
        person unless `fresh`."""
        cached = self._signed_in.get(who)
        if cached is not None and not fresh:
            return cached
        client = HubClient(self.url, NETWORK)
        self._signed_in[who] = client
        self.clients.append(client)
        await client.sign_in(self.admin if who is None else self.people[who])
        return client

    async def enrol(
        self,
        person: str,
        municipality: str,
        *,
        not_after: int | None = None,
        key: str = "",
        role: str = "contact_person",
    ) -> None:
        """Enrol `person` in `role`; `key` names another seed, for a new key of the same person."""
        identity = PrivateIdentity.generate(SeededRng(f"hubnet/{person}{key}"))
        self.people[person] = identity
        self.municipality_of[person] = municipality
        self.serial += 1
        wire = make_entry(
            self.admin,
            network=NETWORK,
            municipality=municipality,
            person=person,
            role=role,
            identity=identity.public,
            not_before=START - 86_400,
            not_after=not_after or START + 30 * YEAR,
            serial=self.serial,
        )
        await self.append(wire)

    async def append(self, wire: dict[str, str]) -> int:
        """The administrator adds a signed record with the directory log's checkpoint over
        every record and this one, as `hub admin` does (hub/client/admin_log.py)."""
        admin = await self.client()
        records = [*await admin.registry_records(), wire]
        return await admin.add_record(wire, checkpoint_over(self.admin, NETWORK, records))

    async def step(
        self,
        person: str,
        case_id: bytes,
        municipality: str,
        event: str,
        *,
        details: dict[str, str] | None = None,
        message_id: bytes | None = None,
        batch: bool = True,
    ) -> wire.CaseView:
        """`person` signs and posts a case step as an agent does: the chain fetched and
        replayed, the step continuing it (a confirm and closing without a move as their whole
        batch unless `batch` is False). Returns the hub's view."""
        client = await self.client(person)
        signed = await self.sign_steps(
            person,
            case_id,
            municipality,
            event,
            details=details,
            message_id=message_id,
            batch=batch,
        )
        return await client.post_steps(case_id, signed)

    async def sign_steps(
        self,
        person: str,
        case_id: bytes,
        municipality: str,
        event: str,
        *,
        details: dict[str, str] | None = None,
        message_id: bytes | None = None,
        batch: bool = True,
    ) -> list[dict[str, str]]:
        """The signed steps step() would post, for a test to post (or tamper with) itself."""
        client = await self.client(person)
        directory = await client.directory(self.admin.public)
        sender = (await client.case(case_id)).sender
        relayed = [msgspec.to_builtins(r.step) for r in await client.case_steps(case_id)]
        derived = derive(case_id, sender, relayed, directory=directory)
        me = self.municipality_of[person]
        role = Role.SENDER if me == sender else Role.RECEIVER
        now = int(self.clock.now)
        case = derived.case or Case(case_id.hex(), sender)
        if batch:
            actions = case.batch_for(role, municipality, Event(event), now, details)
        else:  # the one step alone, as a hostile or broken agent might post it
            actions = [Action(role, municipality, Event(event), now, details or {})]
        return sign_batch(
            self.people[person],
            network=NETWORK,
            case_id=case_id,
            sender=sender,
            derived=derived,
            actions=actions,
            time=now,
            message_id=message_id,
        )

    async def register(self, municipality: str, name: str, population: int = 25_000) -> int:
        """The administrator signs a municipality record (docs/protocol.md §5.10)."""
        self.serial += 1
        return await self.append(
            make_municipality(
                self.admin,
                network=NETWORK,
                municipality=municipality,
                name=name,
                population=population,
                serial=self.serial,
            )
        )

    async def sign_settings(self, **settings: Any) -> int:
        """The administrator signs the network's settings (national defaults unless given)."""
        self.serial += 1
        wire = make_settings(self.admin, network=NETWORK, serial=self.serial, **settings)
        return await self.append(wire)

    async def sign_kommunmall(self, municipality: str, offer: str, contact: str = "") -> int:
        self.serial += 1
        wire = make_kommunmall(
            self.admin,
            network=NETWORK,
            municipality=municipality,
            offer=offer,
            contact=contact,
            serial=self.serial,
        )
        return await self.append(wire)

    async def sign_registry(self) -> None:
        """Move the test network to the signed registry: its three municipalities, as named."""
        for municipality, name in MUNICIPALITIES:
            await self.register(municipality, name)

    async def revoke(self, person: str, *, at: int, reason: str = "left") -> None:
        self.serial += 1
        wire = make_revocation(
            self.admin,
            network=NETWORK,
            key_id=self.people[person].key_id,
            revoked_at=at,
            reason=reason,
            serial=self.serial,
        )
        await self.append(wire)

    def seal_to(
        self,
        sender: str,
        municipalities: list[str],
        document: dict[str, Any],
        attachments: list[tuple[str, bytes]] | None = None,
        *,
        kind: MessageKind = MessageKind.INQUIRY,
        case_id: bytes = bytes(range(16)),
        message_id: bytes | None = None,
    ) -> bytes:
        """Seal as the inbox will: to every current key of the addressed and own municipality."""
        own = self.municipality_of[sender]
        recipients = [
            self.people[p].public
            for p, m in self.municipality_of.items()
            if m in {*municipalities, own} and p in self.active
        ]
        out = io.BytesIO()
        seal(
            out,
            sender=self.people[sender],
            recipients=recipients,
            kind=kind,
            case_id=case_id,
            document=document,
            attachments=[
                AttachmentSource(n, "application/pdf", len(b), io.BytesIO(b))
                for n, b in attachments or []
            ],
            created_at=int(self.clock.now),
            message_id=message_id,
        )
        return out.getvalue()

    async def rewrap_by_hand(
        self,
        holder: str,
        message_id: bytes,
        *,
        to: str,
        case_id: bytes,
        workdir: Path,
        by: str | None = None,
    ) -> None:
        """`holder` opens the envelope as a recipient, and `by` (the holder unless named)
        uploads by hand a REWRAP of its file key addressed to `to` (docs/protocol.md §6): what
        an agent hands over by itself."""
        client = await self.client(holder)
        directory = await client.directory(self.admin.public)
        with open_envelope(
            io.BytesIO(await client.download(message_id)),
            recipient=self.people[holder],
            sender_keys=directory,
            workdir=workdir,
            now=int(self.clock.now),
        ) as opened:
            handed = HandedKey(message_id, opened.digest, opened.file_key)
        sender = by or holder
        rewrap = self.seal_to(
            sender, [to], rewrap_document([handed]), kind=MessageKind.REWRAP, case_id=case_id
        )
        await (await self.client(sender)).upload(rewrap, [to])

    async def stop(self) -> None:
        """Stop the hub as a crash or a shutdown would, keeping its data directory."""
        for client in self.clients:
            await client.close()
        self.clients.clear()
        self._signed_in.clear()
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None
        await asyncio.sleep(0)

    async def restart(self) -> None:
        """Stop, then start a new hub process on the same data, port and clock."""
        assert self.app is not None
        config = self.app[CONFIG]
        await self.stop()
        self.runner = await _serve(config, self.clock)
        self.app = self.runner.app

    async def restore_from(self, backup_dir: Path) -> None:
        """The hub is lost and restored from `backup_dir` (hub.storage.backup) into its emptied
        data folder, then started again, as docs/operations.md §7 restores one."""
        await self.stop()
        for child in self.data_dir.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()
        restore(backup_dir, self.data_dir)
        await self.restart()

    active: set[str] = field(default_factory=set)
    runner: web.AppRunner | None = None
    _signed_in: dict[str | None, HubClient] = field(default_factory=dict)


@asynccontextmanager
async def running_hub(
    tmp_path: Path,
    *,
    network_settings: dict[str, Any] | None = None,
    signed_registry: bool = True,
    front: Callable[[str], Awaitable[str]] | None = None,
    database: str | None = None,
    **config: Any,
) -> AsyncIterator[HubNet]:
    """A hub with the test network; `network_settings` are added to its agreed settings, which
    the administrator signs with the members unless `signed_registry` is False (a network
    set up before the registry was signed: the operator's settings and names only).
    `front`: started with the hub's own address, returns the address of a proxy in front of it
    (tests/lyinghub.py), which becomes the hub's public URL and the one every client dials.
    `database`: None for SQLite in the data folder, or a PostgreSQL URL (tests/conftest.py)."""
    config.setdefault("signin_attempts_per_minute", 1000)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    if front is not None:
        url = await front(url)
    data_dir = tmp_path / "hub-data"
    admin = SigningKey.generate(SeededRng("hubnet/admin"))
    await create_network(
        data_dir,
        Network(
            NETWORK,
            "Testnätverket",
            admin.public,
            {"answer_days": 14, **(network_settings or {})},
            START,
        ),
        database,
    )
    clock = FakeClock()
    server_config = ServerConfig(
        data_dir=data_dir, port=port, public_url=url, database=database, **config
    )
    runner = await _serve(server_config, clock)
    net = HubNet(url, runner.app, data_dir, clock, admin, {}, {}, database=database)
    net.runner = runner
    try:
        admin_client = await net.client()
        for municipality, name in MUNICIPALITIES:
            await admin_client.put_municipality(
                municipality,
                name=name,
                population=25_000,
                manager_email=f"chef@{municipality}.example",
            )
        # The administrator signs the members and the settings before anyone enrols, as
        # docs/protocol.md §5.10 has a network begin: serials 1-4, the entries from 5.
        if signed_registry:
            await net.sign_registry()
            settings = {"answer_days": 14, **(network_settings or {})}
            await net.sign_settings(**_record_settings(settings))
        for person, municipality in (
            ("anna", "kommun-a"),
            ("bertil", "kommun-b"),
            ("cecilia", "kommun-c"),
            ("britta", "kommun-b"),
        ):
            await net.enrol(person, municipality)
            net.active.add(person)
        yield net
    finally:
        await net.stop()


def _record_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The hub-side settings a test gives, as the administrator's signed record states them."""
    values = dict(settings)
    quota = values.get("quota_key")
    values["quota_key"] = [tuple(band) for band in quota] if isinstance(quota, list) else None
    if "follow_up_days" in values and "follow_up_months" not in values:
        values["follow_up_months"] = None
    return values


async def _serve(config: ServerConfig, clock: FakeClock) -> web.AppRunner:
    runner = web.AppRunner(init_app(config, clock=clock))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", config.port).start()
    return runner


async def serve_process(env: dict[str, str], port: int) -> asyncio.subprocess.Process:
    """`hub serve` as its own process with `env` (the HUB_* settings), once it answers
    /healthz on `port`; killed and RuntimeError if it does not within 15 seconds."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub.cli",
        "serve",
        env={**os.environ, **env},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"http://127.0.0.1:{port}/healthz") as r:
                    if r.status == 200:
                        return process
            await asyncio.sleep(0.05)
    process.kill()
    raise RuntimeError("hub did not start")


def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.05)


def as_json(value: Any) -> Any:
    """A wire shape (or a list of them) as the plain JSON the hub sent, for comparing."""
    return msgspec.to_builtins(value)

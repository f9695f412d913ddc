"""The network's signed directory and its members. The hub serves records; it signs none, and
it checks every record it is given against the network's administrator key before storing it."""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web

from hub.crypto.directory import ENTRY_KIND, REVOCATION_KIND
from hub.crypto.erasure import ERASURE_KIND, ErasureRecord
from hub.crypto.leaves import Erased, Served
from hub.crypto.records import read_unverified
from hub.crypto.registry import (
    MUNICIPALITY_KIND,
    Kommunmall,
    MunicipalityRecord,
    Registry,
    SettingsRecord,
    open_sequence_record,
)
from hub.errors import ApiError, RecordVerificationError
from hub.protocol import wire
from hub.protocol.roles import AccountRole
from hub.server import enrolment_routes, log_routes
from hub.server.answer import answer
from hub.server.auth import caller_of, same_network
from hub.server.errors import read_json
from hub.server.typedefs import (
    CLOCK,
    DIRECTORIES,
    LIVE,
    NOTICES,
    SCHEDULER,
    STORAGE,
    WITNESSES,
)
from hub.storage.base import DirectoryRecord, Municipality, Storage, Transaction

MEMBERS = tuple(AccountRole)


async def get_directory(request: web.Request) -> web.Response:
    """Entries and revocations only, as the previous release reads them: it takes every record
    that is not a revocation for an entry, so a registry record here would make it refuse the
    whole directory. The whole sequence is GET .../registry."""
    caller = await caller_of(request, *MEMBERS)
    same_network(request, caller.network_id)
    records = await request.app[STORAGE].list_directory_records(caller.network_id)
    return web.json_response(
        {
            "network": caller.network_id,
            # an erased entry is left out: the previous release reads no erased form
            "entries": [r.wire for r in records if r.kind == ENTRY_KIND and not r.erased],
            "revocations": [r.wire for r in records if r.kind == REVOCATION_KIND],
        }
    )


async def get_registry(request: web.Request) -> web.Response:
    """The one sequence (docs/protocol.md §5.11): every signed record in serial order."""
    caller = await caller_of(request, *MEMBERS)
    same_network(request, caller.network_id)
    records = await request.app[STORAGE].list_directory_records(caller.network_id)
    return answer(
        wire.RegistryList(
            network=caller.network_id,
            records=[wire.SequenceItem.of(r.served) for r in records],
        )
    )


async def add_record(request: web.Request) -> web.Response:
    """The administrator adds a signed entry or revocation; the hub verifies it first."""
    caller = await caller_of(request, AccountRole.COUNTY_ADMIN)
    same_network(request, caller.network_id)
    body = await read_json(request, {"record": str, "signature": str}, {"checkpoint": str})
    wire = {"record": body["record"], "signature": body["signature"]}
    app = request.app
    storage = app[STORAGE]
    network = await storage.get_network(caller.network_id)
    records = await storage.list_directory_records(caller.network_id)
    kind = str(read_unverified(wire).unverified_body.get("kind"))
    # Loading the whole sequence with the new record checks its signature, its network, that its
    # serial is the next one, and every conflict rule exactly as a client will.
    every: list[Served] = [*(r.served for r in records), wire]
    now = int(app[CLOCK]())
    loaded = Registry.load(network.admin_public, caller.network_id, every, now=now)
    # The log's checkpoint over every record, the new one included (log_routes.py).
    note = await log_routes.checked_checkpoint(storage, network, body.get("checkpoint"), every)
    added = open_sequence_record(wire, kind, network.admin_public, caller.network_id)
    if isinstance(added, ErasureRecord):
        await _refuse_needed_keys(storage, caller.network_id, added)
    serial = len(records) + 1
    key_id = getattr(added, "key_id", b"")
    async with app[DIRECTORIES].changing(caller.network_id), storage.transaction() as tx:
        await tx.add_directory_record(
            DirectoryRecord(caller.network_id, serial, kind, key_id, wire)
        )
        await log_routes.store_checkpoint(tx, caller.network_id, note, now)
        if isinstance(added, ErasureRecord):  # the bodies go in the transaction that says why
            for item in added.erased:
                await tx.erase_directory_record(caller.network_id, Erased(item.serial, item.leaf))
        subject: dict[str, object] = {"serial": serial}
        if key_id:
            subject["key_id"] = key_id.hex()
        await tx.append_audit(at=now, actor="admin", action=f"directory_{kind}", subject=subject)
        named = loaded.directory.entry_for_key(key_id) if key_id else None
        if named is not None:  # a key of this municipality added or revoked: tell its manager
            await app[NOTICES].queue_directory_change(
                tx, caller.network_id, named.municipality, serial, now
            )
        if kind == ENTRY_KIND:  # an entry for an enrolled key approves its enrolment
            await enrolment_routes.approve_matching(
                tx, storage, network_id=caller.network_id, key_id=key_id, at=now
            )
        elif kind not in (REVOCATION_KIND, ERASURE_KIND):
            await _apply_registry_record(tx, storage, caller.network_id, added)
    if isinstance(added, ErasureRecord):
        # The old pages out of the WAL now (secure_delete zeroed them in the database); if a
        # read holds the checkpoint up, the retention pass's reclaim does it later.
        await storage.reclaim()
    if note is not None:
        app[WITNESSES].poke()  # the witnesses cosign the new checkpoint now
    app[SCHEDULER].poke()  # a manager's notice may wait
    everyone = {m.id for m in await storage.list_municipalities(caller.network_id)}
    await app[LIVE].tell(caller.network_id, everyone, {"type": "directory", "serial": serial})
    return web.json_response({"serial": serial}, status=201)


async def _refuse_needed_keys(storage: Storage, network_id: str, erasure: ErasureRecord) -> None:
    """An entry whose key signed an envelope or receipt the hub still keeps is still needed to
    check it: its erasure waits until retention has removed them (docs/protocol.md §12.11)."""
    for item in erasure.erased:
        if await storage.keeps_signatures_of(network_id, item.key_id):
            raise RecordVerificationError(
                "erasure_not_allowed", f"serial {item.serial}: the hub keeps what the key signed"
            )


async def _apply_registry_record(
    tx: Transaction, storage: Storage, network_id: str, added: object
) -> None:
    """What the hub itself acts on, taken from the verified record: the members' names and
    populations (the manager's e-mail stays the hub's own), the kommunmall the previous release
    reads from the member list, and the settings its deadline clock counts with."""
    if isinstance(added, SettingsRecord):
        await tx.set_network_settings(network_id, hub_settings(added))
        return
    known = {m.id: m for m in await storage.list_municipalities(network_id)}
    if isinstance(added, MunicipalityRecord):
        old = known.get(added.municipality)
        await tx.put_municipality(
            Municipality(
                network_id,
                added.municipality,
                added.name,
                added.population,
                old.manager_email if old else "",
                old.template if old else {},
            )
        )
    elif isinstance(added, Kommunmall):
        old = known.get(added.municipality)
        if old is not None:
            template = {"text": added.offer, "contact": added.contact}
            await tx.put_municipality(replace(old, template=template))


def hub_settings(record: SettingsRecord) -> dict[str, object]:
    """A signed settings record as the hub's settings (the keys the deadline clock and the
    statistics read)."""
    return {
        **record.deadline_settings(),
        "quota_key": _bands(record),
        "outcome_free_text": record.outcome_free_text,
        "case_retention_days": record.case_retention_days,
        "inbox_retention_days": record.inbox_retention_days,
        "signed_serial": record.serial,
    }


async def get_network(request: web.Request) -> web.Response:
    """The network's name and agreed settings (deadlines, quota key) for its members."""
    caller = await caller_of(request, *MEMBERS)
    same_network(request, caller.network_id)
    network = await request.app[STORAGE].get_network(caller.network_id)
    return answer(wire.NetworkInfo(id=network.id, name=network.name, settings=network.settings))


async def get_municipalities(request: web.Request) -> web.Response:
    """Members and their templates (kommunmallar): for contact persons, the administrator, and
    the county board (its outcome notes name the sending municipality)."""
    caller = await caller_of(
        request, AccountRole.CONTACT_PERSON, AccountRole.COUNTY_BOARD, AccountRole.COUNTY_ADMIN
    )
    same_network(request, caller.network_id)
    found = await request.app[STORAGE].list_municipalities(caller.network_id)
    return answer(wire.MemberList(municipalities=[_member(m) for m in found]))


async def put_municipality(request: web.Request) -> web.Response:
    caller = await caller_of(request, AccountRole.COUNTY_ADMIN)
    same_network(request, caller.network_id)
    body = await read_json(
        request, {"name": str, "population": int, "manager_email": str}, {"template": dict}
    )
    municipality_id = request.match_info["municipality"]
    if not municipality_id.isascii() or not 1 <= len(municipality_id) <= 64:
        raise ApiError("request_malformed", "municipality id")
    if body["population"] < 0 or "@" not in body["manager_email"]:
        raise ApiError("request_malformed", "population or e-mail")
    municipality = Municipality(
        caller.network_id,
        municipality_id,
        body["name"],
        body["population"],
        body["manager_email"],
        body.get("template", {}),
    )
    await _refuse_unsigned_change(request, municipality, "template" in body)
    now = int(request.app[CLOCK]())
    async with request.app[STORAGE].transaction() as tx:
        await tx.put_municipality(municipality)
        await tx.append_audit(
            at=now,
            actor="admin",
            action="municipality_put",
            subject={"municipality": municipality_id},
        )
    return answer(_member(municipality))


async def _refuse_unsigned_change(
    request: web.Request, municipality: Municipality, with_template: bool
) -> None:
    """Once the administrator signs the registry (the network holds a municipality record),
    names, populations and kommunmallar change only by signed records: this route then sets the
    manager's e-mail alone, of a municipality a record registers."""
    storage = request.app[STORAGE]
    records = await storage.list_directory_records(municipality.network_id)
    if not any(r.kind == MUNICIPALITY_KIND for r in records):
        return  # a network the administrator has not moved to the signed registry yet
    known = {m.id: m for m in await storage.list_municipalities(municipality.network_id)}
    old = known.get(municipality.id)
    if (
        old is None
        or (old.name, old.population) != (municipality.name, municipality.population)
        or (with_template and old.template != municipality.template)
    ):
        raise ApiError("record_required", "name, population and kommunmall are signed")


def _member(m: Municipality) -> wire.Member:
    return wire.Member(id=m.id, name=m.name, population=m.population, template=m.template)


def _bands(record: SettingsRecord) -> list[list[int]] | None:
    """The quota key as the hub's settings hold it: [[from population, cases], ...] or None."""
    return None if record.quota_key is None else [list(band) for band in record.quota_key]

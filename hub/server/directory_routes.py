"""The network's signed directory and its members. The hub serves records; it signs none, and
it checks every record it is given against the network's administrator key before storing it."""

from __future__ import annotations

from aiohttp import web

from hub.crypto.directory import REVOCATION_KIND, Directory, open_entry, open_revocation
from hub.crypto.records import read_unverified
from hub.errors import ApiError
from hub.protocol import wire
from hub.protocol.roles import AccountRole
from hub.server import enrolment_routes
from hub.server.answer import answer
from hub.server.auth import caller_of, same_network
from hub.server.errors import read_json
from hub.server.typedefs import CLOCK, DIRECTORIES, LIVE, STORAGE
from hub.storage.base import DirectoryRecord, Municipality

MEMBERS = tuple(AccountRole)


async def get_directory(request: web.Request) -> web.Response:
    caller = await caller_of(request, *MEMBERS)
    same_network(request, caller.network_id)
    records = await request.app[STORAGE].list_directory_records(caller.network_id)
    return web.json_response(
        {
            "network": caller.network_id,
            "entries": [r.wire for r in records if r.kind != REVOCATION_KIND],
            "revocations": [r.wire for r in records if r.kind == REVOCATION_KIND],
        }
    )


async def add_record(request: web.Request) -> web.Response:
    """The administrator adds a signed entry or revocation; the hub verifies it first."""
    caller = await caller_of(request, AccountRole.COUNTY_ADMIN)
    same_network(request, caller.network_id)
    wire = await read_json(request, {"record": str, "signature": str})
    app = request.app
    storage = app[STORAGE]
    network = await storage.get_network(caller.network_id)
    records = await storage.list_directory_records(caller.network_id)
    entries = [r.wire for r in records if r.kind != REVOCATION_KIND]
    revocations = [r.wire for r in records if r.kind == REVOCATION_KIND]
    kind = read_unverified(wire).unverified_body.get("kind")
    (revocations if kind == REVOCATION_KIND else entries).append(wire)
    # Loading the whole directory with the new record checks its signature, its network, its
    # serial and every conflict rule exactly as a client will.
    Directory.load(network.admin_public, caller.network_id, entries, revocations)
    opener = open_revocation if kind == REVOCATION_KIND else open_entry
    added = opener(wire, admin_public=network.admin_public, network=caller.network_id)
    now = int(app[CLOCK]())
    async with app[DIRECTORIES].changing(caller.network_id), storage.transaction() as tx:
        await tx.add_directory_record(
            DirectoryRecord(caller.network_id, added.serial, str(kind), added.key_id, wire)
        )
        await tx.append_audit(
            at=now,
            actor="admin",
            action=f"directory_{kind}",
            subject={"serial": added.serial, "key_id": added.key_id.hex()},
        )
        if kind != REVOCATION_KIND:  # an entry for an enrolled key approves its enrolment
            await enrolment_routes.approve_matching(
                tx, storage, network_id=caller.network_id, key_id=added.key_id, at=now
            )
    everyone = {m.id for m in await storage.list_municipalities(caller.network_id)}
    await app[LIVE].tell(caller.network_id, everyone, {"type": "directory", "serial": added.serial})
    return web.json_response({"serial": added.serial}, status=201)


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


def _member(m: Municipality) -> wire.Member:
    return wire.Member(id=m.id, name=m.name, population=m.population, template=m.template)

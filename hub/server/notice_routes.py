"""The county administrator's view of notices: where each contact person's notices go, and
the notices that could not be sent. Never a case id or anything about a case."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from aiohttp import web

from hub.errors import ApiError
from hub.protocol import wire
from hub.protocol.roles import AccountRole
from hub.server import query
from hub.server.answer import answer
from hub.server.auth import caller_of, same_network
from hub.server.errors import read_json
from hub.server.query import takes_query
from hub.server.typedefs import CLOCK, STORAGE
from hub.storage.base import ContactAddress

if TYPE_CHECKING:
    from hub.storage.base import NoticeRow

# One address, nothing that could smuggle a header or a second recipient into an e-mail.
_ADDRESS = re.compile(r"[^@\s,;<>\"']{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,63}")
STATUSES = ("pending", "sending", "sent", "failed", "unknown", "cancelled")
NEEDS_ATTENTION = ("failed", "unknown")


def check_address(text: str) -> str:
    if not _ADDRESS.fullmatch(text):
        raise ApiError("request_malformed", "email")
    return text


async def put_contact(request: web.Request) -> web.Response:
    caller = await caller_of(request, AccountRole.COUNTY_ADMIN)
    same_network(request, caller.network_id)
    body = await read_json(request, {"email": str})
    address = ContactAddress(
        caller.network_id,
        request.match_info["municipality"],
        request.match_info["person"],
        check_address(body["email"]),
    )
    now = int(request.app[CLOCK]())
    async with request.app[STORAGE].transaction() as tx:
        await tx.put_contact_address(address)
        await tx.append_audit(
            at=now,
            actor="admin",
            action="contact_address_put",
            subject={"municipality": address.municipality_id},
        )
    return answer(_contact(address))


async def delete_contact(request: web.Request) -> web.Response:
    caller = await caller_of(request, AccountRole.COUNTY_ADMIN)
    same_network(request, caller.network_id)
    municipality, person = request.match_info["municipality"], request.match_info["person"]
    now = int(request.app[CLOCK]())
    async with request.app[STORAGE].transaction() as tx:
        await tx.delete_contact_address(caller.network_id, municipality, person)
        await tx.append_audit(
            at=now,
            actor="admin",
            action="contact_address_deleted",
            subject={"municipality": municipality},
        )
    return web.json_response({"deleted": True})


async def list_contacts(request: web.Request) -> web.Response:
    caller = await caller_of(request, AccountRole.COUNTY_ADMIN)
    same_network(request, caller.network_id)
    found = await request.app[STORAGE].list_contact_addresses(caller.network_id)
    return answer(wire.ContactList(contacts=[_contact(a) for a in found]))


@takes_query("status")
async def list_notices(request: web.Request) -> web.Response:
    """?status=failed,unknown (the default: what needs the administrator's attention)."""
    caller = await caller_of(request, AccountRole.COUNTY_ADMIN)
    same_network(request, caller.network_id)
    wanted = query.choices(request, "status", STATUSES, NEEDS_ATTENTION)
    found = await request.app[STORAGE].list_notices(caller.network_id, wanted)
    return answer(wire.NoticeList(notices=[_notice(n) for n in found]))


def _contact(a: ContactAddress) -> wire.Contact:
    return wire.Contact(municipality=a.municipality_id, person=a.person, email=a.email)


def _notice(n: NoticeRow) -> wire.Notice:
    return wire.Notice(
        id=n.id,
        municipality=n.municipality_id,
        audience=n.audience,
        address=n.address,
        topic=n.topic,
        status=n.status,
        attempts=n.attempts,
        last_error=n.last_error,
        created_at=n.created_at,
        finished_at=n.finished_at,
    )

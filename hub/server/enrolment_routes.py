"""Enrolment by invite (docs/api.md, "Enrolment"): the county administrator registers a one-time
code's hash, the new contact person sends their public keys with the code and a proof of
possession, and the administrator approves by signing a directory entry.

The hub signs nothing and vouches for nothing here: a pending enrolment is a note for the
administrator, and a key becomes valid only in an entry signed with the network key. The hub
stores the code's hash, never the code.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from hub.crypto import primitives as p
from hub.crypto.directory import Role
from hub.crypto.keys import PublicIdentity
from hub.crypto.records import text_field
from hub.errors import ApiError
from hub.protocol.enrolment import CODE_HASH_BYTES, enrol_message, invite_code_hash, normalise_code
from hub.protocol.roles import AccountRole
from hub.server import query
from hub.server.auth import caller_of, same_network
from hub.server.errors import hex_id, read_json
from hub.server.query import takes_query
from hub.server.recovery_routes import checked_copy, store_copy
from hub.server.typedefs import CLOCK, SIGNIN_BY_ADDRESS, STORAGE
from hub.storage.base import Enrolment, Invite

if TYPE_CHECKING:
    from hub.storage.base import Storage, Transaction

MAX_INVITE_SECONDS: Final = 90 * 86_400  # a code lying about unused is a risk: at most 90 days
STATUSES: Final = frozenset({"pending", "approved", "rejected"})


async def create_invite(request: web.Request) -> web.Response:
    """The administrator registers an invite: the hash of a code made on their own machine."""
    caller = await caller_of(request, AccountRole.COUNTY_ADMIN)
    same_network(request, caller.network_id)
    body = await read_json(
        request,
        {"code_hash": str, "municipality": str, "person": str, "role": str, "expires_at": int},
    )
    code_hash = hex_id(body["code_hash"], CODE_HASH_BYTES)
    try:
        person = text_field(body, "person")
    except ValueError:
        raise ApiError("request_malformed", "person") from None
    if body["role"] not in {str(r) for r in Role}:
        raise ApiError("request_malformed", "role")
    app = request.app
    now = int(app[CLOCK]())
    if not now < body["expires_at"] <= now + MAX_INVITE_SECONDS:
        raise ApiError("request_malformed", "expires_at")
    storage = app[STORAGE]
    municipalities = {m.id for m in await storage.list_municipalities(caller.network_id)}
    if body["municipality"] not in municipalities:
        raise ApiError("not_found")
    invite = Invite(
        code_hash=code_hash,
        network_id=caller.network_id,
        municipality_id=body["municipality"],
        person=person,
        role=body["role"],
        expires_at=body["expires_at"],
        created_at=now,
    )
    async with storage.transaction() as tx:
        await tx.add_invite(invite)  # the same hash twice: AlreadyExists, 409
        await tx.append_audit(
            at=now,
            actor="admin",
            action="invite_created",
            # ids and kinds only: never the person's name, never the code or its hash
            subject={"municipality": invite.municipality_id, "role": invite.role},
        )
    return web.json_response({"expires_at": invite.expires_at}, status=201)


async def enrol(request: web.Request) -> web.Response:
    """A new contact person sends their public keys with the one-time code; no sign-in."""
    app = request.app
    now = int(app[CLOCK]())
    # Every attempt counts, well-formed or not: the code is what an attacker would guess.
    if not await app[SIGNIN_BY_ADDRESS].allow(request.remote or "unknown", now):
        raise ApiError("rate_limited")
    body = await read_json(
        request,
        {"network": str, "code": str, "public_identity": dict, "proof": str},
        {"recovery": dict},  # the key's recovery copy, kept on the hub (recovery_routes)
    )
    network_id = body["network"]
    try:
        code_hash = invite_code_hash(normalise_code(body["code"]))
    except ValueError:
        raise ApiError("request_malformed", "code") from None
    identity = PublicIdentity.from_json(body["public_identity"])  # public_key_invalid, 422
    try:
        proof = base64.b64decode(body["proof"], validate=True)
        message = enrol_message(network=network_id, code_hash=code_hash, key_id=identity.key_id)
    except (binascii.Error, ValueError):
        raise ApiError("request_malformed", "proof or network") from None
    # Proof of possession, checked before the invite is used up: a client that signed wrongly
    # does not burn the code.
    try:
        p.ed25519_verify(identity.signing_key, message, proof)
    except p.AuthenticationFailed:
        raise ApiError("auth_failed") from None
    recovery = _recovery_copy(body.get("recovery"), identity.key_id)
    storage = app[STORAGE]
    async with storage.transaction() as tx:
        # Unknown, used or expired: NotFound, one answer (404) for all, and nothing changes.
        invite = await tx.take_invite(code_hash, now)
        if invite.network_id != network_id:
            raise ApiError("not_found")  # rolls back: the invite stays unused
        enrolment_id = await tx.add_enrolment(
            Enrolment(
                id=0,
                network_id=network_id,
                municipality_id=invite.municipality_id,
                person=invite.person,
                role=invite.role,
                public_identity=identity.to_json(),
                key_id=identity.key_id,
                status="pending",
                created_at=now,
                code_hash=code_hash,
                proof=proof,
            )
        )
        await tx.append_audit(
            at=now,
            actor=identity.key_id.hex(),
            action="enrolment_submitted",
            subject={"enrolment_id": enrolment_id, "municipality": invite.municipality_id},
        )
        if recovery is not None:
            # Its owner proved the key above; the copy is of that key (_recovery_copy).
            await store_copy(
                tx,
                network_id=network_id,
                lookup=recovery[0],
                key_id=identity.key_id,
                municipality_id=invite.municipality_id,
                copy=recovery[1],
                at=now,
            )
    return web.json_response({"enrolment_id": enrolment_id}, status=201)


def _recovery_copy(member: object, key_id: bytes) -> tuple[bytes, str] | None:
    """The enrolment's optional {"lookup", "copy"}, checked as a stored copy is."""
    if member is None:
        return None
    if not (
        isinstance(member, dict)
        and set(member) == {"lookup", "copy"}
        and all(isinstance(v, str) for v in member.values())
    ):
        raise ApiError("request_malformed", "recovery")
    return checked_copy(member["lookup"], member["copy"], key_id)


@takes_query("status")
async def list_enrolments(request: web.Request) -> web.Response:
    """The administrator's list of enrolments (pending by default), with the public keys."""
    caller = await caller_of(request, AccountRole.COUNTY_ADMIN)
    same_network(request, caller.network_id)
    status = query.choice(request, "status", STATUSES, "pending")
    found = await request.app[STORAGE].list_enrolments(caller.network_id, status)
    return web.json_response({"enrolments": [enrolment_json(e) for e in found]})


async def reject_enrolment(request: web.Request) -> web.Response:
    """The administrator refuses a pending enrolment (`hub admin reject`): it is never approved,
    and an entry for its key does not approve it afterwards."""
    caller = await caller_of(request, AccountRole.COUNTY_ADMIN)
    same_network(request, caller.network_id)
    try:
        enrolment_id = int(request.match_info["enrolment"])
    except ValueError:
        raise ApiError("request_malformed", "enrolment id") from None
    storage = request.app[STORAGE]
    pending = {e.id for e in await storage.list_enrolments(caller.network_id, "pending")}
    if enrolment_id not in pending:
        raise ApiError("not_found")
    now = int(request.app[CLOCK]())
    async with storage.transaction() as tx:
        await tx.set_enrolment_status(enrolment_id, "rejected")
        await tx.append_audit(
            at=now,
            actor="admin",
            action="enrolment_rejected",
            subject={"enrolment_id": enrolment_id},
        )
    return web.json_response({"enrolment_id": enrolment_id, "status": "rejected"})


async def approve_matching(
    tx: Transaction, storage: Storage, *, network_id: str, key_id: bytes, at: int
) -> None:
    """Mark every pending enrolment of `key_id` approved, in the transaction that stores the
    administrator's signed entry for that key (called from directory_routes.add_record)."""
    for enrolment in await storage.list_enrolments(network_id, "pending"):
        if enrolment.key_id == key_id:
            await tx.set_enrolment_status(enrolment.id, "approved")
            await tx.append_audit(
                at=at,
                actor="admin",
                action="enrolment_approved",
                subject={"enrolment_id": enrolment.id, "key_id": key_id.hex()},
            )


def enrolment_json(e: Enrolment) -> dict[str, Any]:
    return {
        "id": e.id,
        "municipality": e.municipality_id,
        "person": e.person,
        "role": e.role,
        "key_id": e.key_id.hex(),
        "public_identity": e.public_identity,
        "status": e.status,
        "created_at": e.created_at,
        "code_hash": None if e.code_hash is None else e.code_hash.hex(),
        "proof": None if e.proof is None else base64.b64encode(e.proof).decode(),
    }

"""Sign-in by key (no passwords to steal): the hub hands out a one-time nonce, the client signs
it with its Ed25519 key (hub/protocol/signin.py), the hub checks the key in the signed
directory and issues a short-lived bearer token, of which it stores only a hash."""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hub.crypto import primitives as p
from hub.crypto.keys import PublicIdentity
from hub.crypto.records import signer_id
from hub.errors import ApiError, HubError
from hub.protocol import wire
from hub.protocol.roles import AccountRole
from hub.protocol.signin import NONCE_BYTES, signin_message
from hub.server.answer import answer
from hub.server.errors import hex_id, read_json
from hub.server.typedefs import (
    CLOCK,
    CONFIG,
    DIRECTORIES,
    SESSIONS,
    SIGNIN_BY_ADDRESS,
    SIGNIN_BY_KEY,
    STORAGE,
)
from hub.storage.base import NotFound, Session

if TYPE_CHECKING:
    from aiohttp import web

_TOKEN_PERSON = b"hub-token/v1"


@dataclass(frozen=True)
class Caller:
    network_id: str
    key_id: bytes
    municipality_id: str
    role: AccountRole

    @property
    def actor(self) -> str:
        return self.key_id.hex()


def _token_hash(token: bytes) -> bytes:
    return p.blake2b(token, size=32, person=_TOKEN_PERSON)


async def _limit(request: web.Request, key_id: str) -> None:
    now = request.app[CLOCK]()
    address = request.remote or "unknown"
    by_key = await request.app[SIGNIN_BY_KEY].allow(key_id, now)
    by_address = await request.app[SIGNIN_BY_ADDRESS].allow(address, now)
    if not (by_key and by_address):
        raise ApiError("rate_limited")


async def challenge(request: web.Request) -> web.Response:
    body = await read_json(request, {"network": str, "key_id": str})
    key_id = hex_id(body["key_id"], 16)
    await _limit(request, body["key_id"])
    now = int(request.app[CLOCK]())
    nonce = secrets.token_bytes(NONCE_BYTES)
    expires = now + request.app[CONFIG].challenge_seconds
    # A challenge is given for any key id: whether a key is enrolled is not told here.
    async with request.app[STORAGE].transaction() as tx:
        await tx.add_challenge(nonce, key_id, expires)
    return answer(
        wire.Challenge(
            nonce=base64.b64encode(nonce).decode(),
            expires_at=expires,
            audience=request.app[CONFIG].public_url,
        )
    )


async def session(request: web.Request) -> web.Response:
    body = await read_json(request, {"network": str, "key_id": str, "nonce": str, "signature": str})
    key_id = hex_id(body["key_id"], 16)
    await _limit(request, body["key_id"])
    try:
        nonce = base64.b64decode(body["nonce"], validate=True)
        signature = base64.b64decode(body["signature"], validate=True)
    except binascii.Error:
        raise ApiError("request_malformed", "base64") from None
    app = request.app
    now = int(app[CLOCK]())
    network_id = body["network"]
    storage = app[STORAGE]
    try:
        async with storage.transaction() as tx:
            await tx.take_challenge(nonce, key_id, now)
        network = await storage.get_network(network_id)
    except NotFound:
        raise ApiError("auth_failed") from None
    if key_id == signer_id(network.admin_public):
        public, municipality, role = network.admin_public, "", AccountRole.COUNTY_ADMIN
    else:
        try:
            entry = (await app[DIRECTORIES].get(network_id)).check_signer(key_id, now)
        except HubError:
            await _told_if_rejected(request, network_id, key_id, nonce, signature)
            raise ApiError("auth_failed") from None  # unknown, expired or revoked: one answer
        public, municipality = entry.signing_key, entry.municipality
        role = AccountRole.of(entry.role)
    message = signin_message(
        audience=app[CONFIG].public_url, network=network_id, key_id=key_id, nonce=nonce
    )
    try:
        p.ed25519_verify(public, message, signature)
    except p.AuthenticationFailed:
        raise ApiError("auth_failed") from None
    token = secrets.token_bytes(32)
    expires = now + app[CONFIG].session_seconds
    async with storage.transaction() as tx:
        await tx.add_session(
            Session(_token_hash(token), network_id, key_id, municipality, role, expires)
        )
        await tx.append_audit(
            at=now,
            actor=key_id.hex(),
            action="sign_in",
            subject={"network": network_id, "role": role},
        )
    return answer(
        wire.SessionAnswer(
            token=base64.urlsafe_b64encode(token).decode(),
            expires_at=expires,
            municipality=municipality,
            role=role,
        )
    )


async def _told_if_rejected(
    request: web.Request, network_id: str, key_id: bytes, nonce: bytes, signature: bytes
) -> None:
    """A key whose enrolment the administrator rejected is told so (enrolment_rejected), but
    only when the sign-in is signed by that very key: nobody else learns an enrolment's fate."""
    rejected = await request.app[STORAGE].list_enrolments(network_id, "rejected")
    for enrolment in rejected:
        if enrolment.key_id != key_id:
            continue
        public = PublicIdentity.from_json(enrolment.public_identity).signing_key
        message = signin_message(
            audience=request.app[CONFIG].public_url, network=network_id, key_id=key_id, nonce=nonce
        )
        try:
            p.ed25519_verify(public, message, signature)
        except p.AuthenticationFailed:
            return
        raise ApiError("enrolment_rejected")


async def caller_of(request: web.Request, *roles: AccountRole) -> Caller:
    """The signed-in caller, if its session is valid and its role is one of `roles`.

    A key revoked after sign-in loses access at once: the directory is checked on every call.
    """
    scheme, _, token_text = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token_text:
        raise ApiError("auth_required")
    try:
        token = base64.urlsafe_b64decode(token_text.encode("ascii"))
    except (binascii.Error, ValueError):
        raise ApiError("auth_required") from None
    app = request.app
    now = int(app[CLOCK]())
    try:
        found = await app[SESSIONS].get(_token_hash(token), now)
    except NotFound:
        raise ApiError("auth_required") from None
    if found.role != AccountRole.COUNTY_ADMIN:
        try:
            (await app[DIRECTORIES].get(found.network_id)).check_signer(found.key_id, now)
        except HubError:
            raise ApiError("auth_required") from None
    if roles and found.role not in roles:
        raise ApiError("forbidden")
    return Caller(found.network_id, found.key_id, found.municipality_id, found.role)


def same_network(request: web.Request, network_id: str) -> None:
    """A path naming another network than the caller's answers as if it did not exist."""
    if request.match_info.get("network", network_id) != network_id:
        raise ApiError("not_found")

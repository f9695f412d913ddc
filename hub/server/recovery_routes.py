"""Recovery copies kept on the hub (issue 17; docs/api.md, "Recovery copies"; docs/protocol.md
§3.8). The hub keeps a key file it cannot open, under a lookup id derived from the recovery code
with Argon2id, and hands it to whoever names that id.

- **Storing** takes the key's owner: a signed-in contact person whose key the copy holds (the
  copy's public part, which the hub can read, names the key), or, at enrolment, the enrolling
  key itself with its proof of possession (enrolment_routes.enrol).
- **Fetching** takes no sign-in: the new machine has no key yet, only the code. The lookup id
  is 256 bits, so there is nothing to enumerate; every attempt counts against the caller's
  address as a sign-in does, and each fetch goes into the audit log, so a copy fetched by
  someone else shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from hub.crypto import keyfile
from hub.crypto.keys import PublicIdentity
from hub.errors import ApiError, KeyFileError
from hub.protocol import wire
from hub.protocol.recovery import LOOKUP_BYTES
from hub.protocol.roles import AccountRole
from hub.server.answer import answer
from hub.server.auth import caller_of, same_network
from hub.server.errors import hex_id, read_json
from hub.server.typedefs import CLOCK, SIGNIN_BY_ADDRESS, STORAGE
from hub.storage.base import NotFound, RecoveryCopy

if TYPE_CHECKING:
    from aiohttp import web

    from hub.storage.base import Transaction

# The people who hold a key of their own; the administrator's network key has no copy here.
OWNERS: Final = (AccountRole.CONTACT_PERSON, AccountRole.COORDINATOR, AccountRole.COUNTY_BOARD)


def checked_copy(lookup_hex: str, copy: str, key_id: bytes) -> tuple[bytes, str]:
    """(lookup id, copy) if the copy is a well-formed key file of an identity whose key id is
    `key_id`: request_malformed otherwise, not_your_copy for another key's copy."""
    lookup = hex_id(lookup_hex, LOOKUP_BYTES)
    try:
        public = keyfile.public_of_keyfile(copy)
        identity = PublicIdentity.from_json(public)
    except (KeyFileError, ValueError):
        raise ApiError("request_malformed", "copy") from None
    if identity.key_id != key_id:
        raise ApiError("not_your_copy")
    return lookup, copy


async def store_copy(  # noqa: PLR0913 - the row's parts and the transaction it goes in
    tx: Transaction,
    *,
    network_id: str,
    lookup: bytes,
    key_id: bytes,
    municipality_id: str,
    copy: str,
    at: int,
) -> None:
    await tx.put_recovery_copy(RecoveryCopy(network_id, lookup, key_id, municipality_id, copy, at))
    await tx.append_audit(
        at=at, actor=key_id.hex(), action="recovery_copy_stored", subject={"key_id": key_id.hex()}
    )


async def put_copy(request: web.Request) -> web.Response:
    """PUT /networks/{network}/recovery-copies/{lookup}: the signed-in owner stores their copy;
    it replaces the key's earlier copy."""
    caller = await caller_of(request, *OWNERS)
    same_network(request, caller.network_id)
    body = await read_json(request, {"copy": str})
    lookup, copy = checked_copy(request.match_info["lookup"], body["copy"], caller.key_id)
    async with request.app[STORAGE].transaction() as tx:
        await store_copy(
            tx,
            network_id=caller.network_id,
            lookup=lookup,
            key_id=caller.key_id,
            municipality_id=caller.municipality_id,
            copy=copy,
            at=int(request.app[CLOCK]()),
        )
    return answer(wire.RecoveryCopyAnswer(copy=copy), status=201)


async def get_copy(request: web.Request) -> web.Response:
    """GET /networks/{network}/recovery-copies/{lookup}: no sign-in, limited by address."""
    app = request.app
    now = int(app[CLOCK]())
    # Every attempt counts, well-formed or not, found or not: the id is what would be guessed.
    if not await app[SIGNIN_BY_ADDRESS].allow(request.remote or "unknown", now):
        raise ApiError("rate_limited")
    lookup = hex_id(request.match_info["lookup"], LOOKUP_BYTES)
    network_id = request.match_info["network"]
    storage = app[STORAGE]
    try:
        found = await storage.get_recovery_copy(network_id, lookup)
    except NotFound:
        raise ApiError("not_found") from None
    async with storage.transaction() as tx:
        await tx.append_audit(
            at=now,
            actor="anonymous",
            action="recovery_copy_fetched",
            subject={"key_id": found.key_id.hex()},
        )
    return answer(wire.RecoveryCopyAnswer(copy=found.copy))

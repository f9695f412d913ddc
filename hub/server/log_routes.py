"""The directory log (docs/protocol.md §12): the hub stores and serves the checkpoints the
administrator's tools signed, with the witnesses' cosignatures, and the proofs between them. It
signs nothing; it checks every checkpoint it is given against the network key and against the
records it holds, as a client will, before storing it.

    GET  …/log?old=N           the newest checkpoint, the records it covers, a consistency
                               proof from size N (docs/api.md "The directory log")
    POST …/log/checkpoints     the administrator: a checkpoint of every record held (a network
                               whose records predate the log, or a restored hub)

A record added with POST …/directory carries the checkpoint of the log with it; once a network
has a checkpoint, a record without one is refused (checkpoint_required), so the log never lags
the records.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from hub.crypto import merkle
from hub.crypto.checkpoint import open_checkpoint
from hub.crypto.transparency import check_records, leaf_of
from hub.errors import LogError
from hub.protocol import wire
from hub.protocol.roles import AccountRole
from hub.server.answer import answer
from hub.server.auth import caller_of, same_network
from hub.server.errors import read_json
from hub.server.query import seq, takes_query
from hub.server.typedefs import CLOCK, DIRECTORIES, STORAGE, WITNESSES
from hub.storage.base import LogCheckpoint

if TYPE_CHECKING:
    from aiohttp import web

    from hub.crypto.leaves import Served
    from hub.storage.base import Network, Storage, Transaction

MEMBERS = tuple(AccountRole)


async def checked_checkpoint(
    storage: Storage, network: Network, note: str | None, records: list[Served]
) -> str | None:
    """The note to store with `records` (every record, the new one last), after checking it as
    a client does (§12.4 checks 1-5 and 11). None where the network has no log yet and the
    administrator's tools sent none (a release before the log)."""
    if note is None:
        if await storage.latest_checkpoint(network.id) is not None:
            raise LogError("checkpoint_required")
        return None
    opened = open_checkpoint(note, admin_public=network.admin_public, network=network.id)
    check_records(records, opened.checkpoint)
    return note


async def store_checkpoint(tx: Transaction, network_id: str, note: str | None, at: int) -> None:
    if note is not None:
        size = int(note.split("\n", 2)[1])  # checked by checked_checkpoint
        await tx.add_checkpoint(LogCheckpoint(network_id, size, note, at))


async def add_checkpoint(request: web.Request) -> web.Response:
    """The administrator's checkpoint of every record the hub holds."""
    caller = await caller_of(request, AccountRole.COUNTY_ADMIN)
    same_network(request, caller.network_id)
    body = await read_json(request, {"checkpoint": str})
    app = request.app
    storage = app[STORAGE]
    network = await storage.get_network(caller.network_id)
    async with app[DIRECTORIES].changing(caller.network_id):
        records = [r.served for r in await storage.list_directory_records(caller.network_id)]
        note = await checked_checkpoint(storage, network, body["checkpoint"], records)
        latest = await storage.latest_checkpoint(caller.network_id)
        if latest is not None and latest.size == len(records):
            if latest.note.split("\n\n")[0] != str(note).split("\n\n")[0]:
                raise LogError("checkpoint_fork")  # cannot happen: both are these records
            return answer(wire.CheckpointAdded(size=len(records)), status=200)
        async with storage.transaction() as tx:
            await store_checkpoint(tx, caller.network_id, note, int(app[CLOCK]()))
            await tx.append_audit(
                at=int(app[CLOCK]()),
                actor="admin",
                action="log_checkpoint",
                subject={"size": len(records)},
            )
    app[WITNESSES].poke()
    return answer(wire.CheckpointAdded(size=len(records)), status=201)


@takes_query("old")
async def get_log(request: web.Request) -> web.Response:
    """The newest checkpoint with its cosignatures, the records it covers, and a consistency
    proof from the size the client remembers (`old`, 0 for none)."""
    caller = await caller_of(request, *MEMBERS)
    same_network(request, caller.network_id)
    old = seq(request, "old")
    storage = request.app[STORAGE]
    latest = await storage.latest_checkpoint(caller.network_id)  # before the records: never more
    records = await storage.list_directory_records(caller.network_id)
    if latest is None:
        return answer(wire.LogView(network=caller.network_id, checkpoint=None, records=[]))
    covered = records[: latest.size]
    leaves = [leaf_of(r.served) for r in covered]
    if old > latest.size:
        proof: list[bytes] = []  # the client remembers more than the hub has: it will see that
    else:
        proof = merkle.consistency_proof(old, leaves)
    cosignatures = await storage.list_cosignatures(caller.network_id, latest.size)
    return answer(
        wire.LogView(
            network=caller.network_id,
            checkpoint=latest.note + "".join(cosignatures),
            records=[wire.SequenceItem.of(r.served) for r in covered],
            consistency=[base64.b64encode(h).decode() for h in proof],
        )
    )

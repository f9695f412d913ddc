"""Envelopes: upload (streamed, checked as it arrives), list, download, and signed receipts.

An upload is acknowledged only after its blob is fsynced and renamed into place and its row
committed; a refused or interrupted upload leaves nothing visible.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from hub.crypto.directory import Directory, Role
from hub.crypto.format import MessageKind
from hub.crypto.receipts import verify_receipt
from hub.crypto.scan import EnvelopeScanner
from hub.errors import ApiError, EnvelopeFormatError
from hub.protocol import wire
from hub.protocol.notices import delivery_cause
from hub.protocol.roles import AccountRole
from hub.server import query
from hub.server.answer import answer
from hub.server.auth import Caller, caller_of
from hub.server.errors import hex_id, read_json
from hub.server.ingest import Upload
from hub.server.query import takes_query
from hub.server.typedefs import CLOCK, CONFIG, DIRECTORIES, INGEST, LIVE, SCHEDULER, STORAGE
from hub.storage.base import BlobTooLarge, EnvelopeRow, NotFound, ReceiptRow

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from hub.crypto.format import Header
    from hub.storage.base import PendingBlob, Storage

log = logging.getLogger("hub.server")
CONTACT = AccountRole.CONTACT_PERSON
BOARD = AccountRole.COUNTY_BOARD  # receives outcome notes (kind OUTCOME_NOTE) and nothing else
READ_SIZE = 256 * 1024
MAX_RECIPIENT_MUNICIPALITIES = 16


def check_recipients(
    header: Header, directory: Directory, caller: Caller, to: tuple[str, ...], at: int
) -> None:
    """The stanzas must name exactly the valid keys of the addressed municipalities and of the
    sender's own: no revoked key gets anything new, and no current holder is left out.

    An outcome note (kind OUTCOME_NOTE) goes to the network's county board only, sealed to its
    valid county_board keys; nothing else may be addressed to a county board."""
    note = header.kind == MessageKind.OUTCOME_NOTE
    key = (note, to, caller.municipality_id, at)
    known = _WANTED.setdefault(directory, {})
    wanted = known.get(key)
    if wanted is None:
        wanted = _wanted_keys(directory, note=note, to=to, own=caller.municipality_id, at=at)
        if len(known) >= _WANTED_PER_DIRECTORY:
            known.clear()
        known[key] = wanted
    if frozenset(header.recipient_key_ids) != wanted:
        raise ApiError("envelope_recipients_mismatch")


# The wanted keys of an upload, by (outcome note, to, own municipality, second), for each
# directory while it is in use: the same answer is not worked out again for every upload of
# the same second. A directory that changes is a new object; the old one's entries go with it.
_WANTED: weakref.WeakKeyDictionary[
    Directory, dict[tuple[bool, tuple[str, ...], str, int], frozenset[bytes]]
] = weakref.WeakKeyDictionary()
_WANTED_PER_DIRECTORY = 1024


def _wanted_keys(
    directory: Directory, *, note: bool, to: tuple[str, ...], own: str, at: int
) -> frozenset[bytes]:
    boards = directory.municipalities(role=Role.COUNTY_BOARD)
    if note:
        if not boards.issuperset(to):
            raise ApiError("envelope_recipients_mismatch", "an outcome note goes to a county board")
        addressed = [directory.valid_keys(board, at, role=Role.COUNTY_BOARD) for board in to]
        if not all(addressed):
            raise ApiError("envelope_recipients_mismatch", "the county board has no valid key")
    else:
        if boards.intersection(to):
            raise ApiError(
                "envelope_recipients_mismatch", "only outcome notes go to a county board"
            )
        addressed = [directory.valid_keys(municipality, at) for municipality in to]
        if not all(addressed):
            raise ApiError("envelope_recipients_mismatch", "a municipality has no valid key")
    mine = directory.valid_keys(own, at)
    return frozenset(entry.key_id for entries in (*addressed, mine) for entry in entries)


async def _check_header(  # noqa: PLR0913 - what an upload's header is checked against
    storage: Storage,
    header: Header,
    directory: Directory,
    *,
    caller: Caller,
    to: tuple[str, ...],
    at: int,
) -> EnvelopeRow | None:
    """Refuse a header the caller may not upload. A header that fails the recipients' check
    may still be a retry of an envelope the caller stored (its recipients were checked then):
    that envelope is returned."""
    if header.sender_key_id != caller.key_id:
        raise ApiError("envelope_sender_not_you")
    try:
        check_recipients(header, directory, caller, to, at)
        if header.kind == MessageKind.OUTCOME_NOTE:
            await _check_own_case(storage, header.case_id, caller)
    except ApiError:
        earlier = await _stored_by(storage, header)
        if earlier is None:
            raise
        return earlier
    return None


async def _stored_by(storage: Storage, header: Header) -> EnvelopeRow | None:
    """The envelope stored under the header's message id, if its sender stored it."""
    try:
        earlier = await storage.get_envelope(header.message_id)
    except NotFound:
        return None
    return earlier if earlier.sender_key_id == header.sender_key_id else None


async def _check_own_case(storage: Storage, case_id: bytes, caller: Caller) -> None:
    """An outcome note belongs to a case the caller's municipality sent, in its network."""
    try:
        case = await storage.get_case(case_id)
    except NotFound:
        raise ApiError("not_found") from None
    if case.network_id != caller.network_id or case.sender_municipality != caller.municipality_id:
        raise ApiError("not_found")


def _acknowledgement(row: EnvelopeRow, status: int) -> web.Response:
    """What an upload answers: the same for the first upload (201) and a repeat (200)."""
    ack = wire.UploadAck(
        message_id=row.message_id.hex(), digest=row.digest.hex(), seq=row.seq, size=row.size
    )
    return answer(ack, status)


@dataclass(frozen=True)
class _Received:
    row: EnvelopeRow  # as it will be stored (its seq not yet given)
    blob: PendingBlob
    earlier: EnvelopeRow | None  # a retry of this envelope that no longer passes the checks


async def _receive(request: web.Request, caller: Caller, to: tuple[str, ...]) -> _Received:
    """Stream the body into a pending blob, checking it as it arrives; on any refusal the blob
    is discarded."""
    app = request.app
    config, storage = app[CONFIG], app[STORAGE]
    if request.content_length is not None and request.content_length > config.max_envelope_bytes:
        raise ApiError("request_too_large")
    now = int(app[CLOCK]())
    directory = await app[DIRECTORIES].get(caller.network_id)
    scanner = EnvelopeScanner(max_payload_length=config.max_envelope_bytes)
    checked_header = False
    earlier: EnvelopeRow | None = None

    async def checked_chunks() -> AsyncIterator[bytes]:
        nonlocal checked_header, earlier
        async for chunk in request.content.iter_chunked(READ_SIZE):
            scanner.feed(chunk)
            if scanner.header is not None and not checked_header:
                # Refuse before storing the body: sender and recipients are in the header.
                earlier = await _check_header(
                    storage, scanner.header, directory, caller=caller, to=to, at=now
                )
                checked_header = True
            yield chunk

    try:
        pending = await storage.blobs.write(
            checked_chunks(), max_size=config.max_envelope_bytes + 65536
        )
    except BlobTooLarge:
        raise ApiError("request_too_large") from None
    try:
        scanned = scanner.finish(directory)
        if not checked_header:
            raise EnvelopeFormatError("envelope_truncated")
    except BaseException:
        await pending.discard()
        raise
    header = scanned.header
    row = EnvelopeRow(
        message_id=header.message_id,
        network_id=caller.network_id,
        case_id=header.case_id,
        kind=int(header.kind),
        sender_key_id=header.sender_key_id,
        sender_municipality=caller.municipality_id,
        recipient_municipalities=to,
        recipient_key_ids=header.recipient_key_ids,
        size=scanned.length,
        digest=scanned.digest,
        created_at=header.created_at,
        received_at=now,
    )
    return _Received(row, pending, earlier)


@takes_query("to")
async def upload(request: web.Request) -> web.Response:
    caller = await caller_of(request, CONTACT)
    to = query.names(request, "to", most=MAX_RECIPIENT_MUNICIPALITIES)
    received = await _receive(request, caller, to)
    row = received.row
    if received.earlier is not None:
        await received.blob.discard()
        if received.earlier.digest != row.digest:
            raise ApiError("envelope_id_taken")
        return _acknowledgement(received.earlier, 200)
    # The group commit answers the same upload again with the first row, and refuses other
    # bytes or another sender under a stored id (envelope_id_taken).
    app = request.app
    stored = await app[INGEST].store(Upload(row, received.blob, caller.actor))
    if not stored.new:
        log.info("envelope %s uploaded again: unchanged", row.message_id.hex())
        return _acknowledgement(stored.row, 200)
    if stored.notices:
        app[SCHEDULER].poke()
    log.info("envelope %s kind %d stored", row.message_id.hex(), row.kind)
    await app[LIVE].tell(
        caller.network_id,
        set(to),
        {"type": "envelope", "seq": stored.row.seq, "message_id": row.message_id.hex()},
    )
    return _acknowledgement(stored.row, 201)


def listed(row: EnvelopeRow) -> wire.ListedEnvelope:
    return wire.ListedEnvelope(
        message_id=row.message_id.hex(),
        seq=row.seq,
        case_id=row.case_id.hex(),
        kind=row.kind,
        sender=row.sender_municipality,
        to=list(row.recipient_municipalities),
        size=row.size,
        digest=row.digest.hex(),
        created_at=row.created_at,
        received_at=row.received_at,
    )


@takes_query("box", "after")
async def listing(request: web.Request) -> web.Response:
    caller = await caller_of(request, CONTACT, BOARD)
    box = query.choice(request, "box", ("inbox", "sent"), "inbox")
    if caller.role == BOARD and box != "inbox":
        raise ApiError("forbidden")  # a county board sends nothing
    after = query.seq(request, "after")
    rows = await request.app[STORAGE].list_envelopes(
        caller.network_id, caller.municipality_id, box=box, after=after
    )
    return answer(wire.EnvelopeList(envelopes=[listed(r) for r in rows]))


async def _visible_envelope(request: web.Request, caller: Caller) -> EnvelopeRow:
    """The envelope, if the caller's municipality sent or received it; otherwise 404. A county
    board sees only the outcome notes addressed to it."""
    message_id = hex_id(request.match_info["message_id"], 16)
    row = await request.app[STORAGE].get_envelope(message_id)
    involved = {row.sender_municipality, *row.recipient_municipalities}
    if caller.role == BOARD:
        involved = (
            set(row.recipient_municipalities) if row.kind == MessageKind.OUTCOME_NOTE else set()
        )
    if row.network_id != caller.network_id or caller.municipality_id not in involved:
        raise ApiError("not_found")
    return row


async def metadata(request: web.Request) -> web.Response:
    caller = await caller_of(request, CONTACT)
    return answer(listed(await _visible_envelope(request, caller)))


async def download(request: web.Request) -> web.StreamResponse:
    caller = await caller_of(request, CONTACT, BOARD)
    row = await _visible_envelope(request, caller)
    storage = request.app[STORAGE]
    body = await storage.get_envelope_body(row.message_id)
    if body is not None:  # a small envelope, kept in the database
        return web.Response(body=body, content_type="application/octet-stream")
    # A larger one is streamed from the blob store a piece at a time, never held whole.
    response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    response.content_length = row.size
    pieces = storage.blobs.read(row.message_id)
    first = await anext(pieces, None)  # NotFound (404) before the answer has begun
    await response.prepare(request)
    while first is not None:
        await response.write(first)
        first = await anext(pieces, None)
    await response.write_eof()
    return response


async def post_receipt(request: web.Request) -> web.Response:
    caller = await caller_of(request, CONTACT, BOARD)
    row = await _visible_envelope(request, caller)
    body = await read_json(request, {"record": str, "signature": str})
    app = request.app
    directory = await app[DIRECTORIES].get(caller.network_id)
    receipt = verify_receipt(
        body,
        directory=directory,
        message_id=row.message_id,
        envelope_digest=row.digest,
        recipient_key_ids=row.recipient_key_ids,
    )
    if receipt.signed_by != caller.key_id:
        raise ApiError("forbidden")
    now = int(app[CLOCK]())
    async with app[STORAGE].transaction() as tx:
        await tx.add_receipt(
            ReceiptRow(
                row.message_id,
                receipt.signed_by,
                receipt.municipality,
                str(receipt.event),
                receipt.time,
                body,
                now,
            )
        )
        await tx.append_audit(
            at=now,
            actor=caller.actor,
            action="receipt",
            subject={"message_id": row.message_id.hex(), "event": str(receipt.event)},
        )
        # Delivered: its contact persons need no e-mail about it any more.
        await tx.cancel_notices(delivery_cause(row.message_id.hex(), receipt.municipality), now)
    await app[LIVE].tell(
        caller.network_id,
        {row.sender_municipality},
        {"type": "receipt", "message_id": row.message_id.hex(), "event": str(receipt.event)},
    )
    return web.json_response({"stored": True}, status=201)


async def list_receipts(request: web.Request) -> web.Response:
    caller = await caller_of(request, CONTACT)
    row = await _visible_envelope(request, caller)
    receipts = await request.app[STORAGE].list_receipts(row.message_id)
    return answer(
        wire.ReceiptList(
            receipts=[
                wire.SignedRecord(record=r.wire["record"], signature=r.wire["signature"])
                for r in receipts
            ]
        )
    )

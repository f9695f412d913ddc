"""The inbox agent's work with the hub: fetch, verify, open and acknowledge what arrives; seal,
send and drive cases; keep what could not be sent in the outbox until the hub answers.

The agent trusts the hub for nothing it can check itself: every envelope is opened against
the directory verified with the administrator's pinned key, and only then shown.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import io
import json
import logging
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

import aiohttp

from hub.client.api import HubClient, RemoteError
from hub.crypto.directory import Role as DirectoryRole
from hub.crypto.envelope import (
    AttachmentSource,
    read_header,
    seal,
)
from hub.crypto.format import MessageKind
from hub.crypto.receipts import make_receipt, verify_receipt
from hub.errors import AuthorityError, HubError
from hub.inbox.cache_blobs import AttachmentUnreadable
from hub.inbox.facts import Listed, Me, who_am_i, within_verified
from hub.inbox.outbox import ItemRunner, Op, SendProgress, Step
from hub.inbox.receiving import Receiver, Refused, create_private, open_file, post_receipt
from hub.protocol.case_codec import case_from_json
from hub.protocol.deadlines import (
    NATIONAL,
    Due,
    DueKind,
    NetworkDeadlines,
    SwedishCalendar,
    deadlines_for,
)
from hub.protocol.lifecycle import Case, RequestState, Role, is_terminal
from hub.protocol.notices import alarms_for
from hub.report.outcome import OutcomeReport

if TYPE_CHECKING:
    from collections.abc import (
        AsyncIterator,
        Callable,
        Generator,
        Iterator,
        Sequence,
    )

    from hub.crypto.directory import Directory
    from hub.crypto.format import Header
    from hub.crypto.keys import PrivateIdentity
    from hub.inbox.cache import InboxCache
    from hub.protocol import wire

log = logging.getLogger("hub.inbox")


@dataclass
class Attachment:
    name: str
    media_type: str
    data: bytes


@dataclass(frozen=True)
class OpenedAttachment:
    """One attachment of a verified message, given out in chunks (AgentCore.open_attachment)."""

    name: str
    media_type: str
    size: int
    chunks: AsyncIterator[bytes]


UNREADABLE_ATTACHMENT = (
    "En bilaga i utkorgen gick inte att läsa: filen saknas eller har ändrats på den här datorn. "
    "Det som skulle skickas med den har tagits bort ur utkorgen. Skicka det igen."
)
ATTACHMENT_BLOCK = 256 * 1024  # an opened attachment is given out in blocks of this size
# An attachment kept in the cache until it is sent: {"name", "media_type", "size", "blob"}, the
# last the id of its encrypted file (InboxCache.put_blob). Rows name it; they never hold it.
StoredFile = dict[str, Any]


async def _off_the_loop(blocks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Each block read in a thread, so a large attachment never stalls the pages."""
    while block := await asyncio.to_thread(next, blocks, b""):
        yield block


def _stored_header(path: Path) -> Header:
    """The header of a stored envelope: its first bytes only, not the whole file."""
    with path.open("rb") as src:
        return read_header(src)


@dataclass(frozen=True)
class YearSoFar:
    """Each member's quota for the year (None: no quota key or population) and the formal
    inquiries it has received in it, as the hub last said (GET /networks/{network}/quotas),
    and when it said so (the agent's clock, Unix seconds)."""

    year: int
    fetched_at: int
    figures: dict[str, tuple[int | None, int]]  # municipality id -> (quota, received)

    @classmethod
    def from_json(cls, body: dict[str, Any], fetched_at: int) -> YearSoFar:
        figures: dict[str, tuple[int | None, int]] = {}
        for m in body["municipalities"]:
            quota, received = m["quota"], m["received"]
            if not (quota is None or isinstance(quota, int)) or not isinstance(received, int):
                raise TypeError("quota and received are counts")
            figures[str(m["id"])] = (quota, received)
        return cls(int(body["year"]), fetched_at, figures)


@dataclass
class AgentCore:
    hub_url: str
    network: str
    identity: PrivateIdentity
    admin_public: bytes
    cache: InboxCache
    clock: Callable[[], float] = time.time
    allow_insecure: bool = False
    client: HubClient | None = None
    directory: Directory | None = None
    me: Me | None = None  # from our key's signed directory entry (facts.who_am_i)
    municipality: str = ""  # me.municipality once signed in
    online: bool = False
    names: dict[str, str] = field(default_factory=dict)  # municipality id -> name
    members: list[wire.Member] = field(default_factory=list)  # the hub's list, last fetched
    notices: list[dict[str, str]] = field(default_factory=list)
    version: int = 0  # grows with every change the pages show: live.js compares it
    sending: SendProgress | None = None  # the outbox item on its way to the hub, if any
    year_so_far: YearSoFar | None = None  # the members' quotas, as last fetched
    year_so_far_stale: bool = False  # the last fetch failed: year_so_far is older
    deadline_rules: NetworkDeadlines = NATIONAL
    settings: dict[str, object] = field(default_factory=dict)  # the network's, last fetched
    calendar: SwedishCalendar = field(default_factory=SwedishCalendar)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    # One sync at a time: the live channel and a page may both ask for one, and an envelope
    # fetched twice at once would be refused the second time as a replay.
    _sync_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _outbox_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    # --- connection ---------------------------------------------------------------------

    async def connect(self) -> None:
        """Sign in, verify the directory, learn the members and the network's deadlines;
        marks the agent online."""
        await self._sign_in()
        assert self.client is not None  # noqa: S101 - _sign_in sets it
        settings = (await self.client.network_info()).settings
        self.settings = settings
        try:
            self.deadline_rules = NetworkDeadlines.from_settings(settings)
        except ValueError as exc:  # keep the national defaults, and say so
            self.notices.append({"level": "warning", "text": f"Nätverkets tidsfrister: {exc}"})
        self.online = True

    async def _sign_in(self) -> None:
        """Sign in, verify the directory and learn the members (their names)."""
        if self.client is None:
            self.client = HubClient(self.hub_url, self.network, allow_insecure=self.allow_insecure)
        signed_in = await self.client.sign_in(self.identity)
        self.directory = await self.client.directory(self.admin_public)
        # Who we are is the administrator's word (our key's signed entry), never the hub's: a
        # hub that named another municipality would have us seal to its keys as colleagues'.
        self.me = who_am_i(
            self.directory,
            self.identity,
            int(self.clock()),
            hub_says=(signed_in.municipality, signed_in.role),
        )
        self.municipality = self.me.municipality
        self.members = await self.client.municipalities()
        self.names = {m.id: m.name for m in self.members}

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()

    def name_of(self, municipality: str) -> str:
        return self.names.get(municipality, municipality)

    async def _hub(self) -> HubClient:
        if self.client is None or self.client.signed_in is None or not self.online:
            await self.connect()
        assert self.client is not None  # noqa: S101 - connect() sets it
        if self.client.signed_in and self.client.signed_in.expires_at - self.clock() < 60:
            await self.client.sign_in(self.identity)
        return self.client

    # --- receiving ----------------------------------------------------------------------

    async def sync(self) -> int:
        """Fetch what is new in both boxes and every case; returns how many envelopes arrived."""
        async with self._sync_lock:
            return await self._sync()

    async def _sync(self) -> int:
        client = await self._hub()
        self.directory = await client.directory(self.admin_public)  # keys change: enrolments
        new = 0
        for box in ("inbox", "sent"):
            cursor = int(await self.cache.get_value(f"cursor:{box}", "0"))
            for entry in await client.envelopes(box, after=cursor):
                try:
                    listed = Listed.from_wire(entry)
                except ValueError:
                    log.warning("listing entry refused: no id or seq")
                    continue
                if not await self.cache.is_listed(listed.message_id):
                    new += await self._receive(client, listed, box)
                    self.version += 1
                cursor = max(cursor, listed.seq)
            await self.cache.set_value(f"cursor:{box}", str(cursor))
        for view in await client.cases():
            try:
                await self._store_case(view)
            except (KeyError, TypeError, ValueError, HubError) as exc:
                # A case view of the wrong shape is the hub's problem, not a reason to stop.
                log.warning("case view refused: %s", type(exc).__name__)
        await self._fetch_year_so_far(client)
        self.changed.set()
        return new

    async def _fetch_year_so_far(self, client: HubClient) -> None:
        """The members' quotas and received inquiries this year, for Ny förfrågan. A figure the
        hub does not give now is no reason to fail a sync: the last one stays, marked stale."""
        try:
            self.year_so_far = YearSoFar.from_json(await client.quotas(), int(self.clock()))
            self.year_so_far_stale = False
        except (
            aiohttp.ClientError,
            OSError,
            RemoteError,
            TimeoutError,
            LookupError,
            TypeError,
            ValueError,
        ) as exc:
            log.info("quotas not fetched: %s", type(exc).__name__)
            self.year_so_far_stale = True

    @property
    def receiver(self) -> Receiver:
        return Receiver(self.identity, self.network, self.cache, self.clock)

    async def _receive(self, client: HubClient, listed: Listed, box: str) -> int:
        """Fetch, verify and keep one listed envelope by its signed header; sign the delivered
        receipt for one that another municipality sent. 1 if it was kept, else 0."""
        assert self.directory is not None  # noqa: S101 - _hub() loads it
        received, result = await self.receiver.fetch(client, listed, self.directory)
        if isinstance(result, Refused):
            await asyncio.to_thread(received.unlink, missing_ok=True)
            await self.cache.put_refused(
                listed.message_id,
                box=box,
                case_hint=listed.case_id,
                error=result.code,
                at=int(self.clock()),
            )
            return 0
        facts = result.facts
        if facts.listing_mismatch:
            log.warning("listing contradicts the signed header: %s", ",".join(facts.disagreements))
        # Which box is ours to say: what our municipality signed was sent, the rest received.
        signed_box = "sent" if facts.sender == self.municipality else "inbox"
        kept = await self.cache.put_received(
            facts,
            box=signed_box,
            seq=listed.seq,
            received=received,
            opened=result.content,
            listing_id=listed.message_id,
        )
        if kept and signed_box == "inbox":
            await self.receiver.acknowledge(client, facts, "delivered")
        return int(kept)

    @contextlib.asynccontextmanager
    async def open_attachment(
        self, message_id: bytes, index: int
    ) -> AsyncIterator[OpenedAttachment]:
        """Open the stored envelope again (verifying it again, off the event loop) and give out
        one attachment in chunks. Its plaintext is in a private temporary file (0600) until the
        block ends; raises IndexError for an attachment the message does not have."""
        assert self.directory is not None  # noqa: S101
        path, directory, now = self.cache.envelope_path(message_id), self.directory, self.clock()
        with tempfile.TemporaryDirectory(prefix="inkorg-") as work:
            opened = await asyncio.to_thread(
                functools.partial(
                    open_file,
                    path,
                    Path(work),
                    identity=self.identity,
                    directory=directory,
                    now=int(now),
                )
            )
            with opened:
                info = opened.attachments[index]
                # A generator (typed as an iterator): closed below, so its file is shut
                # before the plaintext is removed, however far the reader got.
                blocks = cast(
                    "Generator[bytes, None, None]",
                    opened.iter_attachment(index, ATTACHMENT_BLOCK),
                )
                try:
                    yield OpenedAttachment(
                        info.name, info.media_type, info.size, _off_the_loop(blocks)
                    )
                finally:
                    blocks.close()  # its file, before the plaintext goes

    async def mark_read(self, case_id: bytes) -> None:
        """The person opened the case: sign read receipts for what they have not read yet,
        each over the message id and digest of the envelope verified here."""
        client = await self._hub()
        for envelope in await self.cache.envelopes_of_case(case_id):
            if envelope.box != "inbox" or envelope.document is None:
                continue
            if await self.cache.mark_read(envelope.message_id, int(self.clock())):
                wire = make_receipt(
                    self.identity,
                    network=self.network,
                    message_id=envelope.message_id,
                    envelope_digest=envelope.digest,
                    event="read",
                    time=int(self.clock()),
                )
                await post_receipt(client, envelope.message_id, wire)

    async def _store_case(self, hub_view: wire.CaseView) -> None:
        """Keep the hub's view of a case, within what the verified envelopes say: a case with
        no verified inquiry is not shown, its sender and counterparts are the signed ones, and
        where the hub said otherwise the view is flagged (its states stay the hub's word)."""
        case_id = bytes.fromhex(hub_view.case_id)
        parties = await self.cache.case_parties(case_id)
        if parties is None:
            return  # the hub's word alone makes no case
        view = within_verified(hub_view, *parties, me=self.municipality)
        if view is None:
            log.warning("case view names us where no verified inquiry does")
            return
        mine = view["from"] == self.municipality
        # Closed for the sender when the case has its outcome; for a receiver when its own
        # request has ended (declined, closed elsewhere, withdrawn …).
        closed = view.get("outcome") is not None or (
            not mine and all(is_terminal(RequestState(r["state"])) for r in view["requests"])
        )
        dues = [] if closed else self.dues_of(view)
        due = dues[0] if dues else None
        # Kept with the view so that lists need not recompute the calendar for every row.
        stored = {
            **view,
            "local_due": None
            if due is None
            else {"date": due.due_date.isoformat(), "at": int(due.due_at.timestamp())},
        }
        if await self.cache.get_case(bytes.fromhex(view["case_id"])) != stored:
            self.version += 1
        sort_key = stored["local_due"]["at"] if due else _recency_key(view)
        await self.cache.put_case(
            stored,
            mine=mine,
            sort_key=sort_key,
            closed=closed,
            dues=[(_first_alarm(d, self.calendar), due_to_json(d)) for d in dues],
        )

    async def refresh_receipts(self, case_id: bytes) -> None:
        """Fetch the signed receipts for what we sent in this case; keep only those that verify."""
        client = await self._hub()
        assert self.directory is not None  # noqa: S101
        for envelope in await self.cache.envelopes_of_case(case_id):
            if envelope.box != "sent":
                continue
            path = self.cache.envelope_path(envelope.message_id)
            header = await asyncio.to_thread(_stored_header, path)
            for signed in await client.receipts(envelope.message_id):
                try:
                    receipt = verify_receipt(
                        signed,
                        directory=self.directory,
                        message_id=envelope.message_id,
                        envelope_digest=envelope.digest,
                        recipient_key_ids=header.recipient_key_ids,
                    )
                except HubError as exc:
                    log.warning("receipt refused: %s", exc.code)
                    continue
                await self.cache.put_receipt(
                    envelope.message_id, receipt.municipality, str(receipt.event), receipt.time
                )

    def dues_of(self, view: dict[str, Any]) -> list[Due]:
        """Every running deadline of this case that concerns our municipality, nearest first:
        all of a case we sent, our own request's of a case we were asked."""
        case = case_from_view(view)
        mine = view["from"] == self.municipality
        return [
            d
            for d in deadlines_for(case, self.deadline_rules, self.calendar)
            if mine or d.municipality == self.municipality
        ]

    def next_due(self, view: dict[str, Any]) -> Due | None:
        """The nearest running deadline of this case that concerns our municipality."""
        dues = self.dues_of(view)
        return dues[0] if dues else None

    # --- sending ------------------------------------------------------------------------

    def _seal_to_file(self, step: Step, case_id: bytes, path: Path) -> tuple[bytes, int]:
        """Seal the step's envelope to every key valid now of `step.to` (its keys in
        `step.role`: the county board's for an outcome note) and of our own municipality, into
        the file at `path`, reading each attachment from its encrypted file as it goes
        (blocking: for a thread). Returns its message id and size."""
        assert self.directory is not None  # noqa: S101
        assert step.kind is not None  # noqa: S101 - an envelope step names its kind
        now = int(self.clock())
        if step.role == DirectoryRole.CONTACT_PERSON:
            recipients = self.directory.recipients_for([step.to, self.municipality], now)
        else:
            addressed = self.directory.valid_keys(step.to, now, role=step.role)
            if not addressed:
                raise AuthorityError("recipient_no_valid_key", "the addressee has no valid key")
            own = self.directory.recipients_for([self.municipality], now)
            found = {e.key_id: e.identity for e in addressed} | {i.key_id: i for i in own}
            recipients = [found[k] for k in sorted(found)]
        with contextlib.ExitStack() as open_files:
            sources = [
                AttachmentSource(
                    a["name"],
                    a["media_type"],
                    a["size"],
                    open_files.enter_context(self.cache.open_blob(a["blob"])),
                )
                if "blob" in a
                else _from_row(a)  # kept in the row itself by an earlier version
                for a in step.attachments
            ]
            out = open_files.enter_context(create_private(path))
            sealed = seal(
                out,
                sender=self.identity,
                recipients=recipients,
                kind=step.kind,
                case_id=case_id,
                document=step.document or {},
                attachments=sources,
                created_at=now,
            )
            return sealed.header.message_id, out.tell()

    async def _seal_step(self, step: Step, case_id: bytes, path: Path) -> tuple[bytes, int]:
        """Seal off the event loop (the pages and /status.json keep answering), to the keys
        the hub will check: the directory fetched again first."""
        client = await self._hub()
        self.directory = await client.directory(self.admin_public)
        return await asyncio.to_thread(self._seal_to_file, step, case_id, path)

    async def store_attachment(self, name: str, media_type: str, source: IO[bytes]) -> StoredFile:
        """Keep an attachment in the cache (encrypted, off the event loop) until it is sent."""
        blob, size = await self.cache.put_blob(source)
        return {"name": name, "media_type": media_type, "size": size, "blob": blob}

    async def _stored(self, attachments: Sequence[Attachment | StoredFile]) -> list[StoredFile]:
        return [
            await self.store_attachment(a.name, a.media_type, io.BytesIO(a.data))
            if isinstance(a, Attachment)
            else a
            for a in attachments
        ]

    async def send_inquiry(
        self,
        document: dict[str, Any],
        attachments: Sequence[Attachment | StoredFile],
        municipalities: list[str],
    ) -> bytes:
        """Create the case and send one envelope per asked municipality (so none of them learns
        who else was asked). Returns the case id; what cannot go now waits in the outbox."""
        case_id = secrets.token_bytes(16)
        stored = await self._stored(attachments)
        steps: list[dict[str, Any]] = [{"op": "create_case"}]
        steps += [
            {
                "op": "envelope_event",
                "municipality": municipality,
                "kind": int(MessageKind.INQUIRY),
                "event": "send_inquiry",
                "document": document,
                "attachments": stored,  # each file once, named by every envelope
            }
            for municipality in municipalities
        ]
        await self._queue(case_id, steps, stored)
        return case_id

    async def answer(  # noqa: PLR0913 - each is part of the one action
        self,
        case_id: bytes,
        event: str,
        *,
        target: str,
        document: dict[str, Any] | None,
        details: dict[str, Any] | None = None,
        attachments: Sequence[Attachment | StoredFile] = (),
    ) -> None:
        """An event on a case; with a document it travels sealed to the other side first."""
        step: dict[str, Any] = {
            "op": "event",
            "municipality": target,
            "event": event,
            "details": details or {},
        }
        stored: list[StoredFile] = []
        if document is not None:
            view = await self.cache.get_case(case_id)
            sender = view["from"] if view else target
            stored = await self._stored(attachments)
            step = {
                **step,
                "op": "envelope_event",
                "kind": int(_kind_for(event)),
                "document": document,
                "to": sender if sender != self.municipality else target,
                "attachments": stored,
            }
        await self._queue(case_id, [step], stored)

    async def close_not_moved(self, case_id: bytes) -> None:
        """End our case without a move: the hub closes every open request and tells them."""
        await self._queue(case_id, [{"op": "close_not_moved"}])

    # --- the outcome report (docs/statistics.md) ------------------------------------------

    async def file_outcome_report(self, case_id: bytes, report: OutcomeReport) -> FiledReport:
        """Send a closed case's outcome report to the hub now (in clear, categories only) and
        keep what was filed. Not through the outbox: the person is shown at once whether the
        hub took it. Raises RemoteError when the hub refuses, and aiohttp.ClientError, OSError
        or TimeoutError when it cannot be reached (the agent is then offline)."""
        try:
            client = await self._hub()
            answer = await client.put_outcome_report(case_id, report.to_json())
        except (aiohttp.ClientError, OSError, TimeoutError):
            self.online = False
            self.changed.set()
            raise
        filed = FiledReport(OutcomeReport.from_json(answer["report"]), int(answer["filed_at"]))
        await self.cache.set_value(_REPORT_KEY + case_id.hex(), json.dumps(filed.to_json()))
        self.version += 1
        return filed

    @property
    def outcome_free_text(self) -> bool:
        """The network asks for the reasons in words too (`outcome_free_text: true`)."""
        return self.settings.get("outcome_free_text") is True

    def county_board(self) -> str | None:
        """The county board an outcome note goes to: the directory name with valid keys of
        role county_board now (the first by name, should a network list two); None if none."""
        if self.directory is None:
            return None
        now = int(self.clock())
        board = DirectoryRole.COUNTY_BOARD
        boards = sorted(self.directory.municipalities(role=board))
        return next((b for b in boards if self.directory.valid_keys(b, now, role=board)), None)

    async def send_outcome_note(self, case_id: bytes, text: str) -> bool:
        """The outcome report's reasons in words, sealed end to end to the county board's own
        keys (kind OUTCOME_NOTE; never in the report the hub reads). Through the outbox, so it
        waits when the hub cannot be reached. False when the directory has no county-board key:
        nothing is sent."""
        board = self.county_board()
        if board is None:
            return False
        step: dict[str, Any] = {
            "op": "envelope_event",
            "municipality": board,
            "to": board,
            "role": str(DirectoryRole.COUNTY_BOARD),
            "event": None,
            "kind": int(MessageKind.OUTCOME_NOTE),
            "document": {"outcome_note": {"v": 1, "text": text}},
            "attachments": [],
        }
        await self._queue(case_id, [step])
        return True

    async def outcome_report(self, case_id: bytes) -> FiledReport | None:
        """The report this inbox filed (or learnt from the hub) for our case, if any."""
        stored = await self.cache.get_value(_REPORT_KEY + case_id.hex())
        if stored:
            return FiledReport.from_json(json.loads(stored))
        return None

    async def fetch_outcome_report(self, case_id: bytes) -> FiledReport | None:
        """Ask the hub for a report filed elsewhere (another of our machines); when it was
        filed the hub does not say, so the date stays unknown."""
        client = await self._hub()
        report = await client.outcome_report(case_id)
        if report is None:
            return None
        filed = FiledReport(OutcomeReport.from_json(report), None)
        await self.cache.set_value(_REPORT_KEY + case_id.hex(), json.dumps(filed.to_json()))
        return filed

    async def send_message(
        self,
        case_id: bytes,
        target: str,
        document: dict[str, Any],
        attachments: Sequence[Attachment | StoredFile],
    ) -> None:
        """A free-text message in the case thread, sealed to the other side."""
        view = await self.cache.get_case(case_id)
        to = view["from"] if view and view["from"] != self.municipality else target
        stored = await self._stored(attachments)
        await self._queue(
            case_id,
            [
                {
                    "op": "envelope_event",
                    "municipality": target,
                    "to": to,
                    "event": None,
                    "kind": int(MessageKind.MESSAGE),
                    "document": document,
                    "attachments": stored,
                }
            ],
            stored,
        )

    async def _queue(
        self, case_id: bytes, steps: list[dict[str, Any]], attachments: Sequence[StoredFile] = ()
    ) -> None:
        item_id = f"{int(self.clock() * 1000):015d}-{secrets.token_hex(4)}"
        await self.cache.add_outbox(
            item_id,
            {"case_id": case_id.hex(), "steps": steps},
            int(self.clock()),
            blobs=[a["blob"] for a in attachments],
        )
        await self.flush_outbox()

    async def flush_outbox(self) -> None:
        """Send what waits, in order; stop at the first failure and keep the rest. One flush
        at a time: a second waits for the first, then finds its steps done."""
        async with self._outbox_lock:
            await self._flush_outbox()
        with contextlib.suppress(aiohttp.ClientError, OSError, RemoteError, TimeoutError):
            await self.sync()

    async def _flush_outbox(self) -> None:
        for item_id, body in await self.cache.outbox():
            steps = [Step.from_json(step) for step in body["steps"]]
            progress = SendProgress(sum(1 for s in steps if s.op is Op.ENVELOPE))
            self.sending = progress
            try:
                runner = ItemRunner(self.cache, await self._hub(), self._seal_step, progress)
                await runner.run(item_id, bytes.fromhex(body["case_id"]), steps)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                self.online = False
                await self.cache.outbox_failed(item_id, type(exc).__name__)
                return
            except RemoteError as exc:
                if exc.status >= 500:  # the hub failed, not the item: try again later
                    await self.cache.outbox_failed(item_id, exc.code)
                    return
                await self.cache.outbox_failed(item_id, exc.code)
                self.notices.append(
                    {"level": "warning", "text": f"Hubben avvisade en åtgärd ({exc.code})."}
                )
                await self.cache.outbox_done(item_id)
                continue
            except AttachmentUnreadable:  # gone or changed on this disk: it can never go
                await self.cache.outbox_failed(item_id, "attachment_unreadable")
                self.notices.append({"level": "warning", "text": UNREADABLE_ATTACHMENT})
                await self.cache.outbox_done(item_id)
                continue
            except HubError as exc:  # refused here, before the hub saw it: keep it, say why
                await self.cache.outbox_failed(item_id, exc.code)
                self.notices.append({"level": "warning", "text": exc.message})
                return
            finally:
                self.sending = None
            await self.cache.outbox_done(item_id)

    # --- live ---------------------------------------------------------------------------

    async def follow(self, stop: asyncio.Event) -> None:
        """Hold the hub's live channel; on any notice, sync. Reconnect with back-off."""
        delay = 1.0
        while not stop.is_set():
            try:
                client = await self._hub()
                await self.flush_outbox()
                async with client.live() as ws:
                    delay = 1.0
                    async for _message in ws:
                        await self.sync()
                        if stop.is_set():
                            break
            except AuthorityError as exc:  # the hub says we are someone else: stop here
                log.warning("hub refused as untrustworthy: %s", exc.code)
                self.online = False
                self.notices.append({"level": "warning", "text": exc.message})
                self.changed.set()
                return
            except (aiohttp.ClientError, OSError, RemoteError, TimeoutError) as exc:
                log.info("hub unreachable: %s", type(exc).__name__)
                self.online = False
                self.changed.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(delay * 2, 60.0)


_REPORT_KEY = "outcome_report:"


@dataclass(frozen=True)
class FiledReport:
    """An outcome report as the hub took it, and when (None: filed elsewhere, date unknown)."""

    report: OutcomeReport
    filed_at: int | None

    def to_json(self) -> dict[str, Any]:
        return {"report": self.report.to_json(), "filed_at": self.filed_at}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> FiledReport:
        return cls(OutcomeReport.from_json(value["report"]), value["filed_at"])


def _kind_for(event: str) -> MessageKind:
    if event in {"accept", "decline", "pre_inquiry_yes", "pre_inquiry_no"}:
        return MessageKind.ANSWER
    if event == "withdraw":
        return MessageKind.WITHDRAWAL
    return MessageKind.MESSAGE


def _from_row(a: dict[str, Any]) -> AttachmentSource:
    """An attachment an earlier version kept base64 inside the outbox row itself."""
    data = base64.b64decode(a["data"])
    return AttachmentSource(a["name"], a["media_type"], len(data), io.BytesIO(data))


def due_to_json(due: Due) -> dict[str, Any]:
    """A running deadline as the cache keeps it (the hub knows all of it: kept in clear)."""
    return {
        "kind": str(due.kind),
        "municipality": due.municipality,
        "date": due.due_date.isoformat(),
        "at": int(due.due_at.timestamp()),
        "remind_at": None if due.remind_at is None else int(due.remind_at.timestamp()),
        "owed_by": [str(role) for role in due.owed_by],
    }


def due_from_json(value: dict[str, Any]) -> Due:
    remind_at = value["remind_at"]
    return Due(
        DueKind(value["kind"]),
        value["municipality"],
        date.fromisoformat(value["date"]),
        datetime.fromtimestamp(value["at"], UTC),
        None if remind_at is None else datetime.fromtimestamp(remind_at, UTC),
        tuple(Role(role) for role in value["owed_by"]),
    )


def _first_alarm(due: Due, calendar: SwedishCalendar) -> int:
    """When the first notice of `due` fires (its reminder, else the morning of the day)."""
    return min(alarm.fire_at for alarm in alarms_for([due], calendar))


def _recency_key(view: dict[str, Any]) -> int:
    """After every case with a running deadline (sorted by it): most recent activity first."""
    latest = max((h["at"] for r in view["requests"] for h in r["history"]), default=0)
    return 4_000_000_000 + (2_000_000_000 - latest)


def case_from_view(view: dict[str, Any]) -> Case:
    """The lifecycle's Case from the hub's view of it (for a receiver: its own request only)."""
    return case_from_json(
        {
            "case_id": view["case_id"],
            "sender": view["from"],
            "max_open_requests": max(3, len(view["requests"])),
            "outcome": view.get("outcome"),
            "closed_at": view.get("closed_at"),
            "requests": [
                {"municipality": r["municipality"], "state": r["state"], "history": r["history"]}
                for r in view["requests"]
            ],
        }
    )

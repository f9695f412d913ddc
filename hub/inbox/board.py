"""The county board's own inbox: the outcome notes (kind OUTCOME_NOTE) addressed to it.

A network may ask for an outcome report's reasons in words; the sender's inbox seals them to
the county board's own keys (AgentCore.send_outcome_note). The board runs `hub inbox` with its
county-board key and gets this agent: it fetches, opens (against the verified directory) and
acknowledges those notes, and lists them on one page, "Utfallsbeskrivningar". The hub lets a
county board do nothing else (no cases, no uploads, no live channel), so it asks now and then.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import aiohttp
from aiohttp import web

from hub.client.api import HubClient, RemoteError
from hub.crypto.format import MessageKind
from hub.inbox import documents
from hub.inbox.facts import Listed
from hub.inbox.pages.common import render
from hub.inbox.parts import AgentParts
from hub.inbox.receiving import Opened, Refused
from hub.localagent import launch, lock, security

log = logging.getLogger("hub.inbox")
ROLE: Final = "county_board"
POLL_SECONDS: Final = 60.0
_NOTES_KEY: Final = "outcome_notes"


@dataclass(frozen=True)
class Note:
    message_id: str
    case_id: str
    sender: str  # the sending municipality (its directory id)
    created_at: int  # the sender's signed time
    text: str

    @property
    def short_case(self) -> str:
        return self.case_id[:8]

    @property
    def date(self) -> str:
        return datetime.fromtimestamp(self.created_at, UTC).astimezone().strftime("%Y-%m-%d")


@dataclass
class BoardCore(AgentParts):
    """A county board's agent: a session and the receiving part, nothing else (no cases, no
    outbox); the inbox box only, outcome notes only."""

    async def connect(self) -> None:
        """Signed in and verified as a contact person's agent, without the network's
        deadlines: there are no cases here."""
        await self.session.connect(with_settings=False)

    async def sync(self) -> int:
        async with self._sync_lock:
            return await self._sync()

    async def _sync(self) -> int:
        client = await self.session.hub()
        await self.session.refresh_directory()
        cursor = int(await self.cache.get_value("cursor:inbox", "0"))
        notes = await self.notes()
        new = 0
        for entry in await client.envelopes("inbox", after=cursor):
            try:
                listed = Listed.from_wire(entry)
            except ValueError:
                continue
            cursor = max(cursor, listed.seq)
            if await self.cache.is_listed(listed.message_id):
                continue
            note = await self._fetch_note(client, listed)
            if note is not None:
                notes.append(note)
                new += 1
        await self.cache.set_value(_NOTES_KEY, json.dumps([n.__dict__ for n in notes]))
        await self.cache.set_value("cursor:inbox", str(cursor))
        if new:
            self.version += 1
        self.changed.set()
        return new

    async def _fetch_note(self, client: HubClient, listed: Listed) -> Note | None:
        """Fetch, verify and read one listed envelope; a note is kept by its signed facts (the
        envelope itself is dropped), anything else is refused and remembered as such."""
        directory = self.session.directory
        assert directory is not None  # noqa: S101 - _sync loads it
        received, result = await self.receiver.fetch(client, listed, directory)
        await asyncio.to_thread(received.unlink, missing_ok=True)
        if isinstance(result, Refused):
            code = result.code
        elif result.facts.kind != MessageKind.OUTCOME_NOTE:
            code = "envelope_content_malformed"
        else:
            text = documents.read_outcome_note(result.content["document"])
            code = "envelope_content_malformed" if isinstance(text, documents.Unreadable) else ""
        if code:
            log.warning("outcome note refused: %s", code)
            await self.cache.put_refused(
                listed.message_id,
                box="inbox",
                case_hint=listed.case_id,
                error=code,
                at=int(self.clock()),
            )
            return None
        assert isinstance(result, Opened)  # noqa: S101 - refused above otherwise
        assert isinstance(text, str)  # noqa: S101
        facts = result.facts
        await self.cache.remember_seen(facts, listing_id=listed.message_id)
        await self.receiver.acknowledge(client, facts, "delivered")
        return Note(
            facts.message_id.hex(), facts.case_id.hex(), facts.sender, facts.created_at, text
        )

    async def notes(self) -> list[Note]:
        """The notes opened so far, as fetched (oldest first)."""
        stored = await self.cache.get_value(_NOTES_KEY, "[]")
        return [Note(**n) for n in json.loads(stored)]

    async def follow(self, stop: asyncio.Event) -> None:
        """No live channel for a county board: ask the hub every POLL_SECONDS."""
        while not stop.is_set():
            try:
                await self.sync()
            except (aiohttp.ClientError, OSError, RemoteError, TimeoutError) as exc:
                log.info("hub unreachable: %s", type(exc).__name__)
                self.session.online = False
                self.changed.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=POLL_SECONDS)


async def notes_page(request: web.Request) -> web.Response:
    core = request.app[lock.KEEPER].held
    if not isinstance(core, BoardCore):
        raise web.HTTPSeeOther(lock.UNLOCK_PATH)
    with contextlib.suppress(aiohttp.ClientError, OSError, RemoteError, TimeoutError):
        await core.sync()
    notes = sorted(await core.notes(), key=lambda n: n.created_at, reverse=True)
    return await render(request, "board.html", notes=notes, names=core.names)


def init_board(core: BoardCore, auth: security.LocalAuth) -> web.Application:
    """The county board's pages: its outcome notes, behind the same local guard."""
    from hub.inbox.agent import STATIC  # noqa: PLC0415 - no cycle

    app = launch.guarded_app(auth, STATIC)
    lock.lockable(app, lock.Keeper(None, held=core))
    app.router.add_get("/", notes_page)
    return app

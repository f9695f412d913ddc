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
from typing import Any, Final

import aiohttp
from aiohttp import web

from hub.client.api import HubClient, RemoteError
from hub.crypto.format import MessageKind
from hub.inbox import views
from hub.inbox.sync import AgentCore
from hub.localagent import launch, security

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
class BoardCore(AgentCore):
    """AgentCore for a county-board key: the inbox box only, outcome notes only."""

    async def connect(self) -> None:
        """As a contact person's agent, without the network's deadlines: no cases here."""
        await self._sign_in()
        self.online = True

    async def _sync(self) -> int:
        client = await self._hub()
        self.directory = await client.directory(self.admin_public)
        cursor = int(await self.cache.get_value("cursor:inbox", "0"))
        notes = await self.notes()
        known = {n.message_id for n in notes}
        new = 0
        for meta in await client.envelopes("inbox", after=cursor):
            cursor = max(cursor, int(meta["seq"]))
            if meta["kind"] != MessageKind.OUTCOME_NOTE or meta["message_id"] in known:
                continue
            note = await self._fetch_note(client, meta)
            if note is not None:
                notes.append(note)
                new += 1
        await self.cache.set_value(_NOTES_KEY, json.dumps([n.__dict__ for n in notes]))
        await self.cache.set_value("cursor:inbox", str(cursor))
        if new:
            self.version += 1
        self.changed.set()
        return new

    async def _fetch_note(self, client: HubClient, meta: dict[str, Any]) -> Note | None:
        message_id = bytes.fromhex(meta["message_id"])
        # Opened from a file, as an inbox's envelopes are, then dropped: only the note is kept.
        received = self.cache.incoming_path(message_id)
        try:
            await self._download(client, message_id, received)
            opened, error = await self._open(received)
        finally:
            await asyncio.to_thread(received.unlink, missing_ok=True)
        note = None if opened is None else opened["document"].get("outcome_note")
        if not isinstance(note, dict) or not isinstance(note.get("text"), str):
            log.warning("outcome note refused: %s", error or "document")
            return None
        await self._receipt(client, message_id, bytes.fromhex(meta["digest"]), "delivered")
        return Note(
            meta["message_id"], meta["case_id"], meta["from"], meta["created_at"], note["text"]
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
                self.online = False
                self.changed.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=POLL_SECONDS)


async def notes_page(request: web.Request) -> web.Response:
    core = request.app[views.CORE]
    assert isinstance(core, BoardCore)  # noqa: S101 - init_board serves a BoardCore only
    with contextlib.suppress(aiohttp.ClientError, OSError, RemoteError, TimeoutError):
        await core.sync()
    notes = sorted(await core.notes(), key=lambda n: n.created_at, reverse=True)
    return await views.render(request, "board.html", notes=notes, names=core.names)


def init_board(core: BoardCore, auth: security.LocalAuth) -> web.Application:
    """The county board's pages: its outcome notes, behind the same local guard."""
    from hub.inbox.agent import STATIC, _follow_hub  # noqa: PLC0415 - no cycle

    app = launch.guarded_app(auth, STATIC)
    app[views.CORE] = core
    app.router.add_get("/", notes_page)
    app.cleanup_ctx.append(_follow_hub)
    return app

"""The witness's HTTP service (aiohttp): the add-checkpoint call of c2sp.org/tlog-witness, the
latest cosignature of each log for whoever asks, evidence of a fork, and a timer that cosigns
the current checkpoint again so every client can tell how fresh its view is.

    POST /add-checkpoint          tlog-witness (hub/witness/core.py)
    GET  /cosigned?origin=O       the checkpoint text last cosigned, a blank line, the newest
                                  cosignature line on it (404: none yet)
    POST /evidence                {"remembered": note, "offered": note}: two checkpoints of a
                                  known log, both signed by its key, that cannot both be true;
                                  kept in evidence.jsonl for the witness's operator (202)

State, in the witness's folder: `witness-state.json` (per origin the size, root, text and the
newest cosignature line; written whole, atomically, and fsynced before any answer that depends
on it, under one lock, so two requests cannot roll it back between check and write).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from hub import files
from hub.crypto.checkpoint import Checkpoint, cosign, open_checkpoint
from hub.errors import LogError
from hub.witness.core import KnownLog, Refusal, check_request, parse_request

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

    from hub.crypto.keys import SigningKey

STATE_NAME: Final = "witness-state.json"
EVIDENCE_NAME: Final = "evidence.jsonl"
MAX_EVIDENCE_BYTES: Final = 64 * 1024


@dataclass
class Witness:
    name: str
    key: SigningKey
    folder: Path
    logs: dict[str, KnownLog]  # by origin
    clock: Callable[[], float] = time.time
    state: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def load(self) -> None:
        path = self.folder / STATE_NAME
        if path.exists():
            self.state = json.loads(path.read_text(encoding="utf-8"))

    def latest(self) -> dict[str, Checkpoint]:
        return {
            origin: Checkpoint(origin, s["size"], base64.b64decode(s["root"]))
            for origin, s in self.state.items()
        }

    def _cosign(self, checkpoint: Checkpoint) -> dict[str, Any]:
        now = int(self.clock())
        return {
            "size": checkpoint.size,
            "root": base64.b64encode(checkpoint.root).decode(),
            "text": checkpoint.text().decode(),
            "line": cosign(self.key, self.name, checkpoint, now),
            "at": now,
        }

    async def add_checkpoint(self, body: bytes) -> str:
        request = parse_request(body)
        async with self.lock:
            checkpoint = check_request(request, self.logs, self.latest())
            entry = self._cosign(checkpoint)
            self._save({**self.state, checkpoint.origin: entry})
            return str(entry["line"])

    async def recosign(self) -> None:
        """Cosign each log's current checkpoint again at the present time."""
        async with self.lock:
            fresh = {origin: self._cosign(cp) for origin, cp in self.latest().items()}
            if fresh:
                self._save(fresh)

    def _save(self, state: dict[str, dict[str, Any]]) -> None:
        _write_atomically(self.folder / STATE_NAME, json.dumps(state, indent=1, sort_keys=True))
        self.state = state

    def keep_evidence(self, remembered: str, offered: str) -> None:
        """Both notes must verify against a known log's key and conflict; else LogError."""
        origin = offered.split("\n", 1)[0]
        log = self.logs.get(origin)
        if log is None:
            raise LogError("checkpoint_wrong_origin")
        a, b = (
            open_checkpoint(note, admin_public=log.admin_public, network=log.network).checkpoint
            for note in (remembered, offered)
        )
        if a == b:
            raise LogError("checkpoint_malformed", "two equal checkpoints are no conflict")
        entry = {"at": int(self.clock()), "remembered": remembered, "offered": offered}
        with (self.folder / EVIDENCE_NAME).open("a", encoding="utf-8") as out:
            out.write(json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n")
            out.flush()
            os.fsync(out.fileno())


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    files.remove_quietly(temporary)
    fd = files.open_private(temporary)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(path)
    except BaseException:
        files.remove_quietly(temporary)
        raise
    files.sync_folder(path.parent)


WITNESS: Final = web.AppKey("witness", Witness)


async def _add_checkpoint(request: web.Request) -> web.Response:
    body = await request.content.read(64 * 1024 + 1)
    try:
        line = await request.app[WITNESS].add_checkpoint(body)
    except Refusal as refusal:
        return web.Response(
            status=refusal.status, text=refusal.body, content_type=refusal.content_type
        )
    return web.Response(text=line, content_type="text/plain")


async def _cosigned(request: web.Request) -> web.Response:
    entry = request.app[WITNESS].state.get(request.query.get("origin", ""))
    if entry is None:
        return web.Response(status=404, text="unknown log\n")
    return web.Response(text=f"{entry['text']}\n{entry['line']}", content_type="text/plain")


async def _evidence(request: web.Request) -> web.Response:
    body = await request.content.read(MAX_EVIDENCE_BYTES + 1)
    try:
        found = json.loads(body)
        remembered, offered = str(found["remembered"]), str(found["offered"])
        request.app[WITNESS].keep_evidence(remembered, offered)
    except (ValueError, KeyError, TypeError, LogError) as exc:
        return web.Response(status=400, text=f"{exc}\n")
    return web.Response(status=202, text="kept\n")


def witness_app(witness: Witness, *, recosign_seconds: float) -> web.Application:
    app = web.Application(client_max_size=MAX_EVIDENCE_BYTES)
    app[WITNESS] = witness
    app.router.add_post("/add-checkpoint", _add_checkpoint)
    app.router.add_get("/cosigned", _cosigned)
    app.router.add_post("/evidence", _evidence)

    async def timer(_app: web.Application) -> AsyncIterator[None]:
        async def run() -> None:
            while True:
                await asyncio.sleep(recosign_seconds)
                await witness.recosign()

        task = asyncio.create_task(run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(timer)
    return app

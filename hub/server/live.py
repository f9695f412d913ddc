"""Live updates: signed-in clients hold a WebSocket and hear that something new is there for
their municipality (ids and kinds only; they fetch and verify the rest themselves). LiveHub is
the LiveChannel of one hub process (hub/server/singletons.py): its own sockets only."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

    from hub.server.singletons import LiveEvent


class LiveHub:
    def __init__(self) -> None:
        self._sockets: dict[tuple[str, str], set[web.WebSocketResponse]] = defaultdict(set)

    def add(self, network_id: str, municipality_id: str, ws: web.WebSocketResponse) -> None:
        self._sockets[(network_id, municipality_id)].add(ws)

    def remove(self, network_id: str, municipality_id: str, ws: web.WebSocketResponse) -> None:
        self._sockets[(network_id, municipality_id)].discard(ws)

    async def tell(self, network_id: str, municipalities: set[str], event: LiveEvent) -> None:
        targets = [ws for m in municipalities for ws in self._sockets.get((network_id, m), ())]
        for ws in targets:
            # A slow or gone listener is skipped: the change is stored, and the inbox fetches
            # it on its next sync whatever this hint did.
            with contextlib.suppress(ConnectionError, RuntimeError, TimeoutError):
                async with asyncio.timeout(5):
                    await ws.send_json(event)

    async def close_all(self) -> None:
        for sockets in self._sockets.values():
            for ws in list(sockets):
                with contextlib.suppress(Exception):
                    await ws.close()

"""The hub's JSON answers, encoded from their one definition in hub/protocol/wire.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from hub.protocol import wire

if TYPE_CHECKING:
    from hub.protocol.wire import Shape


def answer(shape: Shape, status: int = 200) -> web.Response:
    return web.Response(body=wire.encode(shape), status=status, content_type="application/json")

"""status.json, for live.js, notify.js and upload.js."""

from __future__ import annotations

from aiohttp import web

from hub.inbox.pages.common import core_of


async def status(request: web.Request) -> web.Response:
    """For live.js, notify.js and upload.js: whether anything changed, how many cases have
    something unread, and how far the outbox has got with what it is sending now; counts
    only, never content."""
    core = core_of(request)
    return web.json_response(
        {
            "version": core.version,
            "online": core.online,
            "outbox": await core.cache.outbox_count(),
            "unread": len(await core.cache.unread_cases()),  # the tab title's count
            "sending": None if core.sending is None else core.sending.as_json(),
        }
    )

"""An attachment of a case, downloaded."""

from __future__ import annotations

import contextlib
import logging
from urllib.parse import quote

from aiohttp import web

from hub.errors import HubError
from hub.inbox.pages.common import core_of, render
from hub.localagent.security import protect

log = logging.getLogger("hub.inbox")


async def attachment(request: web.Request) -> web.StreamResponse:
    """One attachment as a download, checked again against the sender's signature first: a
    stored envelope that no longer passes gives out nothing and says so."""
    try:
        return await _stream_attachment(request)
    except (ValueError, IndexError, FileNotFoundError):
        return await render(
            request,
            "error.html",
            status=404,
            title="Bilagan finns inte",
            message="Det finns ingen sådan bilaga i ärendet på den här datorn.",
        )
    except HubError as exc:
        log.warning("stored envelope refused: %s", exc.code)
        return await render(
            request,
            "error.html",
            status=422,
            title="Bilagan kunde inte öppnas",
            message=(
                "Meddelandet som bilagan hör till klarar inte längre kontrollen av avsändarens "
                f"underskrift ({exc.code}). Inget av bilagan lämnas ut. Kontakta "
                "systemförvaltningen."
            ),
        )


async def _stream_attachment(request: web.Request) -> web.StreamResponse:
    core = core_of(request)
    message_id = bytes.fromhex(request.match_info["message_id"])
    async with core.open_attachment(message_id, int(request.match_info["index"])) as found:
        # Served as a download, never rendered here: the name and bytes come from another party.
        response = web.StreamResponse(
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.name)}"}
        )
        response.content_type = "application/octet-stream"
        response.content_length = found.size
        # Streamed, so the headers leave before the handler returns: the security middleware
        # would add its own too late.
        protect(response.headers)
        await response.prepare(request)
        with contextlib.suppress(ConnectionResetError):  # the browser stopped the download
            if request.method != "HEAD":  # aiohttp would send a streamed body even then
                async for chunk in found.chunks:
                    await response.write(chunk)
            await response.write_eof()
    return response

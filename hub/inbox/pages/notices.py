"""What the inbox tells a person beside a page: a message shown once after a post ("Förfrågan
skickades till Kommun B"), the agent's standing notices closed by the person, and the error
pages (404 included), always in Swedish with a way back to Inkorg.

Every post answers with a redirect (POST-redirect-GET), so that back and reload never send a
form again; what the post has to say travels in the flash, kept in this process's memory for
the browser's session only (never on disk) and shown on the next page, once."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.inbox.watch import SEE_KEYS
from hub.localagent.security import COOKIE, CSRF
from hub.localagent.templates import TEMPLATES

if TYPE_CHECKING:
    from aiohttp.typedefs import Handler

    from hub.inbox.pages.common import PageCore

log = logging.getLogger("hub.inbox")

# What stays until the person acts on it elsewhere (a key added behind the municipality's
# back is acknowledged under Kontakt och nycklar, G31): never closed from the banner.
_STANDING = SEE_KEYS


@dataclass
class Flashes:
    """Per browser session (its cookie): messages for the next page, and one-shot states a
    redirected page picks up (e.g. the review step's ticks after a refused Skicka)."""

    messages: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    states: dict[tuple[str, str], Any] = field(default_factory=dict)
    # drafts sent -> their case (hex): the review page reached again with Back says so
    sent: dict[str, str] = field(default_factory=dict)

    def clear(self) -> None:
        """Locked means blind (G18): nothing a page kept for a session outlives a lock."""
        self.messages.clear()
        self.states.clear()
        self.sent.clear()


FLASH = web.AppKey("flash", Flashes)


def _session(request: web.Request) -> str:
    return request.cookies.get(COOKIE, "")


def flash(request: web.Request, text: str, level: str = "info") -> None:
    """A message for the next page this browser shows ("info" or "warning")."""
    request.app[FLASH].messages.setdefault(_session(request), []).append(
        {"level": level, "text": text}
    )


def take_flashes(request: web.Request) -> list[dict[str, str]]:
    """The messages waiting for this page; gone once shown."""
    flashes = request.app.get(FLASH)
    return [] if flashes is None else flashes.messages.pop(_session(request), [])


def page_notices(request: web.Request, core: PageCore) -> list[dict[str, str]]:
    """What base.html shows in its banners: the agent's standing notices, closable where the
    app has the Stäng route (the inbox's; the county board's app has no posts), then the
    messages of the last post."""
    if FLASH not in request.app:
        return list(core.notices)
    return [*shown_notices(core), *take_flashes(request)]


def keep_state(request: web.Request, key: str, state: object) -> None:
    request.app[FLASH].states[_session(request), key] = state


def take_state(request: web.Request, key: str) -> Any:  # noqa: ANN401 - what keep_state kept
    return request.app[FLASH].states.pop((_session(request), key), None)


def notice_key(notice: dict[str, str]) -> str:
    """A standing notice's name for its Stäng button: its text's digest."""
    return hashlib.sha256(notice["text"].encode()).hexdigest()[:16]


def shown_notices(core: PageCore) -> list[dict[str, str]]:
    """The agent's standing notices as base.html shows them, each with the key that closes
    it ("" for one that stays until it is acted on elsewhere)."""
    return [
        {**n, "dismiss": "" if n["text"].endswith(_STANDING) else notice_key(n)}
        for n in core.notices
    ]


def local_path(path: str) -> str:
    """Only a path of this inbox: never send the browser elsewhere."""
    return path if path.startswith("/") and not path.startswith("//") else "/"


async def dismiss(request: web.Request) -> web.StreamResponse:
    """Stäng: the notice is removed from the agent's notices; back to the page it was on."""
    from hub.inbox.pages.common import frame_of  # noqa: PLC0415 - common imports this module

    core = frame_of(request)
    form = await request.post()
    key = str(form.get("notice", ""))
    closed = [n for n in core.notices if notice_key(n) == key and not n["text"].endswith(_STANDING)]
    core.notices[:] = [n for n in core.notices if n not in closed]
    for notice in closed:  # evidence of a lying hub stays closed once closed (issue 14)
        await core.acknowledge_notice(notice["text"])
    raise web.HTTPSeeOther(local_path(str(form.get("back", "/"))))


# Swedish words for what the router or a handler answered without a page of its own.
_ERRORS = {
    404: (
        "Sidan finns inte",
        "Adressen finns inte i inkorgen. Den kan vara felskriven eller gammal.",
    ),
    405: (
        "Sidan går inte att visa så",
        "Sidan hör till ett formulär och kan inte öppnas direkt. Gå tillbaka och försök igen.",
    ),
    500: (
        "Något gick fel",
        (
            "Inkorgen kunde inte visa sidan. Se efter i ärendet om det du gjorde kom med, "
            "och kontakta systemförvaltningen om det händer igen."
        ),
    ),
}


def error_page(request: web.Request, status: int, title: str, message: str) -> web.Response:
    """error.html without needing an unlocked agent: the frame fills in what it has."""
    html = (
        request.app[TEMPLATES]
        .get_template("inbox/error.html")
        .render(title=title, message=message, csrf=request.get(CSRF, ""))
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8", status=status)


@web.middleware
async def error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A bare 404, 405 or failure becomes a Swedish page linking back to Inkorg; redirects and
    the pages' own answers pass untouched. JSON callers (status.json, autosave) get theirs."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status not in _ERRORS or exc.text not in {None, "", f"{exc.status}: {exc.reason}"}:
            raise
        title, message = _ERRORS[exc.status]
        return error_page(request, exc.status, title, message)
    except Exception:
        log.exception("page failed: %s %s", request.method, request.path)
        title, message = _ERRORS[500]
        return error_page(request, 500, title, message)

"""Locked until the person unlocks it in the page: a local agent starts holding no key and
serves only "Lås upp inkorgen" (behind the guard: the one-time link's session, Host, Origin,
CSRF). The passphrase is typed there, never logged, never autocompleted; wrong ones slow the
next try down. "Lås nu" and an idle time the person sees and sets lock it again.

Locked means blind: the Keeper then holds nothing the agent opened (the identity, the cache
and its key, the hub's session token all belong to what `opener` returned and are dropped with
it), follows nothing, and every page but the unlock page sends the browser there. What the hub
holds meanwhile waits for the next unlock, when the agent catches up.

Python gives no way to wipe the bytes of a str or bytes object: the passphrase (as the form
delivered it) and the keys are dropped, not overwritten, and live on in freed memory until it
is reused (docs/threat-model.md says so)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Generic, Protocol, TypeVar

from aiohttp import web

from hub.errors import HubError, KeyFileError
from hub.localagent.security import AUTH, CSRF, START_PATH
from hub.localagent.templates import TEMPLATES

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from aiohttp.typedefs import Handler, Middleware

log = logging.getLogger("hub.localagent")

UNLOCK_PATH: Final = "/las-upp"
LOCK_PATH: Final = "/las-nu"
IDLE_PATH: Final = "/lasning"
IDLE_CHOICES: Final = (5, 15, 30, 60, 120)  # minutes the person may choose between
IDLE_DEFAULT: Final = 15
FIRST_WAIT: Final = 1.0  # seconds after the first wrong passphrase, doubled after each next
LONGEST_WAIT: Final = 300.0
# Pages asked for by the pages' own script (live.js) are not the person at work: they do not
# keep the agent unlocked.
NOT_ACTIVITY: Final = ("/status.json",)


class Holdable(Protocol):
    """What an unlocked agent is: it follows the hub while held, and closes when let go."""

    async def follow(self, stop: asyncio.Event) -> None: ...
    async def close(self) -> None: ...


H = TypeVar("H", bound=Holdable)


class WaitError(Exception):
    """Too soon after a wrong passphrase; `seconds` left."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"wait {seconds:.0f} s")
        self.seconds = seconds


@dataclass
class Keeper(Generic[H]):
    """The one thing a local agent unlocks: `opener` turns the passphrase into the open agent
    (KeyFileError keyfile_wrong_passphrase when it is wrong); locking closes and drops it."""

    opener: Callable[[str], Awaitable[H]] | None
    # How to let go of what opener returned (default: its close()); the inbox closes its
    # cache too.
    closer: Callable[[H], Awaitable[None]] | None = None
    idle_minutes: int = IDLE_DEFAULT
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    held: H | None = None
    # What the pages keep in memory for a browser session, forgotten at every lock (G18).
    forget_at_lock: list[Callable[[], None]] = field(default_factory=list)
    locked_at: float | None = None  # wall-clock time the agent was last locked (or started)
    failures: int = 0  # wrong passphrases in a row
    _not_before: float = 0.0
    _last_active: float = 0.0
    _stop: asyncio.Event | None = None
    _follower: asyncio.Task[None] | None = None
    _turn: asyncio.Lock = field(default_factory=asyncio.Lock)  # one unlock or lock at a time

    def __post_init__(self) -> None:
        if self.held is None and self.locked_at is None:
            self.locked_at = self.wall()
        self._last_active = self.clock()

    @property
    def locked(self) -> bool:
        return self.held is None

    def wait_left(self) -> float:
        return max(0.0, self._not_before - self.clock())

    async def unlock(self, passphrase: str) -> None:
        """Open the agent with `passphrase`. WaitError when a wrong one came too recently,
        KeyFileError when this one is wrong (the wait then grows), the opener's own error when
        the agent cannot start (the passphrase was right)."""
        async with self._turn:
            if self.held is not None:
                return
            if self.opener is None:
                raise RuntimeError("this agent cannot be unlocked again: start it anew")
            left = self.wait_left()
            if left > 0:
                raise WaitError(left)
            try:
                opened = await self.opener(passphrase)
            except KeyFileError as exc:
                if exc.code == "keyfile_wrong_passphrase":
                    self.failures += 1
                    wait = min(FIRST_WAIT * 2 ** (self.failures - 1), LONGEST_WAIT)
                    self._not_before = self.clock() + wait
                    log.info("unlock refused: wrong passphrase (%d in a row)", self.failures)
                raise
            self.failures = 0
            self._not_before = 0.0
            self._hold(opened)
            log.info("unlocked")

    def _hold(self, opened: H) -> None:
        self.held = opened
        self.locked_at = None
        self._last_active = self.clock()
        self._stop = asyncio.Event()
        self._follower = asyncio.create_task(opened.follow(self._stop))

    async def lock(self) -> None:
        """Stop following the hub, close the agent and drop every reference to it."""
        async with self._turn:
            held, self.held = self.held, None
            for forget in self.forget_at_lock:
                forget()
            if held is None:
                return
            self.locked_at = self.wall()
            stop, follower, self._stop, self._follower = self._stop, self._follower, None, None
            if stop is not None:
                stop.set()
            if follower is not None:
                follower.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await follower
            try:
                await (held.close() if self.closer is None else self.closer(held))
            finally:
                del held
            log.info("locked")

    def touch(self) -> None:
        self._last_active = self.clock()

    def idle_for(self) -> float:
        return self.clock() - self._last_active

    async def lock_if_idle(self) -> bool:
        if self.held is not None and self.idle_for() >= self.idle_minutes * 60:
            await self.lock()
            return True
        return False

    def set_idle(self, minutes: int) -> None:
        if minutes not in IDLE_CHOICES:
            offered = ", ".join(str(m) for m in IDLE_CHOICES)
            raise ValueError(f"välj en av tiderna {offered} minuter, inte {minutes}")
        self.idle_minutes = minutes

    def cleanup_ctx(self, app: web.Application) -> AsyncIterator[None]:
        """For the app's cleanup_ctx: follow an agent held from the start, watch the idle
        time while served, and lock when the app stops."""
        return self._served(app)

    async def _served(self, _app: web.Application) -> AsyncIterator[None]:
        if self.held is not None and self._follower is None:
            self._hold(self.held)
        watcher = asyncio.create_task(self._watch())
        try:
            yield
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await self.lock()

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(10)
            await self.lock_if_idle()


KEEPER: Final = web.AppKey("keeper", Keeper[Any])


def lockable(app: web.Application, keeper: Keeper[Any]) -> None:
    """Add the unlock page, "Lås nu" and the idle setting to a guarded agent's `app`; its own
    pages answer only while the keeper holds the agent. Call before the app starts."""
    app[KEEPER] = keeper
    app.middlewares.append(_gate(keeper))
    app.router.add_get(UNLOCK_PATH, unlock_page)
    app.router.add_post(UNLOCK_PATH, unlock_post)
    app.router.add_post(LOCK_PATH, lock_post)
    app.router.add_post(IDLE_PATH, idle_post)
    app.cleanup_ctx.append(keeper.cleanup_ctx)


_ALWAYS_OPEN = (UNLOCK_PATH, LOCK_PATH, IDLE_PATH, START_PATH)


def _gate(keeper: Keeper[Any]) -> Middleware:
    """Runs after the guard: while locked, every page of the agent's own leads to the unlock
    page; while unlocked, a page the person asks for keeps it unlocked."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if path in _ALWAYS_OPEN or path.startswith("/static/"):
            return await handler(request)
        if keeper.locked:
            if path in NOT_ACTIVITY:
                return web.json_response({"locked": True}, status=423)
            raise web.HTTPSeeOther(UNLOCK_PATH)
        if path not in NOT_ACTIVITY:
            keeper.touch()
        return await handler(request)

    return middleware


def _minutes(seconds: float) -> int:
    return max(0, int(seconds // 60))


async def _page(
    request: web.Request, *, status: int = 200, error: str = "", wait: float = 0.0
) -> web.Response:
    keeper = request.app[KEEPER]
    auth = request.app[AUTH]
    locked_at = keeper.locked_at
    since = (
        datetime.fromtimestamp(locked_at, UTC).astimezone().strftime("%Y-%m-%d %H:%M")
        if locked_at is not None
        else ""
    )
    html = (
        request.app[TEMPLATES]
        .get_template("localagent/unlock.html")
        .render(
            product=auth.product,
            title=auth.title,
            stylesheet=auth.stylesheet,
            csrf=request.get(CSRF, ""),
            locked=keeper.locked,
            since=since,
            locked_minutes=_minutes(keeper.wall() - locked_at) if locked_at is not None else 0,
            idle_minutes=keeper.idle_minutes,
            idle_choices=IDLE_CHOICES,
            error=error,
            wait_seconds=int(wait + 0.999),
            can_unlock=keeper.opener is not None,
        )
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8", status=status)


async def unlock_page(request: web.Request) -> web.StreamResponse:
    keeper = request.app[KEEPER]
    if not keeper.locked:
        raise web.HTTPSeeOther("/")
    return await _page(request, wait=keeper.wait_left())


async def unlock_post(request: web.Request) -> web.StreamResponse:
    keeper = request.app[KEEPER]
    form = await request.post()
    passphrase = form.get("passphrase")
    del form
    if not isinstance(passphrase, str) or not passphrase:
        return await _page(request, status=400, error="Skriv din lösenfras.")
    try:
        await keeper.unlock(passphrase)
    except WaitError as exc:
        return await _page(
            request,
            status=429,
            error="Vänta en stund innan du försöker igen.",
            wait=exc.seconds,
        )
    except KeyFileError as exc:
        if exc.code != "keyfile_wrong_passphrase":
            log.warning("unlock failed: %s", exc.code)
            return await _page(request, status=500, error=exc.message)
        return await _page(
            request,
            status=403,
            error="Fel lösenfras. Försök igen.",
            wait=keeper.wait_left(),
        )
    except HubError as exc:  # the passphrase was right; the hub or the directory disagreed
        log.warning("unlock failed: %s", exc.code)
        return await _page(request, status=502, error=exc.message)
    except (OSError, ValueError) as exc:
        log.warning("unlock failed: %s", type(exc).__name__)
        return await _page(request, status=500, error=f"Inkorgen kunde inte starta: {exc}")
    finally:
        del passphrase
    raise web.HTTPSeeOther("/")


async def lock_post(request: web.Request) -> web.StreamResponse:
    await request.app[KEEPER].lock()
    raise web.HTTPSeeOther(UNLOCK_PATH)


async def idle_post(request: web.Request) -> web.StreamResponse:
    keeper = request.app[KEEPER]
    form = await request.post()
    try:
        keeper.set_idle(int(str(form.get("minutes", ""))))
    except ValueError:
        raise web.HTTPBadRequest(text="Välj en av tiderna i listan.") from None
    keeper.touch()
    back = str(form.get("back", ""))
    raise web.HTTPSeeOther(back if back in {"/", UNLOCK_PATH} else "/")

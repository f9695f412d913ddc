"""Several hub instances on one PostgreSQL database: the singletons of hub/server/singletons.py
made shared, and the caches that must see a revocation kept in step (issue 20).

- SharedLive: a live event is published to the database; every instance (this one too) is woken
  by NOTIFY, re-reads the events after the last it told, and tells its own sockets.
- SharedDirectoryCache: a stored directory record drops the network's directory in every
  instance (NOTIFY naming the network); a listener that reconnects drops them all, since a
  notification may have been missed meanwhile. Between the commit on one instance and the
  notification reaching another lie milliseconds in which the other may still act on the old
  directory: the same window as a request already past its check on a single hub.
- SharedRateLimiter: sign-in attempts counted in one table by every instance.
Imported only when hub.toml names a PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from hub.server.directory_cache import DirectoryCache
from hub.server.live import LiveHub
from hub.storage.pg_signals import DIRECTORY_CHANNEL, LIVE_CHANNEL, Listener, Signals

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from hub.server.singletons import LiveEvent
    from hub.storage.postgres import PostgresStorage

log = logging.getLogger("hub.server")
FORGET_EVERY: Final = 1000  # sign-in attempts between sweeps of keys gone quiet


class SharedLive(LiveHub):
    def __init__(self, signals: Signals) -> None:
        super().__init__()
        self._signals = signals
        self._last = 0
        self._wake = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._last = await self._signals.last_live_id()
        self._pump = asyncio.create_task(self._run(), name="live-pump")

    async def tell(self, network_id: str, municipalities: set[str], event: LiveEvent) -> None:
        """Published for every instance; this one's sockets hear it through the same wake-up.
        A hint: if it cannot be published, the change is stored all the same and the inboxes
        find it on their next sync, so the caller's answer does not fail for it."""
        try:
            await self._signals.publish_live(network_id, municipalities, dict(event))
        except Exception:
            log.warning("a live event could not be published", exc_info=True)

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                while rows := await self._signals.live_after(self._last):
                    for row in rows:
                        await LiveHub.tell(self, row.network_id, set(row.municipalities), row.event)
                        self._last = row.id
            except Exception:
                log.warning("live events could not be read", exc_info=True)

    async def close_all(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        await super().close_all()


class SharedDirectoryCache(DirectoryCache):
    def __init__(self, storage: PostgresStorage) -> None:
        super().__init__(storage)
        self._signals = storage.signals

    @contextlib.asynccontextmanager
    async def changing(self, network_id: str) -> AsyncIterator[None]:
        """As DirectoryCache's, and once committed every other instance drops it too."""
        async with super().changing(network_id):
            yield
        try:
            await self._signals.directory_changed(network_id)
        except Exception:
            log.exception("the other instances could not be told of a directory change")

    def forget_all(self) -> None:
        for network_id in list(self._cached):
            self.forget(network_id)
        self._generation += 1


class SharedRateLimiter:
    """AttemptLimiter across instances: `name` keeps each limiter's keys apart."""

    def __init__(self, signals: Signals, name: str, limit: int, window_seconds: float) -> None:
        self._signals = signals
        self._name = name
        self._limit = limit
        self._window = window_seconds
        self._calls = 0

    async def allow(self, key: str, now: float) -> bool:
        self._calls += 1
        if self._calls % FORGET_EVERY == 0:
            await self._signals.forget_attempts(now - self._window)
        return await self._signals.allow_attempt(
            f"{self._name}:{key}", now, self._limit, self._window
        )


@dataclass
class SharedInstance:
    """What one instance runs to share with the others: its LISTEN connection among them."""

    live: SharedLive
    directories: SharedDirectoryCache
    by_key: SharedRateLimiter
    by_address: SharedRateLimiter
    listener: Listener

    @classmethod
    async def start(
        cls, storage: PostgresStorage, per_minute: int, listen_url: str | None = None
    ) -> SharedInstance:
        """`listen_url`: where LISTEN goes, if not the storage's own database URL."""
        signals = storage.signals
        live = SharedLive(signals)
        await live.start()
        directories = SharedDirectoryCache(storage)

        async def on_notify(channel: str, payload: str) -> None:
            if channel == LIVE_CHANNEL:
                live.wake()
            elif channel == DIRECTORY_CHANNEL:
                directories.forget(payload)

        async def on_connect() -> None:
            directories.forget_all()  # what changed while no one listened is read afresh
            live.wake()

        channels = (LIVE_CHANNEL, DIRECTORY_CHANNEL)
        listener = Listener(listen_url or storage.url, channels, on_notify, on_connect)
        await listener.start()
        return cls(
            live,
            directories,
            SharedRateLimiter(signals, "key", per_minute, 60),
            SharedRateLimiter(signals, "address", per_minute * 6, 60),
            listener,
        )

    async def close(self) -> None:
        await self.listener.close()
        await self.live.close_all()

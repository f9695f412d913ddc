"""What several hub instances on one PostgreSQL database tell each other: LISTEN/NOTIFY as a
wake-up only, each instance then re-reading what changed from the database.

- Live events (hub/server/shared.py's SharedLive): published as a row of live_events (kept
  minutes, and removed after every retention run, as they name cases) and a NOTIFY on
  LIVE_CHANNEL; every instance, the publishing one too, wakes and reads the rows
  after the last it read, so a notification lost while its listener reconnected is caught up.
- Cache invalidation (hub/server/directory_cache.py): a NOTIFY on DIRECTORY_CHANNEL naming the
  network whose directory changed.
- Sign-in attempts (hub/server/ratelimit.py's SharedRateLimiter): one table every instance
  counts in.

Each instance keeps one direct session connection for LISTEN (`Listener`): PgBouncer's
transaction pooling cannot carry LISTEN, so its URL must reach PostgreSQL itself (or a session
pool). Everything else goes through the storage's pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import psycopg

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from psycopg_pool import AsyncConnectionPool

log = logging.getLogger("hub.storage")

LIVE_CHANNEL: Final = "hub_live"
DIRECTORY_CHANNEL: Final = "hub_directory"
LIVE_LOCK: Final = 0x6875_6200_0003
LIVE_KEEP: Final = "5 minutes"  # long enough for a listener's reconnection to catch up
PRUNE_EVERY: Final = 100  # live events published between prunes of old ones
RECONNECT_SECONDS: Final = 1.0
# Every connection: autocommit (no transaction left open between statements) and prepared
# statements off, so it also runs behind PgBouncer's transaction pooling.
CONNECT_ARGS: Final[dict[str, Any]] = {"autocommit": True, "prepare_threshold": None}


@dataclass(frozen=True)
class LiveRow:
    id: int
    network_id: str
    municipalities: tuple[str, ...]
    event: dict[str, str | int]


class Signals:
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool
        self._published = 0

    async def publish_live(
        self, network_id: str, municipalities: set[str], event: dict[str, str | int]
    ) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (LIVE_LOCK,))
            await conn.execute(
                "INSERT INTO live_events (network_id, municipalities, event) VALUES (%s, %s, %s)",
                (network_id, json.dumps(sorted(municipalities)), json.dumps(event)),
            )
            await conn.execute("SELECT pg_notify(%s, '')", (LIVE_CHANNEL,))
            self._published += 1
            if self._published % PRUNE_EVERY == 0:
                await conn.execute(
                    "DELETE FROM live_events WHERE created_at < now() - %s::interval",
                    (LIVE_KEEP,),
                )

    async def last_live_id(self) -> int:
        async with self._pool.connection() as conn:
            cursor = await conn.execute("SELECT COALESCE(MAX(id), 0) FROM live_events")
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def live_after(self, after: int) -> list[LiveRow]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT id, network_id, municipalities, event FROM live_events WHERE id > %s"
                " ORDER BY id LIMIT 1000",
                (after,),
            )
            rows = await cursor.fetchall()
        return [LiveRow(int(r[0]), r[1], tuple(json.loads(r[2])), json.loads(r[3])) for r in rows]

    async def directory_changed(self, network_id: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute("SELECT pg_notify(%s, %s)", (DIRECTORY_CHANNEL, network_id))

    async def allow_attempt(self, key: str, now: float, limit: int, window: float) -> bool:
        """Count one attempt for `key` unless `limit` fall within the window; one key's
        attempts are counted under a lock, so instances at once cannot both pass the last.
        Only a hash of the key is stored: no address or key id lands in the database (or in
        its backups) for a sign-in attempt."""
        key = hashlib.blake2b(key.encode(), digest_size=16, person=b"hub-attempts").hexdigest()
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))
            await conn.execute(
                "DELETE FROM signin_attempts WHERE key = %s AND at <= %s", (key, now - window)
            )
            cursor = await conn.execute(
                "SELECT count(*) FROM signin_attempts WHERE key = %s", (key,)
            )
            row = await cursor.fetchone()
            if row is not None and row[0] >= limit:
                return False
            await conn.execute("INSERT INTO signin_attempts (key, at) VALUES (%s, %s)", (key, now))
            return True

    async def forget_attempts(self, before: float) -> int:
        """Remove every attempt older than `before` (keys that went quiet)."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute("DELETE FROM signin_attempts WHERE at <= %s", (before,))
            return int(cursor.rowcount)


class Listener:
    """One direct connection that LISTENs; `on_notify(channel, payload)` for each notification
    and `on_connect()` after each (re)connection, when notifications may have been missed."""

    def __init__(
        self,
        url: str,
        channels: tuple[str, ...],
        on_notify: Callable[[str, str], Awaitable[None]],
        on_connect: Callable[[], Awaitable[None]],
    ) -> None:
        self._url = url
        self._channels = channels
        self._on_notify = on_notify
        self._on_connect = on_connect
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="pg-listener")
        async with asyncio.timeout(30):
            await self.connected.wait()

    async def _run(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._url, **CONNECT_ARGS) as conn:
                    for channel in self._channels:
                        await conn.execute(f"LISTEN {channel}")
                    await self._on_connect()
                    self.connected.set()
                    async for note in conn.notifies():
                        await self._on_notify(note.channel, note.payload)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("LISTEN connection lost; reconnecting", exc_info=True)
            self.connected.clear()
            await asyncio.sleep(RECONNECT_SECONDS)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

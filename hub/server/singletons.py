"""The three things that still assume one hub process, each behind a small interface that a
database-backed implementation (several hub instances on PostgreSQL) can replace:

- `AttemptLimiter`: sign-in attempts per key and per address. Here a sliding window in memory
  (hub/server/ratelimit.py); across instances, a table of recent attempts.
- `LiveChannel`: who is listening for what is new. Here the sockets of this process; across
  instances, the same sockets told through LISTEN/NOTIFY of every instance's changes.
- `StartupRecovery`: what the deadline clock settles before its first tick. Here every notice
  found 'sending' was this process's and is marked 'unknown'; across instances, only those
  whose instance's lease ran out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from aiohttp import web

    from hub.storage.base import Storage

LiveEvent = Mapping[str, str | int]  # ids, kinds and counters only: never content


class AttemptLimiter(Protocol):
    async def allow(self, key: str, now: float) -> bool:
        """Count one attempt for `key`; False once the limit is reached within the window."""
        ...


class LiveChannel(Protocol):
    def add(self, network_id: str, municipality_id: str, ws: web.WebSocketResponse) -> None: ...
    def remove(self, network_id: str, municipality_id: str, ws: web.WebSocketResponse) -> None: ...
    async def tell(self, network_id: str, municipalities: set[str], event: LiveEvent) -> None:
        """A hint to every listener of these municipalities; a slow or gone one is skipped."""
        ...

    async def close_all(self) -> None: ...


class StartupRecovery(Protocol):
    # True: also before every tick, for an instance that stopped and never came back.
    periodic: bool

    async def recover(self, at: int) -> int:
        """Settle what a crash left half-done; returns how many notices were marked unknown."""
        ...


class OneProcessRecovery:
    """This process was the only one sending: every notice still 'sending' was interrupted
    (it may or may not have gone out) and is marked 'unknown' for the administrator, audited."""

    periodic = False

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def recover(self, at: int) -> int:
        async with self._storage.transaction() as tx:
            unknown = await tx.mark_interrupted_sends(at)
            if unknown:
                await tx.append_audit(
                    at=at, actor="system", action="notices_interrupted", subject={"count": unknown}
                )
        return unknown


class LeaseRecovery(OneProcessRecovery):
    """Several instances on one database (PostgreSQL): a notice 'sending' may be another live
    instance's. The storage marks 'unknown' only the claims whose lease ran out
    (hub/storage/postgres.py), at start-up and before every tick, so the claims of an instance
    that died are settled by the others even if it never returns."""

    periodic = True

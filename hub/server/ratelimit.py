"""A sliding-window limit per key (a key id, an address), in this process's memory: the
AttemptLimiter of one hub process (hub/server/singletons.py). The clock is an argument."""

from __future__ import annotations

from collections import deque


class RateLimiter:
    def __init__(self, limit: int, window_seconds: float) -> None:
        self._limit = limit
        self._window = window_seconds
        self._hits: dict[str, deque[float]] = {}

    async def allow(self, key: str, now: float) -> bool:
        """Count one attempt for `key`; False once `limit` attempts fall within the window."""
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self._window:
            hits.popleft()
        if len(hits) >= self._limit:
            return False
        hits.append(now)
        if len(self._hits) > 100_000:  # bound memory under a flood of distinct keys
            self._forget_idle(now)
        return True

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, h in self._hits.items() if not h or h[-1] <= now - self._window]:
            del self._hits[key]

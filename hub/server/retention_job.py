"""Retention inside `hub serve`: hub/server/retention.py once a day, the first time an hour
after start-up. It takes the data folder's maintenance lock like `hub gallra`; while a backup
holds it, it tries again an hour later."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Final

from hub.server import retention
from hub.storage.backup import BackupError, maintenance_lock

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from hub.protocol.deadlines import SwedishCalendar
    from hub.server.retention import RetentionResult
    from hub.storage.base import Storage

log = logging.getLogger("hub.retention")

FIRST_RUN_SECONDS: Final = 3600.0  # after start-up: not in the way of a restart's rush
EVERY_SECONDS: Final = 86_400.0
RETRY_SECONDS: Final = 3600.0


class RetentionJob:
    def __init__(
        self,
        storage: Storage,
        data_dir: Path,
        *,
        clock: Callable[[], float],
        calendar: SwedishCalendar,
    ) -> None:
        self._storage = storage
        self._data_dir = data_dir
        self._clock = clock
        self._calendar = calendar

    async def run_once(self) -> RetentionResult | None:
        """One retention run now; None if another maintenance task holds the lock."""
        try:
            with maintenance_lock(self._data_dir, "gallringen"):
                return await retention.run(
                    self._storage, now=int(self._clock()), calendar=self._calendar
                )
        except BackupError:
            log.info("retention: another maintenance task holds the lock; trying again later")
            return None

    async def run(self) -> None:
        delay = FIRST_RUN_SECONDS
        while True:
            await asyncio.sleep(delay)
            try:
                result = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("retention failed; trying again later")
                result = None
            delay = EVERY_SECONDS if result is not None and result.reclaimed else RETRY_SECONDS

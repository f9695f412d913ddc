"""The deadline clock inside `hub serve`: it sleeps until the next alarm or notice is due (one
indexed lookup), fires what is due, sends the outbox, and sleeps again. A change that may bring
the next instant nearer pokes it awake.

Exactly once: an alarm is deleted and marked fired in the transaction that writes its notices
(a restart finds it either still waiting or done, never half); a notice is claimed ('sending')
in a committed transaction before its e-mail goes, and one found 'sending' at start-up is
never sent again but shown to the administrator as 'unknown'. A hub that was down for a day
finds everything that came due meanwhile still waiting, and sends it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from hub.protocol.notices import Audience, Topic, latest_per_clock, render_notice
from hub.server import mailer, notify

if TYPE_CHECKING:
    from hub.server.config import SmtpConfig
    from hub.server.notify import Notices
    from hub.server.singletons import StartupRecovery
    from hub.server.typedefs import Clock
    from hub.storage.base import AlarmRow, NoticeRow, Storage

log = logging.getLogger("hub.scheduler")

ALARM_BATCH: Final = 500  # alarms fired per transaction
NOTICE_BATCH: Final = 200  # notices claimed per round
MAX_ATTEMPTS: Final = 8  # then failed for good: about a day of trying
FIRST_RETRY_SECONDS: Final = 60
MAX_RETRY_SECONDS: Final = 6 * 3600
MAX_SLEEP_SECONDS: Final = 3600.0  # wake at least hourly, whatever the clock says
ERROR_PAUSE_SECONDS: Final = 5.0
PURGE_EVERY_SECONDS: Final = 3600  # expired sessions and challenges are forgotten hourly


def retry_delay(attempts: int) -> int:
    """1, 2, 4 … minutes after each failed attempt, at most six hours."""
    return int(min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), MAX_RETRY_SECONDS))


@dataclass(frozen=True)
class TickReport:
    alarms_fired: int
    notices_queued: int
    emails_sent: int
    emails_failed: int
    emails_retrying: int


class Scheduler:
    def __init__(
        self,
        storage: Storage,
        notices: Notices,
        *,
        clock: Clock,
        smtp: SmtpConfig | None,
        recovery: StartupRecovery,
    ) -> None:
        """`recovery` settles, before the first tick, what a crash left half-sent."""
        self._storage = storage
        self._notices = notices
        self._clock = clock
        self._smtp = smtp
        self._recovery = recovery
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._purged_at = 0

    def poke(self) -> None:
        """Something changed that may be due sooner than the scheduler thinks: look again."""
        self._wake.set()

    async def start(self) -> None:
        """At start-up, before the first tick: settle what a crash left half-sent."""
        unknown = await self._recovery.recover(self._now())
        if unknown:
            log.warning("%d notices were being sent when the hub stopped: marked unknown", unknown)
        if self._smtp is None:
            log.info("no [smtp] configured: notices are shown in the inboxes only")

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.tick()
                delay = await self.seconds_to_next()
            except asyncio.CancelledError:
                raise
            except Exception:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    # The hub is stopping and the cancel met a failing statement on its way
                    # out: stop, as the cancel asked.
                    raise asyncio.CancelledError from None
                log.exception("scheduler tick failed; trying again shortly")
                delay = ERROR_PAUSE_SECONDS
            # asyncio.timeout, not wait_for: Python 3.11's wait_for returns normally when a
            # poke and the hub's shutdown (cancel) arrive together, and the clock then slept
            # on through the shutdown.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    async def seconds_to_next(self) -> float:
        storage = self._storage
        candidates = [await storage.next_alarm_at()]
        # Without [smtp] (turned off after notices were queued) a due notice is never sent,
        # so it must not wake the clock: it would be due again at once, and the clock spin.
        if self._smtp is not None:
            candidates.append(await storage.next_notice_at())
        instants = [t for t in candidates if t]
        if not instants:
            return MAX_SLEEP_SECONDS
        return max(0.0, min(min(instants) - self._clock(), MAX_SLEEP_SECONDS))

    def _now(self) -> int:
        return int(self._clock())

    async def tick(self) -> TickReport:
        """Fire every alarm due now and send every notice due now. One instant for both, so
        what fires together goes out together (one e-mail per address)."""
        async with self._lock:
            now = self._now()
            if self._recovery.periodic:
                unknown = await self._recovery.recover(now)
                if unknown:
                    log.warning("%d notices whose sender stopped: marked unknown", unknown)
            fired, queued = 0, 0
            while True:
                batch_fired, batch_queued, more = await self._fire_batch(now)
                fired, queued = fired + batch_fired, queued + batch_queued
                if not more:
                    break
            sent, failed, retrying = await self._send_due(now)
            if now - self._purged_at >= PURGE_EVERY_SECONDS:
                async with self._storage.transaction() as tx:
                    await tx.purge_expired(now)
                self._purged_at = now
            return TickReport(fired, queued, sent, failed, retrying)

    async def _fire_batch(self, now: int) -> tuple[int, int, bool]:
        async with self._storage.transaction() as tx:
            rows = await tx.take_due_alarms(now, ALARM_BATCH)
            by_case: dict[bytes, list[AlarmRow]] = defaultdict(list)
            for row in rows:
                by_case[row.case_id].append(row)
            fired = queued = 0
            for case_rows in by_case.values():
                latest = {
                    a.key(case_rows[0].case_id.hex())
                    for a in latest_per_clock(notify.to_alarm(r) for r in case_rows)
                }
                for row in case_rows:
                    key = notify.to_alarm(row).key(row.case_id.hex())
                    # A superseded stage is marked fired too, so it never comes back.
                    if not await tx.mark_fired(key, now) or key not in latest:
                        continue
                    count = await self._notices.queue_alarm(tx, row, now)
                    await tx.append_audit(
                        at=now,
                        actor="system",
                        action="deadline_alarm",
                        subject={
                            "case_id": row.case_id.hex(),
                            "municipality": row.municipality,
                            "kind": row.kind,
                            "stage": row.stage,
                            "notices": count,
                        },
                    )
                    fired, queued = fired + 1, queued + count
            return fired, queued, len(rows) == ALARM_BATCH

    async def _send_due(self, now: int) -> tuple[int, int, int]:
        smtp = self._smtp
        if smtp is None:
            return 0, 0, 0
        sent = failed = retrying = 0
        while True:
            batch = uuid.uuid4().hex
            async with self._storage.transaction() as tx:
                claimed = await tx.claim_notices(now, NOTICE_BATCH, batch)
            if not claimed:
                return sent, failed, retrying
            groups: dict[tuple[str, str], list[NoticeRow]] = defaultdict(list)
            for notice in claimed:
                groups[(notice.address, notice.audience)].append(notice)
            for number, ((address, audience), notices) in enumerate(sorted(groups.items())):
                outcome = await self._send_one(
                    smtp, address, audience, notices, f"{batch}.{number}"
                )
                sent += outcome == "sent"
                failed += outcome == "failed"
                retrying += outcome == "pending"

    async def _send_one(
        self,
        smtp: SmtpConfig,
        address: str,
        audience: str,
        notices: list[NoticeRow],
        message_id: str,
    ) -> str:
        """One e-mail for everything waiting for one address: counts by topic, nothing else."""
        counts: dict[Topic, int] = defaultdict(int)
        for notice in notices:
            counts[Topic(notice.topic)] += 1
        text = render_notice(Audience(audience), counts, smtp.inbox_link)
        ids = [n.id for n in notices]
        error: str | None = None
        try:
            await mailer.send(smtp, address, text, message_id, self._clock())
            status, retry_at = "sent", None
        except mailer.SendFailed as exc:
            error = exc.reason
            attempts = max(n.attempts for n in notices)
            if exc.permanent or attempts >= MAX_ATTEMPTS:
                status, retry_at = "failed", None
            else:
                status, retry_at = "pending", self._now() + retry_delay(attempts)
            log.warning("notice e-mail not taken (%s): %s", error, status)
        now = self._now()
        async with self._storage.transaction() as tx:
            await tx.finish_notices(ids, status=status, at=now, error=error, retry_at=retry_at)
            if status == "failed":
                await tx.append_audit(
                    at=now,
                    actor="system",
                    action="notice_failed",
                    subject={"notices": len(ids), "reason": error or ""},
                )
        return status

"""Typed keys for what the application holds (aiohttp's AppKey), in one place."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from hub.protocol.deadlines import SwedishCalendar
from hub.server.case_transitions import CaseTransitions
from hub.server.config import ServerConfig
from hub.server.directory_cache import DirectoryCache, SessionCache
from hub.server.ingest import GroupCommit
from hub.server.notify import Notices
from hub.server.report_source import ReportCache
from hub.server.retention_job import RetentionJob
from hub.server.scheduler import Scheduler
from hub.server.singletons import AttemptLimiter, LiveChannel
from hub.server.witnessing import WitnessRounds
from hub.storage.base import Storage

Clock = Callable[[], float]

CONFIG = web.AppKey("config", ServerConfig)
STORAGE = web.AppKey("storage", Storage)
CLOCK = web.AppKey[Clock]("clock")
DIRECTORIES = web.AppKey("directories", DirectoryCache)
SESSIONS = web.AppKey("sessions", SessionCache)
INGEST = web.AppKey("ingest", GroupCommit)
LIVE = web.AppKey[LiveChannel]("live")
SIGNIN_BY_KEY = web.AppKey[AttemptLimiter]("signin_by_key")
SIGNIN_BY_ADDRESS = web.AppKey[AttemptLimiter]("signin_by_address")
CALENDAR = web.AppKey("calendar", SwedishCalendar)
REPORTS = web.AppKey("reports", ReportCache)
SCHEDULER = web.AppKey("scheduler", Scheduler)
NOTICES = web.AppKey("notices", Notices)
CASES = web.AppKey("cases", CaseTransitions)
WITNESSES = web.AppKey("witnesses", WitnessRounds)
RETENTION = web.AppKey("retention", RetentionJob)

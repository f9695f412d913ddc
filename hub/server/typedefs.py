"""Typed keys for what the application holds (aiohttp's AppKey), in one place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from hub.protocol.deadlines import SwedishCalendar
from hub.report.source import ReportCache
from hub.server.config import ServerConfig
from hub.server.directory_cache import DirectoryCache, SessionCache
from hub.server.ingest import GroupCommit
from hub.server.live import LiveHub
from hub.server.ratelimit import RateLimiter
from hub.storage.base import Storage

Clock = Callable[[], float]

CONFIG = web.AppKey("config", ServerConfig)
STORAGE = web.AppKey("storage", Storage)
CLOCK = web.AppKey[Clock]("clock")
DIRECTORIES = web.AppKey("directories", DirectoryCache)
SESSIONS = web.AppKey("sessions", SessionCache)
INGEST = web.AppKey("ingest", GroupCommit)
LIVE = web.AppKey("live", LiveHub)
SIGNIN_BY_KEY = web.AppKey("signin_by_key", RateLimiter)
SIGNIN_BY_ADDRESS = web.AppKey("signin_by_address", RateLimiter)
CALENDAR = web.AppKey("calendar", SwedishCalendar)
REPORTS = web.AppKey("reports", ReportCache)
# The scheduler's type is named by string: hub.server.scheduler imports this module.
SCHEDULER = web.AppKey[Any]("scheduler")

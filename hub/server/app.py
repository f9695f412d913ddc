"""The hub's application factory: configuration in, a web.Application out; no global state and
no I/O at import. `cleanup_ctx` owns the storage and the deadline clock (server/scheduler.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import sys
import time
from typing import TYPE_CHECKING, Final

from aiohttp import WSMsgType, web

from hub.protocol.deadlines import SwedishCalendar
from hub.protocol.roles import AccountRole
from hub.server import (
    auth,
    case_steps,
    cases,
    directory_routes,
    enrolment_routes,
    envelopes,
    log_routes,
    metrics,
    notice_routes,
    outcome_routes,
    recovery_routes,
    statistics_routes,
)
from hub.server.auth import caller_of
from hub.server.case_transitions import CaseTransitions
from hub.server.directory_cache import DirectoryCache, SessionCache
from hub.server.errors import error_middleware, security_headers
from hub.server.ingest import GroupCommit
from hub.server.live import LiveHub
from hub.server.notify import Notices
from hub.server.query import query_middleware
from hub.server.ratelimit import RateLimiter
from hub.server.report_source import ReportCache
from hub.server.retention_job import RetentionJob
from hub.server.scheduler import Scheduler
from hub.server.singletons import LeaseRecovery, OneProcessRecovery
from hub.server.typedefs import (
    CALENDAR,
    CASES,
    CLOCK,
    CONFIG,
    DIRECTORIES,
    INGEST,
    LIVE,
    NOTICES,
    REPORTS,
    RETENTION,
    SCHEDULER,
    SESSIONS,
    SIGNIN_BY_ADDRESS,
    SIGNIN_BY_KEY,
    STORAGE,
    WITNESSES,
    Clock,
)
from hub.server.witnessing import WitnessRounds
from hub.storage.choose import open_storage

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from hub.server.config import ServerConfig
    from hub.storage.base import Storage

API = "/api/v1"
CLOCK_STOP_SECONDS: Final = 10.0
log = logging.getLogger("hub.server")


def init_app(config: ServerConfig, *, clock: Clock = time.time) -> web.Application:
    app = web.Application(
        middlewares=[
            metrics.metrics_middleware,  # outermost: it counts the answer the others settled on
            error_middleware,
            security_headers,
            query_middleware,
        ],
        client_max_size=64 * 1024,  # JSON bodies; envelope uploads stream past this limit
    )
    app[CONFIG] = config
    app[CLOCK] = clock
    app[LIVE] = LiveHub()
    app[CALENDAR] = SwedishCalendar()
    app[REPORTS] = ReportCache()
    app[metrics.METRICS] = metrics.HubMetrics()
    per_minute = config.signin_attempts_per_minute
    app[SIGNIN_BY_KEY] = RateLimiter(per_minute, 60)
    app[SIGNIN_BY_ADDRESS] = RateLimiter(per_minute * 6, 60)
    app.cleanup_ctx.append(_storage_ctx)
    setup_routes(app)
    return app


async def _storage_ctx(app: web.Application) -> AsyncIterator[None]:
    storage: Storage = await open_storage(app[CONFIG].data_dir, app[CONFIG].database)
    app[STORAGE] = storage
    app[DIRECTORIES] = DirectoryCache(storage)
    shared = None
    if app[CONFIG].database is not None:  # several instances on one database
        from hub.server.shared import SharedInstance  # noqa: PLC0415 - psycopg only then
        from hub.storage.postgres import PostgresStorage  # noqa: PLC0415

        assert isinstance(storage, PostgresStorage)  # noqa: S101 - open_storage's choice
        config = app[CONFIG]
        shared = await SharedInstance.start(
            storage, config.signin_attempts_per_minute, config.listen_database
        )
        app[LIVE] = shared.live
        app[DIRECTORIES] = shared.directories
        app[SIGNIN_BY_KEY] = shared.by_key
        app[SIGNIN_BY_ADDRESS] = shared.by_address
    app[SESSIONS] = SessionCache(storage)
    notices = Notices(storage, app[DIRECTORIES], app[CONFIG].smtp)
    app[NOTICES] = notices
    ingest = GroupCommit(storage, notices.queue_new_message)
    app[INGEST] = ingest
    scheduler = Scheduler(
        storage,
        notices,
        clock=app[CLOCK],
        smtp=app[CONFIG].smtp,
        recovery=LeaseRecovery(storage) if app[CONFIG].database else OneProcessRecovery(storage),
    )
    app[SCHEDULER] = scheduler
    app[CASES] = CaseTransitions(
        storage, calendar=app[CALENDAR], live=app[LIVE], clock=app[CLOCK], poke=scheduler.poke
    )
    app[RETENTION] = RetentionJob(
        storage, app[CONFIG].data_dir, clock=app[CLOCK], calendar=app[CALENDAR]
    )
    await scheduler.start()
    clock_task = asyncio.create_task(scheduler.run(), name="deadline-clock")
    witnesses = WitnessRounds(storage, app[CONFIG].witness_poll_seconds)
    app[WITNESSES] = witnesses
    witness_task = asyncio.create_task(witnesses.run(), name="witness-rounds")
    retention_task = asyncio.create_task(app[RETENTION].run(), name="retention")
    yield
    retention_task.cancel()
    witness_task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await witness_task
    clock_task.cancel()
    # Bounded: a clock that does not stop (a bug) must not keep the hub from shutting down.
    # A retention run cancelled mid-case rolls that case back; the next run finishes it.
    _, pending = await asyncio.wait({clock_task, retention_task}, timeout=CLOCK_STOP_SECONDS)
    if pending:
        log.error("the deadline clock or retention did not stop within %s s", CLOCK_STOP_SECONDS)
    await app[LIVE].close_all()
    if shared is not None:
        await shared.close()
    await ingest.close()
    await storage.close()


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/healthz", health)
    r.add_get("/metrics", metrics.endpoint)
    r.add_post(f"{API}/auth/challenge", auth.challenge)
    r.add_post(f"{API}/auth/session", auth.session)
    r.add_get(f"{API}/networks/{{network}}", directory_routes.get_network)
    r.add_get(f"{API}/networks/{{network}}/directory", directory_routes.get_directory)
    r.add_post(f"{API}/networks/{{network}}/directory", directory_routes.add_record)
    r.add_get(f"{API}/networks/{{network}}/registry", directory_routes.get_registry)
    r.add_get(f"{API}/networks/{{network}}/log", log_routes.get_log)
    r.add_post(f"{API}/networks/{{network}}/log/checkpoints", log_routes.add_checkpoint)
    r.add_get(f"{API}/networks/{{network}}/municipalities", directory_routes.get_municipalities)
    r.add_put(
        f"{API}/networks/{{network}}/municipalities/{{municipality}}",
        directory_routes.put_municipality,
    )
    contact = f"{API}/networks/{{network}}/municipalities/{{municipality}}/contacts/{{person}}"
    r.add_put(contact, notice_routes.put_contact)
    r.add_delete(contact, notice_routes.delete_contact)
    r.add_get(f"{API}/networks/{{network}}/contacts", notice_routes.list_contacts)
    r.add_get(f"{API}/networks/{{network}}/notices", notice_routes.list_notices)
    r.add_post(f"{API}/networks/{{network}}/invites", enrolment_routes.create_invite)
    r.add_get(f"{API}/networks/{{network}}/enrolments", enrolment_routes.list_enrolments)
    r.add_post(
        f"{API}/networks/{{network}}/enrolments/{{enrolment}}/reject",
        enrolment_routes.reject_enrolment,
    )
    r.add_post(f"{API}/enrol", enrolment_routes.enrol)
    copies = f"{API}/networks/{{network}}/recovery-copies/{{lookup}}"
    r.add_put(copies, recovery_routes.put_copy)
    r.add_get(copies, recovery_routes.get_copy)
    r.add_post(f"{API}/envelopes", envelopes.upload)
    r.add_get(f"{API}/envelopes", envelopes.listing)
    r.add_get(f"{API}/envelopes/{{message_id}}", envelopes.metadata)
    r.add_get(f"{API}/envelopes/{{message_id}}/blob", envelopes.download)
    r.add_get(f"{API}/envelopes/{{message_id}}/receipts", envelopes.list_receipts)
    r.add_post(f"{API}/envelopes/{{message_id}}/receipts", envelopes.post_receipt)
    r.add_post(f"{API}/cases", cases.create)
    r.add_get(f"{API}/cases", cases.listing)
    r.add_get(f"{API}/cases/{{case_id}}", cases.show)
    r.add_post(f"{API}/cases/{{case_id}}/steps", case_steps.post_steps)
    r.add_get(f"{API}/cases/{{case_id}}/steps", case_steps.list_steps)
    r.add_post(f"{API}/cases/{{case_id}}/events", case_steps.steps_required)
    r.add_post(f"{API}/cases/{{case_id}}/close-not-moved", case_steps.steps_required)
    r.add_put(f"{API}/cases/{{case_id}}/outcome-report", outcome_routes.put_report)
    r.add_get(f"{API}/cases/{{case_id}}/outcome-report", outcome_routes.get_report)
    r.add_get(f"{API}/networks/{{network}}/statistics", statistics_routes.statistics)
    r.add_get(f"{API}/networks/{{network}}/statistics.csv", statistics_routes.statistics_csv)
    r.add_get(f"{API}/networks/{{network}}/quotas", statistics_routes.quotas)
    r.add_get(f"{API}/live", live)


async def health(request: web.Request) -> web.Response:
    # Opens nothing a client sent; says only that the process answers and storage is open.
    return web.json_response({"status": "ok", "storage": STORAGE in request.app})


async def live(request: web.Request) -> web.WebSocketResponse:
    caller = await caller_of(request, AccountRole.CONTACT_PERSON)  # only inboxes follow cases
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    hub = request.app[LIVE]
    hub.add(caller.network_id, caller.municipality_id, ws)
    try:
        await ws.send_json({"type": "hello", "municipality": caller.municipality_id})
        async for message in ws:
            if message.type == WSMsgType.ERROR:
                break
    finally:
        hub.remove(caller.network_id, caller.municipality_id, ws)
    return ws


class JsonLogFormatter(logging.Formatter):
    """One JSON object a line: ids and kinds only (handlers never log content or bodies)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": round(record.created, 3),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str) -> None:
    # Standard output, one JSON line a record, for the journal (or any supervisor) to take.
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonLogFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)  # paths carry message ids


def ssl_context(config: ServerConfig) -> ssl.SSLContext | None:
    if not config.tls:
        return None
    assert config.tls_cert is not None  # noqa: S101 - narrowed by config.tls
    assert config.tls_key is not None  # noqa: S101
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(config.tls_cert, config.tls_key)
    return context


def run(config: ServerConfig) -> None:
    configure_logging(config.log_level)
    web.run_app(
        init_app(config),
        host=config.host,
        port=config.port,
        ssl_context=ssl_context(config),
        print=lambda _text: log.info(
            "listening on %s:%d (%s)", config.host, config.port, "TLS" if config.tls else "HTTP"
        ),
        access_log=None,
    )

"""The hub's metrics in the Prometheus text format (GET /metrics): counts and durations only.

Labels are route templates (`/api/v1/envelopes/{message_id}`, never a filled-in path), HTTP
methods, status codes, outcomes and notice states: no label or value names a municipality, a
network, a person, a case or a message. The registry belongs to the application, not the
process, so two hubs in one process (the tests, the demo) count apart.

Who may read it: with `metrics_token` set (hub.toml or HUB_METRICS_TOKEN), only a request
bearing `Authorization: Bearer <token>`. Without one, only when the hub listens on loopback
alone and the request comes from loopback without a proxy's forwarding header: a hub behind
a reverse proxy that forwards /metrics from elsewhere needs the token (docs/operations.md).
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from typing import TYPE_CHECKING, Final

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from hub.errors import ApiError
from hub.server.typedefs import CLOCK, CONFIG, STORAGE
from hub.storage.sqlite_metrics import storage_figures

if TYPE_CHECKING:
    from aiohttp.typedefs import Handler

UPLOAD_ROUTE: Final = ("POST", "/api/v1/envelopes")
SIGNIN_ROUTE: Final = ("POST", "/api/v1/auth/session")
FORWARDING_HEADERS: Final = ("Forwarded", "X-Forwarded-For", "X-Real-IP")
_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class HubMetrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.requests = Counter(
            "hub_http_requests", "Answered requests", ["route", "method", "status"], registry=r
        )
        self.request_seconds = Histogram(
            "hub_http_request_duration_seconds",
            "Time to answer a request (a streamed upload: until its acknowledgement)",
            ["route", "method"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.failures = Counter(
            "hub_http_failures",
            "Requests refused (4xx) or failed (5xx)",
            ["kind"],
            registry=r,
        )
        self.uploads = Counter(
            "hub_uploads",
            "Envelope uploads: stored (201), repeated (200, the same bytes again) or refused",
            ["outcome"],
            registry=r,
        )
        self.upload_seconds = Histogram(
            "hub_upload_duration_seconds",
            "Time to receive and store an envelope",
            buckets=_BUCKETS,
            registry=r,
        )
        self.signins = Counter(
            "hub_signins",
            "Sign-ins (a signed challenge answered): ok or refused",
            ["outcome"],
            registry=r,
        )
        self.signin_seconds = Histogram(
            "hub_signin_duration_seconds", "Time to check a sign-in", buckets=_BUCKETS, registry=r
        )
        self.notices = Gauge("hub_notices", "E-mail notices by state", ["state"], registry=r)
        self.clock_lag = Gauge(
            "hub_deadline_clock_lag_seconds",
            "How long the earliest deadline alarm has been due without firing (0: none overdue)",
            registry=r,
        )
        self.envelopes = Gauge("hub_envelopes_stored", "Envelopes stored", registry=r)
        self.envelope_bytes = Gauge(
            "hub_envelope_bytes", "Bytes of the stored envelopes (the blob folder)", registry=r
        )
        self.database_bytes = Gauge(
            "hub_database_bytes", "Bytes of the database with its WAL", registry=r
        )
        self.disk_free = Gauge(
            "hub_disk_free_bytes", "Free bytes on the data folder's file system", registry=r
        )
        self.disk_total = Gauge(
            "hub_disk_total_bytes", "Size of the data folder's file system", registry=r
        )
        for outcome in ("stored", "repeated", "refused"):
            self.uploads.labels(outcome)
        for outcome in ("ok", "refused"):
            self.signins.labels(outcome)
        for kind in ("refused", "failed"):
            self.failures.labels(kind)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.request_seconds.labels(route, method).observe(seconds)
        if status >= 500:
            self.failures.labels("failed").inc()
        elif status >= 400:
            self.failures.labels("refused").inc()
        if (method, route) == UPLOAD_ROUTE:
            outcome = {201: "stored", 200: "repeated"}.get(status, "refused")
            self.uploads.labels(outcome).inc()
            if outcome != "refused":
                self.upload_seconds.observe(seconds)
        elif (method, route) == SIGNIN_ROUTE:
            self.signins.labels("ok" if status < 300 else "refused").inc()
            self.signin_seconds.observe(seconds)


METRICS: Final = web.AppKey("metrics", HubMetrics)


def _route_of(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return "unmatched" if resource is None else resource.canonical


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The outermost middleware: it sees the answer every other one settled on."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        metrics = request.app.get(METRICS)
        if metrics is not None:
            metrics.observe(
                request.method, _route_of(request), status, time.perf_counter() - started
            )
    return response


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _allowed(request: web.Request) -> None:
    config = request.app[CONFIG]
    token = config.metrics_token
    if token:
        given = request.headers.get("Authorization", "")
        expected = f"Bearer {token}"
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise ApiError("auth_required", "the metrics token is missing or wrong")
        return
    local = _loopback(config.host) and _loopback(request.remote or "")
    if not local or any(h in request.headers for h in FORWARDING_HEADERS):
        raise ApiError("forbidden", "set metrics_token to read the metrics from elsewhere")


async def endpoint(request: web.Request) -> web.Response:
    _allowed(request)
    metrics = request.app[METRICS]
    config = request.app[CONFIG]
    if config.database is None:
        figures = await storage_figures(config.data_dir)
    else:
        from hub.storage.pg_metrics import postgres_figures  # noqa: PLC0415 - psycopg only then
        from hub.storage.postgres import PostgresStorage  # noqa: PLC0415

        storage = request.app[STORAGE]
        assert isinstance(storage, PostgresStorage)  # noqa: S101 - open_storage's choice
        figures = await postgres_figures(storage, config.data_dir)
    for state, count in figures.notices.items():
        metrics.notices.labels(state).set(count)
    now = request.app[CLOCK]()
    lag = 0.0 if figures.next_alarm_at is None else max(0.0, now - figures.next_alarm_at)
    metrics.clock_lag.set(lag)
    metrics.envelopes.set(figures.envelopes)
    metrics.envelope_bytes.set(figures.envelope_bytes)
    metrics.database_bytes.set(figures.database_bytes)
    metrics.disk_free.set(figures.disk_free_bytes)
    metrics.disk_total.set(figures.disk_total_bytes)
    return web.Response(
        body=generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )

"""The boundary where errors become HTTP: one status per error family, one JSON shape,
and nothing about secrets or internals in what leaves."""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.crypto import strictjson
from hub.errors import (
    ApiError,
    AuthorityError,
    FormatError,
    HubError,
    KeyFileError,
    VerificationError,
)
from hub.storage.base import AlreadyExists, NotFound

if TYPE_CHECKING:
    from aiohttp.typedefs import Handler

log = logging.getLogger("hub.server")

API_STATUS = {
    "request_malformed": 400,
    "request_too_large": 413,
    "auth_required": 401,
    "auth_failed": 401,
    "rate_limited": 429,
    "not_found": 404,
    # Refusing access answers 404: a municipality must not learn that a case exists elsewhere.
    "forbidden": 404,
    "enrolment_rejected": 403,
    "not_your_copy": 403,
    "conflict_exists": 409,
    "envelope_id_taken": 409,
    "envelope_sender_not_you": 403,
    "envelope_recipients_mismatch": 422,
    "plain_http_refused": 400,
    "record_required": 409,
    "case_not_closed": 409,
    "outcome_report_invalid": 400,
    "outcome_report_mismatch": 422,
    "step_parent_taken": 409,  # another step already follows that parent: the first one won
    "step_parent_unknown": 409,
    "step_mismatch": 422,
    "steps_required": 410,  # the unsigned event endpoints of earlier releases are gone
}
MAX_JSON_BYTES = 64 * 1024


def _route_of(request: web.Request) -> str:
    """The route's pattern, not the concrete path: paths carry network and municipality ids
    (readable names such as "vasteras"), and membership is confidential even in logs."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "(no route)"


def status_for(error: HubError) -> int:
    if isinstance(error, ApiError):
        return API_STATUS[error.code]
    hint = getattr(error, "error_status_hint", None)
    if isinstance(hint, int):
        return hint
    if isinstance(error, FormatError | VerificationError | AuthorityError | KeyFileError):
        return 422
    return 400


def error_response(error: HubError, request_id: str) -> web.Response:
    body = {"error": {"code": error.code, "message": error.message, "request_id": request_id}}
    return web.json_response(body, status=status_for(error))


@web.middleware
async def error_middleware(  # noqa: PLR0911 - one return per error family, in one place
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    request_id = secrets.token_hex(8)
    try:
        response = await handler(request)
    except HubError as exc:
        log.info(
            "refused %s %s: %s",
            request.method,
            _route_of(request),
            exc.code,
            extra={"request_id": request_id},
        )
        return error_response(exc, request_id)
    except AlreadyExists:
        return error_response(ApiError("conflict_exists"), request_id)
    except NotFound:
        return error_response(ApiError("not_found"), request_id)
    except web.HTTPException as exc:
        if exc.status == 413:
            return error_response(ApiError("request_too_large"), request_id)
        if exc.status == 404:
            return error_response(ApiError("not_found"), request_id)
        raise
    except Exception as exc:  # noqa: BLE001 - the boundary: every failure becomes a JSON 500
        # The type only, no traceback: a message or a frame could quote input.
        log.error(  # noqa: TRY400
            "internal error %s on %s %s",
            type(exc).__name__,
            request.method,
            _route_of(request),
            extra={"request_id": request_id},
        )
        body = {
            "error": {
                "code": "internal",
                "message": "Ett internt fel uppstod i hubben.",
                "request_id": request_id,
            }
        }
        return web.json_response(body, status=500)
    return response


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault(
        "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


async def read_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object (strict JSON, bounded size), its keys not yet checked."""
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        raise ApiError("request_too_large")
    raw = await request.content.read(MAX_JSON_BYTES + 1)
    if len(raw) > MAX_JSON_BYTES:
        raise ApiError("request_too_large")
    try:
        return strictjson.loads_object(raw)
    except strictjson.StrictJSONError as exc:
        raise ApiError("request_malformed", exc.reason) from None


async def read_json(
    request: web.Request, required: dict[str, type], optional: dict[str, type] | None = None
) -> dict[str, Any]:
    """A JSON object with exactly the named fields of the named types, or request_malformed."""
    optional = optional or {}
    body = await read_object(request)
    unknown = set(body) - set(required) - set(optional)
    missing = set(required) - set(body)
    if unknown or missing:
        raise ApiError(
            "request_malformed", f"fields: unknown {sorted(unknown)}, missing {sorted(missing)}"
        )
    for name, kind in {**required, **optional}.items():
        if name in body and (
            not isinstance(body[name], kind) or (isinstance(body[name], bool) and kind is int)
        ):
            raise ApiError("request_malformed", f"{name} must be {kind.__name__}")
    return body


def hex_id(value: str, size: int) -> bytes:
    """An id in the URL or a body: exactly `size` bytes of lower-case hex."""
    if len(value) != 2 * size or any(c not in "0123456789abcdef" for c in value):
        raise ApiError("request_malformed", "id")
    return bytes.fromhex(value)

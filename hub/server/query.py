"""Query parameters: a route names the ones it takes (`takes_query`); any other, a repeated
one, or a value outside its form answers `400 request_malformed` naming the parameter, never a
500. The middleware checks the names for every route; the handlers read typed values here."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final, TypeVar

from aiohttp import web

from hub.crypto.records import text_field
from hub.errors import ApiError

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

    from aiohttp.typedefs import Handler

MAX_SEQ: Final = 2**63 - 1  # SQLite's largest integer
_DIGITS: Final = re.compile(r"[0-9]{1,19}")
_QUERY_PARAMS: Final = "hub_query_params"
H = TypeVar("H")


def takes_query(*names: str) -> Callable[[H], H]:
    """Mark a handler as taking these query parameters (and no other)."""

    def mark(handler: H) -> H:
        setattr(handler, _QUERY_PARAMS, frozenset(names))
        return handler

    return mark


@web.middleware
async def query_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    query = request.rel_url.query
    if query and request.match_info.http_exception is None:  # an unknown path stays a 404
        allowed: frozenset[str] = getattr(request.match_info.handler, _QUERY_PARAMS, frozenset())
        for name in query:
            if name not in allowed:
                raise ApiError("request_malformed", "query parameter")
            if len(query.getall(name)) > 1:
                raise ApiError("request_malformed", name)
    return await handler(request)


def seq(request: web.Request, name: str) -> int:
    """A cursor: 0 when absent, else ASCII digits up to SQLite's largest integer."""
    text = request.rel_url.query.get(name)
    if text is None:
        return 0
    if not _DIGITS.fullmatch(text) or int(text) > MAX_SEQ:
        raise ApiError("request_malformed", name)
    return int(text)


def choice(request: web.Request, name: str, choices: Collection[str], default: str) -> str:
    text = request.rel_url.query.get(name, default)
    if text not in choices:
        raise ApiError("request_malformed", name)
    return text


def choices(
    request: web.Request, name: str, allowed: Collection[str], default: Collection[str]
) -> tuple[str, ...]:
    """A comma-separated list of distinct values from `allowed`, at least one."""
    text = request.rel_url.query.get(name)
    if text is None:
        return tuple(default)
    values = tuple(text.split(","))
    if any(v not in allowed for v in values) or len(set(values)) != len(values):
        raise ApiError("request_malformed", name)
    return values


def names(request: web.Request, name: str, *, most: int) -> tuple[str, ...]:
    """A comma-separated list of 1 to `most` distinct municipality ids, sorted. Each must read
    as a name in the directory does (printable, NFC, no outer spaces)."""
    values = request.rel_url.query.get(name, "").split(",")
    if not 1 <= len(values) <= most or len(set(values)) != len(values):
        raise ApiError("request_malformed", name)
    for value in values:
        try:
            text_field({name: value}, name)
        except ValueError:
            raise ApiError("request_malformed", name) from None
    return tuple(sorted(values))

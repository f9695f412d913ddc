"""Fixtures for both storage backends: a real PostgreSQL (tests/pgserver.py) for the session,
a fresh database per test, and `database`, a parameter that runs a test on SQLite (None) and on
PostgreSQL (the URL of its own database). With CI set, a PostgreSQL that cannot start fails
those tests instead of skipping them."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

import pytest

from tests.pgserver import TEMPLATE, PgServer, PostgresUnavailableError

if TYPE_CHECKING:
    from collections.abc import Iterator

BACKENDS = ("sqlite", "postgresql")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL behövs i CI: {reason}")
    pytest.skip(reason)


async def _migrate_template(url: str) -> None:
    from hub.storage.postgres import PostgresStorage  # noqa: PLC0415

    storage = await PostgresStorage.open(url, pool_size=1)
    await storage.close()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    try:
        import psycopg  # noqa: F401, PLC0415
    except ImportError as exc:
        _unavailable(f"psycopg saknas: {exc}")
    try:
        server = PgServer.start()
    except PostgresUnavailableError as exc:
        _unavailable(str(exc))
    try:
        server.psql(f"CREATE DATABASE {TEMPLATE}")
        asyncio.run(_migrate_template(server.url(TEMPLATE)))
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A database of its own for this test, with the hub's schema."""
    url = pg_server.new_database()
    yield url
    pg_server.drop_database(url)


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest) -> str | None:
    """None: SQLite in the test's data folder; else the URL of the test's PostgreSQL database."""
    if request.param == "sqlite":
        return None
    return str(request.getfixturevalue("pg_url"))

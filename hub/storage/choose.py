"""Which backend a hub uses: SQLite in its data folder (the embedded default), or PostgreSQL
when hub.toml names a database (`database = "postgresql://…"`), for several instances on one
database. psycopg is imported only then: a SQLite hub needs none of it."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from hub.storage.base import StorageError

if TYPE_CHECKING:
    from pathlib import Path

    from hub.storage.base import Network, Storage

POSTGRESQL_SCHEMES = ("postgresql://", "postgres://")


def is_postgresql(database: str | None) -> bool:
    return database is not None and database.startswith(POSTGRESQL_SCHEMES)


async def open_storage(
    data_dir: Path, database: str | None = None, *, clean_uploads: bool = True
) -> Storage:
    """The hub's storage, its schema brought up to date. `clean_uploads` False: a command
    beside a serving SQLite hub leaves its uploads under way alone (SqliteStorage.open)."""
    if database is None:
        from hub.storage.sqlite import SqliteStorage  # noqa: PLC0415

        return await SqliteStorage.open(data_dir, clean_uploads=clean_uploads)
    if not is_postgresql(database):
        raise StorageError("database ska vara en postgresql://-adress (eller utelämnas)")
    try:
        from hub.storage.postgres import PostgresStorage  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - the [postgresql] extra not installed
        raise StorageError(
            f"PostgreSQL kräver psycopg: pip install 'hub[postgresql]' ({exc})"
        ) from None
    # The instance's own folder still holds what is local to it (the metrics' disk figures).
    await asyncio.to_thread(data_dir.mkdir, mode=0o700, parents=True, exist_ok=True)
    return await PostgresStorage.open(database)


async def create_network(data_dir: Path, network: Network, database: str | None = None) -> None:
    """The operator's step before the hub serves a network: store it with the administrator's
    public key and the agreement's settings, and audit it (hub network create, the demo)."""
    storage = await open_storage(data_dir, database, clean_uploads=False)
    try:
        async with storage.transaction() as tx:
            await tx.add_network(network)
            await tx.append_audit(
                at=network.created_at,
                actor="operator",
                action="network_created",
                subject={"network": network.id},
            )
    finally:
        await storage.close()

"""The verified directory of each network, and the sessions signed in, held in memory.

The hub verifies every directory record against the network's administrator key, exactly as
clients do, so it cannot itself be tricked by a record slipped into its database.

Neither cache lets a revoked key act once its revocation is stored: the directory is checked
on every call (auth.caller_of), and the cached directory is dropped by the change itself.
`changing()` wraps the transaction that stores a record: the cache is dropped before it and
again once it is committed, and a load that began before the commit is not kept. That is the
invalidation in this process; several hub instances on one database need the same
signal across instances (PostgreSQL LISTEN/NOTIFY); this class is where it goes.
Sessions are never withdrawn, only outlived: a cached one is used until its own expiry.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Final

from hub.crypto.directory import Directory

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from hub.storage.base import Session, Storage

MAX_SESSIONS: Final = 10_000


class DirectoryCache:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._cached: dict[str, Directory] = {}
        self._generation = 0  # one more for every change begun or committed

    async def get(self, network_id: str) -> Directory:
        hit = self._cached.get(network_id)
        if hit is not None:
            return hit
        generation = self._generation
        network = await self._storage.get_network(network_id)
        records = await self._storage.list_directory_records(network_id)
        directory = Directory.load(
            network.admin_public,
            network_id,
            [r.wire for r in records if r.kind == "directory-entry" and not r.erased],
            [r.wire for r in records if r.kind == "revocation"],
        )
        if generation == self._generation:  # no change began while it loaded
            self._cached[network_id] = directory
        return directory

    def forget(self, network_id: str) -> None:
        self._generation += 1
        self._cached.pop(network_id, None)

    @contextlib.asynccontextmanager
    async def changing(self, network_id: str) -> AsyncIterator[None]:
        """Around the transaction that stores a directory record (also when it fails)."""
        self.forget(network_id)
        try:
            yield
        finally:
            self.forget(network_id)


class SessionCache:
    """Sessions by token hash, read from storage once; an expired one is never answered."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._cached: dict[bytes, Session] = {}

    async def get(self, token_hash: bytes, at: int) -> Session:
        """The session if it exists and has not expired at `at`; NotFound otherwise."""
        hit = self._cached.get(token_hash)
        if hit is not None:
            if hit.expires_at > at:
                return hit
            del self._cached[token_hash]
        session = await self._storage.get_session(token_hash, at)
        if len(self._cached) >= MAX_SESSIONS:
            self._cached = {h: s for h, s in self._cached.items() if s.expires_at > at}
            if len(self._cached) >= MAX_SESSIONS:
                self._cached.clear()
        self._cached[token_hash] = session
        return session

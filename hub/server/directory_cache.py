"""The verified directory of each network, reloaded only when a record was added.

The hub verifies every record against the network's administrator key, exactly as clients do,
so it cannot itself be tricked by a record slipped into its database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.crypto.directory import Directory

if TYPE_CHECKING:
    from hub.storage.base import Storage


class DirectoryCache:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._cached: dict[str, tuple[int, Directory]] = {}

    async def get(self, network_id: str) -> Directory:
        serial = await self._storage.next_directory_serial(network_id)
        hit = self._cached.get(network_id)
        if hit is not None and hit[0] == serial:
            return hit[1]
        network = await self._storage.get_network(network_id)
        records = await self._storage.list_directory_records(network_id)
        directory = Directory.load(
            network.admin_public,
            network_id,
            [r.wire for r in records if r.kind == "directory-entry"],
            [r.wire for r in records if r.kind == "revocation"],
        )
        self._cached[network_id] = (serial, directory)
        return directory

    def forget(self, network_id: str) -> None:
        self._cached.pop(network_id, None)

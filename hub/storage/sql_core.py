"""The rows every backend stores alike: networks, municipalities and receipts. Mixed into each
backend's transaction (CoreWrites) and storage (CoreReads), with the other mixins of
hub/storage/sqlite_*.py (the audit chain's is sqlite_audit.py); the SQL is what SQLite and
PostgreSQL both take."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.storage.base import Municipality, Network, ReceiptRow
from hub.storage.sqlite_codec import ReadHost, WriteHost
from hub.storage.sqlite_codec import json_object as _object
from hub.storage.sqlite_codec import json_text as _json

if TYPE_CHECKING:
    from collections.abc import Sequence

_RECEIPT_COLUMNS = "message_id, signer_key_id, municipality_id, event, time, wire, received_at"


def _receipt(row: Sequence[Any]) -> ReceiptRow:
    return ReceiptRow(bytes(row[0]), bytes(row[1]), row[2], row[3], row[4], _object(row[5]), row[6])


class CoreWrites(WriteHost):
    """Writes; the host class gives `_changed` inside its transaction."""

    async def add_network(self, network: Network) -> None:
        await self._changed(
            "INSERT INTO networks (id, name, admin_public, settings, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                network.id,
                network.name,
                network.admin_public,
                _json(network.settings),
                network.created_at,
            ),
        )

    async def set_network_settings(self, network_id: str, settings: dict[str, Any]) -> None:
        """The agreement's settings, as the administrator's signed settings record states them."""
        await self._changed(
            "UPDATE networks SET settings = ? WHERE id = ?", (_json(settings), network_id)
        )

    async def put_municipality(self, municipality: Municipality) -> None:
        m = municipality
        await self._changed(
            "INSERT INTO municipalities"
            " (network_id, id, name, population, manager_email, template)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (network_id, id) DO UPDATE SET name = excluded.name,"
            " population = excluded.population, manager_email = excluded.manager_email,"
            " template = excluded.template",
            (m.network_id, m.id, m.name, m.population, m.manager_email, _json(m.template)),
        )

    async def add_receipt(self, receipt: ReceiptRow) -> None:
        r = receipt
        await self._changed(
            f"INSERT INTO receipts ({_RECEIPT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",  # noqa: S608 - constant columns
            (
                r.message_id,
                r.signer_key_id,
                r.municipality_id,
                r.event,
                r.time,
                _json(r.wire),
                r.received_at,
            ),
        )


class CoreReads(ReadHost):
    """Reads; the host class gives `_read` and `_one`."""

    async def get_network(self, network_id: str) -> Network:
        row = await self._one(
            "network",
            "SELECT id, name, admin_public, settings, created_at FROM networks WHERE id = ?",
            (network_id,),
        )
        return Network(row[0], row[1], row[2], _object(row[3]), row[4])

    async def list_municipalities(self, network_id: str) -> list[Municipality]:
        rows = await self._read(
            "SELECT network_id, id, name, population, manager_email, template"
            " FROM municipalities WHERE network_id = ? ORDER BY id",
            (network_id,),
        )
        return [Municipality(r[0], r[1], r[2], r[3], r[4], _object(r[5])) for r in rows]

    async def list_receipts(self, message_id: bytes) -> list[ReceiptRow]:
        rows = await self._read(
            f"SELECT {_RECEIPT_COLUMNS} FROM receipts WHERE message_id = ? ORDER BY id",  # noqa: S608
            (message_id,),
        )
        return [_receipt(r) for r in rows]

"""Which directory entries the administrator may erase now (docs/protocol.md §12.11): the
administrator's side of the rule every client enforces in hub.crypto.erasure, with the reason
in Swedish for each record that may not go. Pure."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.crypto.directory import ENTRY_KIND, REVOCATION_KIND
from hub.crypto.erasure import ERASURE_KIND, MAX_ERASED, ErasedItem, erasable_at, item_for
from hub.crypto.leaves import Erased
from hub.crypto.records import read_unverified
from hub.crypto.registry import retention_days

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hub.crypto.leaves import Served
    from hub.crypto.registry import Registry

__all__ = ["batches", "erasable_now", "refusal"]

_NEVER = {
    REVOCATION_KIND: "en återkallelse: den får aldrig raderas, annars blir nyckeln giltig igen",
    ERASURE_KIND: "en raderingspost: den säger varför andra poster saknas och får inte raderas",
}


def erasable_now(registry: Registry, now: int) -> list[ErasedItem]:
    """Every entry whose body the hub still serves, that no erasure names yet, and whose
    not_after lies the network's retention before `now`, in serial order."""
    days = retention_days(registry.settings)
    named = {item.serial for erasure in registry.erasures for item in erasure.erased}
    return sorted(
        (
            item_for(entry)
            for entry in registry.directory.entries
            if erasable_at(entry.not_after, days) <= now and entry.serial not in named
        ),
        key=lambda item: item.serial,
    )


def batches(items: Sequence[ErasedItem]) -> list[Sequence[ErasedItem]]:
    """The items in erasure records of at most MAX_ERASED each (a record stays under 64 KiB)."""
    return [items[start : start + MAX_ERASED] for start in range(0, len(items), MAX_ERASED)]


def refusal(registry: Registry, records: Sequence[Served], serial: int, now: int) -> str | None:
    """Why record `serial` of the verified `records` may not be erased now (a sentence for the
    administrator), or None."""
    if not 1 <= serial <= len(records):
        return f"post {serial} finns inte i katalogen"
    wire = records[serial - 1]
    if isinstance(wire, Erased):
        return f"post {serial} är redan raderad"
    kind = read_unverified(wire).unverified_body["kind"]  # verified: Registry.load read it
    if kind != ENTRY_KIND:
        return f"post {serial} är {_NEVER.get(kind, 'en registerpost: den får aldrig raderas')}"
    entry = next(e for e in registry.directory.entries if e.serial == serial)
    first = erasable_at(entry.not_after, retention_days(registry.settings))
    if first > now:
        return (
            f"post {serial} ({entry.person}, {entry.municipality}) får raderas tidigast "
            f"{_day(first)}: nätverkets lagringstid efter att nyckeln slutade gälla har inte gått"
        )
    return None


def _day(t: int) -> str:
    from datetime import UTC, datetime  # noqa: PLC0415 - only for this sentence

    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d")

"""Self-monitoring (issue 14): the inbox searches the directory it verified itself through the
log, never a list the hub gives it, for keys added to or revoked from its own municipality, at
every unlock and sync. Each one that is not this inbox's own key stays a notice on every page
until someone acknowledges it under Kontakt och nycklar, so a key signed in the municipality's
name behind its back cannot go unnoticed by the contact persons who are still there.

What this inbox had verified when it first watched is the baseline: records up to it are not
news. Kept in the cache under `WATCH`: {"from": serial, "acknowledged": [serials]}.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from hub.crypto.registry import Registry
    from hub.inbox.cache import InboxCache

WATCH: Final = "own_municipality_watch"
ROLE_NAMES: Final = {
    "contact_person": "kontaktperson",
    "county_board": "länsstyrelsen",
    "coordinator": "samordnare",
}
SEE_KEYS: Final = "Stämmer det inte, ring länsstyrelsen. Bekräfta under Kontakt och nycklar."


@dataclass(frozen=True)
class Change:
    serial: int
    text: str


def changes_for(
    registry: Registry, municipality: str, own_key_id: bytes, after: int
) -> list[Change]:
    """Entries and revocations after serial `after` that name `municipality` and are not the
    key `own_key_id`, in serial order, each with the sentence the inbox shows."""
    name = registry.name_of(municipality) or municipality
    directory = registry.directory
    found = [
        Change(
            e.serial,
            f"En ny nyckel för {name} har lagts till: {e.person} "
            f"({ROLE_NAMES.get(str(e.role), str(e.role))}), nyckel {e.key_id.hex()[:8]}…, "
            f"post {e.serial}.",
        )
        for e in directory.entries
        if e.municipality == municipality and e.key_id != own_key_id and e.serial > after
    ]
    for revocation in directory.revocations:
        entry = directory.entry_for_key(revocation.key_id)
        if (
            entry is not None
            and entry.municipality == municipality
            and revocation.key_id != own_key_id
            and revocation.serial > after
        ):
            found.append(
                Change(
                    revocation.serial,
                    f"En nyckel för {name} har återkallats: {entry.person}, nyckel "
                    f"{revocation.key_id.hex()[:8]}…, post {revocation.serial}.",
                )
            )
    return sorted(found, key=lambda c: c.serial)


async def unacknowledged(
    cache: InboxCache, registry: Registry, municipality: str, own_key_id: bytes
) -> list[Change]:
    """The changes not yet acknowledged; the first call sets the baseline."""
    kept = json.loads(await cache.get_value(WATCH, "") or "null")
    if kept is None:
        kept = {"from": registry.serial, "acknowledged": []}
        await cache.set_value(WATCH, json.dumps(kept))
    seen = set(kept["acknowledged"])
    return [
        c
        for c in changes_for(registry, municipality, own_key_id, int(kept["from"]))
        if c.serial not in seen
    ]


async def acknowledge(cache: InboxCache, serial: int) -> None:
    kept = json.loads(await cache.get_value(WATCH, "") or "null") or {"from": 0}
    acknowledged = sorted({*kept.get("acknowledged", []), serial})
    await cache.set_value(WATCH, json.dumps({**kept, "acknowledged": acknowledged}))


def as_notices(changes: list[Change]) -> list[dict[str, str]]:
    return [{"level": "warning", "text": f"{c.text} {SEE_KEYS}"} for c in changes]

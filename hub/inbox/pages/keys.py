"""Kontakt och nycklar: the fingerprints to check by phone, and a changed key flagged."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aiohttp import web

from hub.crypto.keys import fingerprint_of
from hub.inbox import watch
from hub.inbox.pages.common import core_of, render

if TYPE_CHECKING:
    from hub.inbox.sync import AgentCore

KNOWN_KEYS = "known_keys"  # person and municipality -> the key id this inbox has seen


def _current_keys(core: AgentCore) -> dict[str, tuple[str, str, str, str]]:
    """(municipality, person) -> (key id, municipality name, person, fingerprint), valid now."""
    now = int(core.clock())
    return {
        f"{m}\n{entry.person}": (
            entry.key_id.hex(),
            core.name_of(m),
            entry.person,
            entry.identity.fingerprint,
        )
        for m in sorted(core.names)
        for entry in (core.directory.valid_keys(m, now) if core.directory else [])
    }


async def keys_page(request: web.Request) -> web.Response:
    """Fingerprints for phone checks, and a warning when a contact person's key changed since
    this inbox last saw it (until the person says they have checked it)."""
    core = core_of(request)
    current = _current_keys(core)
    known = json.loads(await core.cache.get_value(KNOWN_KEYS, "{}"))
    if not known:  # first use: what the directory says now is the baseline
        known = {k: v[0] for k, v in current.items()}
        await core.cache.set_value(KNOWN_KEYS, json.dumps(known))
    contacts = [
        {
            "municipality_name": name,
            "person": person,
            "fingerprint": fingerprint,
            "changed": k in known and known[k] != key_id,
        }
        for k, (key_id, name, person, fingerprint) in current.items()
    ]
    registry = core.session.registry
    own_changes = (
        []
        if registry is None
        else await watch.unacknowledged(
            core.cache, registry, core.municipality, core.identity.key_id
        )
    )
    return await render(
        request,
        "keys.html",
        own_changes=[{"serial": c.serial, "text": c.text} for c in own_changes],
        own={"fingerprint": core.identity.public.fingerprint, "key_id": core.identity.key_id.hex()},
        admin_fingerprint=fingerprint_of(core.admin_public),
        contacts=contacts,
    )


async def keys_checked(request: web.Request) -> web.StreamResponse:
    core = core_of(request)
    current = _current_keys(core)
    await core.cache.set_value(KNOWN_KEYS, json.dumps({k: v[0] for k, v in current.items()}))
    raise web.HTTPSeeOther("/nycklar")


async def own_change_acknowledged(request: web.Request) -> web.StreamResponse:
    """Someone here has looked at a key added to or revoked from our own municipality: its
    notice goes (for this inbox; each contact person acknowledges in their own)."""
    core = core_of(request)
    serial = request.match_info["serial"]
    if not serial.isdigit() or len(serial) > 15:
        raise web.HTTPBadRequest(text="Felaktigt löpnummer.")
    await watch.acknowledge(core.cache, int(serial))
    await core.watch_own_municipality()
    raise web.HTTPSeeOther("/nycklar")

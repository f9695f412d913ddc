"""Kontakt och nycklar: the whole network from the signed registry and directory (every
municipality, every key holder with their role, each kommunmall's contact text), the
fingerprints to check by phone, and a changed key flagged."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.crypto.directory import Role
from hub.crypto.keys import fingerprint_of
from hub.inbox import watch
from hub.inbox.pages.common import core_of, render

if TYPE_CHECKING:
    from hub.inbox.sync import AgentCore

KNOWN_KEYS = "known_keys"  # person and municipality -> the key id this inbox has seen
ROLE_LABELS = {
    Role.CONTACT_PERSON: "Kontaktperson",
    Role.COUNTY_BOARD: "Länsstyrelsen",
    Role.COORDINATOR: "Samordnare",
}


@dataclass(frozen=True)
class NetworkKey:
    """One key valid now in the signed directory, as the page names it."""

    key_id: str
    municipality: str
    person: str
    role: Role
    fingerprint: str


def _known_key(m: str, person: str, role: Role) -> str:
    """How KNOWN_KEYS names a key's holder (a contact person's as before roles were shown)."""
    suffix = "" if role is Role.CONTACT_PERSON else f"\n{role}"
    return f"{m}\n{person}{suffix}"


def _current_keys(core: AgentCore) -> dict[str, NetworkKey]:
    """Every key of the network valid now, in every role, by its holder (_known_key): every
    municipality the signed registry names or the signed directory lists."""
    directory = core.directory
    if directory is None:
        return {}
    now = int(core.clock())
    listed = {m for role in Role for m in directory.municipalities(role=role)}
    return {
        _known_key(m, e.person, e.role): NetworkKey(
            e.key_id.hex(), m, e.person, e.role, e.identity.fingerprint
        )
        for m in sorted(set(core.names) | listed)
        for role in Role
        for e in directory.valid_keys(m, now, role=role)
    }


def _network(
    core: AgentCore, current: dict[str, NetworkKey], known: dict[str, str]
) -> list[dict[str, Any]]:
    """keys.html's contacts: every municipality of the network by its signed name, its
    kommunmall's contact text as the municipality wrote it, and each valid key in it (a
    municipality with none is listed with none)."""
    registry = core.session.registry
    templates = {} if registry is None else registry.kommunmallar
    holders = {k.municipality for k in current.values()}
    rows: list[dict[str, Any]] = [
        {
            "municipality_name": core.name_of(key.municipality),
            "contact_text": templates[key.municipality].contact
            if key.municipality in templates
            else "",
            "person": key.person,
            "role_label": ROLE_LABELS.get(key.role, str(key.role)),
            "fingerprint": key.fingerprint,
            "changed": k in known and known[k] != key.key_id,
        }
        for k, key in current.items()
    ]
    rows += [
        {
            "municipality_name": core.name_of(m),
            "contact_text": templates[m].contact if m in templates else "",
            "person": None,
            "role_label": "",
            "fingerprint": "",
            "changed": False,
        }
        for m in sorted(set(core.names) - holders - {core.municipality})
    ]
    return sorted(rows, key=lambda r: (r["municipality_name"], r["person"] or ""))


async def keys_page(request: web.Request) -> web.Response:
    """Every contact person, county board and coordinator of the network, with the contact text
    of each municipality's kommunmall and the fingerprint to compare by phone; a warning when a
    key changed since this inbox last saw it (until the person says they have checked it). The
    directory is fetched and verified again first, so the page follows its changes."""
    core = core_of(request)
    await core.refresh_members()  # unreachable: the directory as last verified
    current = _current_keys(core)
    known = json.loads(await core.cache.get_value(KNOWN_KEYS, "{}"))
    if not known:  # first use: what the directory says now is the baseline
        known = {k: v.key_id for k, v in current.items()}
        await core.cache.set_value(KNOWN_KEYS, json.dumps(known))
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
        contacts=_network(core, current, known),
    )


async def keys_checked(request: web.Request) -> web.StreamResponse:
    core = core_of(request)
    current = _current_keys(core)
    await core.cache.set_value(KNOWN_KEYS, json.dumps({k: v.key_id for k, v in current.items()}))
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

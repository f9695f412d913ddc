"""`hub admin directory|checkpoint|republish`: the directory as the administrator's own key
verifies it (who holds which key, what is fragile, the handovers signed), and the directory
log's checkpoint and republishing to a restored hub (hub/client/admin_log.py)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from hub.cli.admin_common import (
    hub_options,
    municipality_label,
    passphrase_option,
    signed_in,
    verified_registry,
    when,
)
from hub.client import admin_log
from hub.crypto.directory import (
    Directory,
    DirectoryEntry,
    Role,
)
from hub.protocol.fragility import SINGLE_KEY, SINGLE_KEY_ADVICE, single_key_municipalities

if TYPE_CHECKING:
    import argparse

    from hub.cli._types import Subparsers
    from hub.crypto.registry import (
        Registry,
    )


def register(sub: Subparsers) -> None:
    p = sub.add_parser("directory", help="visa den verifierade katalogen")
    hub_options(p)
    passphrase_option(p)
    p.set_defaults(run=_directory)

    p = sub.add_parser(
        "checkpoint", help="signera katalogloggens kontrollpunkt över alla poster hubben har"
    )
    hub_options(p)
    passphrase_option(p)
    p.set_defaults(run=_checkpoint)

    p = sub.add_parser(
        "republish",
        help="ge en återställd hubb, i ordning, allt du har signerat som den saknar",
    )
    hub_options(p)
    passphrase_option(p)
    p.set_defaults(run=_republish)


def _checkpoint(args: argparse.Namespace) -> int:
    async def run() -> int:
        async with signed_in(args) as (client, key):
            return await admin_log.checkpoint(client, key, args.keys)

    size = asyncio.run(run())
    print(f"Katalogloggens kontrollpunkt är signerad: {size} poster.")
    return 0


def _republish(args: argparse.Namespace) -> int:
    async def run() -> tuple[int, int]:
        async with signed_in(args) as (client, key):
            return await admin_log.republish(client, key, args.keys)

    sent, size = asyncio.run(run())
    print(f"Hubben har fått tillbaka {sent} poster; katalogloggen har {size} poster.")
    return 0


def _directory(args: argparse.Namespace) -> int:
    async def run() -> Registry:
        async with signed_in(args) as (client, key):
            return await verified_registry(client, key, args.keys)

    registry = asyncio.run(run())
    directory = registry.directory
    now = int(time.time())
    entries = sorted(directory.entries, key=lambda e: (e.municipality, e.person, e.serial))
    print(
        f"Katalogen för {directory.network} ({len(entries)} poster, verifierad till och med "
        f"post {registry.serial}):"
    )
    for entry in entries:
        validity = f"{when(entry.not_before)} till {when(entry.not_after)}"
        print(
            f"  {municipality_label(registry, entry.municipality)}  {entry.person}  "
            f"{entry.role}  {entry.key_id.hex()}  {validity}  {_state(directory, entry, now)}"
        )
    _say_single_keys(registry, now)
    _say_handovers(registry)
    if registry.settings is None:
        print("Nätverkets inställningar är inte signerade: inkorgarna använder de nationella.")
    return 0


def _say_single_keys(registry: Registry, now: int) -> None:
    """Each municipality one lost key away from nobody being able to open its cases."""
    directory = registry.directory
    known = {e.municipality for e in directory.entries if e.role == Role.CONTACT_PERSON}
    fragile = single_key_municipalities(directory, known, now)
    if not fragile:
        return
    print("Kommuner med en enda giltig kontaktpersonsnyckel:")
    for municipality in sorted(fragile):
        print(f"  {municipality_label(registry, municipality)}: {SINGLE_KEY}")
    print(SINGLE_KEY_ADVICE)


def _say_handovers(registry: Registry) -> None:
    """The handovers signed (`hub admin handover`): for whom, and to which keys."""
    if not registry.handovers:
        return
    print("Överlämningar (motparterna lämnar över öppna ärenden till efterträdaren):")
    for record in registry.handovers:
        holders = sorted(
            entry.person
            for key_id in record.to_keys
            if (entry := registry.directory.entry_for_key(key_id)) is not None
        )
        print(
            f"  {municipality_label(registry, record.municipality)} till "
            f"{', '.join(holders)} (post {record.serial})"
        )


def _state(directory: Directory, entry: DirectoryEntry, now: int) -> str:
    revocation = directory.revocation_for(entry.key_id)
    if revocation is not None:
        verb = "återkallad" if revocation.revoked_at <= now else "återkallas"
        return f"{verb} från {when(revocation.revoked_at)} ({revocation.reason})"
    if now < entry.not_before:
        return "ännu inte giltig"
    if now >= entry.not_after:
        return "utgången"
    return "giltig"

"""`hub admin erase`: the administrator erases the bodies of directory entries that ended longer
ago than the network's retention (docs/protocol.md §12.11). One erasure record, signed with the
network key and appended to the log like any record, names each entry with its leaf hash; the
hub then drops the bodies and serves each as its leaf hash and serial. Revocations, registry
and settings records and erasures themselves are refused here, by the hub and by every client.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from hub.cli import admin_common as admin
from hub.cli.exits import EXIT_ATTENTION
from hub.client import admin_log
from hub.crypto.erasure import ErasedItem, make_erasure
from hub.protocol.erasing import batches, erasable_now, refusal

if TYPE_CHECKING:
    import argparse

    from hub.cli._types import Subparsers
    from hub.crypto.leaves import Served
    from hub.crypto.registry import Registry

CONFIRM_ERASE = "Radera innehållet i dessa poster för gott? [j/N] "


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "erase",
        help="radera innehållet i katalogposter som slutade gälla för längre sedan än "
        "nätverkets lagringstid (hubben behåller bara postens kontrollsumma)",
    )
    p.add_argument(
        "--serial",
        type=int,
        action="append",
        metavar="NR",
        help="bara denna post (kan upprepas); utan: alla poster som får raderas",
    )
    p.add_argument("--yes", action="store_true", help="fråga inte (för skript)")
    admin.hub_options(p)
    admin.passphrase_option(p)
    p.set_defaults(run=_erase)


def _erase(args: argparse.Namespace) -> int:
    now = int(time.time())

    async def run() -> int:
        async with admin.signed_in(args) as (client, key):
            records, registry = await admin_log.verified_records(client, key, args.keys)
            chosen = _chosen(registry, records, args.serial, now)
            if not chosen:
                print("Ingen katalogpost får raderas ännu.")
                return 0
            _show(registry, chosen)
            if not args.yes and not admin.ask(CONFIRM_ERASE):
                print("Inget raderades.")
                return EXIT_ATTENTION
            serials: list[str] = []
            for batch in batches(chosen):
                serial = registry.serial + 1 + len(serials)
                wire = make_erasure(
                    key, network=client.network, erased=batch, erased_at=now, serial=serial
                )
                await admin_log.append(client, key, args.keys, wire)
                serials.append(str(serial))
            print(
                f"Raderat: {len(chosen)} poster (raderingspost {', '.join(serials)}). Hubben "
                "visar dem nu bara som kontrollsumma och löpnummer."
            )
            return 0

    return asyncio.run(run())


def _chosen(
    registry: Registry, records: list[Served], serials: list[int] | None, now: int
) -> list[ErasedItem]:
    candidates = erasable_now(registry, now)
    if serials is None:
        return candidates
    for serial in sorted(set(serials)):
        reason = refusal(registry, records, serial, now)
        if reason is not None:
            raise ValueError(f"{reason}; inget har raderats")
    wanted = set(serials)
    return [item for item in candidates if item.serial in wanted]


def _show(registry: Registry, chosen: list[ErasedItem]) -> None:
    by_serial = {e.serial: e for e in registry.directory.entries}
    print("Dessa katalogposter raderas (hubben behåller kontrollsumma och löpnummer):")
    for item in chosen:
        entry = by_serial[item.serial]
        print(
            f"  post {item.serial}: {entry.municipality}, {entry.person}, "
            f"nyckel {item.key_id.hex()}, gällde till {admin.when(entry.not_after)}"
        )

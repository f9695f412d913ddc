"""`hub serve` (run the hub), and the operator's commands on the hub machine itself:
`hub network create` and `hub audit verify`."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING

from hub.cli.ops_command import refuse_pending_for
from hub.crypto.keys import fingerprint_of, loads_public_signing_key
from hub.protocol.settings import DEFAULT_QUOTA_KEY, DEFAULT_SETTINGS, parse_quota_key
from hub.server.config import load_config
from hub.storage.audit import ChainCheck, check_chain
from hub.storage.base import Network
from hub.storage.choose import create_network, open_storage

if TYPE_CHECKING:
    import argparse

    from hub.cli._types import Subparsers


def register(commands: Subparsers) -> None:
    p = commands.add_parser("serve", help="kör hubben")
    p.add_argument("--config", type=Path, help="hub.toml (annars standardvärden och HUB_*)")
    p.set_defaults(run=_serve)

    p = commands.add_parser("network", help="hubbens operatör: nätverk")
    sub = p.add_subparsers(dest="network_command", required=True)
    c = sub.add_parser("create", help="skapa ett nätverk med länsstyrelsens publika nyckel")
    c.add_argument("--config", type=Path)
    c.add_argument("--id", required=True, help="nätverkets id (kort, utan mellanslag)")
    c.add_argument("--name", required=True)
    c.add_argument(
        "--admin-key",
        type=Path,
        required=True,
        help="länsstyrelsens publika nätverksnyckel (från hub admin init)",
    )
    c.add_argument("--answer-days", type=int, default=14, help="svarstid i dagar (standard 14)")
    c.add_argument(
        "--quota-key",
        default=DEFAULT_QUOTA_KEY,
        help="fördelningsnyckel, invånare:ärenden per år (standard Västmanlands: "
        f"{DEFAULT_QUOTA_KEY})",
    )
    c.set_defaults(run=_network_create)

    p = commands.add_parser("audit", help="granskningsloggen")
    sub = p.add_subparsers(dest="audit_command", required=True)
    v = sub.add_parser("verify", help="kontrollera granskningsloggens hashkedja")
    v.add_argument("--config", type=Path)
    v.set_defaults(run=_audit_verify)


def _serve(args: argparse.Namespace) -> int:
    from hub.server.app import run  # noqa: PLC0415 - aiohttp only for the commands that serve

    config = load_config(args.config)
    refuse_pending_for(config, args)
    run(config)
    return 0


def _network_create(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    refuse_pending_for(config, args)  # a new data folder or database is set up here
    public = loads_public_signing_key(args.admin_key.read_bytes())
    if not args.id.isascii() or not args.id.replace("-", "").isalnum():
        raise ValueError("nätverkets id får bara innehålla a-z, 0-9 och bindestreck")
    if not 1 <= args.answer_days <= 90:
        raise ValueError("svarstiden ska vara 1-90 dagar")
    settings = {
        **DEFAULT_SETTINGS,
        "answer_days": args.answer_days,
        "quota_key": parse_quota_key(args.quota_key),
    }

    asyncio.run(
        create_network(
            config.data_dir,
            Network(args.id, args.name, public, settings, int(time.time())),
            config.database,
        )
    )
    where = "databasen" if config.database else config.data_dir
    print(f"Nätverket {args.id} är skapat i {where}.")
    print(f"Länsstyrelsens nyckel, fingeravtryck: {fingerprint_of(public)}")
    print("Jämför fingeravtrycket med länsstyrelsen per telefon innan nätverket tas i bruk.")
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    refuse_pending_for(config, args)

    async def verify() -> ChainCheck:
        storage = await open_storage(config.data_dir, config.database, clean_uploads=False)
        try:
            return check_chain([r async for r in storage.audit_records()])
        finally:
            await storage.close()

    check = asyncio.run(verify())
    if check.broken is not None:
        print(f"Granskningsloggen är bruten vid post {check.broken}.")
        return 1
    print(f"Granskningsloggen är hel: {check.records} poster.")
    if check.erased:
        print(
            f"{check.erased} poster har fått sitt ämne gallrat; kedjan bevisar fortfarande "
            "deras tid, aktör och händelse."
        )
    if check.unproven:
        print(
            f"{check.unproven} poster från före schemaversion 8 har fått sitt ämne gallrat: för "
            "dem bevisar kedjan bara att de finns på sin plats, inte deras tid, aktör och händelse."
        )
    return 0

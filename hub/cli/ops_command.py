"""The operator's maintenance commands on the hub machine: `hub backup`, `hub restore`,
`hub migrate`, `hub gallra` and `hub storage copy` (docs/operations.md)."""

from __future__ import annotations

import asyncio
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from hub.cli.exits import EXIT_ATTENTION, EXIT_OK
from hub.server.config import load_config
from hub.storage.sqlite import SqliteStorage
from hub.storage.upgrade import (
    SECURE_DELETE_SINCE,
    UpgradeError,
    refuse_pending,
    rewrite_free_space,
    schema_state,
)

if TYPE_CHECKING:
    import argparse

    from hub.cli._types import Subparsers
    from hub.server.config import ServerConfig


def register(commands: Subparsers) -> None:
    p = commands.add_parser(
        "backup", help="säkerhetskopiera hubbens databas och blobbar medan den kör"
    )
    p.add_argument("dest", type=Path, help="en ny (eller tom) mapp för kopian")
    p.add_argument("--config", type=Path, help="hub.toml (annars standardvärden och HUB_*)")
    p.set_defaults(run=_backup)

    p = commands.add_parser("restore", help="återställ en säkerhetskopia till en tom datamapp")
    p.add_argument("source", type=Path, help="mappen som hub backup skrev")
    p.add_argument("--config", type=Path, help="hub.toml: data_dir är målet")
    p.set_defaults(run=_restore)

    p = commands.add_parser(
        "systemd-unit", help="skriv ut systemd-tjänsten (hub.service) som följer med paketet"
    )
    p.set_defaults(run=_systemd_unit)

    p = commands.add_parser("storage", help="hubbens lagring: flytta den till PostgreSQL")
    storage = p.add_subparsers(dest="storage_command", required=True)
    c = storage.add_parser(
        "copy", help="kopiera en SQLite-hubb (rader, blobbar, granskningslogg) till PostgreSQL"
    )
    c.add_argument("--to", required=True, metavar="postgresql://…", help="en ny, tom databas")
    c.add_argument("--config", type=Path, help="hub.toml: data_dir är källan")
    c.set_defaults(run=_storage_copy)

    p = commands.add_parser("migrate", help="uppgradera databasens schema")
    p.add_argument("--config", type=Path)
    p.add_argument(
        "--check", action="store_true", help="visa bara vad som skulle ändras; ändra inget"
    )
    p.add_argument("--backup", type=Path, metavar="MAPP", help="säkerhetskopiera hit först")
    p.add_argument(
        "--without-backup",
        action="store_true",
        help="uppgradera utan att ta en säkerhetskopia (du har en egen)",
    )
    p.set_defaults(run=_migrate)

    p = commands.add_parser(
        "gallra", help="gallra: ta bort ärenden som varit avslutade längre än nätverket sparar dem"
    )
    p.add_argument("--config", type=Path)
    p.add_argument(
        "--check",
        "--dry-run",
        action="store_true",
        help="visa bara vad som skulle gallras; ändra inget (slutstatus 3 om något ska gallras)",
    )
    p.set_defaults(run=_gallra)


def refuse_pending_for(config: ServerConfig, args: argparse.Namespace) -> None:
    """No command migrates a database in use behind the operator's back: on SQLite the data
    folder's file, on PostgreSQL the database (an empty one is set up by whoever comes first)."""
    if config.database is None:
        refuse_pending(config.data_dir, config_hint(args))
        return
    from hub.storage.postgres import schema_state  # noqa: PLC0415 - psycopg only then

    state = asyncio.run(schema_state(config.database))
    refuse_pending(config.data_dir, config_hint(args), state)


def _systemd_unit(_args: argparse.Namespace) -> int:
    unit = resources.files("hub").joinpath("deploy/hub.service").read_text(encoding="utf-8")
    print(unit, end="")
    return EXIT_OK


def config_hint(args: argparse.Namespace) -> str:
    """How the operator named the configuration, for a command line the hub suggests."""
    return f" --config {args.config}" if args.config is not None else ""


def _backup(args: argparse.Namespace) -> int:
    from hub.storage.backup import backup  # noqa: PLC0415 - fcntl: hub --help on any system

    config = load_config(args.config)
    if config.database is not None:
        from hub.storage.pg_backup import backup_postgresql  # noqa: PLC0415 - psycopg

        summary = backup_postgresql(config.database, args.dest)
    else:
        summary = backup(config.data_dir, args.dest)
    print(
        f"Säkerhetskopian är klar i {summary.path}: schemaversion {summary.schema_version}, "
        f"{summary.envelopes} meddelanden, {summary.audit_records} poster i granskningsloggen, "
        f"{summary.total_bytes} byte."
    )
    print("Den innehåller krypterade meddelanden och metadata, ingen nyckel som öppnar något.")
    return EXIT_OK


def _restore(args: argparse.Namespace) -> int:
    from hub.storage.backup import restore  # noqa: PLC0415 - fcntl: hub --help on any system

    config = load_config(args.config)
    if config.database is not None:
        from hub.storage.pg_backup import restore_postgresql  # noqa: PLC0415 - psycopg

        manifest = asyncio.run(restore_postgresql(args.source, config.database))
        where = "databasen"
    else:
        manifest = restore(args.source, config.data_dir)
        where = str(config.data_dir)
    print(
        f"Återställt till {where}: {manifest['envelopes']} meddelanden, "
        f"{manifest['audit_records']} poster i granskningsloggen; allt stämde med manifestet."
    )
    print(
        f"Kör nu `hub audit verify{config_hint(args)}`. Det som länsstyrelsen undertecknat "
        "efter säkerhetskopian finns inte i den: be administratören publicera det igen."
    )
    return EXIT_OK


def _migrate_postgresql(args: argparse.Namespace, url: str) -> int:
    """As for SQLite, but the backup is PostgreSQL's own (pg_dump, or hub backup), taken
    with every instance stopped: --backup is not offered here."""
    from hub.storage import postgres  # noqa: PLC0415 - psycopg only here

    state = asyncio.run(postgres.schema_state(url))
    print(f"Databasens schemaversion: {state.current}; den här hubben: {state.newest}.")
    if not state.pending:
        print("Inget att uppgradera.")
        return EXIT_OK
    for version, name in state.pending:
        print(f"  väntar: {version:04d} {name}")
    if args.check:
        print("Ingenting ändrades (--check).")
        return EXIT_ATTENTION
    if state.current > 0 and not args.without_backup:
        raise UpgradeError(
            "stoppa alla instanser och ta en säkerhetskopia först (`hub backup"
            f"{config_hint(args)} MAPP` eller pg_dump), uppgradera sedan med "
            f"`hub migrate{config_hint(args)} --without-backup`"
        )

    async def apply() -> None:
        await (await postgres.PostgresStorage.open(url, pool_size=1)).close()

    asyncio.run(apply())
    print(f"Uppgraderad till schemaversion {asyncio.run(postgres.schema_state(url)).current}.")
    return EXIT_OK


def _storage_copy(args: argparse.Namespace) -> int:
    from hub.storage.choose import is_postgresql  # noqa: PLC0415
    from hub.storage.copy import copy_to_postgresql  # noqa: PLC0415 - psycopg only here

    config = load_config(args.config)
    if config.database is not None:
        raise ValueError("källan ska vara en SQLite-hubb: ta bort database ur hub.toml först")
    if not is_postgresql(args.to):
        raise ValueError("--to ska vara en postgresql://-adress")
    summary = asyncio.run(copy_to_postgresql(config.data_dir, args.to))
    print(
        f"Kopierat och kontrollerat: {sum(summary.rows.values())} rader, {summary.blobs} "
        f"meddelanden ur filer ({summary.blob_bytes} byte), {summary.audit_records} poster i "
        "granskningsloggen; granskningskedjan är hel och varje meddelande är byte för byte "
        "detsamma."
    )
    print(
        'Sätt database = "postgresql://…" i hub.toml och starta hubben; kör '
        "`hub audit verify` mot kopian."
    )
    return EXIT_OK


def _migrate(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if config.database is not None:
        return _migrate_postgresql(args, config.database)
    state = schema_state(config.data_dir)
    print(f"Databasens schemaversion: {state.current}; den här hubben: {state.newest}.")
    if not state.pending:
        print("Inget att uppgradera.")
        return EXIT_OK
    for version, name in state.pending:
        print(f"  väntar: {version:04d} {name}")
    if args.check:
        print("Ingenting ändrades (--check).")
        return EXIT_ATTENTION
    if state.current > 0:
        if args.backup is not None:
            from hub.storage.backup import backup  # noqa: PLC0415 - as in _backup

            summary = backup(config.data_dir, args.backup)
            print(f"Säkerhetskopian är klar i {summary.path}.")
        elif not args.without_backup:
            raise UpgradeError(
                "ta en säkerhetskopia först: `hub migrate"
                f"{config_hint(args)} --backup MAPP` (eller --without-backup om du har en)"
            )

    async def apply() -> None:
        storage = await SqliteStorage.open(config.data_dir)  # migrates forward
        await storage.close()

    if 0 < state.current < SECURE_DELETE_SINCE:  # before migrating: a refusal changes nothing
        rewrite_free_space(config.data_dir)
        print(
            "Databasen är omskriven (VACUUM): det som raderades innan hubben skrev över "
            "raderade uppgifter finns inte kvar i filens lediga utrymme."
        )
    asyncio.run(apply())
    print(f"Uppgraderad till schemaversion {schema_state(config.data_dir).current}.")
    return EXIT_OK


def _gallra(args: argparse.Namespace) -> int:
    from hub.cli.retention_command import gallra  # noqa: PLC0415 - fcntl, aiohttp: when used

    config = load_config(args.config)
    refuse_pending_for(config, args)
    return gallra(config.data_dir, check=args.check, database=config.database)

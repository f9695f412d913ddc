"""The operator's maintenance commands on the hub machine: `hub backup` and `hub restore`
(docs/operations.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hub.cli.exits import EXIT_OK
from hub.server.config import load_config
from hub.storage.backup import backup, restore

if TYPE_CHECKING:
    import argparse

    from hub.cli._types import Subparsers


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


def _config_hint(args: argparse.Namespace) -> str:
    return f" --config {args.config}" if args.config is not None else ""


def _backup(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    summary = backup(config.data_dir, args.dest)
    print(
        f"Säkerhetskopian är klar i {summary.path}: schemaversion {summary.schema_version}, "
        f"{summary.envelopes} meddelanden, {summary.audit_records} poster i granskningsloggen, "
        f"{summary.total_bytes} byte."
    )
    print("Den innehåller krypterade meddelanden och metadata, ingen nyckel som öppnar något.")
    return EXIT_OK


def _restore(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    manifest = restore(args.source, config.data_dir)
    print(
        f"Återställt till {config.data_dir}: {manifest['envelopes']} meddelanden, "
        f"{manifest['audit_records']} poster i granskningsloggen; allt stämde med manifestet."
    )
    print(
        f"Kör nu `hub audit verify{_config_hint(args)}`. Det som länsstyrelsen undertecknat "
        "efter säkerhetskopian finns inte i den: be administratören publicera det igen."
    )
    return EXIT_OK

"""`hub demo`: a working demo network on this machine (hub/demo.py): a hub, three
municipalities' inbox agents with enrolled contact persons, and a sample case in flight."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

    from hub.cli._types import Subparsers


def register(commands: Subparsers) -> None:
    p = commands.add_parser("demo", help="starta ett demonätverk: hubb, tre kommuners inkorgar")
    p.add_argument("--dir", type=Path, help="mapp att arbeta i (annars en ny tillfällig mapp)")
    p.add_argument(
        "--check",
        action="store_true",
        help="starta, kontrollera att exempelärendet kommer fram, och avsluta (för CI)",
    )
    p.set_defaults(run=_demo)


def _demo(args: argparse.Namespace) -> int:
    from hub.demo import run_demo  # noqa: PLC0415 - the server stack only for the demo

    root: Path = args.dir or Path(tempfile.mkdtemp(prefix="hub-demo-"))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_demo(root, check=args.check, report=lambda text: print(text, flush=True)))
    return 0

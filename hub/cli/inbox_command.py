"""`hub inbox`: start the local inbox agent for this contact person, or, when one already runs
for this operating-system user, ask it for a fresh one-time link (the desktop launcher runs
this too)."""

from __future__ import annotations

import asyncio
import os
import sys
import webbrowser
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from hub.cli.passphrase import read_passphrase
from hub.crypto import keyfile
from hub.crypto.keys import PrivateIdentity, loads_public_signing_key
from hub.localagent import control, places
from hub.localagent.previous_keys import read_previous_keys

if TYPE_CHECKING:
    import argparse

    from hub.cli._types import Subparsers


def register(commands: Subparsers) -> None:
    p = commands.add_parser("inbox", help="starta din lokala inkorg (öppnas i webbläsaren)")
    p.add_argument("--hub", metavar="URL", help="hubbens adress (standard: HUB_URL)")
    p.add_argument("--network", metavar="ID", help="nätverkets id (standard: HUB_NETWORK)")
    p.add_argument(
        "--keys",
        type=Path,
        default=places.keys_dir(),
        help="din nyckelmapp (standard: %(default)s)",
    )
    p.add_argument("--port", type=int, default=0, help="port på 127.0.0.1 (standard: en ledig)")
    p.add_argument(
        "--passphrase-file",
        type=Path,
        help="lås upp direkt med lösenfrasen i filen (annars låser du upp i webbläsaren)",
    )
    p.add_argument("--passphrase-fd", type=int, help="lås upp direkt: lösenfrasen från en fd")
    p.add_argument(
        "--idle-minutes",
        type=int,
        default=15,
        help="lås efter så här många minuter utan aktivitet: 5, 15, 30, 60 eller 120 "
        "(standard: %(default)s; går att ändra i sidan)",
    )
    p.add_argument("--no-browser", action="store_true", help="öppna inte webbläsaren själv")
    p.add_argument(
        "--allow-insecure",
        action="store_true",
        help="tillåt okrypterad HTTP till en hubb på en annan dator (bara för test)",
    )
    p.add_argument(
        "--systemd-unit",
        action="store_true",
        help="skriv ut systemd-användartjänsten som startar inkorgen vid inloggning",
    )
    p.add_argument(
        "--desktop-entry",
        action="store_true",
        help="skriv ut startikonen (.desktop) som öppnar inkorgen",
    )
    p.set_defaults(run=_inbox)


UNIT = "hub-inbox.service"
DESKTOP_ENTRY = "hub-inbox.desktop"


def shipped(name: str) -> str:
    return resources.files("hub").joinpath("deploy", name).read_text(encoding="utf-8")


def _running_agents_link(open_browser: bool) -> bool:
    """Ask the agent already running for this user for a fresh link, print and open it; False
    when none answers."""
    try:
        link = asyncio.run(control.ask_for_link())
    except OSError:
        return False
    print("Inkorgen körs redan.")
    print(f"Öppna den här länken (den fungerar en gång): {link}")
    if open_browser:
        webbrowser.open(link)
    return True


def _inbox(args: argparse.Namespace) -> int:
    from hub.inbox.agent import InboxConfig, serve  # noqa: PLC0415 - aiohttp only when serving

    if args.systemd_unit or args.desktop_entry:
        sys.stdout.write(shipped(UNIT if args.systemd_unit else DESKTOP_ENTRY))
        return 0
    if _running_agents_link(open_browser=not args.no_browser):
        return 0

    url = args.hub or os.environ.get("HUB_URL")
    network = args.network or os.environ.get("HUB_NETWORK")
    if not url or not network:
        raise ValueError("ange hubbens adress och nätverk med --hub och --network")
    admin_public = loads_public_signing_key((args.keys / "network.pub").read_bytes())
    if not (args.keys / "identity.key").is_file():
        raise FileNotFoundError(2, "ingen nyckelfil", str(args.keys / "identity.key"))
    identity: PrivateIdentity | None = None  # locked: the passphrase is typed in the page
    previous: tuple[PrivateIdentity, ...] = ()  # keys from before a stolen machine
    if args.passphrase_file is not None or args.passphrase_fd is not None:
        passphrase = read_passphrase(args.passphrase_file, fd=args.passphrase_fd)
        opened = keyfile.read_keyfile(args.keys / "identity.key", passphrase)
        previous = read_previous_keys(args.keys, passphrase)
        del passphrase
        if not isinstance(opened, PrivateIdentity):
            raise ValueError("nyckelfilen är inte en kontaktpersons nyckel")
        identity = opened
    config = InboxConfig(
        url,
        network,
        args.keys,
        port=args.port,
        allow_insecure=args.allow_insecure,
        control_socket=None if sys.platform == "win32" else control.socket_path(),
    )
    asyncio.run(
        serve(
            config,
            identity,
            admin_public,
            open_browser=not args.no_browser,
            idle_minutes=args.idle_minutes,
            previous=previous,
        )
    )
    return 0

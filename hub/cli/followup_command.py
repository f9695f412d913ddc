"""`hub uppfoljning`: start the local follow-up agent for the coordinator (their own key in
keys/identity.key) or the county administrator (`--admin`: the network key in keys/network.key,
as `hub admin` uses it)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING

from hub.cli.admin_common import NETWORK_KEY_NAME, NETWORK_PUB_NAME
from hub.cli.envelope_commands import PRIVATE_NAME
from hub.cli.passphrase import read_passphrase
from hub.crypto import keyfile
from hub.crypto.keys import PrivateIdentity, SigningKey, loads_public_signing_key

if TYPE_CHECKING:
    import argparse

    from hub.cli._types import Subparsers


def register(commands: Subparsers) -> None:
    p = commands.add_parser(
        "uppfoljning",
        help="samordnare och länsstyrelse: statistik, årsrapport och kontaktlista i webbläsaren",
    )
    p.add_argument("--hub", metavar="URL", help="hubbens adress (standard: HUB_URL)")
    p.add_argument("--network", metavar="ID", help="nätverkets id (standard: HUB_NETWORK)")
    p.add_argument("--keys", type=Path, default=Path("keys"), help="din nyckelmapp (keys/)")
    p.add_argument(
        "--admin",
        action="store_true",
        help=f"logga in som länsstyrelsen med nätverksnyckeln ({NETWORK_KEY_NAME})",
    )
    p.add_argument("--port", type=int, default=0, help="port på 127.0.0.1 (standard: en ledig)")
    p.add_argument("--passphrase-file", type=Path)
    p.add_argument("--passphrase-fd", type=int, help="läs lösenfrasen från en fildeskriptor")
    p.add_argument("--no-browser", action="store_true", help="öppna inte webbläsaren själv")
    p.add_argument(
        "--allow-insecure",
        action="store_true",
        help="tillåt okrypterad HTTP till en hubb på en annan dator (bara för test)",
    )
    p.set_defaults(run=_followup)


def load_key(
    keys: Path, *, admin: bool, passphrase: str
) -> tuple[PrivateIdentity | SigningKey, bytes]:
    """The key to sign in with, and the network key the directory is verified against."""
    if admin:
        path = keys / NETWORK_KEY_NAME
        if not path.exists():
            raise ValueError(f"{path} finns inte: länsstyrelsens nätverksnyckel behövs för --admin")
        key = keyfile.read_keyfile(path, passphrase)
        if not isinstance(key, SigningKey):
            raise ValueError(f"{path} är inte en nätverksnyckel")
        return key, key.public
    path = keys / PRIVATE_NAME
    if not path.exists() and (keys / NETWORK_KEY_NAME).exists():
        raise ValueError(f"{path} finns inte: logga in med nätverksnyckeln med --admin")
    identity = keyfile.read_keyfile(path, passphrase)
    if not isinstance(identity, PrivateIdentity):
        raise ValueError(f"{path} är inte en personlig nyckel")
    return identity, loads_public_signing_key((keys / NETWORK_PUB_NAME).read_bytes())


def _followup(args: argparse.Namespace) -> int:
    from hub.followup.agent import FollowupConfig, serve  # noqa: PLC0415 - aiohttp when serving

    url = args.hub or os.environ.get("HUB_URL")
    network = args.network or os.environ.get("HUB_NETWORK")
    if not url or not network:
        raise ValueError("ange hubbens adress och nätverk med --hub och --network")
    passphrase = read_passphrase(args.passphrase_file, fd=args.passphrase_fd)
    key, admin_public = load_key(args.keys, admin=args.admin, passphrase=passphrase)
    config = FollowupConfig(
        url, network, port=args.port, allow_insecure=args.allow_insecure, state=args.keys
    )
    asyncio.run(serve(config, key, admin_public, open_browser=not args.no_browser))
    return 0

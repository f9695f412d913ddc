"""`hub witness`: the witness service another party runs (docs/protocol.md §12.8).

    hub witness init DIR              a witness key (DIR/witness.key, encrypted; witness.pub)
    hub witness serve --dir DIR --name NAME --log NETWORK=NETWORK.PUB [--log …] [--port P]

The witness's name and public key go into the network's signed settings (`hub admin settings
--witness NAME=URL=WITNESS.PUB`); the network's key file is the one `hub admin init` wrote."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import TYPE_CHECKING, Final

from hub.cli.passphrase import read_passphrase
from hub.crypto import keyfile
from hub.crypto.keys import SigningKey, dumps_public_signing_key, loads_public_signing_key

if TYPE_CHECKING:
    import argparse

    from hub.cli._types import Subparsers

KEY_NAME: Final = "witness.key"
PUB_NAME: Final = "witness.pub"


def register(commands: Subparsers) -> None:
    p = commands.add_parser("witness", help="kontrollant: medsignera nätverkens kataloglogg")
    sub = p.add_subparsers(dest="witness_command", required=True, metavar="KOMMANDO")
    c = sub.add_parser("init", help="skapa kontrollantens nyckel i en mapp")
    c.add_argument("directory", type=Path)
    c.add_argument("--passphrase-file", type=Path)
    c.set_defaults(run=_init)

    c = sub.add_parser("serve", help="kör kontrollanten")
    c.add_argument("--dir", type=Path, required=True, help="mappen med witness.key och tillstånd")
    c.add_argument("--name", required=True, help="kontrollantens namn, t.ex. lst.example/vittne")
    c.add_argument(
        "--log",
        action="append",
        required=True,
        metavar="NÄTVERK=NYCKELFIL",
        help="ett nätverk att medsignera och dess publika nätverksnyckel (network.pub)",
    )
    c.add_argument("--host", default="127.0.0.1")
    c.add_argument("--port", type=int, default=8470)
    c.add_argument(
        "--recosign-seconds",
        type=float,
        default=600,
        help="hur ofta den senaste kontrollpunkten medsigneras på nytt (standard 600)",
    )
    c.add_argument("--passphrase-file", type=Path)
    c.set_defaults(run=_serve)


def _init(args: argparse.Namespace) -> int:
    folder: Path = args.directory
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if (folder / PUB_NAME).exists():
        raise FileExistsError(str(folder / PUB_NAME))
    key = SigningKey.generate()
    keyfile.write_keyfile(
        folder / KEY_NAME, key, read_passphrase(args.passphrase_file, confirm=True)
    )
    (folder / PUB_NAME).write_text(dumps_public_signing_key(key.public))
    print(f"Kontrollantens nyckel är skapad i {folder}/ (publik: {folder / PUB_NAME}).")
    print(f"Publik nyckel (base64), till länsstyrelsen: {base64.b64encode(key.public).decode()}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from aiohttp import web  # noqa: PLC0415 - aiohttp only where a service runs

    from hub.witness.core import KnownLog  # noqa: PLC0415
    from hub.witness.service import Witness, witness_app  # noqa: PLC0415

    key = keyfile.read_keyfile(args.dir / KEY_NAME, read_passphrase(args.passphrase_file))
    if not isinstance(key, SigningKey):
        raise ValueError(f"{args.dir / KEY_NAME} är inte en kontrollantnyckel")
    logs = {}
    for item in args.log:
        network, _, pub = item.partition("=")
        if not pub:
            raise ValueError("--log ska vara NÄTVERK=NYCKELFIL")
        log = KnownLog(network, loads_public_signing_key(Path(pub).read_bytes()))
        logs[log.origin] = log
    witness = Witness(args.name, key, args.dir, logs)
    witness.load()
    app = witness_app(witness, recosign_seconds=args.recosign_seconds)
    print(f"Kontrollanten {args.name} lyssnar på http://{args.host}:{args.port}/", flush=True)

    async def run() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, args.host, args.port).start()
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    asyncio.run(run())
    return 0

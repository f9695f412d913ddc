"""`hub admin …`: the county administrator keeps the contact list (network key, municipalities,
invites, approving, revoking and rotating contact persons' keys, the addresses their deadline
notices go to, and the notices that could not be sent); `hub enrol`: a new contact person makes
their keys and sends the public part with the one-time code.

Trust runs through the administrator's network key only. The administrator checks each new
key's fingerprint by phone before signing its directory entry, and verifies the directory
against their own key before every change; a contact person pins the network key from the file
the administrator sends, after checking its fingerprint by phone. The hub signs nothing.

This module makes the network key (`hub admin init`) and puts the commands together; each
group is a module of its own: admin_registry_command (municipalities, kommunmallar, settings),
admin_invites_command, admin_keys_command (approve, revoke, rotate, handover),
admin_directory_command (directory, checkpoint, republish), erase_command,
admin_contacts_command (addresses and notices) and enrol_command (`hub enrol`); what they share
is admin_common.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hub.cli import (
    admin_contacts_command,
    admin_directory_command,
    admin_invites_command,
    admin_keys_command,
    admin_registry_command,
    enrol_command,
    erase_command,
)
from hub.cli.admin_common import (
    NETWORK_KEY_NAME,
    NETWORK_PUB_NAME,
    key_options,
)
from hub.cli.envelope_commands import KDF_PROFILES, _AtomicOutput
from hub.cli.passphrase import read_passphrase
from hub.crypto import keyfile
from hub.crypto.keys import (
    SigningKey,
    dumps_public_signing_key,
)

if TYPE_CHECKING:
    import argparse

    from hub.cli._types import Subparsers


def register(commands: Subparsers) -> None:
    admin = commands.add_parser(
        "admin", help="länsstyrelsen: nätverksnyckel, kommuner, kontaktpersoner och deras nycklar"
    )
    sub = admin.add_subparsers(dest="admin_command", required=True, metavar="KOMMANDO")

    p = sub.add_parser("init", help="skapa nätverkets signeringsnyckel i en mapp")
    p.add_argument("directory", type=Path, help="mappen för nätverksnyckeln (t.ex. keys/)")
    key_options(p)
    p.set_defaults(run=_init)

    admin_registry_command.register(sub)
    admin_invites_command.register(sub)
    admin_keys_command.register(sub)
    admin_directory_command.register(sub)
    erase_command.register(sub)
    admin_contacts_command.register(sub)
    enrol_command.register(commands)


# --- hub admin init -------------------------------------------------------------------------


def _init(args: argparse.Namespace) -> int:
    directory: Path = args.directory
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    private, public = directory / NETWORK_KEY_NAME, directory / NETWORK_PUB_NAME
    if public.exists():
        raise FileExistsError(str(public))
    passphrase = read_passphrase(args.passphrase_file, confirm=True)
    key = SigningKey.generate()
    opslimit, memlimit = KDF_PROFILES[args.kdf]
    keyfile.write_keyfile(private, key, passphrase, opslimit=opslimit, memlimit=memlimit)
    with _AtomicOutput(public, mode=0o644) as out:
        out.write(dumps_public_signing_key(key.public).encode())
    print(f"Nätverksnyckeln är skapad i {directory}/")
    print(f"  privat (krypterad): {private}")
    print(f"  publik:             {public}")
    print(f"  fingeravtryck:      {key.fingerprint}")
    print(
        f"Skicka {public} till hubbens operatör och läs upp fingeravtrycket per telefon; "
        f"operatören kör `hub network create --admin-key {NETWORK_PUB_NAME}`."
    )
    return 0

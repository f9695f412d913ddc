"""`hub enrol`: a new contact person makes their keys on their own machine, pins the network
key after checking its fingerprint by phone, and sends the public part with the one-time code
(optionally with a recovery copy, docs/protocol.md §3.7-3.8)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hub.cli import recovery_command, recovery_hub
from hub.cli.admin_common import (
    NETWORK_PUB_NAME,
    hub_and_network,
    hub_options,
    key_options,
)
from hub.cli.envelope_commands import KDF_PROFILES, PRIVATE_NAME, PUBLIC_NAME, _AtomicOutput
from hub.cli.passphrase import read_passphrase
from hub.crypto import keyfile
from hub.crypto.keys import (
    PrivateIdentity,
    dumps_public_signing_key,
)
from hub.protocol.enrolment import normalise_code

if TYPE_CHECKING:
    import argparse

    from hub.cli._types import Subparsers


def register(commands: Subparsers) -> None:
    p = commands.add_parser(
        "enrol", help="kontaktperson: skapa nycklar och registrera dem med inbjudningskoden"
    )
    p.add_argument("--code", required=True, help="engångskoden från länsstyrelsen")
    p.add_argument(
        "--admin-key",
        type=Path,
        required=True,
        help="länsstyrelsens nätverksnyckel (network.pub, skickad av länsstyrelsen)",
    )
    p.add_argument(
        "--admin-fingerprint",
        metavar="SIFFROR",
        help="nätverksnyckelns fingeravtryck som länsstyrelsen läste upp (annars en fråga)",
    )
    p.add_argument(
        "--recovery-copy",
        type=Path,
        metavar="FIL",
        help="gör också en återställningskopia av nycklarna hit (som hub recovery create)",
    )
    p.add_argument(
        "--recovery-on-hub",
        action="store_true",
        help="spara återställningskopian också på hubben, som inte kan öppna den",
    )
    hub_options(p)
    key_options(p)
    p.set_defaults(run=_enrol)


def _enrol(args: argparse.Namespace) -> int:
    url, network = hub_and_network(args)
    code = normalise_code(args.code)
    # Pin the administrator's key before anything is made or sent: it is what every directory
    # entry will be checked against later, and the hub cannot vouch for it.
    admin_public = recovery_hub.pinned_admin_key(args.admin_key, args.admin_fingerprint)
    if admin_public is None:
        print("Avbrutet: inget har skapats.")
        return 1

    directory: Path = args.keys
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    private, public, pinned = (
        directory / PRIVATE_NAME,
        directory / PUBLIC_NAME,
        directory / NETWORK_PUB_NAME,
    )
    for path in (private, public, pinned):
        if path.exists():
            raise FileExistsError(str(path))
    _check_recovery_options(args)
    passphrase = read_passphrase(args.passphrase_file, confirm=True)
    identity = PrivateIdentity.generate()
    made = _recovery_copy(args, identity, network)  # before the enrolment, which may carry it
    opslimit, memlimit = KDF_PROFILES[args.kdf]
    keyfile.write_keyfile(private, identity, passphrase, opslimit=opslimit, memlimit=memlimit)
    try:
        with _AtomicOutput(public, mode=0o644) as out:
            out.write(identity.public.dumps().encode())
        on_hub = None if made is None or made.lookup is None else (made.lookup, made.text)
        enrolment_id = recovery_hub.send_enrolment(url, network, code, identity, on_hub)
    except BaseException:
        # Never registered: leave nothing, so that a second try with the right code works.
        private.unlink(missing_ok=True)
        public.unlink(missing_ok=True)
        raise
    with _AtomicOutput(pinned, mode=0o644) as out:
        out.write(dumps_public_signing_key(admin_public).encode())
    print(f"Registrerad (nummer {enrolment_id}); nycklarna finns i {directory}/")
    print(f"  nyckel-id:     {identity.key_id.hex()}")
    print(f"  fingeravtryck: {identity.public.fingerprint}")
    print(
        "Läs upp ditt fingeravtryck för länsstyrelsen när de ringer; nyckeln gäller först när "
        "de har godkänt den."
    )
    if made is not None:
        print()
        recovery_command.keep_and_show(args.recovery_copy, identity, made)
    return 0


def _check_recovery_options(args: argparse.Namespace) -> None:
    if args.recovery_on_hub and args.recovery_copy is None:
        raise ValueError("--recovery-on-hub kräver --recovery-copy FIL")
    if args.recovery_copy is not None:
        recovery_command.check_copy_is_new(args.recovery_copy)


def _recovery_copy(
    args: argparse.Namespace, identity: PrivateIdentity, network: str
) -> recovery_command.NewCopy | None:
    if args.recovery_copy is None:
        return None
    return recovery_command.make_copy(identity, args.kdf, network if args.recovery_on_hub else None)

"""`hub recovery create` and `hub recovery restore`: a contact person's recovery copy (issue 17,
docs/protocol.md §3.7). The copy is a key file sealed under a recovery code printed once; the
restore opens it and writes the key into a fresh keys folder under a new passphrase."""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from hub import files
from hub.cli.envelope_commands import (
    KDF_PROFILES,
    PRIVATE_NAME,
    PUBLIC_NAME,
    _AtomicOutput,
    _load_identity,
)
from hub.cli.passphrase import read_passphrase, read_recovery_code
from hub.crypto import keyfile
from hub.crypto.keys import PrivateIdentity
from hub.errors import RecoveryError
from hub.protocol.recovery import loads_recovery_copy, new_recovery_code

if TYPE_CHECKING:
    import argparse

    from hub.cli._types import Subparsers

DEFAULT_COPY = Path("aterstallningskopia.json")


def register(commands: Subparsers) -> None:
    recovery = commands.add_parser(
        "recovery", help="återställningskopia av dina nycklar, om datorn försvinner"
    )
    sub = recovery.add_subparsers(dest="recovery_command", required=True, metavar="KOMMANDO")

    p = sub.add_parser("create", help="gör en återställningskopia och skriv ut dess kod en gång")
    p.add_argument("--keys", type=Path, default=Path("keys"), help="nyckelmappen (standard keys/)")
    p.add_argument("--passphrase-file", type=Path, help="läs nycklarnas lösenfras ur en fil")
    _kdf_option(p, "kopians")
    p.add_argument(
        "copy",
        type=Path,
        nargs="?",
        default=DEFAULT_COPY,
        help=f"kopian som skrivs (standard {DEFAULT_COPY}); skrivs aldrig över",
    )
    p.set_defaults(run=_create)

    p = sub.add_parser(
        "restore", help="återställ nycklarna från en kopia och koden till en ny nyckelmapp"
    )
    p.add_argument("copy", type=Path, help="återställningskopian")
    p.add_argument(
        "--keys", type=Path, default=Path("keys"), help="den nya nyckelmappen (standard keys/)"
    )
    p.add_argument("--code-file", type=Path, help="läs återställningskoden ur en fil")
    p.add_argument("--passphrase-file", type=Path, help="läs den nya lösenfrasen ur en fil")
    _kdf_option(p, "den nya lösenfrasens")
    p.set_defaults(run=_restore)


def _kdf_option(p: argparse.ArgumentParser, whose: str) -> None:
    p.add_argument(
        "--kdf",
        choices=sorted(KDF_PROFILES),
        default="moderate",
        help=f"hur tung {whose} nyckelhärledning är (standard: moderate)",
    )


def _create(args: argparse.Namespace) -> int:
    check_copy_is_new(args.copy)
    identity = _load_identity(args.keys, args.passphrase_file)
    write_copy_and_show_code(args.copy, identity, args.kdf)
    return 0


def check_copy_is_new(copy: Path) -> None:
    """Before anything slow or lasting is done: a copy is never written over."""
    if copy.is_symlink() or copy.exists():
        raise FileExistsError(str(copy))


def write_copy_and_show_code(copy: Path, identity: PrivateIdentity, kdf: str) -> None:
    """Seal `identity` under a fresh code into `copy`, then print the code, once (also
    `hub enrol --recovery-copy`)."""
    code = new_recovery_code()
    opslimit, memlimit = KDF_PROFILES[kdf]
    keyfile.write_keyfile(copy, identity, code, opslimit=opslimit, memlimit=memlimit)
    print(f"Återställningskopian är skriven: {copy}")
    print(f"  nyckel-id:     {identity.public.key_id.hex()}")
    print(f"  fingeravtryck: {identity.public.fingerprint}")
    print()
    print("Din återställningskod (visas bara den här gången):")
    print()
    print(f"    {code}")
    print()
    print("Skriv ner koden på papper och förvara den inlåst, åtskild från kopian, till exempel")
    print("i kommunens kassaskåp. Spara den inte på datorn och skicka den inte med e-post.")
    print("Lägg kopian där den finns kvar om datorn försvinner, till exempel hos kommunen.")
    print("Med kopian och koden kan vem som helst använda din nyckel: en kod kan inte")
    print("återkallas för sig. Misstänker du att någon sett koden, be länsstyrelsen byta")
    print("din nyckel och gör en ny kopia.")


def _restore(args: argparse.Namespace) -> int:
    keys: Path = args.keys
    private, public = keys / PRIVATE_NAME, keys / PUBLIC_NAME
    if any(path.is_symlink() or path.exists() for path in (private, public)):
        raise RecoveryError("recovery_keys_exist", str(keys))
    with args.copy.open("rb") as f:
        data = f.read(keyfile.MAX_KEYFILE_BYTES + 1)
    # The code opens the copy before anything is written: a wrong or altered code, or an
    # altered copy, leaves nothing behind.
    key = loads_recovery_copy(data, read_recovery_code(args.code_file))
    if not isinstance(key, PrivateIdentity):
        raise RecoveryError("recovery_copy_unsupported", "not a contact person's key")
    passphrase = read_passphrase(args.passphrase_file, confirm=True)
    _write_keys(keys, key, passphrase, KDF_PROFILES[args.kdf])
    print(f"Nycklarna är återställda i {keys}/")
    print(f"  nyckel-id:     {key.public.key_id.hex()}")
    print(f"  fingeravtryck: {key.public.fingerprint}")
    print()
    print("Blev datorn stulen? Då kan någon annan också ha nyckeln. Be länsstyrelsen godkänna")
    print("en ny nyckel åt dig (hub enrol med en ny inbjudan) och återkalla den gamla som röjd")
    print("från när datorn försvann (hub admin revoke NYCKEL_ID --reason compromised --at TID).")
    print("Gör sedan en ny återställningskopia av den nya nyckeln.")
    return 0


def _write_keys(keys: Path, key: PrivateIdentity, passphrase: str, limits: tuple[int, int]) -> None:
    """Both files, or neither. A new folder is filled beside its name and renamed into place,
    so a restore killed midway leaves no half folder under that name; into a folder that exists
    (and holds no keys), a key without its public file is removed again."""
    staging = None
    if not keys.exists():
        keys.parent.mkdir(parents=True, exist_ok=True)
        staging = keys.with_name(f".{keys.name}.{secrets.token_hex(8)}.tmp")
    folder = staging or keys
    files.private_folder(folder)
    private, public = folder / PRIVATE_NAME, folder / PUBLIC_NAME
    written: list[Path] = []  # only these are removed on failure, never a file found there
    try:
        opslimit, memlimit = limits
        keyfile.write_keyfile(private, key, passphrase, opslimit=opslimit, memlimit=memlimit)
        written.append(private)
        with _AtomicOutput(public, mode=0o644) as out:
            out.write(key.public.dumps().encode())
        written.append(public)
        if staging is not None:
            staging.rename(keys)  # refused if a folder with files appeared meanwhile
            files.sync_folder(keys.parent)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        if staging is not None:
            with contextlib.suppress(OSError):
                staging.rmdir()
        raise

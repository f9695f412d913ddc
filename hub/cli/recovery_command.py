"""`hub recovery create` and `hub recovery restore`: a contact person's recovery copy (issue 17,
docs/protocol.md §3.7-3.8). The copy is a key file sealed under a recovery code printed once,
kept as a file and, with --on-hub, on the hub, which cannot open it. The restore opens it (from
the file, or fetched from the hub by the code alone) and writes the key into a fresh keys folder
under a new passphrase. After a stolen machine (--stolen) it makes a new key instead, sends its
enrolment under an invite, and keeps the old key beside it only to open the open cases."""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hub import files
from hub.cli import recovery_hub
from hub.cli.envelope_commands import (
    KDF_PROFILES,
    PRIVATE_NAME,
    PUBLIC_NAME,
    _AtomicOutput,
    _load_identity,
)
from hub.cli.passphrase import read_passphrase, read_recovery_code
from hub.crypto import keyfile
from hub.crypto.keys import PrivateIdentity, dumps_public_signing_key
from hub.errors import RecoveryError
from hub.localagent.previous_keys import PREVIOUS_KEYS, previous_key_path
from hub.protocol.recovery import dumps_recovery_copy, loads_recovery_copy, new_recovery_code

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from hub.cli._types import Subparsers

DEFAULT_COPY = Path("aterstallningskopia.json")
NETWORK_PUB_NAME = "network.pub"


def register(commands: Subparsers) -> None:
    recovery = commands.add_parser(
        "recovery", help="återställningskopia av dina nycklar, om datorn försvinner"
    )
    sub = recovery.add_subparsers(dest="recovery_command", required=True, metavar="KOMMANDO")

    p = sub.add_parser("create", help="gör en återställningskopia och skriv ut dess kod en gång")
    p.add_argument("--keys", type=Path, default=Path("keys"), help="nyckelmappen (standard keys/)")
    p.add_argument("--passphrase-file", type=Path, help="läs nycklarnas lösenfras ur en fil")
    _kdf_option(p, "kopians")
    _on_hub_option(p)
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
    p.add_argument("copy", type=Path, nargs="?", help="återställningskopian (utan --from-hub)")
    p.add_argument(
        "--from-hub", action="store_true", help="hämta kopian från hubben med koden i stället"
    )
    p.add_argument(
        "--keys", type=Path, default=Path("keys"), help="den nya nyckelmappen (standard keys/)"
    )
    p.add_argument("--code-file", type=Path, help="läs återställningskoden ur en fil")
    p.add_argument("--passphrase-file", type=Path, help="läs den nya lösenfrasen ur en fil")
    _kdf_option(p, "den nya lösenfrasens")
    _hub_options(p)
    p.add_argument(
        "--admin-key",
        type=Path,
        help="länsstyrelsens nätverksnyckel (network.pub), så att inkorgen kan starta",
    )
    p.add_argument(
        "--admin-fingerprint",
        metavar="SIFFROR",
        help="nätverksnyckelns fingeravtryck som länsstyrelsen läste upp (annars en fråga)",
    )
    p.add_argument(
        "--stolen",
        "--stulen",
        action="store_true",
        help="datorn blev stulen: gör en ny nyckel och registrera den med en ny inbjudan; den "
        "gamla behålls bara för att öppna de pågående ärendena",
    )
    p.add_argument("--invite", metavar="KOD", help="inbjudningskoden från länsstyrelsen (--stolen)")
    p.set_defaults(run=_restore)


def _kdf_option(p: argparse.ArgumentParser, whose: str) -> None:
    p.add_argument(
        "--kdf",
        choices=sorted(KDF_PROFILES),
        default="moderate",
        help=f"hur tung {whose} nyckelhärledning är (standard: moderate)",
    )


def _hub_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hub", metavar="URL", help="hubbens adress (standard: HUB_URL)")
    p.add_argument("--network", metavar="ID", help="nätverkets id (standard: HUB_NETWORK)")


def _on_hub_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--on-hub",
        action="store_true",
        help="spara kopian också på hubben, som inte kan öppna den (hämtas med koden)",
    )
    _hub_options(p)


# --- create -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewCopy:
    """A copy sealed under a fresh code; `lookup` is its id on the hub (None: not kept there)."""

    code: str
    text: str
    lookup: bytes | None


def make_copy(identity: PrivateIdentity, kdf: str, network: str | None) -> NewCopy:
    """Seal `identity` under a fresh code; with `network`, also derive its id on the hub."""
    code = new_recovery_code()
    opslimit, memlimit = KDF_PROFILES[kdf]
    text = dumps_recovery_copy(identity, code, opslimit=opslimit, memlimit=memlimit)
    lookup = None if network is None else recovery_hub.lookup_of(code, network)
    return NewCopy(code, text, lookup)


def _create(args: argparse.Namespace) -> int:
    check_copy_is_new(args.copy)
    hub = recovery_hub.hub_and_network(args.hub, args.network) if args.on_hub else None
    identity = _load_identity(args.keys, args.passphrase_file)
    made = make_copy(identity, args.kdf, None if hub is None else hub[1])
    if hub is not None and made.lookup is not None:
        # On the hub first: if that fails, no file is written and no code shown.
        recovery_hub.store_copy(*hub, identity, made.lookup, made.text)
    keep_and_show(args.copy, identity, made)
    return 0


def check_copy_is_new(copy: Path) -> None:
    """Before anything slow or lasting is done: a copy is never written over."""
    if copy.is_symlink() or copy.exists():
        raise FileExistsError(str(copy))


def keep_and_show(copy: Path, identity: PrivateIdentity, made: NewCopy) -> None:
    """Write the copy to `copy` (0600, never over a file), then print the code, once (also
    `hub enrol --recovery-copy`)."""
    with _AtomicOutput(copy, mode=0o600) as out:
        out.write(made.text.encode("utf-8"))
    print(f"Återställningskopian är skriven: {copy}")
    if made.lookup is not None:
        print("  Den finns också på hubben, som inte kan öppna den; den hämtas med koden.")
    print(f"  nyckel-id:     {identity.public.key_id.hex()}")
    print(f"  fingeravtryck: {identity.public.fingerprint}")
    print()
    print("Din återställningskod (visas bara den här gången):")
    print()
    print(f"    {made.code}")
    print()
    print("Skriv ner koden på papper och förvara den inlåst, åtskild från kopian, till exempel")
    print("i kommunens kassaskåp. Spara den inte på datorn och skicka den inte med e-post.")
    print("Lägg kopian där den finns kvar om datorn försvinner, till exempel hos kommunen.")
    print("Med kopian och koden kan vem som helst använda din nyckel: en kod kan inte")
    print("återkallas för sig. Misstänker du att någon sett koden, be länsstyrelsen byta")
    print("din nyckel och gör en ny kopia.")


# --- restore ----------------------------------------------------------------------------------


def _restore(args: argparse.Namespace) -> int:
    keys: Path = args.keys
    _check_restore_options(args)
    if any(
        path.is_symlink() or path.exists() for path in (keys / PRIVATE_NAME, keys / PUBLIC_NAME)
    ):
        raise RecoveryError("recovery_keys_exist", str(keys))
    hub = None
    if args.from_hub or args.stolen:
        hub = recovery_hub.hub_and_network(args.hub, args.network)
    # The code opens the copy before anything is written: a wrong or altered code, or an
    # altered copy, leaves nothing behind (and a mistyped one is refused before the hub is
    # asked: no lookup id is derived from it).
    code = read_recovery_code(args.code_file)
    if args.from_hub and hub is not None:
        text: str | bytes = recovery_hub.fetch_copy(*hub, recovery_hub.lookup_of(code, hub[1]))
    else:
        with args.copy.open("rb") as f:
            text = f.read(keyfile.MAX_KEYFILE_BYTES + 1)
    key = loads_recovery_copy(text, code)
    if not isinstance(key, PrivateIdentity):
        raise RecoveryError("recovery_copy_unsupported", "not a contact person's key")
    admin_public = None
    if args.admin_key is not None:
        admin_public = recovery_hub.pinned_admin_key(args.admin_key, args.admin_fingerprint)
        if admin_public is None:
            print("Avbrutet: inget har skapats.")
            return 1
    passphrase = read_passphrase(args.passphrase_file, confirm=True)
    limits = KDF_PROFILES[args.kdf]
    if args.stolen and hub is not None:
        return _restore_stolen(args, hub, key, passphrase, admin_public)
    _write_keys(keys, key, passphrase, limits, admin_public=admin_public)
    print(f"Nycklarna är återställda i {keys}/")
    print(f"  nyckel-id:     {key.public.key_id.hex()}")
    print(f"  fingeravtryck: {key.public.fingerprint}")
    print()
    print("Blev datorn stulen? Då kan någon annan också ha nyckeln. Återställ i stället med")
    print("--stolen och en ny inbjudan från länsstyrelsen: du får en ny nyckel, och den gamla")
    print("återkallas som röjd från när datorn försvann (hub admin rotate --compromised-at TID).")
    return 0


def _check_restore_options(args: argparse.Namespace) -> None:
    if args.from_hub == (args.copy is not None):
        raise ValueError("ange antingen kopians fil eller --from-hub")
    if args.stolen and (args.invite is None or args.admin_key is None):
        raise ValueError("--stolen kräver --invite (en ny inbjudan) och --admin-key")


def _restore_stolen(
    args: argparse.Namespace,
    hub: tuple[str, str],
    old: PrivateIdentity,
    passphrase: str,
    admin_public: bytes | None,
) -> int:
    """A new key, enrolled under the invite, with the old one kept beside it only to open:
    the old key is in the thief's hands too, and signs nothing again."""
    new = PrivateIdentity.generate()
    enrolment: list[int] = []

    def enrol() -> None:  # once every file is staged, before they take their name
        enrolment.append(recovery_hub.send_enrolment(*hub, args.invite, new))

    _write_keys(
        args.keys,
        new,
        passphrase,
        KDF_PROFILES[args.kdf],
        admin_public=admin_public,
        previous=old,
        before_publish=enrol,
    )
    print(f"En ny nyckel är skapad och registrerad (nummer {enrolment[0]}) i {args.keys}/")
    print(f"  nyckel-id:     {new.public.key_id.hex()}")
    print(f"  fingeravtryck: {new.public.fingerprint}")
    print(f"Den gamla nyckeln ({old.key_id.hex()}) finns kvar i {args.keys}/{PREVIOUS_KEYS}/,")
    print("bara för att inkorgen ska kunna öppna de pågående ärendena; den skriver aldrig mer.")
    print()
    print("Läs upp det nya fingeravtrycket för länsstyrelsen. De godkänner den nya nyckeln och")
    print("återkallar den gamla som röjd från när datorn försvann, i ett steg:")
    print(
        f"  hub admin rotate --old {old.key_id.hex()} --enrolment {enrolment[0]} "
        "--compromised-at TID"
    )
    print(f"(Är den gamla nyckeln redan återkallad räcker: hub admin approve {enrolment[0]}.)")
    print("Gör sedan en ny återställningskopia av den nya nyckeln (hub recovery create).")
    return 0


def _write_keys(  # noqa: PLR0913 - past the four, keyword-only parts of the folder
    keys: Path,
    key: PrivateIdentity,
    passphrase: str,
    limits: tuple[int, int],
    *,
    admin_public: bytes | None = None,
    previous: PrivateIdentity | None = None,
    before_publish: Callable[[], None] | None = None,
) -> None:
    """Every file, or none. A new folder is filled beside its name and renamed into place,
    so a restore killed midway leaves no half folder under that name; into a folder that exists
    (and holds no keys), the files written are removed again on failure. `before_publish`
    runs once all are written, before the rename: its failure leaves nothing either."""
    staging = None
    if not keys.exists():
        keys.parent.mkdir(parents=True, exist_ok=True)
        staging = keys.with_name(f".{keys.name}.{secrets.token_hex(8)}.tmp")
    folder = staging or keys
    files.private_folder(folder)
    written: list[Path] = []  # only these are removed on failure, never a file found there
    made: list[Path] = []
    try:
        opslimit, memlimit = limits
        if previous is not None:
            old = previous_key_path(folder, previous.key_id)
            if not old.parent.exists():
                files.private_folder(old.parent)
                made.append(old.parent)
            keyfile.write_keyfile(old, previous, passphrase, opslimit=opslimit, memlimit=memlimit)
            written.append(old)
        private = folder / PRIVATE_NAME
        keyfile.write_keyfile(private, key, passphrase, opslimit=opslimit, memlimit=memlimit)
        written.append(private)
        _write_public(folder / PUBLIC_NAME, key.public.dumps(), written)
        if admin_public is not None and not (folder / NETWORK_PUB_NAME).exists():
            _write_public(
                folder / NETWORK_PUB_NAME, dumps_public_signing_key(admin_public), written
            )
        if before_publish is not None:
            before_publish()
        if staging is not None:
            staging.rename(keys)  # refused if a folder with files appeared meanwhile
            files.sync_folder(keys.parent)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        for folder_made in (*made, *([staging] if staging is not None else [])):
            with contextlib.suppress(OSError):
                folder_made.rmdir()
        raise


def _write_public(path: Path, text: str, written: list[Path]) -> None:
    with _AtomicOutput(path, mode=0o644) as out:
        out.write(text.encode())
    written.append(path)

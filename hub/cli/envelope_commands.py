"""`hub keygen`, `hub seal`, `hub open`, `hub fingerprint`: the envelope by hand, as age's
command line is (docs/protocol.md §9)."""

from __future__ import annotations

import json
import mimetypes
import os
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub import files
from hub.cli.passphrase import read_passphrase
from hub.crypto import keyfile
from hub.crypto.envelope import AttachmentSource, PinnedSender, open_envelope, seal
from hub.crypto.format import MessageKind
from hub.crypto.keys import PrivateIdentity, PublicIdentity

if TYPE_CHECKING:
    import argparse

    from hub.cli._types import Subparsers

PRIVATE_NAME = "identity.key"
PUBLIC_NAME = "identity.pub"
KDF_PROFILES = {
    "moderate": (keyfile.DEFAULT_OPSLIMIT, keyfile.DEFAULT_MEMLIMIT),
    "interactive": (keyfile.INTERACTIVE_OPSLIMIT, keyfile.INTERACTIVE_MEMLIMIT),
}


def register(commands: Subparsers) -> None:
    p = commands.add_parser("keygen", help="skapa en kontaktpersons nycklar i en mapp")
    p.add_argument("directory", type=Path, help="mappen för nycklarna (t.ex. keys/)")
    p.add_argument("--passphrase-file", type=Path, help="läs lösenfrasen ur en fil")
    p.add_argument(
        "--kdf",
        choices=sorted(KDF_PROFILES),
        default="moderate",
        help="hur tung lösenfrasens nyckelhärledning är (standard: moderate)",
    )
    p.set_defaults(run=_keygen)

    p = commands.add_parser("seal", help="kryptera och signera ett dokument med bilagor")
    p.add_argument("--from", dest="sender", type=Path, required=True, help="avsändarens nyckelmapp")
    p.add_argument(
        "--to",
        dest="recipients",
        type=Path,
        action="append",
        required=True,
        metavar="PUBFIL",
        help="mottagarens publika nyckel (kan upprepas)",
    )
    p.add_argument(
        "--attach",
        "-a",
        type=Path,
        action="append",
        default=[],
        metavar="FIL",
        help="bifoga en fil (kan upprepas)",
    )
    p.add_argument("--kind", choices=[k.name.lower() for k in MessageKind], default="inquiry")
    p.add_argument("--case", help="ärendets id (32 hexadecimala tecken); annars slumpas ett")
    p.add_argument("--passphrase-file", type=Path)
    p.add_argument("input", type=Path, help="dokumentet: en JSON-fil med formulärets fält")
    p.add_argument("output", type=Path, help="det krypterade meddelandet")
    p.set_defaults(run=_seal)

    p = commands.add_parser("open", help="kontrollera och dekryptera ett meddelande")
    p.add_argument("--with", dest="recipient", type=Path, required=True, help="din nyckelmapp")
    p.add_argument(
        "--from",
        dest="sender",
        type=Path,
        required=True,
        metavar="PUBFIL",
        help="avsändarens publika nyckel: bara det den har signerat öppnas",
    )
    p.add_argument("--passphrase-file", type=Path)
    p.add_argument("input", type=Path)
    p.add_argument("outdir", type=Path, help="skapas med document.json och attachments/")
    p.set_defaults(run=_open)

    p = commands.add_parser("fingerprint", help="visa nyckel-id och fingeravtryck för en pubfil")
    p.add_argument("public", type=Path)
    p.set_defaults(run=_fingerprint)


def _keygen(args: argparse.Namespace) -> int:
    directory: Path = args.directory
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    passphrase = read_passphrase(args.passphrase_file, confirm=True)
    identity = PrivateIdentity.generate()
    opslimit, memlimit = KDF_PROFILES[args.kdf]
    if (directory / PUBLIC_NAME).exists():
        raise FileExistsError(str(directory / PUBLIC_NAME))
    keyfile.write_keyfile(
        directory / PRIVATE_NAME, identity, passphrase, opslimit=opslimit, memlimit=memlimit
    )
    with _AtomicOutput(directory / PUBLIC_NAME, mode=0o644) as out:
        out.write(identity.public.dumps().encode())
    print(f"Nycklar skapade i {directory}/")
    print(f"  privat (krypterad): {directory / PRIVATE_NAME}")
    print(f"  publik:             {directory / PUBLIC_NAME}")
    print(f"  nyckel-id:          {identity.public.key_id.hex()}")
    print(f"  fingeravtryck:      {identity.public.fingerprint}")
    return 0


def _load_identity(directory: Path, passphrase_file: Path | None) -> PrivateIdentity:
    passphrase = read_passphrase(passphrase_file)
    key = keyfile.read_keyfile(directory / PRIVATE_NAME, passphrase)
    if not isinstance(key, PrivateIdentity):
        raise ValueError(f"{directory / PRIVATE_NAME} är inte en kontaktpersons nyckel")
    return key


def _load_public(path: Path) -> PublicIdentity:
    if path.is_dir():
        path = path / PUBLIC_NAME
    return PublicIdentity.loads(path.read_bytes())


def _seal(args: argparse.Namespace) -> int:
    document = _read_document(args.input)
    recipients = [_load_public(p) for p in args.recipients]
    case_id = bytes.fromhex(args.case) if args.case else os.urandom(16)
    if len(case_id) != 16:
        raise ValueError("ärendets id ska vara 32 hexadecimala tecken")
    sender = _load_identity(args.sender, args.passphrase_file)
    with ExitStack() as stack:
        attachments = []
        for path in args.attach:
            stream = stack.enter_context(path.open("rb"))
            media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            attachments.append(
                AttachmentSource(path.name, media_type, os.fstat(stream.fileno()).st_size, stream)
            )
        # The sender's own key is always a recipient: what was sent stays readable at home.
        with _AtomicOutput(args.output) as out:
            sealed = seal(
                out,
                sender=sender,
                recipients=[*recipients, sender.public],
                kind=MessageKind[args.kind.upper()],
                case_id=case_id,
                document=document,
                attachments=attachments,
                created_at=int(time.time()),
            )
    print(f"Krypterat till {len(sealed.header.stanzas)} nycklar: {args.output}")
    print(f"  meddelande-id: {sealed.header.message_id.hex()}")
    print(f"  storlek:       {sealed.length} byte")
    return 0


def _open(args: argparse.Namespace) -> int:
    outdir: Path = args.outdir
    if outdir.exists():
        raise FileExistsError(str(outdir))
    sender = _load_public(args.sender)
    recipient = _load_identity(args.recipient, args.passphrase_file)
    outdir.parent.mkdir(parents=True, exist_ok=True)
    with args.input.open("rb") as src:
        opened = open_envelope(
            src,
            recipient=recipient,
            sender_keys=PinnedSender(sender),
            workdir=outdir.parent,
            now=int(time.time()),
        )
    with opened:
        opened.extract(outdir)
    print(f"Underskriften och innehållet är kontrollerade. Öppnat i {outdir}/")
    print(f"  avsändarens fingeravtryck: {sender.fingerprint}")
    for info in opened.attachments:
        print(f"  bilaga: {info.name} ({info.size} byte, {info.media_type})")
    return 0


def _fingerprint(args: argparse.Namespace) -> int:
    public = _load_public(args.public)
    print(f"nyckel-id:     {public.key_id.hex()}")
    print(f"fingeravtryck: {public.fingerprint}")
    return 0


def _read_document(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} är inte en JSON-fil: {exc}") from exc
    if not isinstance(document, dict):
        raise ValueError(f"{path} ska innehålla ett JSON-objekt med formulärets fält")
    return document


class _AtomicOutput:
    """A file that appears at `path` complete, or not at all; never overwrites."""

    def __init__(self, path: Path, mode: int = 0o600) -> None:
        self._path = path
        if path.exists():
            raise FileExistsError(str(path))
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path())
        self._temp = Path(name)
        files.set_mode(fd, self._temp, mode)  # mkstemp's 0600, or readable for a public file
        self._file = os.fdopen(fd, "wb")

    def __enter__(self) -> Any:  # noqa: ANN401 - the binary file object
        return self._file

    def __exit__(self, exc_type: object, *rest: object) -> None:
        try:
            if exc_type is None:
                self._file.flush()
                os.fsync(self._file.fileno())
            self._file.close()
            if exc_type is None:
                files.publish(self._temp, self._path)  # refused if the name appeared meanwhile
        finally:
            self._temp.unlink(missing_ok=True)

"""`hub demo`: until the hub server and the inbox exist, a round trip on the command line:
two contact persons' keys, a sample inquiry with an attachment, sealed, opened, verified, and a
tampered copy refused. Everything happens in a fresh folder that is left for inspection."""

from __future__ import annotations

import io
import json
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from hub.crypto import keyfile
from hub.crypto.envelope import AttachmentSource, PinnedSender, open_envelope, seal
from hub.crypto.format import MessageKind
from hub.crypto.keys import PrivateIdentity
from hub.errors import HubError

if TYPE_CHECKING:
    import argparse

    from hub.cli._types import Subparsers

DEMO_PASSPHRASE = "demo-lösenfras-endast-för-prov"  # noqa: S105 - a demo, printed on screen

SAMPLE_INQUIRY = {
    "datum": "2026-11-24",
    "ansvarig_kommun": "Kommun A",
    "handlaggare": "Handläggare A (kontaktperson)",
    "sokandes_bakgrund": "Kvinna, 34 år, två barn (6 och 9 år). Skyddade personuppgifter sökta.",
    "bakgrund_till_placering": "Hot från tidigare partner; riskbedömning enligt FREDA.",
    "kontakter_med_polis": "Polisanmälan gjord, kontaktförbud beviljat.",
    "nuvarande_och_behov_av_stod": "Stödsamtal, hjälp med skola för barnen.",
    "boende": "Behöver tre rum; inga husdjur.",
    "ekonomi_och_sysselsattning": "Arbetssökande; inga skulder kända.",
    "barn": "Gemensam vårdnad; barnen är informerade och samtycker.",
    "lamplig_kommun": "Långt från nuvarande ort; inget eget nätverk där.",
    "ovrigt": "Inga.",
}


def register(commands: Subparsers) -> None:
    p = commands.add_parser("demo", help="visa ett helt utbyte: nycklar, kryptering, kontroll")
    p.add_argument("--dir", type=Path, help="mapp att arbeta i (annars en ny tillfällig mapp)")
    p.set_defaults(run=_demo)


def _demo(args: argparse.Namespace) -> int:
    root: Path = args.dir or Path(tempfile.mkdtemp(prefix="hub-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"Demo i {root}\n")

    people: dict[str, PrivateIdentity] = {}
    for name, municipality in (("kommun-a", "Kommun A"), ("kommun-b", "Kommun B")):
        identity = PrivateIdentity.generate()
        folder = root / name
        folder.mkdir()
        keyfile.write_keyfile(
            folder / "identity.key",
            identity,
            DEMO_PASSPHRASE,
            opslimit=keyfile.INTERACTIVE_OPSLIMIT,
            memlimit=keyfile.INTERACTIVE_MEMLIMIT,
        )
        (folder / "identity.pub").write_text(identity.public.dumps(), encoding="utf-8")
        people[name] = identity
        print(f"1. Kontaktperson i {municipality}: nycklar skapade, privata nyckeln krypterad.")
        print(f"   Fingeravtryck att läsa upp i telefon: {identity.public.fingerprint}")
    sender, receiver = people["kommun-a"], people["kommun-b"]

    attachment = b"%PDF-1.4\n% Anonymiserad utredning (exempel)\n" + bytes(50_000)
    envelope_path = root / "forfragan.env"
    with envelope_path.open("wb") as out:
        sealed = seal(
            out,
            sender=sender,
            recipients=[receiver.public, sender.public],
            kind=MessageKind.INQUIRY,
            case_id=bytes(16),
            document=SAMPLE_INQUIRY,
            attachments=[
                AttachmentSource(
                    "anonymiserad-utredning.pdf",
                    "application/pdf",
                    len(attachment),
                    io.BytesIO(attachment),
                )
            ],
            created_at=int(time.time()),
        )
    print(f"\n2. Kommun A krypterar förfrågan med bilaga till Kommun B: {envelope_path.name}")
    print(f"   {sealed.length} byte; hubben ser bara id, slag, storlek och mottagarnas nyckel-id.")
    needle = SAMPLE_INQUIRY["sokandes_bakgrund"].encode()
    leaked = needle in envelope_path.read_bytes()
    print(f"   Klartext i den krypterade filen: {'JA (fel!)' if leaked else 'nej'}")

    with envelope_path.open("rb") as src:
        opened = open_envelope(
            src,
            recipient=receiver,
            sender_keys=PinnedSender(sender.public),
            workdir=root,
            now=int(time.time()),
        )
    with opened:
        opened.extract(root / "oppnad-hos-kommun-b")
    print("\n3. Kommun B kontrollerar underskrift och varje del, och öppnar:")
    print(f"   {root / 'oppnad-hos-kommun-b' / 'document.json'}")
    print(f"   bilaga: {opened.attachments[0].name} ({opened.attachments[0].size} byte)")
    print("   " + json.dumps(opened.document, ensure_ascii=False)[:100] + " …")

    tampered = bytearray(envelope_path.read_bytes())
    tampered[len(tampered) // 2] ^= 1
    try:
        open_envelope(
            io.BytesIO(bytes(tampered)),
            recipient=receiver,
            sender_keys=PinnedSender(sender.public),
            workdir=root,
            now=int(time.time()),
        ).close()
    except HubError as exc:
        print("\n4. En ändrad bit i meddelandet upptäcks och ingenting visas:")
        print(f"   {exc.code}: {exc.message}")
    else:
        print("\n4. FEL: det ändrade meddelandet öppnades")
        return 1
    print(
        f"\nPå kommandoraden: hub open --with {root}/kommun-b --from {root}/kommun-a "
        f"{envelope_path} UTMAPP  (lösenfras: {DEMO_PASSPHRASE})"
    )
    return 0

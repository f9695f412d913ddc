"""`hub admin …`: the county administrator keeps the contact list (network key, municipalities,
invites, approving, revoking and rotating contact persons' keys, the addresses their deadline
notices go to, and the notices that could not be sent); `hub enrol`: a new contact person makes
their keys and sends the public part with the one-time code.

Trust runs through the administrator's network key only. The administrator checks each new
key's fingerprint by phone before signing its directory entry, and verifies the directory
against their own key before every change; a contact person pins the network key from the file
the administrator sends, after checking its fingerprint by phone. The hub signs nothing.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import unicodedata
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

from hub.cli import recovery_command, recovery_hub
from hub.cli.envelope_commands import KDF_PROFILES, PRIVATE_NAME, PUBLIC_NAME, _AtomicOutput
from hub.cli.exits import EXIT_ATTENTION, EXIT_OK
from hub.cli.invites import invited_as, read_invites, remember_invite
from hub.cli.passphrase import read_passphrase
from hub.client import admin_log
from hub.crypto import keyfile
from hub.crypto.directory import (
    Directory,
    DirectoryEntry,
    RevocationReason,
    Role,
    make_entry,
    make_revocation,
)
from hub.crypto.handover_record import make_handover
from hub.crypto.keys import (
    KEY_ID_BYTES,
    PrivateIdentity,
    PublicIdentity,
    SigningKey,
    dumps_public_signing_key,
    loads_public_signing_key,
)
from hub.crypto.records import text_field
from hub.crypto.registry import (
    Registry,
    SettingsRecord,
    WitnessSetting,
    WitnessSettingError,
    make_kommunmall,
    make_municipality,
    make_settings,
)
from hub.errors import HubError
from hub.protocol.deadlines import NetworkDeadlines
from hub.protocol.enrolment import invite_code_hash, new_invite_code, normalise_code
from hub.protocol.fragility import SINGLE_KEY, SINGLE_KEY_ADVICE, single_key_municipalities
from hub.protocol.settings import parse_quota_key

if TYPE_CHECKING:
    import argparse
    from collections.abc import AsyncIterator

    from hub.cli._types import Subparsers
    from hub.client.api import HubClient
    from hub.protocol import wire

NETWORK_KEY_NAME: Final = "network.key"
NETWORK_PUB_NAME: Final = "network.pub"
YEAR_SECONDS: Final = 365 * 86_400
MAX_INVITE_DAYS: Final = 90
FINGERPRINT_DIGITS: Final = 40
CONFIRM_NEW_KEY: Final = "Stämmer fingeravtrycket med det kontaktpersonen läste upp? [j/N] "
STOCKHOLM: Final = ZoneInfo("Europe/Stockholm")
# The outbox's statuses (hub/server/notice_routes.py) and topics (hub.protocol.notices.Topic),
# as the administrator reads them.
NOTICE_STATUSES: Final = {
    "pending": "väntar",
    "sending": "skickas",
    "sent": "skickad",
    "failed": "misslyckad",
    "unknown": "okänt om den kom fram",
    "cancelled": "inställd",
}
NEEDS_ATTENTION: Final = ("failed", "unknown")
NOTICE_TOPICS: Final = {
    "new": "nytt meddelande",
    "due_soon": "tidsfrist snart",
    "due_today": "tidsfrist i dag",
    "overdue": "tidsfrist passerad",
}
NOTICE_AUDIENCES: Final = {"contacts": "kontaktperson", "manager": "ansvarig chef"}
# A person's name is a path segment of the hub's address API (hub.client.api): these would
# end it, or be read as an escape, so such a name cannot be given an address.
NOT_IN_A_PATH: Final = frozenset("/?#%")


class _NotConfirmed(Exception):  # noqa: N818 - a person's answer, not a failure
    pass


def register(commands: Subparsers) -> None:
    admin = commands.add_parser(
        "admin", help="länsstyrelsen: nätverksnyckel, kommuner, kontaktpersoner och deras nycklar"
    )
    sub = admin.add_subparsers(dest="admin_command", required=True, metavar="KOMMANDO")

    p = sub.add_parser("init", help="skapa nätverkets signeringsnyckel i en mapp")
    p.add_argument("directory", type=Path, help="mappen för nätverksnyckeln (t.ex. keys/)")
    _key_options(p)
    p.set_defaults(run=_init)

    _register_municipality(sub)
    _register_invites(sub)
    _register_keys(sub)
    from hub.cli import erase_command  # noqa: PLC0415 - it imports this module's helpers

    erase_command.register(sub)
    _register_notices(sub)
    _register_enrol(commands)


def _register_municipality(sub: Subparsers) -> None:
    p = sub.add_parser("municipality", help="kommuner i nätverket")
    msub = p.add_subparsers(dest="municipality_command", required=True, metavar="KOMMANDO")
    p = msub.add_parser("add", help="lägg till (eller uppdatera) en kommun")
    p.add_argument("id", help="kommunens id (kort, t.ex. vasteras)")
    p.add_argument("--name", required=True, help="kommunens namn")
    p.add_argument("--population", type=int, required=True, help="antal invånare")
    p.add_argument("--manager-email", required=True, help="ansvarig chefs e-postadress")
    p.add_argument("--template", type=Path, help="kommunmallen: en JSON-fil")
    _hub_options(p)
    _passphrase_option(p)
    p.set_defaults(run=_municipality_add)

    p = sub.add_parser("kommunmall", help="signera en kommuns kommunmall")
    p.add_argument("id", help="kommunens id")
    p.add_argument("--offer", type=Path, required=True, help="vad kommunen kan erbjuda: en textfil")
    p.add_argument("--contact", type=Path, help="hur kontaktpersoner når kommunen: en textfil")
    _hub_options(p)
    _passphrase_option(p)
    p.set_defaults(run=_kommunmall)

    p = sub.add_parser(
        "settings", help="signera nätverkets inställningar (tidsfrister, nyckel, gallring)"
    )
    for name, option, text in SETTING_OPTIONS:
        p.add_argument(option, dest=name, type=int, help=text)
    p.add_argument("--quota-key", help="fördelningsnyckeln, t.ex. 0:1,10000:2,20001:3")
    p.add_argument("--outcome-free-text", choices=["ja", "nej"], help="fritext i utfallsrapporten")
    p.add_argument(
        "--witness",
        action="append",
        metavar="NAMN=ADRESS=NYCKELFIL",
        help="en kontrollant av katalogloggen (minst tre; anges de ersätter de tidigare): "
        "namnet, adressen hubben når den på och dess witness.pub",
    )
    p.add_argument("--witness-quorum", type=int, help="hur många som måste medsignera (majoritet)")
    p.add_argument(
        "--freshness-hours", type=int, help="timmar en vy får vara obekräftad (standard 6)"
    )
    p.add_argument("--yes", action="store_true", help="fråga inte (för skript)")
    _hub_options(p)
    _passphrase_option(p)
    p.set_defaults(run=_settings)


def _register_invites(sub: Subparsers) -> None:
    p = sub.add_parser("invite", help="bjud in en kontaktperson: skriver ut en engångskod")
    p.add_argument("--municipality", required=True, help="kommunens id")
    p.add_argument("--person", required=True, help="personens namn")
    p.add_argument("--role", choices=[str(r) for r in Role], default=str(Role.CONTACT_PERSON))
    p.add_argument("--days", type=int, default=14, help="dagar koden gäller (standard 14)")
    p.add_argument(
        "--email",
        metavar="E-POST",
        help="dit personens aviseringar om tidsfrister ska gå (som `hub admin contact set`)",
    )
    _hub_options(p)
    _passphrase_option(p)
    p.set_defaults(run=_invite)

    p = sub.add_parser("pending", help="visa väntande registreringar med fingeravtryck")
    _hub_options(p)
    _passphrase_option(p)
    p.set_defaults(run=_pending)


def _register_keys(sub: Subparsers) -> None:
    p = sub.add_parser("approve", help="godkänn en registrering: signera en katalogpost")
    p.add_argument("enrolment_id", type=int, metavar="REGISTRERING")
    _approval_options(p)
    _hub_options(p)
    _passphrase_option(p)
    p.set_defaults(run=_approve)

    p = sub.add_parser("reject", help="avslå en registrering: nyckeln blir aldrig giltig")
    p.add_argument("enrolment_id", type=int, metavar="REGISTRERING")
    _hub_options(p)
    _passphrase_option(p)
    p.set_defaults(run=_reject)

    p = sub.add_parser("revoke", help="återkalla en nyckel")
    p.add_argument("key_id", metavar="NYCKEL_ID")
    p.add_argument("--reason", required=True, choices=[str(r) for r in RevocationReason])
    p.add_argument(
        "--at",
        metavar="ISO-TID",
        help="från när (t.ex. 2026-11-20T08:00+01:00); vid compromised den tidigaste "
        "misstänkta tidpunkten. Standard: nu",
    )
    _hub_options(p)
    _passphrase_option(p)
    p.set_defaults(run=_revoke)

    p = sub.add_parser(
        "rotate", help="byt nyckel: godkänn efterträdaren, återkalla sedan den gamla nyckeln"
    )
    p.add_argument("--old", required=True, metavar="NYCKEL_ID", help="nyckeln som ersätts")
    p.add_argument("--enrolment", type=int, required=True, help="efterträdarens registrering")
    p.add_argument(
        "--compromised-at",
        metavar="ISO-TID",
        help="den gamla nyckeln är röjd (en stulen dator): återkalla den som compromised från "
        "den tidpunkten, i stället för som ersatt nu",
    )
    _approval_options(p)
    _hub_options(p)
    _passphrase_option(p)
    p.set_defaults(run=_rotate)

    p = sub.add_parser(
        "handover",
        help="kommunen har ingen kvar som har nyckeln: låt motparterna i dess öppna ärenden "
        "lämna över till efterträdaren",
    )
    p.add_argument("municipality", metavar="KOMMUN", help="kommunens id")
    p.add_argument("--yes", action="store_true", help="fråga inte (för skript)")
    _hub_options(p)
    _passphrase_option(p)
    p.set_defaults(run=_handover)

    p = sub.add_parser("directory", help="visa den verifierade katalogen")
    _hub_options(p)
    _passphrase_option(p)
    p.set_defaults(run=_directory)

    p = sub.add_parser(
        "checkpoint", help="signera katalogloggens kontrollpunkt över alla poster hubben har"
    )
    _hub_options(p)
    _passphrase_option(p)
    p.set_defaults(run=_checkpoint)

    p = sub.add_parser(
        "republish",
        help="ge en återställd hubb, i ordning, allt du har signerat som den saknar",
    )
    _hub_options(p)
    _passphrase_option(p)
    p.set_defaults(run=_republish)


def _register_notices(sub: Subparsers) -> None:
    p = sub.add_parser("contact", help="e-postadresser dit kontaktpersonernas aviseringar går")
    csub = p.add_subparsers(dest="contact_command", required=True, metavar="KOMMANDO")
    p = csub.add_parser("set", help="spara (eller byt) en kontaktpersons e-postadress")
    p.add_argument("municipality", metavar="KOMMUN", help="kommunens id")
    p.add_argument("person", metavar="PERSON", help="personens namn, som i katalogen")
    p.add_argument("email", metavar="E-POST", help="adressen aviseringarna ska gå till")
    _hub_options(p)
    _passphrase_option(p)
    p.set_defaults(run=_contact_set)
    p = csub.add_parser("remove", help="ta bort en kontaktpersons e-postadress")
    p.add_argument("municipality", metavar="KOMMUN", help="kommunens id")
    p.add_argument("person", metavar="PERSON", help="personens namn, som i katalogen")
    _hub_options(p)
    _passphrase_option(p)
    p.set_defaults(run=_contact_remove)
    p = csub.add_parser("list", help="visa alla sparade e-postadresser")
    _hub_options(p)
    _passphrase_option(p)
    p.set_defaults(run=_contact_list)

    p = sub.add_parser(
        "notices", help="visa aviseringar som behöver åtgärdas (misslyckade eller okända)"
    )
    p.add_argument(
        "--status",
        default=",".join(NEEDS_ATTENTION),
        metavar="STATUS[,STATUS]",
        help=f"vilka som visas, av {', '.join(NOTICE_STATUSES)} (standard failed,unknown)",
    )
    _hub_options(p)
    _passphrase_option(p)
    p.set_defaults(run=_notices)


def _register_enrol(commands: Subparsers) -> None:
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
    _hub_options(p)
    _key_options(p)
    p.set_defaults(run=_enrol)


def _key_options(p: argparse.ArgumentParser) -> None:
    """For commands that make a key: the passphrase and how heavy its derivation is."""
    _passphrase_option(p)
    p.add_argument(
        "--kdf",
        choices=sorted(KDF_PROFILES),
        default="moderate",
        help="hur tung lösenfrasens nyckelhärledning är (standard: moderate)",
    )


def _hub_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hub", metavar="URL", help="hubbens adress (standard: HUB_URL)")
    p.add_argument("--network", metavar="ID", help="nätverkets id (standard: HUB_NETWORK)")
    p.add_argument("--keys", type=Path, default=Path("keys"), help="nyckelmappen (standard keys/)")


def _passphrase_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--passphrase-file", type=Path, help="läs lösenfrasen ur en fil")


def _approval_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--years", type=int, default=2, help="år nyckeln gäller (standard 2)")
    p.add_argument(
        "--fingerprint",
        metavar="SIFFROR",
        help="fingeravtrycket kontaktpersonen läste upp (40 siffror); måste stämma",
    )
    p.add_argument(
        "--yes",
        action="store_true",
        help="fråga inte (för skript); kräver --fingerprint, som då måste stämma",
    )


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


# --- signed in as the administrator ----------------------------------------------------------


def _hub_and_network(args: argparse.Namespace) -> tuple[str, str]:
    return recovery_hub.hub_and_network(args.hub, args.network)


def _load_network_key(args: argparse.Namespace) -> SigningKey:
    path = args.keys / NETWORK_KEY_NAME
    if not path.exists():
        raise ValueError(f"{path} finns inte: skapa nätverksnyckeln med `hub admin init`")
    key = keyfile.read_keyfile(path, read_passphrase(args.passphrase_file))
    if not isinstance(key, SigningKey):
        raise ValueError(f"{path} är inte en nätverksnyckel")
    return key


@asynccontextmanager
async def _admin(args: argparse.Namespace) -> AsyncIterator[tuple[HubClient, SigningKey]]:
    from hub.client.api import HubClient  # noqa: PLC0415 - aiohttp only where a hub is dialled

    url, network = _hub_and_network(args)
    key = _load_network_key(args)
    async with HubClient(url, network) as client:
        await client.sign_in(key)
        yield client, key


async def _verified_directory(
    client: HubClient, key: SigningKey, keys: Path
) -> tuple[Directory, int]:
    """The directory verified against our own network key, and the next free serial."""
    registry = await _verified_registry(client, key, keys)
    return registry.directory, registry.serial + 1


async def _verified_registry(client: HubClient, key: SigningKey, keys: Path) -> Registry:
    """The whole sequence (directory and registry), verified against our own network key and
    the directory log, never older than the view verified on an earlier run from this key
    folder, nor other than what was signed here (hub/client/admin_log.py)."""
    return (await admin_log.verified_records(client, key, keys))[1]


def _municipality_add(args: argparse.Namespace) -> int:
    """Sign the municipality's record (its id, name and population; the hub cannot change
    them), then give the hub the manager's e-mail, which stays hub-side and in no record."""
    name = unicodedata.normalize("NFC", args.name.strip())
    try:
        text_field({"name": name}, "name")
    except ValueError:
        raise ValueError("kommunens namn ska vara 1 till 200 tecken, utan styrtecken") from None
    template: dict[str, Any] | None = None
    if args.template is not None:
        try:
            template = json.loads(args.template.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{args.template} är inte en JSON-fil: {exc}") from exc
        if not isinstance(template, dict) or not isinstance(template.get("text", ""), str):
            raise ValueError(f"{args.template} ska innehålla ett JSON-objekt med texten i text")

    unsigned_settings = False

    async def run() -> list[int]:
        nonlocal unsigned_settings
        signed = []
        async with _admin(args) as (client, key):
            registry = await _verified_registry(client, key, args.keys)
            unsigned_settings = registry.settings is None
            known = registry.municipalities.get(args.id)
            if known is None or (known.name, known.population) != (name, args.population):
                wire = make_municipality(
                    key,
                    network=client.network,
                    municipality=args.id,
                    name=name,
                    population=args.population,
                    serial=registry.serial + 1,
                )
                signed.append(await admin_log.append(client, key, args.keys, wire))
            await client.put_municipality(
                args.id, name=name, population=args.population, manager_email=args.manager_email
            )
            if template is not None:
                wire = make_kommunmall(
                    key,
                    network=client.network,
                    municipality=args.id,
                    offer=str(template.get("text", "")),
                    contact=str(template.get("contact", "")),
                    serial=registry.serial + 1 + len(signed),
                )
                signed.append(await admin_log.append(client, key, args.keys, wire))
        return signed

    signed = asyncio.run(run())
    posts = f" (signerade poster {', '.join(map(str, signed))})" if signed else ""
    print(f"Kommunen {args.id} ({name}) är sparad i nätverket{posts}.")
    if unsigned_settings:  # the set-up's first step was skipped: say what follows from it
        print(UNSIGNED_SETTINGS, file=sys.stderr)
    return 0


UNSIGNED_SETTINGS: Final = (
    "Observera: nätverket har inga signerade inställningar ännu, så inkorgarna räknar med de "
    "nationella tidsfristerna och säger det. Signera nätverkets inställningar med "
    "`hub admin settings` (det första steget när nätverket sätts upp)."
)


def _kommunmall(args: argparse.Namespace) -> int:
    """Sign a municipality's kommunmall (ADR 004: the administrator signs it, from the text the
    municipality sends)."""
    offer = args.offer.read_text(encoding="utf-8")
    contact = args.contact.read_text(encoding="utf-8") if args.contact else ""

    async def run() -> int:
        async with _admin(args) as (client, key):
            registry = await _verified_registry(client, key, args.keys)
            if args.id not in registry.municipalities:
                raise ValueError(
                    f"kommunen {args.id} har ingen signerad post; "
                    "lägg till den med `hub admin municipality add`"
                )
            wire = make_kommunmall(
                key,
                network=client.network,
                municipality=args.id,
                offer=offer,
                contact=contact,
                serial=registry.serial + 1,
            )
            return await admin_log.append(client, key, args.keys, wire)

    serial = asyncio.run(run())
    print(f"Kommunmallen för {args.id} är signerad (post {serial}).")
    return 0


SETTING_OPTIONS: Final = (
    ("answer_days", "--answer-days", "dagar att svara på en förfrågan"),
    ("offer_response_days", "--offer-response-days", "dagar att svara på ett erbjudande"),
    ("follow_up_months", "--follow-up-months", "månader till uppföljningsmötet (0: inget)"),
    ("remind_working_days_before", "--remind-days", "arbetsdagar före fristen påminnelsen går"),
    ("case_retention_days", "--case-retention-days", "dagar hubben sparar ett avslutat ärende"),
    (
        "inbox_retention_days",
        "--inbox-retention-days",
        "dagar en inkorg sparar den dekrypterade kopian av ett avslutat ärende",
    ),
)


def _settings(args: argparse.Namespace) -> int:
    """Sign the network's settings: the signed ones in force (or, for the first record, what the
    hub's operator set at `hub network create`, over the national defaults), with the changes
    given. Shown in full and confirmed before signing."""

    async def run() -> int | None:
        async with _admin(args) as (client, key):
            registry = await _verified_registry(client, key, args.keys)
            if registry.settings is not None:
                base: dict[str, Any] = _settings_values(registry.settings)
                source = f"de signerade inställningarna (post {registry.settings.serial})"
            else:
                base = _from_hub((await client.network_info()).settings)
                source = "hubbens nuvarande inställningar (osignerade) och de nationella"
            values = {**base, **_changes(args)}
            try:
                wire = make_settings(
                    key, network=client.network, serial=registry.serial + 1, **values
                )
            except WitnessSettingError as exc:
                raise ValueError(f"{exc.swedish}: inget har signerats") from None
            print(f"Utgår från {source}. Signeras:")
            for name, value in values.items():
                if name == "witnesses":
                    value = ", ".join(f"{w.name} ({w.url})" for w in value)  # noqa: PLW2901
                print(f"  {name}: {value}")
            if not args.yes and not _ask("Signera de här inställningarna? [j/N] "):
                return None
            return await admin_log.append(client, key, args.keys, wire)

    serial = asyncio.run(run())
    if serial is None:
        print("Inget signerat: inget har ändrats.")
        return 1
    print(f"Nätverkets inställningar är signerade (post {serial}).")
    return 0


def _settings_values(record: SettingsRecord) -> dict[str, Any]:
    return {
        "answer_days": record.answer_days,
        "offer_response_days": record.offer_response_days,
        "follow_up_months": record.follow_up_months,
        "follow_up_days": record.follow_up_days,
        "financial_overlap": record.financial_overlap,
        "remind_working_days_before": record.remind_working_days_before,
        "quota_key": None if record.quota_key is None else list(record.quota_key),
        "outcome_free_text": record.outcome_free_text,
        "case_retention_days": record.case_retention_days,
        "inbox_retention_days": record.inbox_retention_days,
        **(
            {
                "witnesses": list(record.witnesses),
                "witness_quorum": record.witness_quorum,
                "freshness_hours": record.freshness_hours,
            }
            if record.witnesses
            else {}
        ),
    }


def _from_hub(settings: dict[str, object]) -> dict[str, Any]:
    """What the operator set at `hub network create`, over the national defaults."""
    rules = NetworkDeadlines.from_settings(settings)
    values: dict[str, Any] = {
        "answer_days": rules.answer_days,
        "offer_response_days": rules.offer_response_days,
        "follow_up_months": rules.follow_up_months,
        "follow_up_days": rules.follow_up_days,
        "financial_overlap": str(rules.financial_overlap),
        "remind_working_days_before": rules.remind_working_days_before,
    }
    quota = settings.get("quota_key")  # as hub network create stores it: [[from, cases], ...]
    values["quota_key"] = [tuple(band) for band in quota] if isinstance(quota, list) else None
    for name in ("outcome_free_text", "case_retention_days", "inbox_retention_days"):
        if name in settings:
            values[name] = settings[name]
    return values


def _changes(args: argparse.Namespace) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name, _option, _help in SETTING_OPTIONS:
        value = getattr(args, name)
        if value is not None:
            changes[name] = value
    if changes.get("follow_up_months") == 0:
        changes["follow_up_months"] = None
    if args.quota_key is not None:
        changes["quota_key"] = [tuple(band) for band in parse_quota_key(args.quota_key)]
    if args.outcome_free_text is not None:
        changes["outcome_free_text"] = args.outcome_free_text == "ja"
    if args.witness:
        changes["witnesses"] = [_witness(text) for text in args.witness]
        changes["witness_quorum"] = len(args.witness) // 2 + 1
    if args.witness_quorum is not None:
        changes["witness_quorum"] = args.witness_quorum
    if args.freshness_hours is not None:
        changes["freshness_hours"] = args.freshness_hours
    return changes


def _witness(text: str) -> WitnessSetting:
    name, _, rest = text.partition("=")
    url, _, pub = rest.rpartition("=")
    if not name or not url or not pub:
        raise ValueError("--witness ska vara NAMN=ADRESS=NYCKELFIL")
    return WitnessSetting(name, loads_public_signing_key(Path(pub).read_bytes()), url)


def _person_name(text: str) -> str:
    """A person's name as the directory stores it (NFC, trimmed), checked."""
    person = unicodedata.normalize("NFC", text.strip())
    try:
        text_field({"person": person}, "person")
    except ValueError:
        raise ValueError("personens namn ska vara 1 till 200 tecken, utan styrtecken") from None
    return person


async def _check_municipality(client: HubClient, municipality: str) -> None:
    known = {m.id for m in await client.municipalities()}
    if municipality not in known:
        raise ValueError(
            f"kommunen {municipality} finns inte i nätverket; "
            "lägg till den med `hub admin municipality add`"
        )


def _invite(args: argparse.Namespace) -> int:
    if not 1 <= args.days <= MAX_INVITE_DAYS:
        raise ValueError(f"--days ska vara mellan 1 och {MAX_INVITE_DAYS}")
    person = _person_name(args.person)
    email = None if args.email is None else _check_email(args.email)
    if email is not None:
        _addressable(person)
        if args.role != Role.CONTACT_PERSON:
            raise ValueError("--email gäller bara kontaktpersoner: bara de får aviseringar")
    code = new_invite_code()  # made here; only its hash goes to the hub
    expires_at = int(time.time()) + args.days * 86_400

    async def run() -> str:
        async with _admin(args) as (client, key):
            await _check_municipality(client, args.municipality)
            if email is not None:
                # First: a refused address leaves no invite behind, and setting it again is
                # harmless if the invite then fails.
                await _put_address(client, args.municipality, person, email)
            await client.create_invite(
                invite_code_hash(code),
                municipality=args.municipality,
                person=person,
                role=args.role,
                expires_at=expires_at,
            )
            # Kept here, so that approval judges the enrolment by what was invited, not by
            # the hub's description of it (hub/cli/invites.py).
            remember_invite(
                args.keys,
                invite_code_hash(code),
                municipality=args.municipality,
                person=person,
                role=args.role,
                expires_at=expires_at,
            )
            return key.fingerprint

    admin_fingerprint = asyncio.run(run())
    print(f"Inbjudan för {person} ({args.municipality}, {args.role}). Engångskod:")
    print()
    print(f"    {code}")
    print()
    print(
        f"Läs upp koden per telefon; skicka den inte med e-post. Den gäller en gång, "
        f"till {_when(expires_at)}."
    )
    print(
        f"Skicka också {NETWORK_PUB_NAME} och läs upp nätverksnyckelns fingeravtryck: "
        f"{admin_fingerprint}"
    )
    if email is not None:
        print(f"Aviseringar till {person} går till {email} när hens nyckel är godkänd.")
    return 0


def _pending(args: argparse.Namespace) -> int:
    async def run() -> tuple[list[dict[str, Any]], Registry]:
        async with _admin(args) as (client, key):
            pending = await client.enrolments("pending")
            return pending, await _verified_registry(client, key, args.keys)

    pending, registry = asyncio.run(run())
    if not pending:
        print("Inga väntande registreringar.")
        return 0
    invites = read_invites(args.keys)
    print(f"Väntande registreringar ({len(pending)}):")
    for enrolment in pending:
        print()
        _show_enrolment(enrolment)
        # What was invited from this machine, by the signed name: not the hub's description.
        invited = invites.get(str(enrolment.get("code_hash")))
        if invited is None:
            print("    ingen inbjudan från den här datorn: godkänn inte")
        else:
            where = _municipality_label(registry, str(invited["municipality"]))
            print(f"    inbjuden härifrån: {where}, {invited['person']} ({invited['role']})")
    print()
    print("Ring kontaktpersonen och låt hen läsa upp sitt fingeravtryck innan du godkänner.")
    return 0


def _show_enrolment(enrolment: dict[str, Any]) -> PublicIdentity | None:
    """Print one enrolment; the fingerprint is computed here from the keys, not taken from the
    hub. None if the keys are not a valid public identity."""
    print(
        f"  registrering {enrolment['id']}: {enrolment['municipality']}, {enrolment['person']} "
        f"({enrolment['role']}), inskickad {_when(enrolment['created_at'])} (enligt hubben)"
    )
    try:
        identity = PublicIdentity.from_json(enrolment["public_identity"])
    except HubError:
        print("    ogiltig publik nyckel: godkänn inte")
        return None
    print(f"    nyckel-id:     {identity.key_id.hex()}")
    print(f"    fingeravtryck: {identity.fingerprint}")
    return identity


# --- approve, revoke, rotate -----------------------------------------------------------------


def _approve(args: argparse.Namespace) -> int:
    _check_approval_options(args)

    async def run() -> None:
        async with _admin(args) as (client, key):
            enrolment, identity = await _pending_enrolment(client, args.enrolment_id)
            enrolment = {**enrolment, **invited_as(args.keys, client.network, enrolment, identity)}
            directory, serial = await _verified_directory(client, key, args.keys)
            _check_new_key(directory, enrolment, identity)
            _confirm(identity.fingerprint, args)
            await _sign_entry(
                client,
                key,
                enrolment=enrolment,
                identity=identity,
                serial=serial,
                years=args.years,
                keys=args.keys,
            )

    try:
        asyncio.run(run())
    except _NotConfirmed:
        print("Inte godkänt: inget har ändrats.")
        return 1
    return 0


def _reject(args: argparse.Namespace) -> int:
    async def run() -> None:
        async with _admin(args) as (client, _key):
            await _pending_enrolment(client, args.enrolment_id)
            await client.reject_enrolment(args.enrolment_id)

    asyncio.run(run())
    print(
        f"Registrering {args.enrolment_id} är avslagen; nyckeln kan aldrig bli giltig. "
        "Berätta det för personen, och bjud in hen på nytt om det behövs."
    )
    return 0


def _rotate(args: argparse.Namespace) -> int:
    _check_approval_options(args)
    old_key_id = _key_id(args.old)
    # A stolen machine: the old key is revoked from the time of loss, as compromised, so that
    # whatever it signed since (by the thief) is refused; otherwise superseded from now.
    compromised_at = None if args.compromised_at is None else _parse_time(args.compromised_at)

    async def run() -> None:
        async with _admin(args) as (client, key):
            enrolment, identity = await _pending_enrolment(client, args.enrolment)
            enrolment = {**enrolment, **invited_as(args.keys, client.network, enrolment, identity)}
            directory, serial = await _verified_directory(client, key, args.keys)
            old = directory.entry_for_key(old_key_id)
            if old is None:
                raise ValueError("den gamla nyckeln finns inte i katalogen")
            if identity.key_id == old_key_id:
                raise ValueError("efterträdaren har samma nyckel som den gamla")
            if old.municipality != enrolment["municipality"]:
                raise ValueError("efterträdaren hör till en annan kommun än den gamla nyckeln")
            _check_new_key(directory, enrolment, identity)
            print(f"Ersätts: {old.municipality}, {old.person}, nyckel {old_key_id.hex()}")
            _confirm(identity.fingerprint, args)
            # The successor's entry first: the municipality is never without a valid key.
            at = await _sign_entry(
                client,
                key,
                enrolment=enrolment,
                identity=identity,
                serial=serial,
                years=args.years,
                keys=args.keys,
            )
            try:
                await _sign_revocation(
                    client,
                    key,
                    key_id=old_key_id,
                    at=at if compromised_at is None else compromised_at,
                    reason=RevocationReason.SUPERSEDED
                    if compromised_at is None
                    else RevocationReason.COMPROMISED,
                    serial=serial + 1,
                    keys=args.keys,
                )
            except BaseException:
                reason = "superseded" if compromised_at is None else "compromised --at TID"
                print(
                    "Efterträdaren är godkänd, men den gamla nyckeln är inte återkallad. "
                    f"Kör: hub admin revoke {old_key_id.hex()} --reason {reason}",
                    file=sys.stderr,
                )
                raise

    try:
        asyncio.run(run())
    except _NotConfirmed:
        print("Inte godkänt: inget har ändrats.")
        return 1
    return 0


def _revoke(args: argparse.Namespace) -> int:
    key_id = _key_id(args.key_id)
    at = _parse_time(args.at) if args.at else int(time.time())

    async def run() -> None:
        async with _admin(args) as (client, key):
            directory, serial = await _verified_directory(client, key, args.keys)
            entry = directory.entry_for_key(key_id)
            if entry is None:
                raise ValueError("nyckeln finns inte i katalogen")
            print(f"Återkallar: {entry.municipality}, {entry.person}, nyckel {key_id.hex()}")
            await _sign_revocation(
                client,
                key,
                key_id=key_id,
                at=at,
                reason=RevocationReason(args.reason),
                serial=serial,
                keys=args.keys,
            )

    asyncio.run(run())
    return 0


CONFIRM_HANDOVER: Final = "Signera överlämningen? [j/N] "


def _handover(args: argparse.Namespace) -> int:
    """Sign a handover (docs/protocol.md §6): the municipality's keys are all lost, and the
    other side of each of its open cases hands the successor's keys (valid now) the file keys
    of what passed between them. Sign the successor's entry first (`approve` or `rotate`)."""

    async def run() -> int:
        async with _admin(args) as (client, key):
            registry = await _verified_registry(client, key, args.keys)
            if args.municipality not in registry.municipalities:
                raise ValueError(f"kommunen {args.municipality} har ingen signerad post")
            directory = registry.directory
            successors = [  # a key with a revocation signed, even from a later time, is none
                e
                for e in directory.valid_keys(args.municipality, int(time.time()))
                if directory.revocation_for(e.key_id) is None
            ]
            if not successors:
                raise ValueError(
                    f"kommunen {args.municipality} har ingen giltig nyckel: godkänn "
                    "efterträdarens nyckel först (hub admin approve eller rotate)"
                )
            print(f"Överlämning för {registry.name_of(args.municipality)} till:")
            for entry in successors:
                print(f"  {entry.person}, fingeravtryck {entry.identity.fingerprint}")
            print(
                "Motparterna i kommunens öppna ärenden lämnar över nycklarna till det som "
                "skickats mellan dem, nästa gång deras inkorgar är upplåsta."
            )
            if not args.yes and not _ask(CONFIRM_HANDOVER):
                raise _NotConfirmed
            wire = make_handover(
                key,
                network=client.network,
                municipality=args.municipality,
                to_keys=[e.key_id for e in successors],
                serial=registry.serial + 1,
            )
            return await admin_log.append(client, key, args.keys, wire)

    try:
        serial = asyncio.run(run())
    except _NotConfirmed:
        print("Inte signerat: inget har ändrats.")
        return 1
    print(f"Överlämningen för {args.municipality} är signerad (post {serial}).")
    return 0


def _check_approval_options(args: argparse.Namespace) -> None:
    if args.yes and args.fingerprint is None:
        raise ValueError('--yes kräver --fingerprint "<de 40 siffrorna>", som då måste stämma')
    if args.fingerprint is not None and len(_digits(args.fingerprint)) != FINGERPRINT_DIGITS:
        raise ValueError("--fingerprint ska vara de 40 siffrorna i fingeravtrycket")
    if not 1 <= args.years <= 5:
        raise ValueError("--years ska vara mellan 1 och 5")


async def _pending_enrolment(
    client: HubClient, enrolment_id: int
) -> tuple[dict[str, Any], PublicIdentity]:
    for enrolment in await client.enrolments("pending"):
        if enrolment["id"] == enrolment_id:
            identity = _show_enrolment(enrolment)
            if identity is None:
                raise ValueError("registreringens publika nyckel är ogiltig")
            return enrolment, identity
    raise ValueError(f"det finns ingen väntande registrering {enrolment_id}")


def _check_new_key(
    directory: Directory, enrolment: dict[str, Any], identity: PublicIdentity
) -> None:
    if directory.revocation_for(identity.key_id) is not None:
        raise ValueError("nyckeln är redan återkallad i katalogen")
    listed = directory.entry_for_key(identity.key_id)
    if listed is not None and (listed.municipality, listed.person, str(listed.role)) != (
        enrolment["municipality"],
        enrolment["person"],
        enrolment["role"],
    ):
        raise ValueError("nyckeln finns redan i katalogen för en annan person eller roll")


def _confirm(fingerprint: str, args: argparse.Namespace) -> None:
    """The fingerprint must match what the contact person read aloud: by the administrator's
    answer, or, for scripts, by --fingerprint (checked also when a person answers)."""
    if args.fingerprint is not None and _digits(args.fingerprint) != _digits(fingerprint):
        raise ValueError("fingeravtrycket stämmer inte med det angivna: inget har ändrats")
    if args.yes:
        return
    if not _ask(CONFIRM_NEW_KEY):
        raise _NotConfirmed


async def _sign_entry(  # noqa: PLR0913 - each is one part of the entry
    client: HubClient,
    key: SigningKey,
    *,
    enrolment: dict[str, Any],
    identity: PublicIdentity,
    serial: int,
    years: int,
    keys: Path,
) -> int:
    now = int(time.time())
    wire = make_entry(
        key,
        network=client.network,
        municipality=enrolment["municipality"],
        person=enrolment["person"],
        role=enrolment["role"],
        identity=identity,
        not_before=now,
        not_after=now + years * YEAR_SECONDS,
        serial=serial,
    )
    await admin_log.append(client, key, keys, wire)
    print(
        f"Godkänd: {enrolment['person']} ({enrolment['municipality']}), nyckel "
        f"{identity.key_id.hex()}, giltig till {_when(now + years * YEAR_SECONDS)} "
        f"(katalogpost {serial})."
    )
    return now


async def _sign_revocation(  # noqa: PLR0913 - each is one part of the revocation
    client: HubClient,
    key: SigningKey,
    *,
    key_id: bytes,
    at: int,
    reason: RevocationReason,
    serial: int,
    keys: Path,
) -> None:
    wire = make_revocation(
        key, network=client.network, key_id=key_id, revoked_at=at, reason=reason, serial=serial
    )
    await admin_log.append(client, key, keys, wire)
    print(f"Återkallad: nyckel {key_id.hex()} från {_when(at)} ({reason}, katalogpost {serial}).")


# --- hub admin checkpoint, hub admin republish (hub/client/admin_log.py) -------------------------


def _checkpoint(args: argparse.Namespace) -> int:
    async def run() -> int:
        async with _admin(args) as (client, key):
            return await admin_log.checkpoint(client, key, args.keys)

    size = asyncio.run(run())
    print(f"Katalogloggens kontrollpunkt är signerad: {size} poster.")
    return 0


def _republish(args: argparse.Namespace) -> int:
    async def run() -> tuple[int, int]:
        async with _admin(args) as (client, key):
            return await admin_log.republish(client, key, args.keys)

    sent, size = asyncio.run(run())
    print(f"Hubben har fått tillbaka {sent} poster; katalogloggen har {size} poster.")
    return 0


# --- hub admin directory ---------------------------------------------------------------------


def _directory(args: argparse.Namespace) -> int:
    async def run() -> Registry:
        async with _admin(args) as (client, key):
            return await _verified_registry(client, key, args.keys)

    registry = asyncio.run(run())
    directory = registry.directory
    now = int(time.time())
    entries = sorted(directory.entries, key=lambda e: (e.municipality, e.person, e.serial))
    print(
        f"Katalogen för {directory.network} ({len(entries)} poster, verifierad till och med "
        f"post {registry.serial}):"
    )
    for entry in entries:
        validity = f"{_when(entry.not_before)} till {_when(entry.not_after)}"
        print(
            f"  {_municipality_label(registry, entry.municipality)}  {entry.person}  "
            f"{entry.role}  {entry.key_id.hex()}  {validity}  {_state(directory, entry, now)}"
        )
    _say_single_keys(registry, now)
    _say_handovers(registry)
    if registry.settings is None:
        print("Nätverkets inställningar är inte signerade: inkorgarna använder de nationella.")
    return 0


def _say_single_keys(registry: Registry, now: int) -> None:
    """Each municipality one lost key away from nobody being able to open its cases."""
    directory = registry.directory
    known = {e.municipality for e in directory.entries if e.role == Role.CONTACT_PERSON}
    fragile = single_key_municipalities(directory, known, now)
    if not fragile:
        return
    print("Kommuner med en enda giltig kontaktpersonsnyckel:")
    for municipality in sorted(fragile):
        print(f"  {_municipality_label(registry, municipality)}: {SINGLE_KEY}")
    print(SINGLE_KEY_ADVICE)


def _say_handovers(registry: Registry) -> None:
    """The handovers signed (`hub admin handover`): for whom, and to which keys."""
    if not registry.handovers:
        return
    print("Överlämningar (motparterna lämnar över öppna ärenden till efterträdaren):")
    for record in registry.handovers:
        holders = sorted(
            entry.person
            for key_id in record.to_keys
            if (entry := registry.directory.entry_for_key(key_id)) is not None
        )
        print(
            f"  {_municipality_label(registry, record.municipality)} till "
            f"{', '.join(holders)} (post {record.serial})"
        )


def _municipality_label(registry: Registry, municipality: str) -> str:
    """The signed name and the id; an id no signed record names is said to be unsigned."""
    name = registry.name_of(municipality)
    return f"{name} ({municipality})" if name else f"{municipality} (inget signerat namn)"


def _state(directory: Directory, entry: DirectoryEntry, now: int) -> str:
    revocation = directory.revocation_for(entry.key_id)
    if revocation is not None:
        verb = "återkallad" if revocation.revoked_at <= now else "återkallas"
        return f"{verb} från {_when(revocation.revoked_at)} ({revocation.reason})"
    if now < entry.not_before:
        return "ännu inte giltig"
    if now >= entry.not_after:
        return "utgången"
    return "giltig"


# --- hub admin contact, hub admin notices ---------------------------------------------------


def _check_email(text: str) -> str:
    """A first check before signing in; the hub checks the address again, and strictly."""
    email = text.strip()
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain or any(c in " ,;<>\"'" for c in email):
        raise ValueError(f"{text!r} är inte en e-postadress (en adress, t.ex. namn@kommun.se)")
    return email


def _addressable(person: str) -> str:
    if NOT_IN_A_PATH & set(person) or person in {".", ".."}:
        raise ValueError("en person vars namn innehåller / ? # eller % kan inte få en e-postadress")
    return person


async def _put_address(client: HubClient, municipality: str, person: str, email: str) -> None:
    from hub.client.api import RemoteError  # noqa: PLC0415 - aiohttp only where a hub is dialled

    try:
        await client.put_contact_address(municipality, person, email)
    except RemoteError as exc:
        if exc.code != "request_malformed":
            raise
        raise ValueError(
            f"hubben tar inte emot {email!r} som e-postadress (en adress, utan mellanslag, "
            "komma, citattecken eller vinkelparenteser)"
        ) from None


def _has_valid_key(directory: Directory, municipality: str, person: str, at: int) -> bool:
    """Whether `person` gets notices now: the hub sends only to contact persons with a key
    valid in the signed directory (hub/server/notify.py)."""
    return any(e.person == person for e in directory.valid_keys(municipality, at))


def _contact_set(args: argparse.Namespace) -> int:
    person = _addressable(_person_name(args.person))
    email = _check_email(args.email)

    async def run() -> bool:
        async with _admin(args) as (client, key):
            await _check_municipality(client, args.municipality)
            directory, _serial = await _verified_directory(client, key, args.keys)
            await _put_address(client, args.municipality, person, email)
            return _has_valid_key(directory, args.municipality, person, int(time.time()))

    valid = asyncio.run(run())
    print(f"Aviseringar till {person} ({args.municipality}) går nu till {email}.")
    if not valid:
        print(f"Obs: {person} har ingen giltig nyckel som kontaktperson i {args.municipality}")
        print("i katalogen; aviseringarna börjar när en nyckel är godkänd.")
    return 0


def _contact_remove(args: argparse.Namespace) -> int:
    person = _addressable(_person_name(args.person))

    async def run() -> str:
        async with _admin(args) as (client, _key):
            saved = [
                c.email
                for c in await client.contact_addresses()
                if (c.municipality, c.person) == (args.municipality, person)
            ]
            if not saved:
                raise ValueError(f"det finns ingen e-postadress för {person} i {args.municipality}")
            await client.delete_contact_address(args.municipality, person)
            return str(saved[0])

    email = asyncio.run(run())
    print(
        f"Adressen {email} för {person} ({args.municipality}) är borttagen; "
        "hen får inga fler aviseringar per e-post."
    )
    return 0


def _contact_list(args: argparse.Namespace) -> int:
    async def run() -> tuple[list[wire.Contact], Directory]:
        async with _admin(args) as (client, key):
            directory, _serial = await _verified_directory(client, key, args.keys)
            return await client.contact_addresses(), directory

    contacts, directory = asyncio.run(run())
    if not contacts:
        print("Inga e-postadresser för aviseringar är sparade.")
        return 0
    now = int(time.time())
    rows = [
        [
            c.municipality,
            c.person,
            c.email,
            "får aviseringar"
            if _has_valid_key(directory, c.municipality, c.person, now)
            else "ingen giltig nyckel: får inga aviseringar",
        ]
        for c in contacts
    ]
    print(f"E-postadresser för aviseringar ({len(rows)}):")
    for line in _table(["Kommun", "Person", "E-post", "Just nu"], rows):
        print(f"  {line}")
    return 0


def _notices(args: argparse.Namespace) -> int:
    statuses = tuple(dict.fromkeys(s.strip() for s in args.status.split(",") if s.strip()))
    unknown = [s for s in statuses if s not in NOTICE_STATUSES]
    if not statuses or unknown:
        raise ValueError(
            f"okänd status {', '.join(unknown) or repr(args.status)}: "
            f"välj bland {', '.join(NOTICE_STATUSES)}"
        )

    async def run() -> list[wire.Notice]:
        async with _admin(args) as (client, _key):
            return await client.notices(statuses)

    notices = asyncio.run(run())
    attention = set(statuses) == set(NEEDS_ATTENTION)
    if not notices:
        if attention:
            print("Inga aviseringar behöver åtgärdas.")
        else:
            named = ", ".join(NOTICE_STATUSES[s] for s in statuses)
            print(f"Inga aviseringar med status {named}.")
        return 0
    rows = [
        [
            _stockholm(n.created_at),
            _stockholm(n.finished_at) if n.finished_at else "-",
            n.municipality,
            NOTICE_AUDIENCES.get(n.audience, n.audience),
            n.address,
            NOTICE_TOPICS.get(n.topic, n.topic),
            NOTICE_STATUSES.get(n.status, n.status),
            str(n.attempts),
            n.last_error or "-",
        ]
        for n in notices
    ]
    head = ["Skapad", "Avslutad", "Kommun", "Till", "Adress", "Gäller", "Status", "Försök"]
    title = "Aviseringar som behöver åtgärdas" if attention else "Aviseringar"
    print(f"{title} ({len(rows)}), tider i svensk tid (Europe/Stockholm):")
    for line in _table([*head, "Senaste fel"], rows):
        print(f"  {line}")
    found = {n.status for n in notices}
    if "failed" in found:
        print()
        print("Rätta en kontaktpersons adress med `hub admin contact set`, en ansvarig chefs")
        print("med `hub admin municipality add … --manager-email`.")
    if "unknown" in found:
        print()
        print(f"'{NOTICE_STATUSES['unknown']}': hubben stannade medan aviseringen skickades.")
        print("Den skickas aldrig igen; fråga mottagaren om den kom fram.")
    # For cron and monitoring: something a person must look at was listed.
    return EXIT_ATTENTION if found & set(NEEDS_ATTENTION) else EXIT_OK


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    """Columns padded to their widest cell; the last one is left as it is."""
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head) - 1)]

    def line(cells: list[str]) -> str:
        padded = [c.ljust(w) for c, w in zip(cells, widths, strict=False)]
        return "  ".join([*padded, cells[-1]]).rstrip()

    return [line(head), line(["-" * len(h) for h in head]), *(line(r) for r in rows)]


# --- hub enrol (the contact person) ----------------------------------------------------------


def _enrol(args: argparse.Namespace) -> int:
    url, network = _hub_and_network(args)
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


# --- small helpers ---------------------------------------------------------------------------


def _ask(question: str) -> bool:
    try:
        answer = input(question)
    except EOFError:
        return False
    return answer.strip().lower() in {"j", "ja"}


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isascii() and c.isdigit())


def _key_id(text: str) -> bytes:
    text = text.strip().lower()
    if len(text) != 2 * KEY_ID_BYTES or any(c not in "0123456789abcdef" for c in text):
        raise ValueError("ett nyckel-id är 32 hexadecimala tecken")
    return bytes.fromhex(text)


def _parse_time(text: str) -> int:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"ogiltig tidpunkt {text!r}: skriv t.ex. 2026-11-20T08:00+01:00") from None
    # A time without a zone is this machine's local time.
    return int(moment.astimezone().timestamp())


def _when(t: int) -> str:
    return datetime.fromtimestamp(t).astimezone().strftime("%Y-%m-%d %H:%M %Z")


def _stockholm(t: int) -> str:
    return datetime.fromtimestamp(t, STOCKHOLM).strftime("%Y-%m-%d %H:%M")


# For hub/cli/erase_command.py (`hub admin erase`), which signs in and asks as these do.
signed_in = _admin
hub_options = _hub_options
passphrase_option = _passphrase_option
ask = _ask
when = _when

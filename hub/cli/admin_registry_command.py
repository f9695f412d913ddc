"""`hub admin municipality add`, `hub admin kommunmall`, `hub admin settings`: the registry's
records the administrator signs (docs/protocol.md §5.10): a municipality's name and
population, its kommunmall, and the network's settings (deadlines, quota key, retention,
the directory log's witnesses)."""

from __future__ import annotations

import asyncio
import json
import sys
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from hub.cli.admin_common import (
    ask,
    hub_options,
    passphrase_option,
    signed_in,
    verified_registry,
)
from hub.client import admin_log
from hub.crypto.keys import (
    loads_public_signing_key,
)
from hub.crypto.records import text_field
from hub.crypto.registry import (
    SettingsRecord,
    WitnessSetting,
    WitnessSettingError,
    make_kommunmall,
    make_municipality,
    make_settings,
)
from hub.protocol.deadlines import NetworkDeadlines
from hub.protocol.settings import parse_quota_key

if TYPE_CHECKING:
    import argparse

    from hub.cli._types import Subparsers


def register(sub: Subparsers) -> None:
    p = sub.add_parser("municipality", help="kommuner i nätverket")
    msub = p.add_subparsers(dest="municipality_command", required=True, metavar="KOMMANDO")
    p = msub.add_parser("add", help="lägg till (eller uppdatera) en kommun")
    p.add_argument("id", help="kommunens id (kort, t.ex. vasteras)")
    p.add_argument("--name", required=True, help="kommunens namn")
    p.add_argument("--population", type=int, required=True, help="antal invånare")
    p.add_argument("--manager-email", required=True, help="ansvarig chefs e-postadress")
    p.add_argument("--template", type=Path, help="kommunmallen: en JSON-fil")
    hub_options(p)
    passphrase_option(p)
    p.set_defaults(run=_municipality_add)

    p = sub.add_parser("kommunmall", help="signera en kommuns kommunmall")
    p.add_argument("id", help="kommunens id")
    p.add_argument("--offer", type=Path, required=True, help="vad kommunen kan erbjuda: en textfil")
    p.add_argument("--contact", type=Path, help="hur kontaktpersoner når kommunen: en textfil")
    hub_options(p)
    passphrase_option(p)
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
    hub_options(p)
    passphrase_option(p)
    p.set_defaults(run=_settings)


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
        async with signed_in(args) as (client, key):
            registry = await verified_registry(client, key, args.keys)
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
        async with signed_in(args) as (client, key):
            registry = await verified_registry(client, key, args.keys)
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
        async with signed_in(args) as (client, key):
            registry = await verified_registry(client, key, args.keys)
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
            if not args.yes and not ask("Signera de här inställningarna? [j/N] "):
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

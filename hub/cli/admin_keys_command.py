"""`hub admin invite|pending|approve|reject|revoke|rotate|handover`: the contact persons' keys.
The administrator invites, checks each new key's fingerprint by phone before signing its
directory entry, revokes and rotates keys, and signs a handover for a municipality that lost
every holder (docs/protocol.md §6). Every change is signed against the directory verified
with the network key first."""

from __future__ import annotations

import asyncio
import sys
import time
from typing import TYPE_CHECKING, Any, Final

from hub.cli.admin_common import (
    YEAR_SECONDS,
    NotConfirmed,
    ask,
    digits,
    hub_options,
    parse_key_id,
    parse_time,
    passphrase_option,
    signed_in,
    verified_directory,
    verified_registry,
    when,
)
from hub.cli.invites import invited_as
from hub.client import admin_log
from hub.crypto.directory import (
    Directory,
    RevocationReason,
    make_entry,
    make_revocation,
)
from hub.crypto.handover_record import make_handover
from hub.crypto.keys import (
    PublicIdentity,
    SigningKey,
)
from hub.errors import HubError

if TYPE_CHECKING:
    import argparse
    from pathlib import Path

    from hub.cli._types import Subparsers
    from hub.client.api import HubClient


FINGERPRINT_DIGITS: Final = 40
CONFIRM_NEW_KEY: Final = "Stämmer fingeravtrycket med det kontaktpersonen läste upp? [j/N] "


def register(sub: Subparsers) -> None:
    _register_keys(sub)


def _register_keys(sub: Subparsers) -> None:
    p = sub.add_parser("approve", help="godkänn en registrering: signera en katalogpost")
    p.add_argument("enrolment_id", type=int, metavar="REGISTRERING")
    _approval_options(p)
    hub_options(p)
    passphrase_option(p)
    p.set_defaults(run=_approve)

    p = sub.add_parser("reject", help="avslå en registrering: nyckeln blir aldrig giltig")
    p.add_argument("enrolment_id", type=int, metavar="REGISTRERING")
    hub_options(p)
    passphrase_option(p)
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
    hub_options(p)
    passphrase_option(p)
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
    hub_options(p)
    passphrase_option(p)
    p.set_defaults(run=_rotate)

    p = sub.add_parser(
        "handover",
        help="kommunen har ingen kvar som har nyckeln: låt motparterna i dess öppna ärenden "
        "lämna över till efterträdaren",
    )
    p.add_argument("municipality", metavar="KOMMUN", help="kommunens id")
    p.add_argument("--yes", action="store_true", help="fråga inte (för skript)")
    hub_options(p)
    passphrase_option(p)
    p.set_defaults(run=_handover)


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


def show_enrolment(enrolment: dict[str, Any]) -> PublicIdentity | None:
    """Print one enrolment; the fingerprint is computed here from the keys, not taken from the
    hub. None if the keys are not a valid public identity."""
    print(
        f"  registrering {enrolment['id']}: {enrolment['municipality']}, {enrolment['person']} "
        f"({enrolment['role']}), inskickad {when(enrolment['created_at'])} (enligt hubben)"
    )
    try:
        identity = PublicIdentity.from_json(enrolment["public_identity"])
    except HubError:
        print("    ogiltig publik nyckel: godkänn inte")
        return None
    print(f"    nyckel-id:     {identity.key_id.hex()}")
    print(f"    fingeravtryck: {identity.fingerprint}")
    return identity


def _approve(args: argparse.Namespace) -> int:
    _check_approval_options(args)

    async def run() -> None:
        async with signed_in(args) as (client, key):
            enrolment, identity = await _pending_enrolment(client, args.enrolment_id)
            enrolment = {**enrolment, **invited_as(args.keys, client.network, enrolment, identity)}
            directory, serial = await verified_directory(client, key, args.keys)
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
    except NotConfirmed:
        print("Inte godkänt: inget har ändrats.")
        return 1
    return 0


def _reject(args: argparse.Namespace) -> int:
    async def run() -> None:
        async with signed_in(args) as (client, _key):
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
    old_key_id = parse_key_id(args.old)
    # A stolen machine: the old key is revoked from the time of loss, as compromised, so that
    # whatever it signed since (by the thief) is refused; otherwise superseded from now.
    compromised_at = None if args.compromised_at is None else parse_time(args.compromised_at)

    async def run() -> None:
        async with signed_in(args) as (client, key):
            enrolment, identity = await _pending_enrolment(client, args.enrolment)
            enrolment = {**enrolment, **invited_as(args.keys, client.network, enrolment, identity)}
            directory, serial = await verified_directory(client, key, args.keys)
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
    except NotConfirmed:
        print("Inte godkänt: inget har ändrats.")
        return 1
    return 0


def _revoke(args: argparse.Namespace) -> int:
    key_id = parse_key_id(args.key_id)
    at = parse_time(args.at) if args.at else int(time.time())

    async def run() -> None:
        async with signed_in(args) as (client, key):
            directory, serial = await verified_directory(client, key, args.keys)
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
        async with signed_in(args) as (client, key):
            registry = await verified_registry(client, key, args.keys)
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
            if not args.yes and not ask(CONFIRM_HANDOVER):
                raise NotConfirmed
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
    except NotConfirmed:
        print("Inte signerat: inget har ändrats.")
        return 1
    print(f"Överlämningen för {args.municipality} är signerad (post {serial}).")
    return 0


def _check_approval_options(args: argparse.Namespace) -> None:
    if args.yes and args.fingerprint is None:
        raise ValueError('--yes kräver --fingerprint "<de 40 siffrorna>", som då måste stämma')
    if args.fingerprint is not None and len(digits(args.fingerprint)) != FINGERPRINT_DIGITS:
        raise ValueError("--fingerprint ska vara de 40 siffrorna i fingeravtrycket")
    if not 1 <= args.years <= 5:
        raise ValueError("--years ska vara mellan 1 och 5")


async def _pending_enrolment(
    client: HubClient, enrolment_id: int
) -> tuple[dict[str, Any], PublicIdentity]:
    for enrolment in await client.enrolments("pending"):
        if enrolment["id"] == enrolment_id:
            identity = show_enrolment(enrolment)
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
    if args.fingerprint is not None and digits(args.fingerprint) != digits(fingerprint):
        raise ValueError("fingeravtrycket stämmer inte med det angivna: inget har ändrats")
    if args.yes:
        return
    if not ask(CONFIRM_NEW_KEY):
        raise NotConfirmed


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
        f"{identity.key_id.hex()}, giltig till {when(now + years * YEAR_SECONDS)} "
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
    print(f"Återkallad: nyckel {key_id.hex()} från {when(at)} ({reason}, katalogpost {serial}).")

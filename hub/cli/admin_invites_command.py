"""`hub admin invite` and `hub admin pending`: the administrator invites a contact person with
a one-time code (kept on this machine too, hub/cli/invites.py, so an approval is judged against
it and not the hub's description), and lists the enrolments waiting, with fingerprints."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Final

from hub.cli.admin_common import (
    NETWORK_PUB_NAME,
    check_municipality,
    hub_options,
    municipality_label,
    passphrase_option,
    person_name,
    signed_in,
    verified_registry,
    when,
)
from hub.cli.admin_contacts_command import addressable, check_email, put_address
from hub.cli.admin_keys_command import show_enrolment
from hub.cli.invites import read_invites, remember_invite
from hub.crypto.directory import (
    Role,
)
from hub.protocol.enrolment import invite_code_hash, new_invite_code

if TYPE_CHECKING:
    import argparse

    from hub.cli._types import Subparsers
    from hub.crypto.registry import (
        Registry,
    )


MAX_INVITE_DAYS: Final = 90


def register(sub: Subparsers) -> None:
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
    hub_options(p)
    passphrase_option(p)
    p.set_defaults(run=_invite)

    p = sub.add_parser("pending", help="visa väntande registreringar med fingeravtryck")
    hub_options(p)
    passphrase_option(p)
    p.set_defaults(run=_pending)


def _invite(args: argparse.Namespace) -> int:
    if not 1 <= args.days <= MAX_INVITE_DAYS:
        raise ValueError(f"--days ska vara mellan 1 och {MAX_INVITE_DAYS}")
    person = person_name(args.person)
    email = None if args.email is None else check_email(args.email)
    if email is not None:
        addressable(person)
        if args.role != Role.CONTACT_PERSON:
            raise ValueError("--email gäller bara kontaktpersoner: bara de får aviseringar")
    code = new_invite_code()  # made here; only its hash goes to the hub
    expires_at = int(time.time()) + args.days * 86_400

    async def run() -> str:
        async with signed_in(args) as (client, key):
            await check_municipality(client, args.municipality)
            if email is not None:
                # First: a refused address leaves no invite behind, and setting it again is
                # harmless if the invite then fails.
                await put_address(client, args.municipality, person, email)
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
        f"till {when(expires_at)}."
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
        async with signed_in(args) as (client, key):
            pending = await client.enrolments("pending")
            return pending, await verified_registry(client, key, args.keys)

    pending, registry = asyncio.run(run())
    if not pending:
        print("Inga väntande registreringar.")
        return 0
    invites = read_invites(args.keys)
    print(f"Väntande registreringar ({len(pending)}):")
    for enrolment in pending:
        print()
        show_enrolment(enrolment)
        # What was invited from this machine, by the signed name: not the hub's description.
        invited = invites.get(str(enrolment.get("code_hash")))
        if invited is None:
            print("    ingen inbjudan från den här datorn: godkänn inte")
        else:
            where = municipality_label(registry, str(invited["municipality"]))
            print(f"    inbjuden härifrån: {where}, {invited['person']} ({invited['role']})")
    print()
    print("Ring kontaktpersonen och låt hen läsa upp sitt fingeravtryck innan du godkänner.")
    return 0

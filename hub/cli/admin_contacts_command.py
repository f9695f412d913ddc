"""`hub admin contact set|remove|list` and `hub admin notices`: where each contact person's
content-free deadline notices go (hub-side only, in no signed record), and the notices that
could not be sent."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Final

from hub.cli.admin_common import (
    check_municipality,
    hub_options,
    passphrase_option,
    person_name,
    signed_in,
    stockholm,
    verified_directory,
)
from hub.cli.exits import EXIT_ATTENTION, EXIT_OK

if TYPE_CHECKING:
    import argparse

    from hub.cli._types import Subparsers
    from hub.client.api import HubClient
    from hub.crypto.directory import (
        Directory,
    )
    from hub.protocol import wire


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


def register(sub: Subparsers) -> None:
    p = sub.add_parser("contact", help="e-postadresser dit kontaktpersonernas aviseringar går")
    csub = p.add_subparsers(dest="contact_command", required=True, metavar="KOMMANDO")
    p = csub.add_parser("set", help="spara (eller byt) en kontaktpersons e-postadress")
    p.add_argument("municipality", metavar="KOMMUN", help="kommunens id")
    p.add_argument("person", metavar="PERSON", help="personens namn, som i katalogen")
    p.add_argument("email", metavar="E-POST", help="adressen aviseringarna ska gå till")
    hub_options(p)
    passphrase_option(p)
    p.set_defaults(run=_contact_set)
    p = csub.add_parser("remove", help="ta bort en kontaktpersons e-postadress")
    p.add_argument("municipality", metavar="KOMMUN", help="kommunens id")
    p.add_argument("person", metavar="PERSON", help="personens namn, som i katalogen")
    hub_options(p)
    passphrase_option(p)
    p.set_defaults(run=_contact_remove)
    p = csub.add_parser("list", help="visa alla sparade e-postadresser")
    hub_options(p)
    passphrase_option(p)
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
    hub_options(p)
    passphrase_option(p)
    p.set_defaults(run=_notices)


def check_email(text: str) -> str:
    """A first check before signing in; the hub checks the address again, and strictly."""
    email = text.strip()
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain or any(c in " ,;<>\"'" for c in email):
        raise ValueError(f"{text!r} är inte en e-postadress (en adress, t.ex. namn@kommun.se)")
    return email


def addressable(person: str) -> str:
    if NOT_IN_A_PATH & set(person) or person in {".", ".."}:
        raise ValueError("en person vars namn innehåller / ? # eller % kan inte få en e-postadress")
    return person


async def put_address(client: HubClient, municipality: str, person: str, email: str) -> None:
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
    person = addressable(person_name(args.person))
    email = check_email(args.email)

    async def run() -> bool:
        async with signed_in(args) as (client, key):
            await check_municipality(client, args.municipality)
            directory, _serial = await verified_directory(client, key, args.keys)
            await put_address(client, args.municipality, person, email)
            return _has_valid_key(directory, args.municipality, person, int(time.time()))

    valid = asyncio.run(run())
    print(f"Aviseringar till {person} ({args.municipality}) går nu till {email}.")
    if not valid:
        print(f"Obs: {person} har ingen giltig nyckel som kontaktperson i {args.municipality}")
        print("i katalogen; aviseringarna börjar när en nyckel är godkänd.")
    return 0


def _contact_remove(args: argparse.Namespace) -> int:
    person = addressable(person_name(args.person))

    async def run() -> str:
        async with signed_in(args) as (client, _key):
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
        async with signed_in(args) as (client, key):
            directory, _serial = await verified_directory(client, key, args.keys)
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
        async with signed_in(args) as (client, _key):
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
            stockholm(n.created_at),
            stockholm(n.finished_at) if n.finished_at else "-",
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

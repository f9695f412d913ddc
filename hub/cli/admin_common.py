"""What every `hub admin …` command shares: the key folder and the hub's address, signing
in as the administrator with the network key, the sequence verified against that key (and the
directory log, hub/client/admin_log.py), and small readers of what the administrator types."""

from __future__ import annotations

import unicodedata
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from hub.cli import recovery_hub
from hub.cli.envelope_commands import KDF_PROFILES
from hub.cli.passphrase import read_passphrase
from hub.client import admin_log
from hub.crypto import keyfile
from hub.crypto.keys import (
    KEY_ID_BYTES,
    SigningKey,
)
from hub.crypto.records import text_field

if TYPE_CHECKING:
    import argparse
    from collections.abc import AsyncIterator

    from hub.client.api import HubClient
    from hub.crypto.directory import (
        Directory,
    )
    from hub.crypto.registry import (
        Registry,
    )


NETWORK_KEY_NAME: Final = "network.key"
NETWORK_PUB_NAME: Final = "network.pub"
YEAR_SECONDS: Final = 365 * 86_400
STOCKHOLM: Final = ZoneInfo("Europe/Stockholm")


# The outbox's statuses (hub/server/notice_routes.py) and topics (hub.protocol.notices.Topic),
# as the administrator reads them.
class NotConfirmed(Exception):  # noqa: N818 - a person's answer, not a failure
    pass


def key_options(p: argparse.ArgumentParser) -> None:
    """For commands that make a key: the passphrase and how heavy its derivation is."""
    passphrase_option(p)
    p.add_argument(
        "--kdf",
        choices=sorted(KDF_PROFILES),
        default="moderate",
        help="hur tung lösenfrasens nyckelhärledning är (standard: moderate)",
    )


def hub_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hub", metavar="URL", help="hubbens adress (standard: HUB_URL)")
    p.add_argument("--network", metavar="ID", help="nätverkets id (standard: HUB_NETWORK)")
    p.add_argument("--keys", type=Path, default=Path("keys"), help="nyckelmappen (standard keys/)")


def passphrase_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--passphrase-file", type=Path, help="läs lösenfrasen ur en fil")


# --- signed in as the administrator ----------------------------------------------------------


def hub_and_network(args: argparse.Namespace) -> tuple[str, str]:
    return recovery_hub.hub_and_network(args.hub, args.network)


def load_network_key(args: argparse.Namespace) -> SigningKey:
    path = args.keys / NETWORK_KEY_NAME
    if not path.exists():
        raise ValueError(f"{path} finns inte: skapa nätverksnyckeln med `hub admin init`")
    key = keyfile.read_keyfile(path, read_passphrase(args.passphrase_file))
    if not isinstance(key, SigningKey):
        raise ValueError(f"{path} är inte en nätverksnyckel")
    return key


@asynccontextmanager
async def signed_in(args: argparse.Namespace) -> AsyncIterator[tuple[HubClient, SigningKey]]:
    from hub.client.api import HubClient  # noqa: PLC0415 - aiohttp only where a hub is dialled

    url, network = hub_and_network(args)
    key = load_network_key(args)
    async with HubClient(url, network) as client:
        await client.sign_in(key)
        yield client, key


async def verified_directory(
    client: HubClient, key: SigningKey, keys: Path
) -> tuple[Directory, int]:
    """The directory verified against our own network key, and the next free serial."""
    registry = await verified_registry(client, key, keys)
    return registry.directory, registry.serial + 1


async def verified_registry(client: HubClient, key: SigningKey, keys: Path) -> Registry:
    """The whole sequence (directory and registry), verified against our own network key and
    the directory log, never older than the view verified on an earlier run from this key
    folder, nor other than what was signed here (hub/client/admin_log.py)."""
    return (await admin_log.verified_records(client, key, keys))[1]


async def check_municipality(client: HubClient, municipality: str) -> None:
    known = {m.id for m in await client.municipalities()}
    if municipality not in known:
        raise ValueError(
            f"kommunen {municipality} finns inte i nätverket; "
            "lägg till den med `hub admin municipality add`"
        )


def person_name(text: str) -> str:
    """A person's name as the directory stores it (NFC, trimmed), checked."""
    person = unicodedata.normalize("NFC", text.strip())
    try:
        text_field({"person": person}, "person")
    except ValueError:
        raise ValueError("personens namn ska vara 1 till 200 tecken, utan styrtecken") from None
    return person


def municipality_label(registry: Registry, municipality: str) -> str:
    """The signed name and the id; an id no signed record names is said to be unsigned."""
    name = registry.name_of(municipality)
    return f"{name} ({municipality})" if name else f"{municipality} (inget signerat namn)"


# --- small helpers ---------------------------------------------------------------------------


def ask(question: str) -> bool:
    try:
        answer = input(question)
    except EOFError:
        return False
    return answer.strip().lower() in {"j", "ja"}


def digits(text: str) -> str:
    return "".join(c for c in text if c.isascii() and c.isdigit())


def parse_key_id(text: str) -> bytes:
    text = text.strip().lower()
    if len(text) != 2 * KEY_ID_BYTES or any(c not in "0123456789abcdef" for c in text):
        raise ValueError("ett nyckel-id är 32 hexadecimala tecken")
    return bytes.fromhex(text)


def parse_time(text: str) -> int:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"ogiltig tidpunkt {text!r}: skriv t.ex. 2026-11-20T08:00+01:00") from None
    # A time without a zone is this machine's local time.
    return int(moment.astimezone().timestamp())


def when(t: int) -> str:
    return datetime.fromtimestamp(t).astimezone().strftime("%Y-%m-%d %H:%M %Z")


def stockholm(t: int) -> str:
    return datetime.fromtimestamp(t, STOCKHOLM).strftime("%Y-%m-%d %H:%M")


# For hub/cli/erase_command.py (`hub admin erase`), which signs in and asks as these do.

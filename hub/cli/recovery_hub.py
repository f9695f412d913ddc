"""The hub's part in a recovery (issue 17; docs/protocol.md §3.8): keeping a recovery copy on
the hub, fetching it on a new machine by the code alone, and, after a stolen machine, sending
the new key's enrolment. aiohttp is imported only here, when a hub is dialled."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

from hub.crypto.keys import fingerprint_of, loads_public_signing_key
from hub.errors import RecoveryError
from hub.protocol.recovery import normalise_recovery_code, recovery_lookup

if TYPE_CHECKING:
    from pathlib import Path

    from hub.crypto.keys import PrivateIdentity

CONFIRM_ADMIN_KEY = "Stämmer fingeravtrycket med det länsstyrelsen läste upp? [j/N] "


def lookup_of(code: str, network: str) -> bytes:
    """The copy's lookup id on the hub: a mistyped code is refused before the derivation."""
    normalise_recovery_code(code)
    print("Härleder kopians id på hubben ur koden (några sekunder) …")
    return recovery_lookup(code, network)


def store_copy(url: str, network: str, identity: PrivateIdentity, lookup: bytes, text: str) -> None:
    """Keep the copy on the hub, signed in as the key it holds (the hub takes it from no one
    else); it replaces that key's earlier copy there."""

    async def run() -> None:
        from hub.client.api import HubClient  # noqa: PLC0415 - aiohttp only where a hub is dialled

        async with HubClient(url, network) as client:
            await client.sign_in(identity)
            await client.put_recovery_copy(lookup, text)

    asyncio.run(run())


def fetch_copy(url: str, network: str, lookup: bytes) -> str:
    """The copy the hub keeps under `lookup`; recovery_not_on_hub if it keeps none."""

    async def run() -> str:
        from hub.client.api import HubClient, RemoteError  # noqa: PLC0415 - as above

        async with HubClient(url, network) as client:
            try:
                return await client.recovery_copy(lookup)
            except RemoteError as exc:
                if exc.code == "not_found":
                    raise RecoveryError("recovery_not_on_hub") from None
                raise

    return asyncio.run(run())


def send_enrolment(
    url: str,
    network: str,
    invite_code: str,
    identity: PrivateIdentity,
    recovery: tuple[bytes, str] | None = None,
) -> int:
    """The new key's enrolment under an invite (as `hub enrol`); its number."""

    async def run() -> int:
        from hub.client.api import HubClient  # noqa: PLC0415 - as above

        async with HubClient(url, network) as client:
            return await client.enrol(invite_code, identity, recovery)

    return asyncio.run(run())


def pinned_admin_key(path: Path, fingerprint: str | None) -> bytes | None:
    """The administrator's network key from `path`, once its fingerprint matches what the
    county read aloud (`fingerprint`, or the person's answer); None if the person says no."""
    admin_public = loads_public_signing_key(path.read_bytes())
    shown = fingerprint_of(admin_public)
    print(f"Länsstyrelsens nätverksnyckel, fingeravtryck: {shown}")
    if fingerprint is not None:
        if _digits(fingerprint) != _digits(shown):
            raise ValueError("länsstyrelsens fingeravtryck stämmer inte: inget har skapats")
        return admin_public
    try:
        answer = input(CONFIRM_ADMIN_KEY)
    except EOFError:
        return None
    return admin_public if answer.strip().lower() in {"j", "ja"} else None


def hub_and_network(hub: str | None, network: str | None) -> tuple[str, str]:
    """The hub's address and the network: from the options, else HUB_URL and HUB_NETWORK."""
    url = hub or os.environ.get("HUB_URL")
    net = network or os.environ.get("HUB_NETWORK")
    if not url:
        raise ValueError("ange hubbens adress med --hub eller HUB_URL")
    if not net:
        raise ValueError("ange nätverket med --network eller HUB_NETWORK")
    return url, net


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isascii() and c.isdigit())

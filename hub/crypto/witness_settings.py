"""The directory log's witnesses as the network's signed settings name them (issue 14,
docs/protocol.md §12.5): each witness's key name, key and address, the quorum and the freshness
limit, read and checked for hub.crypto.registry's settings record. Pure: no I/O."""

from __future__ import annotations

import base64
import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from hub.crypto.records import bounded_field, exact_fields

if TYPE_CHECKING:
    from collections.abc import Mapping

# The directory log's witnesses (issue 14, docs/protocol.md §12.5): all three or none, so a
# settings record signed before them stays valid and means "no witnesses yet".
WITNESS_FIELDS: Final = frozenset({"witnesses", "witness_quorum", "freshness_hours"})
MIN_WITNESSES: Final = 3
MAX_WITNESSES: Final = 15
_FRESHNESS_HOURS: Final = (1, 168)
DEFAULT_FRESHNESS_HOURS: Final = 6


@dataclass(frozen=True)
class WitnessSetting:
    """One witness the network counts: its key name, Ed25519 key, and where the hub reaches it
    (the address is only where to send; the key is what a client checks)."""

    name: str
    public: bytes
    url: str


class WitnessSettingError(ValueError):
    """A witness setting a reader refuses: the message for the log, `swedish` for the
    administrator who typed it (hub admin settings)."""

    def __init__(self, detail: str, swedish: str) -> None:
        super().__init__(detail)
        self.swedish = swedish


def witness_fields(body: Mapping[str, object]) -> dict[str, Any]:
    """3-15 witnesses of distinct names and keys; the quorum a majority of them (so two branches
    of a fork cannot both reach it) and at most all of them."""
    value = body["witnesses"]
    if not isinstance(value, list) or not MIN_WITNESSES <= len(value) <= MAX_WITNESSES:
        raise WitnessSettingError(
            f"witnesses must be {MIN_WITNESSES} to {MAX_WITNESSES}",
            f"nätverket ska ha {MIN_WITNESSES} till {MAX_WITNESSES} vittnen",
        )
    named = []
    for item in value:
        if not isinstance(item, dict):
            raise ValueError("a witness is {name, key, url}")
        exact_fields(item, frozenset({"name", "key", "url"}))
        named.append(_witness(item["name"], item["key"], item["url"]))
    if len({w.name for w in named}) != len(named) or len({w.public for w in named}) != len(named):
        raise WitnessSettingError(
            "two witnesses share a name or a key", "två vittnen har samma namn eller nyckel"
        )
    low = len(named) // 2 + 1
    try:
        quorum = bounded_field(body, "witness_quorum", (low, len(named)))
    except ValueError as exc:
        swedish = f"kvorum ska vara {low} till {len(named)}: en majoritet av vittnena"
        raise WitnessSettingError(str(exc), swedish) from None
    try:
        freshness = bounded_field(body, "freshness_hours", _FRESHNESS_HOURS)
    except ValueError as exc:
        swedish = "gränsen för hur gammal katalogens bekräftelse får vara ska vara 1-168 timmar"
        raise WitnessSettingError(str(exc), swedish) from None
    return {"witnesses": tuple(named), "witness_quorum": quorum, "freshness_hours": freshness}


def _witness(name: object, key: object, url: object) -> WitnessSetting:
    if (
        not isinstance(name, str)
        or not 0 < len(name) <= 100
        or not name.isascii()
        or any(c in " +" or not c.isprintable() for c in name)
    ):
        raise WitnessSettingError(
            "a witness's name is a key name: ASCII, no space or plus",
            f"vittnets namn {name!r} ska vara ASCII, utan mellanslag och plustecken",
        )
    try:
        public = base64.b64decode(key, validate=True) if isinstance(key, str) else b""
    except ValueError:
        public = b""
    if len(public) != 32 or base64.b64encode(public).decode() != key:
        raise WitnessSettingError(
            "a witness's key is 32 bytes in base64",
            f"vittnet {name}: nyckeln ska vara 32 byte i base64",
        )
    if not isinstance(url, str) or not witness_address(url):
        raise WitnessSettingError(
            "a witness's url is https, or http to this machine only",
            f"vittnet {name}: adressen ska börja med https:// (http:// bara till den egna "
            "datorn, för test)",
        )
    return WitnessSetting(name, public, url)


def witness_address(url: str) -> bool:
    """An https address with a host, or http to this machine (loopback: tests, the demo); no
    user or password in it, printable, at most 200 characters. The address is only where the
    hub and the agents send; a witness's key is what they check."""
    if len(url) > 200 or any(not c.isprintable() or c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return False
    if not host or parts.username is not None or parts.password is not None:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and _loopback(host))


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

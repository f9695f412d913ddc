"""The hub's configuration: one dataclass, read once from `hub.toml` and the environment, passed
down; nothing deeper reads files or variables."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "HUB_"
SMTP_ENV_PREFIX = "HUB_SMTP_"
DEFAULT_MAX_ENVELOPE = 100 * 1000 * 1000  # 100 MB, as the network agreed for attachments


SMTP_SECURITY = ("starttls", "tls", "none")
# Where the e-mail sends people: each contact person's inbox runs on their own machine, behind
# a one-time token, so there is no address to link to unless the county gives one (an intranet
# page with instructions, say).
DEFAULT_INBOX_LINK = "Starta inkorgen på din dator (kommandot hub inbox)."


@dataclass(frozen=True)
class SmtpConfig:
    """Where content-free notices are sent from ([smtp] in hub.toml, HUB_SMTP_*)."""

    host: str
    sender: str  # the From address
    port: int = 587
    security: str = "starttls"  # starttls | tls (implicit, port 465) | none (a local relay)
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # from password_file, never logged
    inbox_link: str = DEFAULT_INBOX_LINK
    timeout_seconds: int = 30
    # A new message is announced only if it still waits undelivered after this long: a running
    # inbox fetches it at once, and its contact person needs no e-mail about it.
    new_message_delay_seconds: int = 600

    def __post_init__(self) -> None:
        if self.security not in SMTP_SECURITY:
            raise ValueError(f"smtp.security ska vara en av {', '.join(SMTP_SECURITY)}")
        if "@" not in self.sender:
            raise ValueError("smtp.sender ska vara en e-postadress")
        if self.security == "none" and self.password is not None:
            raise ValueError("smtp: lösenord skickas aldrig okrypterat; välj starttls eller tls")


@dataclass(frozen=True)
class ServerConfig:
    data_dir: Path = Path("hub-data")
    # None: SQLite in data_dir (the embedded default). "postgresql://…": that database, which
    # several hub instances may share (hub/storage/postgres.py); data_dir then keeps only
    # local files (backups' lock).
    database: str | None = field(default=None, repr=False)  # its URL may carry a password
    # Where each instance holds its one LISTEN connection when `database` goes through
    # PgBouncer's transaction pooling (which cannot carry LISTEN): PostgreSQL itself, or a
    # session pool. None: `database` itself.
    listen_database: str | None = field(default=None, repr=False)
    host: str = "127.0.0.1"
    port: int = 8443
    # The address clients use; sign-in signatures name it so they cannot be relayed elsewhere.
    public_url: str = "http://127.0.0.1:8443"
    tls_cert: Path | None = None
    tls_key: Path | None = None
    max_envelope_bytes: int = DEFAULT_MAX_ENVELOPE
    session_seconds: int = 15 * 60
    challenge_seconds: int = 60
    signin_attempts_per_minute: int = 10
    # How often the hub asks the witnesses of each network's directory log for fresh
    # cosignatures (hub/server/witnessing.py), besides after every append.
    witness_poll_seconds: int = 300
    log_level: str = "INFO"
    smtp: SmtpConfig | None = None  # None: no e-mail; the inboxes still show every notice
    # The bearer token GET /metrics asks for (hub/server/metrics.py); without one, the metrics
    # are answered only on a hub listening on loopback alone, to loopback.
    metrics_token: str | None = field(default=None, repr=False)

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None and self.tls_key is not None


def load_config(path: Path | None = None, environ: dict[str, str] | None = None) -> ServerConfig:
    """Defaults, then `hub.toml` (section [server]), then HUB_* variables (e.g. HUB_DATA_DIR)."""
    environ = dict(os.environ) if environ is None else environ
    values: dict[str, Any] = {}
    smtp: dict[str, Any] = {}
    if path is not None:
        with path.open("rb") as toml_file:
            document = tomllib.load(toml_file)
        values.update(document.get("server", {}))
        smtp.update(document.get("smtp", {}))
        if "password" in smtp:
            raise ValueError("smtp: ange lösenordet i en fil (password_file), inte i hub.toml")
    for setting in fields(ServerConfig):
        key = ENV_PREFIX + setting.name.upper()
        if key in environ and setting.name != "smtp":
            values[setting.name] = environ[key]
    smtp_names = {f.name for f in fields(SmtpConfig)} | {"password_file"}
    for name in smtp_names:
        key = SMTP_ENV_PREFIX + name.upper()
        if key in environ:
            smtp[name] = environ[key]
    values.pop("smtp", None)
    config = _coerce(replace(ServerConfig(), **_known(values)))
    return replace(config, smtp=_smtp(smtp)) if smtp else config


def _smtp(values: dict[str, Any]) -> SmtpConfig:
    unknown = set(values) - {f.name for f in fields(SmtpConfig)} - {"password_file"}
    if unknown:
        raise ValueError(f"okända smtp-inställningar: {', '.join(sorted(unknown))}")
    for required in ("host", "sender"):
        if not values.get(required):
            raise ValueError(f"smtp.{required} saknas")
    password_file = values.pop("password_file", None)
    if password_file is not None:
        values["password"] = Path(password_file).read_text(encoding="utf-8").strip()
    for number in ("port", "timeout_seconds", "new_message_delay_seconds"):
        if number in values:
            try:
                values[number] = int(values[number])
            except (TypeError, ValueError):
                raise ValueError(f"smtp.{number} ska vara ett heltal") from None
    return SmtpConfig(**values)


def _known(values: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(ServerConfig)}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"okända inställningar: {', '.join(sorted(unknown))}")
    return values


def _coerce(config: ServerConfig) -> ServerConfig:
    changes: dict[str, Any] = {}
    for f in fields(ServerConfig):
        value = getattr(config, f.name)
        if value is None:
            continue
        if f.name in {"data_dir", "tls_cert", "tls_key"} and not isinstance(value, Path):
            changes[f.name] = Path(value)
        elif f.name in {
            "port",
            "max_envelope_bytes",
            "session_seconds",
            "challenge_seconds",
            "signin_attempts_per_minute",
            "witness_poll_seconds",
        } and not isinstance(value, int):
            try:
                changes[f.name] = int(value)
            except ValueError:
                raise ValueError(f"{f.name} ska vara ett heltal") from None
    return replace(config, **changes)

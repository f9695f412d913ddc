"""The hub's configuration: one dataclass, read once from `hub.toml` and the environment, passed
down; nothing deeper reads files or variables."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "HUB_"
DEFAULT_MAX_ENVELOPE = 100 * 1000 * 1000  # 100 MB, as the network agreed for attachments


@dataclass(frozen=True)
class ServerConfig:
    data_dir: Path = Path("hub-data")
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
    log_level: str = "INFO"

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None and self.tls_key is not None


def load_config(path: Path | None = None, environ: dict[str, str] | None = None) -> ServerConfig:
    """Defaults, then `hub.toml` (section [server]), then HUB_* variables (e.g. HUB_DATA_DIR)."""
    environ = dict(os.environ) if environ is None else environ
    values: dict[str, Any] = {}
    if path is not None:
        with path.open("rb") as toml_file:
            values.update(tomllib.load(toml_file).get("server", {}))
    for setting in fields(ServerConfig):
        key = ENV_PREFIX + setting.name.upper()
        if key in environ:
            values[setting.name] = environ[key]
    return _coerce(replace(ServerConfig(), **_known(values)))


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
        } and not isinstance(value, int):
            try:
                changes[f.name] = int(value)
            except ValueError:
                raise ValueError(f"{f.name} ska vara ett heltal") from None
    return replace(config, **changes)

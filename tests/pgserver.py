"""A real PostgreSQL for the tests: Debian's server, started with initdb and pg_ctl in a temporary
directory (they are in /usr/lib/postgresql/VERSION/bin, not on PATH).

initdb refuses to run as root, and CI runs as root: the cluster then belongs to the unprivileged
`postgres` user that Debian's package creates, and every command runs through runuser. The server
listens on 127.0.0.1 on a free port, trusting local connections (a throwaway cluster with no
password to leak). Durability settings are off (fsync, full_page_writes): the tests kill hub
processes, never this server, and a test database is thrown away.

Each test gets its own database, copied from a template that already holds the hub's schema
(CREATE DATABASE … TEMPLATE: a file copy, much faster than migrating again).

Without the server: the tests that need it skip, naming why, except with CI set, where they fail.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

PG_ROOT = Path("/usr/lib/postgresql")
TEMPLATE = "hub_template"
START_SECONDS = 30


class PostgresUnavailableError(RuntimeError):
    """The server could not be started here (no package, no user to run it as)."""


def pg_bin() -> Path:
    """The newest installed server's bin directory."""
    versions = sorted(
        (p for p in PG_ROOT.glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not versions:
        raise PostgresUnavailableError(
            "PostgreSQL-servern saknas (apt-get install postgresql; scripts/test gör det)"
        )
    return versions[-1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner(command: list[str], user: str | None) -> list[str]:
    return command if user is None else ["runuser", "-u", user, "--", *command]


@dataclass
class PgServer:
    bin: Path
    root: Path
    port: int
    user: str | None  # who runs the server (None: this user)
    _names: itertools.count[int]

    @classmethod
    def start(cls, *, durable: bool = False) -> PgServer:
        """`durable`: fsync and synchronous commits on, as a real server runs (benchmarks);
        the tests run without them."""
        bin_dir = pg_bin()
        user: str | None = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailableError("användaren postgres saknas") from None
            user = "postgres"
        root = Path(tempfile.mkdtemp(prefix="hub-pg-"))
        if user is not None:
            shutil.chown(root, user)
        data = root / "data"
        port = free_port()

        def run(*cmd: str) -> None:
            subprocess.run(
                _as_owner([str(bin_dir / cmd[0]), *cmd[1:]], user),
                check=True,
                capture_output=True,
                text=True,
                timeout=120,
            )

        try:
            run("initdb", "-D", str(data), "--auth=trust", "-U", "hub", "-E", "UTF8", "--no-sync")
            run(
                "pg_ctl",
                "-D",
                str(data),
                "-l",
                str(root / "server.log"),
                "-w",
                "-t",
                str(START_SECONDS),
                "-o",
                f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root}"
                " -c max_connections=300"
                + (
                    ""
                    if durable
                    else " -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
                ),
                "start",
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            shutil.rmtree(root, ignore_errors=True)
            raise PostgresUnavailableError(f"PostgreSQL startade inte: {detail}") from exc
        return cls(bin_dir, root, port, user, itertools.count(1))

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://hub@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        options = ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
        done = subprocess.run(
            [str(self.bin / "psql"), *options, "-d", self.url(database), "-c", sql],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return done.stdout.strip()

    def new_database(self, template: str | None = TEMPLATE) -> str:
        """A new empty database (from the schema's template unless None); returns its URL."""
        name = f"hub_test_{os.getpid()}_{next(self._names)}"
        source = f" TEMPLATE {template}" if template else " TEMPLATE template0"
        self.psql(f"CREATE DATABASE {name}{source}")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with contextlib.suppress(subprocess.CalledProcessError):
            self.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        data = self.root / "data"
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            subprocess.run(
                _as_owner(
                    [str(self.bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                    self.user,
                ),
                check=True,
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(self.root, ignore_errors=True)

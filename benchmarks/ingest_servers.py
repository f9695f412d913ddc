"""The servers of benchmarks/hub_ingest.py, each in its own process: the hub as deployed
(`python -m hub.cli serve`) and the bare aiohttp + SQLite server it is compared with."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import aiosqlite
from aiohttp import web

from hub.crypto.keys import SigningKey, dumps_public_signing_key

MB = 1_000_000  # figures are in MB (10^6 bytes)
REPO = Path(__file__).resolve().parents[1]
NETWORK = "bench-ingest"
READY_TIMEOUT = 30.0
PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def die_with_parent() -> None:
    """A server (preexec_fn) or sealing worker (initializer) gets SIGTERM if this process dies,
    even by SIGKILL (Linux); otherwise nothing is done."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Server:
    name: str
    url: str
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self, command: list[str], env: dict[str, str]) -> None:
        with self.log.open("wb") as log:
            # The command is this interpreter running the hub or this module: no outside input.
            self.proc = subprocess.Popen(  # noqa: S603
                command,
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,  # noqa: PLW1509 - started before any thread
            )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if self.proc is None or self.proc.poll() is not None:
                raise SystemExit(f"{self.name} did not start:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as answer:  # noqa: S310 - our own http://127.0.0.1
                    if answer.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"{self.name} not ready after {READY_TIMEOUT} s:\n{self.log_tail()}"
                )
            time.sleep(0.1)

    def cpu_seconds(self) -> float:
        """utime + stime of the server process, all its threads (/proc/PID/stat)."""
        if self.proc is None:
            return 0.0
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()  # aiohttp's run_app shuts down cleanly on SIGTERM
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@dataclass
class Servers:
    """Several hub instances measured as one (their CPU added up); clients go to each in turn."""

    name: str
    members: list[Server]

    @property
    def urls(self) -> list[str]:
        return [m.url for m in self.members]

    def cpu_seconds(self) -> float:
        return sum(m.cpu_seconds() for m in self.members)


def start_hub(
    tmp: Path,
    admin: SigningKey,
    *,
    name: str = "hub",
    database: str | None = None,
    create: bool = True,
) -> Server:
    """A `hub serve` process: SQLite in its own data folder, or PostgreSQL at `database`
    (`create`: the network is created first; False for a second instance on one database)."""
    data_dir, port = tmp / f"{name}-data", free_port()
    url = f"http://127.0.0.1:{port}"
    key_file = tmp / "admin.pub.json"
    key_file.write_text(dumps_public_signing_key(admin.public))
    env = {
        **os.environ,
        "HUB_DATA_DIR": str(data_dir),
        "HUB_HOST": "127.0.0.1",
        "HUB_PORT": str(port),
        "HUB_PUBLIC_URL": url,
        # 33 sign-ins from one address per size; the default (10 a minute) is for people.
        "HUB_SIGNIN_ATTEMPTS_PER_MINUTE": "1000",
    }
    env.pop("HUB_DATABASE", None)
    if database is not None:
        env["HUB_DATABASE"] = database
    if create:
        command = [sys.executable, "-m", "hub.cli", "network", "create"]
        command += ["--id", NETWORK, "--name", "Benchmark", "--admin-key", str(key_file)]
        proc = subprocess.run(  # noqa: S603 - this interpreter and our own arguments
            command, cwd=REPO, env=env, capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise SystemExit(f"hub network create failed:\n{proc.stdout}{proc.stderr}")
    hub = Server(name, url, tmp / f"{name}.log")
    hub.start([sys.executable, "-m", "hub.cli", "serve"], env)
    return hub


def start_bare(tmp: Path) -> Server:
    port = free_port()
    bare = Server("bare server", f"http://127.0.0.1:{port}", tmp / "bare.log")
    command = [sys.executable, "-m", "benchmarks.hub_ingest", "--bare-server", str(port)]
    bare.start([*command, str(tmp / "bare.sqlite3")], dict(os.environ))
    return bare


def bare_server_main(port: int, db: Path) -> None:
    """The limit to compare with: read the whole body, insert it, commit, answer 201."""
    conn_key = web.AppKey("conn", aiosqlite.Connection)

    async def database(app: web.Application):  # aiohttp cleanup context
        conn = await aiosqlite.connect(db, isolation_level=None)  # autocommit: one per INSERT
        await conn.execute("PRAGMA busy_timeout = 10000")
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = FULL")  # as the hub: fsync every commit
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bodies (id INTEGER PRIMARY KEY, body BLOB NOT NULL)"
        )
        app[conn_key] = conn
        yield
        await conn.close()

    async def upload(request: web.Request) -> web.Response:
        body = await request.read()
        cursor = await request.app[conn_key].execute(
            "INSERT INTO bodies (body) VALUES (?)", (body,)
        )
        # The hub's acknowledgement's shape (wire.UploadAck), which the client checks; the ids
        # are placeholders: the bare server reads nothing of the envelope.
        ack = {"message_id": "00" * 16, "digest": "00" * 32, "seq": cursor.lastrowid}
        return web.json_response({**ack, "size": len(body)}, status=201)

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application(client_max_size=200 * MB)
    app.cleanup_ctx.append(database)
    app.router.add_post("/api/v1/envelopes", upload)
    app.router.add_get("/healthz", health)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)

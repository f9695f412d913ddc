"""Real `hub witness` processes on free ports, for the directory log's tests: each a separate
process with its own encrypted key file and state folder, as another party runs it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiohttp

from hub.cli.witness_command import KEY_NAME, PUB_NAME
from hub.crypto import keyfile
from hub.crypto.keys import SigningKey, dumps_public_signing_key
from hub.crypto.registry import WitnessSetting
from tests.hubnet import free_port
from tests.vectors._rng import SeededRng

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

PASSPHRASE = "vittnets lösenfras"


@dataclass
class WitnessProcess:
    name: str
    folder: Path
    key: SigningKey
    port: int
    logs: list[str]  # --log arguments
    recosign_seconds: float
    process: asyncio.subprocess.Process | None = None
    output: list[bytes] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def setting(self) -> WitnessSetting:
        return WitnessSetting(self.name, self.key.public, self.url)

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hub.cli",
            "witness",
            "serve",
            "--dir",
            str(self.folder),
            "--name",
            self.name,
            "--port",
            str(self.port),
            "--recosign-seconds",
            str(self.recosign_seconds),
            *(a for log in self.logs for a in ("--log", log)),
            env={**os.environ, "HUB_PASSPHRASE": PASSPHRASE},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout=30)
        assert b"lyssnar" in line, line
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"{self.url}/cosigned?origin=x"):
                        return
                await asyncio.sleep(0.05)
        raise TimeoutError(f"witness {self.name} did not start")

    async def stop(self) -> None:
        """Kill the process, as a power cut would; its state folder stays."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        self.process = None


def make_witness(
    root: Path, number: int, logs: list[str], recosign_seconds: float
) -> WitnessProcess:
    folder = root / f"vittne{number}"
    folder.mkdir(parents=True)
    key = SigningKey.generate(SeededRng(f"witness/{number}"))
    keyfile.write_keyfile(
        folder / KEY_NAME,
        key,
        PASSPHRASE,
        opslimit=keyfile.INTERACTIVE_OPSLIMIT,
        memlimit=keyfile.INTERACTIVE_MEMLIMIT,
    )
    (folder / PUB_NAME).write_text(dumps_public_signing_key(key.public))
    return WitnessProcess(
        f"vittne{number}.example/test", folder, key, free_port(), logs, recosign_seconds
    )


@asynccontextmanager
async def running_witnesses(
    root: Path,
    network: str,
    admin_public_file: Path,
    *,
    count: int = 3,
    recosign_seconds: float = 1,
    first: int = 1,
) -> AsyncIterator[list[WitnessProcess]]:
    witnesses = [
        make_witness(root, n, [f"{network}={admin_public_file}"], recosign_seconds)
        for n in range(first, first + count)
    ]
    try:
        await asyncio.gather(*(w.start() for w in witnesses))
        yield witnesses
    finally:
        for w in witnesses:
            await w.stop()

"""Go's golang.org/x/mod/sumdb (tlog and note) from Debian's golang-golang-x-mod-dev, built once
per run from tests/go/tlogcheck.go, to cross-check the Merkle tree and the signed notes. Tests
that use it skip only where Go or that package is absent (scripts/test installs both)."""

from __future__ import annotations

import json
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

GOPATH = Path("/usr/share/gocode")
SOURCE = Path(__file__).with_name("go") / "tlogcheck.go"


@cache
def _built(folder: str) -> Path:
    go = shutil.which("go")
    if go is None or not (GOPATH / "src/golang.org/x/mod/sumdb/tlog").is_dir():
        pytest.skip("Go and golang-golang-x-mod-dev are not installed")
    program = Path(folder) / "tlogcheck"
    env = {
        "PATH": "/usr/bin:/bin",
        "GO111MODULE": "off",  # Debian's source tree as GOPATH, no module download
        "GOPATH": str(GOPATH),
        "GOCACHE": str(Path(folder) / "cache"),
        "HOME": folder,
    }
    subprocess.run(
        [go, "build", "-o", str(program), str(SOURCE)], check=True, env=env, capture_output=True
    )
    return program


def tlogcheck(tmp_factory: pytest.TempPathFactory, *args: str, stdin: bytes) -> bytes:
    program = _built(str(tmp_factory.getbasetemp() / "go"))
    done = subprocess.run(
        [str(program), *args], input=stdin, capture_output=True, check=False, timeout=60
    )
    if done.returncode != 0:
        raise ValueError(done.stderr.decode())
    return done.stdout


def go_tree(tmp_factory: pytest.TempPathFactory, leaf_inputs: list[bytes]) -> dict[str, Any]:
    lines = "".join(f"{data.hex()}\n" for data in leaf_inputs).encode()
    found: dict[str, Any] = json.loads(tlogcheck(tmp_factory, "tree", stdin=lines))
    return found

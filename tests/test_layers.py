"""The layers of docs/adr/003-layers.md hold: `lint-imports` keeps every contract in
pyproject.toml's [tool.importlinter] on hub/ as it is, and breaks the right one when a copy of
hub/ is given an import that crosses a layer (so a contract that checks nothing fails here)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONTRACTS = {
    c["id"]: c["name"]
    for c in tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "importlinter"
    ]["contracts"]
}


def _lint(where: Path) -> tuple[int, str]:
    """lint-imports on the `hub` package in `where`, with the pyproject.toml found there; its
    exit status and its report with the lines joined (it wraps long contract names)."""
    result = subprocess.run(
        [LINT_IMPORTS, "--no-cache"],
        cwd=where,
        env={**os.environ, "PYTHONPATH": str(where)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.returncode, " ".join((result.stdout + result.stderr).split())


def test_the_layers_hold():
    status, report = _lint(ROOT)
    assert status == 0, report
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in report
    for name in CONTRACTS.values():
        assert f"{name} KEPT" in report


# Each crossing: the module it is written into, the import, and the contract it breaks.
CROSSINGS = [
    ("hub.report.charts", "aiohttp", "pure"),
    ("hub.protocol.lifecycle", "jinja2", "pure"),
    ("hub.report.export", "hub.storage.base", "pure"),
    ("hub.crypto.keys", "hub.protocol.signin", "layers"),
    ("hub.followup.views", "hub.inbox.forms", "layers"),
    ("hub.server.app", "hub.client.api", "hub-knows-no-agent"),
    ("hub.storage.base", "hub.localagent.security", "hub-knows-no-agent"),
    ("hub.inbox.agent", "hub.storage.base", "agents-know-no-hub-internals"),
    ("hub.followup.agent", "hub.server.config", "agents-know-no-hub-internals"),
    ("hub.localagent.launch", "hub.client.api", "localagent-generic"),
]


@pytest.mark.parametrize(("module", "imported", "contract"), CROSSINGS)
def test_a_crossing_is_caught(tmp_path, module, imported, contract):
    shutil.copytree(
        ROOT / "hub",
        tmp_path / "hub",
        ignore=shutil.ignore_patterns("__pycache__", "templates", "static", "migrations"),
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    status, report = _lint(tmp_path)
    assert status == 0, report  # the copy, untouched, is linted and keeps every contract
    path = tmp_path.joinpath(*module.split(".")).with_suffix(".py")
    with path.open("a", encoding="utf-8") as f:
        f.write(f"\nimport {imported}\n")
    status, report = _lint(tmp_path)
    assert status == 1, report
    assert f"{CONTRACTS[contract]} BROKEN" in report, report  # and maybe others with it
    assert f"{module} -> {imported}" in report, report

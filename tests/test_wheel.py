"""Issue 15: the agent installs from the built wheel with one command, as pipx or `uv tool` do
(a venv of its own holding the package and its dependencies, the `hub` command put on the
PATH). The wheel is built from this checkout with no network but the package index pip is
configured with; the install takes the agent's extra only, so the split is tested too: the
agent has weasyprint and platformdirs, and not the hub's SMTP and metrics libraries."""

from __future__ import annotations

import subprocess
import tomllib
import zipfile
from pathlib import Path

from tests.installed import build_wheel, install_agent

ROOT = Path(__file__).resolve().parents[1]


def test_the_extras_split_the_agent_from_the_server() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = " ".join(project["dependencies"])
    extras = project["optional-dependencies"]
    assert "weasyprint" not in base
    assert "aiosmtplib" not in base
    assert "prometheus-client" not in base
    assert "platformdirs" in base
    assert any(d.startswith("weasyprint") for d in extras["agent"])
    assert {d.split(">")[0] for d in extras["server"]} == {"aiosmtplib", "prometheus-client"}
    # Several instances on PostgreSQL take an extra of their own; a SQLite hub needs no psycopg.
    assert "psycopg" not in base
    assert {d.split(">")[0] for d in extras["postgresql"]} == {"psycopg[binary]", "psycopg-pool"}
    # scripts/test, scripts/demo and .ci/run install from a clone: dev brings both programs
    assert "hub[agent,server,postgresql]" in extras["dev"]
    assert "VENV_EXTRA=agent,server" in (ROOT / "scripts" / "demo").read_text()


def test_the_agent_installs_from_the_wheel_into_a_venv_of_its_own(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    for packaged in (
        "hub/templates/inbox/base.html",
        "hub/inbox/static/inbox.css",
        "hub/deploy/hub.service",
        "hub/storage/migrations/0001_initial.sql",
        "hub/storage/migrations/postgresql/0001_initial.sql",
        "hub/py.typed",
    ):
        assert packaged in names, packaged
    venv = install_agent(wheel, tmp_path)
    python = venv / "bin" / "python"
    shown = subprocess.run(
        [str(venv / "bin" / "hub"), "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert "inbox" in shown.stdout
    inbox = subprocess.run(
        [str(venv / "bin" / "hub"), "inbox", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert "--keys" in inbox.stdout
    probe = (
        "import importlib.util as u, sys\n"
        "for name in ('weasyprint', 'platformdirs', 'aiosmtplib', 'prometheus_client'):\n"
        "    print(name, u.find_spec(name) is not None)\n"
        "print('hub from', __import__('hub').__file__)\n"
    )
    found = subprocess.run(
        [str(python), "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=tmp_path,
    ).stdout
    assert "weasyprint True" in found
    assert "platformdirs True" in found
    assert "aiosmtplib False" in found  # the hub's, not the agent's
    assert "prometheus_client False" in found
    assert str(venv) in found  # the venv's own copy, not this checkout

"""The hardened systemd unit shipped with the package (issue 18), checked by systemd's own tools:
`systemd-analyze verify` and `systemd-analyze security --offline=true`. scripts/test installs
systemd when systemd-analyze is missing; without it these tests skip, saying so."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from hub.cli import main

# The exposure score docs/operations.md gives; a change to the unit that moves it fails here
# until the document says the new one.
DOCUMENTED_EXPOSURE = "1.1"
THRESHOLD = 2.0  # systemd's "OK" band ends at 2.9; the hub stays well inside it

needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is not installed (scripts/test installs Debian's systemd as root)",
)


def _unit_text() -> str:
    return resources.files("hub").joinpath("deploy/hub.service").read_text(encoding="utf-8")


def _settings(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def _testable_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this venv's hub: verify checks the program exists."""
    here = Path(sys.executable).parent / "hub"
    text = _unit_text().replace("/opt/hub/venv/bin/hub", str(here))
    unit = tmp_path / "hub.service"
    unit.write_text(text)
    return unit


def test_the_unit_runs_hub_serve_as_its_own_user_with_only_the_data_folder_writable():
    s = _settings(_unit_text())
    assert s["ExecStart"] == ["/opt/hub/venv/bin/hub serve --config /etc/hub/hub.toml"]
    assert s["User"] == ["hub"]
    assert s["ProtectSystem"] == ["strict"]
    assert s["ReadWritePaths"] == ["/var/lib/hub"]
    assert s["StateDirectory"] == ["hub"]  # /var/lib/hub
    for hardening in (
        "NoNewPrivileges",
        "PrivateTmp",
        "ProtectHome",
        "PrivateDevices",
        "ProtectKernelTunables",
        "ProtectControlGroups",
        "RestrictSUIDSGID",
        "LockPersonality",
    ):
        assert s[hardening] == ["true"], hardening
    assert s["CapabilityBoundingSet"] == [""]
    assert "InaccessiblePaths" not in s
    assert "BindPaths" not in s


def test_the_unit_is_package_data_and_hub_systemd_unit_prints_it(capsys):
    assert main(["systemd-unit"]) == 0
    assert capsys.readouterr().out == _unit_text()


@needs_systemd_analyze
def test_systemd_analyze_verify_accepts_the_unit(tmp_path):
    done = subprocess.run(
        ["systemd-analyze", "verify", str(_testable_copy(tmp_path))],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    # Anything it says about our file is a warning worth fixing.
    assert "hub.service" not in done.stderr, done.stderr


@needs_systemd_analyze
def test_the_exposure_score_is_low_and_the_one_the_docs_give(tmp_path):
    done = subprocess.run(
        [
            "systemd-analyze",
            "security",
            "--offline=true",
            f"--threshold={int(THRESHOLD * 10)}",
            "--no-pager",
            str(_testable_copy(tmp_path)),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    match = re.search(r"Overall exposure level for hub\.service: (\d+\.\d)", done.stdout)
    assert match is not None, done.stdout
    assert float(match.group(1)) <= THRESHOLD
    assert match.group(1) == DOCUMENTED_EXPOSURE
    doc = (Path(__file__).resolve().parent.parent / "docs" / "operations.md").read_text()
    assert f"exposure {DOCUMENTED_EXPOSURE} (OK)" in doc
    for line in done.stdout.splitlines():
        if line.startswith("✗"):
            # What is left open, each for a reason docs/operations.md gives: the hub serves
            # the network and uses asyncio's local socket pair; clients come from anywhere.
            assert line.split()[1].split("=")[0] in {
                "RootDirectory",
                "RestrictAddressFamilies",
                "PrivateNetwork",
                "DeviceAllow",
                "IPAddressDeny",
            }, line

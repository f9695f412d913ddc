"""The agent as a contact person installs it (issue 15): the wheel built from this checkout and
installed with its `agent` extra into a venv of its own, as pipx or `uv tool` do. Only the
package index pip is configured with is reached."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LEFT_OUT = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "test-output", ".*_cache"
)


def build_wheel(tmp_path: Path) -> Path:
    source = tmp_path / "checkout"  # a copy: the build writes build/ and *.egg-info into it
    shutil.copytree(ROOT, source, ignore=LEFT_OUT)
    out = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(source)],
        check=True,
        timeout=300,
    )
    [wheel] = out.glob("hub-*.whl")
    return wheel


def install_agent(wheel: Path, tmp_path: Path) -> Path:
    """`wheel[agent]` in a fresh venv where pipx would put it; returns the venv."""
    venv = tmp_path / "pipx" / "venvs" / "hub"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", f"{wheel}[agent]"],
        check=True,
        timeout=600,
    )
    return venv

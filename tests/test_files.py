"""Issue 15: private files behind one small module (hub/files.py), and the agent's code kept
portable: mypy for Windows and macOS (.ci/run runs the same), `hub --help` where the
Unix-only modules do not exist."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from hub import files

ROOT = Path(__file__).resolve().parents[1]


def test_a_private_file_is_this_users_alone_whatever_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        fd = files.open_private(tmp_path / "secret")
        os.close(fd)
        fd = files.open_private(tmp_path / "public", mode=0o644)
        os.close(fd)
        files.private_folder(tmp_path / "a" / "b")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "secret").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "public").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "a" / "b").stat().st_mode) == 0o700
    with pytest.raises(FileExistsError):  # never through a file already there, or a symlink
        files.open_private(tmp_path / "secret")
    (tmp_path / "planted").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(FileExistsError):
        files.open_private(tmp_path / "planted")
    assert not (tmp_path / "elsewhere").exists()


def test_publish_never_overwrites_with_or_without_hard_links(tmp_path, monkeypatch):
    (tmp_path / "done").write_text("new")
    (tmp_path / "taken").write_text("old")
    with pytest.raises(FileExistsError):
        files.publish(tmp_path / "done", tmp_path / "taken")
    assert (tmp_path / "taken").read_text() == "old"
    files.publish(tmp_path / "done", tmp_path / "name")
    assert (tmp_path / "name").read_text() == "new"
    assert not (tmp_path / "done").exists()

    def no_links(_self: Path, _target: Path) -> None:
        raise PermissionError("no hard links on this file system")

    monkeypatch.setattr(Path, "hardlink_to", no_links)
    (tmp_path / "again").write_text("newer")
    with pytest.raises(FileExistsError):
        files.publish(tmp_path / "again", tmp_path / "taken")
    files.publish(tmp_path / "again", tmp_path / "fresh")
    assert (tmp_path / "fresh").read_text() == "newer"


def test_on_windows_a_private_file_gets_an_acl_for_its_user_alone(tmp_path, monkeypatch):
    """The Windows branch as far as Linux can check it: the modes are left alone and icacls
    removes inheritance and grants the user alone. Not run on Windows itself."""
    ran: list[list[str]] = []
    monkeypatch.setattr(files.sys, "platform", "win32")
    monkeypatch.setenv("USERNAME", "kontakt")
    monkeypatch.setattr(files.subprocess, "run", lambda args, **_: ran.append(args))
    monkeypatch.setattr(files.os, "fchmod", pytest.fail)
    fd = files.open_private(tmp_path / "identity.key")
    os.close(fd)
    fd = files.open_private(tmp_path / "identity.pub", mode=0o644)
    os.close(fd)
    assert ran == [
        ["icacls", str(tmp_path / "identity.key"), "/inheritance:r", "/grant:r", "kontakt:(F)"]
    ]


def test_hub_help_runs_where_unix_only_modules_are_missing():
    """Windows has no fcntl (the hub's backup lock): the command must still load there."""
    code = (
        "import sys\n"
        "sys.modules['fcntl'] = None\n"
        "from hub.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit as exc:\n"
        "    sys.exit(exc.code)\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert shown.returncode == 0, shown.stderr
    assert "inbox" in shown.stdout


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_mypy_passes_for_the_contact_persons_systems(platform):
    """As .ci/run: the whole package for macOS; for Windows all but the hub's server and
    storage, which run on Linux only (docs/operations.md)."""
    ci = (ROOT / ".ci" / "run").read_text()
    command = [sys.executable, "-m", "mypy", "--platform", platform]
    if platform == "win32":
        command += ["--exclude", "hub/(server|storage)/", "--follow-imports", "silent", "hub"]
    shown = " ".join(command[1:]).replace("-m mypy", "mypy")
    assert f".venv/bin/{shown}" in ci.replace("'", "")
    checked = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr

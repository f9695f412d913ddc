"""Issue 15: start and come back. The running agent's control channel (hub.localagent.control)
gives this operating-system user, and no other, a fresh one-time link; the systemd user unit
and the desktop launcher that use it are checked with systemd's and freedesktop's own tools."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from hub.cli import main
from hub.localagent import control
from hub.localagent.security import LocalAuth

ROOT = Path(__file__).resolve().parents[1]


async def test_the_channel_gives_a_fresh_link_each_time_and_only_to_this_user(tmp_path):
    auth = LocalAuth("http://127.0.0.1:8765")
    first = auth.launch_url
    path = tmp_path / "run" / "hub" / control.SOCKET_NAME
    async with control.serving(auth.fresh_launch_url, path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        one = await control.ask_for_link(path)
        two = await control.ask_for_link(path)
        assert one.startswith("http://127.0.0.1:8765/start?token=")
        assert len({first, one, two}) == 3
        # only the newest link opens a session: the ones before it open nothing
        token = two.split("token=")[1]
        assert auth.start_session(first.split("token=")[1]) is None
        assert auth.start_session(one.split("token=")[1]) is None
        assert auth.start_session(token) is not None
        assert auth.start_session(token) is None  # and once only
        with pytest.raises(control.ChannelError):  # a second agent for the same user
            async with control.serving(auth.fresh_launch_url, path):
                pass
    assert not path.exists()
    with pytest.raises(OSError):
        await control.ask_for_link(path)


async def test_a_socket_left_by_a_stopped_agent_is_replaced(tmp_path):
    path = tmp_path / "hub" / control.SOCKET_NAME
    path.parent.mkdir(mode=0o700)
    path.write_bytes(b"")  # nobody answers here
    async with control.serving(lambda: "http://127.0.0.1:1/start?token=x", path):
        assert await control.ask_for_link(path) == "http://127.0.0.1:1/start?token=x"


async def test_a_runtime_folder_open_to_others_is_refused(tmp_path):
    folder = tmp_path / "hub"
    folder.mkdir()
    folder.chmod(0o755)
    with pytest.raises(control.ChannelError, match="0700"):
        async with control.serving(lambda: "x", folder / control.SOCKET_NAME):
            pass


def _users_can_be_made() -> str | None:
    if sys.platform != "linux":
        return "needs Linux"
    if os.geteuid() != 0:
        return "needs root to make two users (useradd), and root ignores file modes"
    if shutil.which("useradd") is None or shutil.which("setpriv") is None:
        return "needs useradd and setpriv"
    return None


@contextlib.contextmanager
def _two_users():
    names = [f"hubt{os.getpid() % 100000}{who}" for who in ("a", "b")]
    for name in names:
        subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/false", name], check=True)
    try:
        yield names
    finally:
        for name in names:
            subprocess.run(["userdel", name], check=False)


def _as(user: str, code: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            "setpriv",
            f"--reuid={user}",
            f"--regid={user}",
            "--clear-groups",
            sys.executable,
            "-c",
            code,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), **env},
        cwd="/",
    )


SERVE = textwrap.dedent(
    """
    import asyncio, sys
    from hub.localagent import control
    async def main():
        async with control.serving(lambda: "http://127.0.0.1:9/start?token=owner", None) as p:
            print(oct(p.stat().st_mode & 0o777), flush=True)
            await asyncio.sleep(30)
    asyncio.run(main())
    """
)
ASK = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from hub.localagent import control
    try:
        print(asyncio.run(control.ask_for_link(Path(sys.argv[1]))))
    except OSError as exc:
        print("refused", type(exc).__name__)
    """
)


@pytest.mark.skipif(_users_can_be_made() is not None, reason=str(_users_can_be_made()))
def test_another_operating_system_user_cannot_get_a_link():
    """Two users made for the test: the owner's agent answers its owner and refuses the other,
    whose process cannot even open the owner's socket (its folder is 0700, itself 0600)."""
    base = Path(tempfile.mkdtemp(prefix="hub-two-users-"))
    try:
        base.chmod(0o755)
        with _two_users() as (owner, other):
            runtime = base / "run-owner"
            runtime.mkdir(mode=0o700)
            shutil.chown(runtime, owner, owner)
            env = {"XDG_RUNTIME_DIR": str(runtime)}
            agent = _as(owner, SERVE, env)
            try:
                assert agent.stdout is not None
                assert agent.stdout.readline().strip() == "0o600"
                socket = runtime / "hub" / control.SOCKET_NAME
                asked = _as(owner, ASK.replace("sys.argv[1]", repr(str(socket))), env)
                assert asked.communicate(timeout=30)[0].strip() == (
                    "http://127.0.0.1:9/start?token=owner"
                )
                refused = _as(other, ASK.replace("sys.argv[1]", repr(str(socket))), {})
                out, err = refused.communicate(timeout=30)
                assert out.strip() == "refused PermissionError", err
                # even with the folder opened, the socket's own mode refuses the other user
                runtime.chmod(0o755)
                (runtime / "hub").chmod(0o755)
                refused = _as(other, ASK.replace("sys.argv[1]", repr(str(socket))), {})
                out, err = refused.communicate(timeout=30)
                assert out.strip() == "refused PermissionError", err
            finally:
                agent.kill()
                agent.communicate()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_hub_inbox_prints_the_unit_and_the_launcher(capsys):
    assert main(["inbox", "--systemd-unit"]) == 0
    unit = capsys.readouterr().out
    assert "ExecStart=%h/.local/bin/hub inbox --no-browser" in unit
    assert "WantedBy=default.target" in unit
    assert main(["inbox", "--desktop-entry"]) == 0
    entry = capsys.readouterr().out
    assert "Exec=hub inbox\n" in entry
    assert "Terminal=false" in entry


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_the_user_unit_verifies(tmp_path):
    home = tmp_path / "home"
    (home / ".local" / "bin").mkdir(parents=True)
    hub = home / ".local" / "bin" / "hub"  # where pipx puts the command
    hub.write_text("#!/bin/sh\n")
    hub.chmod(0o755)
    unit = tmp_path / "hub-inbox.service"
    unit.write_text((ROOT / "hub" / "deploy" / "hub-inbox.service").read_text())
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    checked = subprocess.run(
        ["systemd-analyze", "--user", "verify", str(unit)],
        capture_output=True,
        text=True,
        env={**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)},
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr.strip() == ""


@pytest.mark.skipif(
    shutil.which("desktop-file-validate") is None,
    reason="needs desktop-file-validate (scripts/test installs desktop-file-utils)",
)
def test_the_desktop_entry_validates():
    entry = ROOT / "hub" / "deploy" / "hub-inbox.desktop"
    checked = subprocess.run(
        ["desktop-file-validate", str(entry)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == ""


def test_the_running_agents_link_is_asked_before_anything_else(monkeypatch, capsys):
    """`hub inbox` again (or the launcher) needs no hub address or key: it asks the running
    agent, prints the fresh link and opens it."""
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", opened.append)

    async def fresh(path=None):
        del path
        return "http://127.0.0.1:5555/start?token=ny"

    monkeypatch.setattr(control, "ask_for_link", fresh)
    monkeypatch.delenv("HUB_URL", raising=False)
    assert main(["inbox"]) == 0
    out = capsys.readouterr().out
    assert "Inkorgen körs redan" in out
    assert "http://127.0.0.1:5555/start?token=ny" in out
    assert opened == ["http://127.0.0.1:5555/start?token=ny"]

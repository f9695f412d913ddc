"""scripts/test waits for the package manager's lock (issue 18) instead of failing when another
install holds it: scripts/_apt.sh, tried against a lock file a helper process holds as apt and
dpkg do (fcntl), and an apt-get stand-in that shows what it was called with."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

APT_SH = Path(__file__).resolve().parent.parent / "scripts" / "_apt.sh"
HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.lockf(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def _hold(lock: Path, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    assert holder.stdout.readline() == "held\n"
    return holder


def _run(tmp_path: Path, command: str, lock: Path, wait: int = 30) -> tuple[int, str, str, float]:
    stub = tmp_path / "bin"
    stub.mkdir(exist_ok=True)
    (stub / "apt-get").write_text('#!/bin/sh\necho "apt-get $* ($DEBIAN_FRONTEND)"\n')
    (stub / "apt-get").chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{stub}:{os.environ['PATH']}",
        "APT_LOCK_FILES": f"{lock} {tmp_path / 'absent'}",
        "APT_LOCK_WAIT_SECONDS": str(wait),
        "APT_LOCK_POLL_SECONDS": "0.1",
    }
    started = time.monotonic()
    done = subprocess.run(
        ["bash", "-c", f". {APT_SH}; {command}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr, time.monotonic() - started


def test_apt_get_waits_while_another_install_holds_the_lock(tmp_path):
    lock = tmp_path / "lock-frontend"
    holder = _hold(lock, 1.5)
    try:
        code, out, err, took = _run(
            tmp_path, "DEBIAN_FRONTEND=noninteractive apt_get install -y chromium", lock
        )
    finally:
        holder.wait()
    assert code == 0, err
    assert took >= 1.0  # it waited for the holder to let go
    assert "another install holds the package manager's lock" in err
    assert "the lock is free" in err
    assert out == "apt-get -o DPkg::Lock::Timeout=30 install -y chromium (noninteractive)\n"


def test_a_free_lock_costs_nothing_and_says_nothing(tmp_path):
    lock = tmp_path / "lock-frontend"
    lock.write_bytes(b"")
    code, out, err, _ = _run(tmp_path, "apt_get update -qq", lock)
    assert (code, err) == (0, "")
    assert out.startswith("apt-get -o DPkg::Lock::Timeout=30 update -qq")


def test_it_gives_up_after_the_wait_with_a_message(tmp_path):
    lock = tmp_path / "lock-frontend"
    holder = _hold(lock, 10)
    try:
        code, out, err, took = _run(tmp_path, "apt_get update", lock, wait=1)
    finally:
        holder.kill()
        holder.wait()
    assert code == 1
    assert out == ""  # apt-get never ran
    assert "still held after 1 s" in err
    assert took < 8

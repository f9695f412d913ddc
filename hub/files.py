"""Private files, portably: the one place that knows how a file or folder is kept from the
machine's other users (issue 15). The key file, the inbox's cache and what `hub seal`,
`hub open` and `hub keygen` write go through here.

- POSIX (Linux, macOS): files 0600 and folders 0700, set exactly (os.open's mode is cut by
  the umask, so the mode is set again on the open descriptor).
- Windows: the mode bits mean nothing there (only read-only), so a private file or folder
  gets an ACL that grants this user alone: inheritance removed, full control to the user, by
  `icacls`. Written for Windows, **not tested** on it (the README says which systems the tests
  ran on).

A file is published under its name without overwriting: link(2) refuses an existing name in
one step; a file system without hard links (FAT, some shares, often Windows) looks, then
renames."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from pathlib import Path

FILE_MODE: Final = 0o600
FOLDER_MODE: Final = 0o700
_PLAIN: Final = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)  # no text mode


def open_private(path: Path, *, mode: int = FILE_MODE, truncate: bool = False) -> int:
    """A new file at `path` for writing that only this user can read (`mode` on POSIX; a
    public file passes 0o644); with `truncate`, an existing one is emptied and taken over
    instead of refused. Returns the descriptor."""
    flags = os.O_WRONLY | os.O_CREAT | _PLAIN | (os.O_TRUNC if truncate else os.O_EXCL)
    fd = os.open(path, flags, mode)  # O_EXCL: never through a planted file or symlink
    try:
        set_mode(fd, path, mode)
    except BaseException:
        os.close(fd)
        raise
    return fd


def set_mode(fd: int, path: Path, mode: int = FILE_MODE) -> None:
    """Make the open file `fd` (at `path`) exactly `mode`: private or, for 0o644, readable."""
    if sys.platform == "win32":
        if mode & 0o077 == 0:
            _only_this_user(path)
    else:
        os.fchmod(fd, mode)


def private_folder(path: Path) -> None:
    """`path` and its missing parents made; `path` itself only this user's (0700)."""
    path.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    if sys.platform == "win32":
        _only_this_user(path)


def _only_this_user(path: Path) -> None:  # pragma: no cover - Windows only, untested
    user = os.environ.get("USERNAME", "")
    if not user:
        raise PermissionError(f"cannot tell whose {path} is: USERNAME is not set")
    subprocess.run(  # noqa: S603 - a fixed program and arguments, no shell
        ["icacls", str(path), "/inheritance:r", "/grant:r", f"{user}:(F)"],  # noqa: S607
        check=True,
        capture_output=True,
    )


def publish(temp: Path, path: Path) -> None:
    """Give the finished file `temp` the name `path` unless something already has it
    (FileExistsError), in one step where the file system has hard links."""
    try:
        path.hardlink_to(temp)
    except FileExistsError:
        raise
    except OSError:
        # No hard links here: look, then rename (a file appearing in between is the only race)
        if path.is_symlink() or path.exists():
            raise FileExistsError(str(path)) from None
        temp.replace(path)
        return
    temp.unlink()


def sync_folder(path: Path) -> None:
    """Make a new name in `path` durable. Windows cannot open a folder; NTFS journals it."""
    if sys.platform == "win32":
        return
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()

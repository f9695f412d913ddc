"""Where a local agent keeps its files on the person's own PC: the operating system's usual
per-user folders (platformdirs), never the folder a terminal happened to be in.

    Linux    ~/.local/share/hub/keys, and $XDG_RUNTIME_DIR/hub for the control socket
    Windows  %LOCALAPPDATA%\\hub\\keys
    macOS    ~/Library/Application Support/hub/keys

An option on the command line (`--keys`) still names another folder."""

from __future__ import annotations

from typing import TYPE_CHECKING

import platformdirs

if TYPE_CHECKING:
    from pathlib import Path

APP = "hub"


def keys_dir() -> Path:
    """The person's key folder: their encrypted private keys, the pinned administrator key and
    the inbox's cache (encrypted with a key derived from theirs)."""
    return platformdirs.user_data_path(APP, appauthor=False) / "keys"


def runtime_dir() -> Path:
    """Where the running agent's control channel lives, for this operating-system user only
    ($XDG_RUNTIME_DIR on Linux, 0700 and the user's own)."""
    return platformdirs.user_runtime_path(APP, appauthor=False)

"""Where a passphrase comes from: a file descriptor, a file, the environment, or a prompt, in
that order."""

from __future__ import annotations

import getpass
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

ENV_VAR = "HUB_PASSPHRASE"


def read_passphrase(
    passphrase_file: Path | None, *, confirm: bool = False, fd: int | None = None
) -> str:
    if fd is not None:  # for automation: nothing lands in a file, a variable or a history
        with os.fdopen(fd, encoding="utf-8", closefd=False) as stream:
            return stream.readline().removesuffix("\n").removesuffix("\r")
    if passphrase_file is not None:
        text = passphrase_file.read_text(encoding="utf-8")
        return text.removesuffix("\n").removesuffix("\r")
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        raise ValueError(f"ingen lösenfras: ange --passphrase-file eller {ENV_VAR}")
    first = getpass.getpass("Lösenfras: ")
    if confirm and getpass.getpass("Samma lösenfras igen: ") != first:
        raise ValueError("lösenfraserna är inte lika")
    return first

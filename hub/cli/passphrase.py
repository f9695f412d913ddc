"""Where a passphrase (or a recovery code) comes from: a file descriptor, a file, the
environment, or a prompt, in that order."""

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
    return read_secret(
        passphrase_file,
        fd=fd,
        env_var=ENV_VAR,
        prompt="Lösenfras: ",
        confirm="Samma lösenfras igen: " if confirm else None,
        missing=f"ingen lösenfras: ange --passphrase-file eller {ENV_VAR}",
        differ="lösenfraserna är inte lika",
    )


def read_recovery_code(code_file: Path | None) -> str:
    """The recovery code (hub recovery restore): from a file, else asked for, never echoed.
    No environment variable: a code written down on paper has no business in one."""
    return read_secret(
        code_file,
        prompt="Återställningskod (sex grupper om fem tecken): ",
        missing="ingen återställningskod: ange --code-file eller kör i en terminal",
    )


def read_secret(  # noqa: PLR0913 - each is one source or one sentence
    secret_file: Path | None,
    *,
    prompt: str,
    missing: str,
    fd: int | None = None,
    env_var: str | None = None,
    confirm: str | None = None,
    differ: str = "",
) -> str:
    if fd is not None:  # for automation: nothing lands in a file, a variable or a history
        with os.fdopen(fd, encoding="utf-8", closefd=False) as stream:
            return stream.readline().removesuffix("\n").removesuffix("\r")
    if secret_file is not None:
        text = secret_file.read_text(encoding="utf-8")
        return text.removesuffix("\n").removesuffix("\r")
    from_env = os.environ.get(env_var) if env_var else None
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        raise ValueError(missing)
    first = getpass.getpass(prompt)
    if confirm and getpass.getpass(confirm) != first:
        raise ValueError(differ)
    return first

"""Issue 15: the agent's files in the operating system's usual per-user places."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.cli import build_parser
from hub.localagent import places

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


def test_the_keys_and_the_control_channel_live_in_the_users_own_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    assert places.keys_dir() == tmp_path / "data" / "hub" / "keys"
    assert places.runtime_dir() == tmp_path / "run" / "hub"


def test_hub_inbox_finds_the_keys_there_unless_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    args = build_parser().parse_args(["inbox"])
    assert args.keys == tmp_path / "data" / "hub" / "keys"
    assert build_parser().parse_args(["inbox", "--keys", "k"]).keys.name == "k"

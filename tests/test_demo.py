"""The README's main command: the demo network starts and its sample case arrives."""

from __future__ import annotations

from hub.demo import run_demo


async def test_demo_network_starts_and_the_sample_case_reaches_b_and_c(tmp_path):
    """hub demo starts a hub and three inboxes; Kommun B and C find Kommun A's inquiry in their inboxes."""
    lines: list[str] = []
    people = await run_demo(tmp_path / "demo", check=True, report=lines.append)
    text = "\n".join(lines)
    assert "Kontroll: exempelärendet har nått Kommun B och Kommun C." in text
    assert text.count("/start?token=") == 3
    assert [p.municipality for p in people] == ["kommun-a", "kommun-b", "kommun-c"]
    assert (tmp_path / "demo" / "kommun-b" / "keys" / "identity.key").exists()

"""The README's main command: the demo network starts and its sample case arrives."""

from __future__ import annotations

from hub.demo import run_demo


async def test_demo_network_starts_and_the_sample_case_reaches_b_and_c(tmp_path):
    """hub demo starts a hub and three inboxes; Kommun B and C find Kommun A's inquiry in their inboxes."""
    lines: list[str] = []
    people = await run_demo(tmp_path / "demo", check=True, report=lines.append)
    text = "\n".join(lines)
    assert "Kontroll: exempelärendet har nått Kommun B och Kommun C." in text
    assert text.count("/start?token=") == 5  # three inboxes, two follow-ups
    assert [p.municipality for p in people] == ["kommun-a", "kommun-b", "kommun-c"]
    assert (tmp_path / "demo" / "kommun-b" / "keys" / "identity.key").exists()


async def test_the_demo_enrols_the_county_administrator_and_a_coordinator_too(tmp_path):
    """Every role can be tried: the county administrator (the network key) and a coordinator
    each get a follow-up link and the `hub uppfoljning` command to start their own."""
    lines: list[str] = []
    root = tmp_path / "demo"
    await run_demo(root, check=True, report=lines.append)
    text = "\n".join(lines)
    assert "Kontroll: länsstyrelsen och samordnaren är inloggade i uppföljningen." in text
    assert "Länsstyrelsen (administratör)" in text
    assert "Samordnare: Sara Samordnare" in text
    assert text.count("uppföljning (länken fungerar en gång): http://127.0.0.1:") == 2
    assert f"--keys {root / 'lansstyrelsen' / 'keys'} --admin" in text
    assert f"--keys {root / 'samordnare' / 'keys'}  (lösenfras" in text
    assert (root / "lansstyrelsen" / "keys" / "network.key").exists()
    assert (root / "samordnare" / "keys" / "identity.key").exists()
    assert (root / "samordnare" / "keys" / "network.pub").exists()

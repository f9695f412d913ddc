"""Moving an existing hub: `hub storage copy --to postgresql://…` copies a SQLite hub's rows,
blobs and audit chain into an empty PostgreSQL database and checks the copy; the hub then runs
on PostgreSQL with everything it had (issue 20)."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
import pytest

from hub.server.config import ServerConfig
from tests.hubnet import NETWORK, _serve, free_port, running_hub

BIG = 700_000  # over the inline limit and over one chunk: a file on SQLite, chunks on PostgreSQL


def hub(*args: str, data_dir, database: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HUB_DATA_DIR": str(data_dir)}
    env.pop("HUB_DATABASE", None)
    if database is not None:
        env["HUB_DATABASE"] = database
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def count(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
    assert row is not None
    return int(row[0])


async def _a_hub_with_history(tmp_path):
    """A SQLite hub that has been used: small and large envelopes, a receipt, a case."""
    sent: dict[str, bytes] = {}
    async with running_hub(tmp_path) as net:
        anna = await net.client("anna")
        for n, size in enumerate((10, BIG, 20, BIG * 2)):
            data = net.seal_to("anna", ["kommun-b"], {"n": n}, [("a.bin", bytes([n]) * size)])
            ack = await anna.upload(data, ["kommun-b"])
            sent[ack.message_id] = data
        await anna.create_case(bytes(range(16)))
    return net, sent


async def test_a_sqlite_hub_moves_to_postgresql_whole(tmp_path, pg_url):
    """Every row, blob and audit record is copied and checked; `hub audit verify` holds on the
    copy; a hub started on PostgreSQL lists and serves every envelope byte for byte, and goes
    on numbering where the SQLite hub stopped."""
    net, sent = await _a_hub_with_history(tmp_path)
    copied = hub("storage", "copy", "--to", pg_url, data_dir=net.data_dir)
    assert copied.returncode == 0, copied.stderr
    assert "Kopierat och kontrollerat" in copied.stdout
    assert count(pg_url, "envelope_blobs") == 2
    verified = hub("audit", "verify", data_dir=tmp_path / "unused", database=pg_url)
    assert verified.returncode == 0, verified.stderr
    assert "Granskningsloggen är hel" in verified.stdout

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = ServerConfig(
        data_dir=tmp_path / "pg-instance",
        port=port,
        public_url=url,
        database=pg_url,
        signin_attempts_per_minute=1000,
    )
    runner = await _serve(config, net.clock)
    try:
        from hub.client.api import HubClient  # noqa: PLC0415

        async with HubClient(url, NETWORK) as bertil:
            await bertil.sign_in(net.people["bertil"])
            listed = await bertil.envelopes()
            assert {e.message_id for e in listed} == set(sent)
            for message_id, data in sent.items():
                assert await bertil.download(bytes.fromhex(message_id)) == data
            seqs = sorted(e.seq for e in listed)
        async with HubClient(url, NETWORK) as anna:
            await anna.sign_in(net.people["anna"])
            data = net.seal_to("anna", ["kommun-b"], {"after": "the move"})
            ack = await anna.upload(data, ["kommun-b"])
            assert ack.seq == seqs[-1] + 1
    finally:
        await runner.cleanup()
    again = hub("audit", "verify", data_dir=tmp_path / "unused", database=pg_url)
    assert again.returncode == 0, again.stderr


async def test_a_copy_only_goes_into_an_empty_database_and_all_or_nothing(tmp_path, pg_url):
    """Into a database that holds a hub already: refused, nothing changed. From a damaged data
    folder (a blob file gone): refused, and the target stays empty."""
    net, _ = await _a_hub_with_history(tmp_path)
    blob_files = [p for p in (net.data_dir / "blobs").rglob("*") if p.is_file()]
    assert len(blob_files) == 2
    hidden = blob_files[0].with_name("gömd")
    blob_files[0].rename(hidden)
    broken = hub("storage", "copy", "--to", pg_url, data_dir=net.data_dir)
    assert broken.returncode != 0
    assert "saknas" in broken.stderr
    assert count(pg_url, "envelopes") == 0
    assert count(pg_url, "audit") == 0

    hidden.rename(blob_files[0])
    assert hub("storage", "copy", "--to", pg_url, data_dir=net.data_dir).returncode == 0
    audit = count(pg_url, "audit")
    twice = hub("storage", "copy", "--to", pg_url, data_dir=net.data_dir)
    assert twice.returncode != 0
    assert "inte tom" in twice.stderr
    assert count(pg_url, "audit") == audit


@pytest.mark.parametrize("to", ["sqlite:///x", "mysql://db/hub"])
def test_only_postgresql_is_a_destination(tmp_path, to):
    refused = hub("storage", "copy", "--to", to, data_dir=tmp_path)
    assert refused.returncode != 0
    assert "postgresql://" in refused.stderr

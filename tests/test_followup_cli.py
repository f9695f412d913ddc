"""`hub report` end to end (a real hub's storage, the command run as a process: the PDF and the
CSV files written, their text checked, the canary absent), and `hub uppfoljning`'s key errors."""

from __future__ import annotations

import asyncio
import csv
import io
import sys
import time

import pypdf
import pytest

from hub.cli import main
from hub.report.export import CSV_HEADER
from hub.report.suppression import SMALL
from tests.followupnet import follow_up_network
from tests.hubnet import NETWORK, running_hub
from tests.test_statistics_api import CANARY, YEAR, _three_cases


async def hub_command(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.fixture
async def hub_toml(tmp_path):
    async with running_hub(tmp_path) as net:
        await follow_up_network(net)
        await _three_cases(net)
        config = tmp_path / "hub.toml"
        config.write_text(f'[server]\ndata_dir = "{net.data_dir}"\n', encoding="utf-8")
        yield config


async def test_hub_report_writes_the_pdf_and_the_csv(hub_toml, tmp_path):
    pdf, table = tmp_path / "arsrapport.pdf", tmp_path / "tabeller.csv"
    started = time.monotonic()
    status, out, err = await hub_command(
        "report", "--config", str(hub_toml), "--network", NETWORK, "--year", str(YEAR),
        "--pdf", str(pdf), "--csv", str(table),
    )  # fmt: skip
    print(f"hub report, PDF and CSV: {time.monotonic() - started:.1f} s")
    assert status == 0, err
    assert f"Årsrapporten {YEAR} är skriven till {pdf}" in out
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert f"Årsrapport {YEAR}: Testnätverket" in text
    assert "Teckenförklaring" in text
    assert "Kommunerna: kvot, mottagna förfrågningar och svar i tid" in text
    assert SMALL in text
    assert reader.metadata is not None
    assert reader.metadata.title == f"Årsrapport {YEAR}: Testnätverket"
    rows = list(csv.reader(io.StringIO(table.read_text("utf-8-sig")), delimiter=";"))
    assert tuple(rows[0]) == CSV_HEADER
    assert {r[0] for r in rows[1:]} == {str(YEAR)}
    assert any(r[2] == "Kommun B" and r[4] == SMALL for r in rows)
    for body in (data, text.encode(), table.read_bytes()):
        assert CANARY.encode() not in body
    assert oct(pdf.stat().st_mode & 0o777) == "0o640"


async def test_hub_report_refuses_without_output_an_existing_file_or_an_unknown_network(
    hub_toml, tmp_path
):
    base = ("report", "--config", str(hub_toml), "--year", str(YEAR))
    status, _, err = await hub_command(*base, "--network", NETWORK)
    assert (status, err.strip()) == (1, "fel: ange --pdf FIL och/eller --csv FIL")
    there = tmp_path / "finns.csv"
    there.write_text("behåll mig", encoding="utf-8")
    status, _, err = await hub_command(*base, "--network", NETWORK, "--csv", str(there))
    assert status == 1
    assert "finns redan" in err
    assert there.read_text(encoding="utf-8") == "behåll mig"
    status, _, err = await hub_command(*base, "--network", "okant", "--csv", str(tmp_path / "x"))
    assert status == 1
    assert "nätverket okant finns inte" in err
    assert not (tmp_path / "x").exists()


def test_hub_uppfoljning_says_which_key_is_missing(tmp_path, capsys):
    passphrase = tmp_path / "lösen"
    passphrase.write_text("hemligt", encoding="utf-8")
    base = ["uppfoljning", "--hub", "http://127.0.0.1:1", "--network", NETWORK, "--no-browser"]
    keys = ["--keys", str(tmp_path), "--passphrase-file", str(passphrase)]
    assert main([*base, *keys, "--admin"]) == 1
    assert "nätverksnyckel behövs för --admin" in capsys.readouterr().err
    (tmp_path / "network.key").write_text("", encoding="utf-8")
    assert main([*base, *keys]) == 1
    assert "logga in med nätverksnyckeln med --admin" in capsys.readouterr().err

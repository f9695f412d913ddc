"""Names everywhere, and every date saying what it is, on the case page and in the PDF for the
case file: a moved case, with a real hub and real agents. The sender's PDF is titled by whom it
asked, each asked municipality by its signed name with the dates of its move; no municipality
id reaches a person."""

from __future__ import annotations

import io

import pypdf

from tests.inboxnet import page_text, running_agent
from tests.test_inbox_pdf import _download, _inquiry, _keep_first_page, _squash, _text, net

__all__ = ["net"]  # the fixture, shared with tests/test_inbox_pdf.py

MOVING_DATE = "2026-12-15"  # after the test network's clock (2026-11-18)


async def _moved_case(anna, bertil) -> bytes:
    case_id = await anna.core.send_inquiry(_inquiry(), [], ["kommun-b"])
    await bertil.core.sync()
    await bertil.core.answer(
        case_id, "accept", target="kommun-b", document={"managers_consented": "ja"}
    )
    await anna.core.sync()
    await anna.core.answer(case_id, "confirm", target="kommun-b", document=None)
    await anna.core.answer(
        case_id,
        "record_move",
        target="kommun-b",
        document=None,
        details={"moving_date": MOVING_DATE},
    )
    await anna.core.sync()
    await bertil.core.sync()
    return case_id


async def test_a_moved_case_names_its_municipalities_and_dates_on_the_page_and_in_the_pdf(
    net, tmp_path
):
    async with (
        running_agent(net, "anna", tmp_path) as anna,
        running_agent(net, "bertil", tmp_path) as bertil,
    ):
        await anna.login()
        await bertil.login()
        case_id = await _moved_case(anna, bertil)

        for agent in (anna, bertil):
            _, page = await agent.page(f"/arende/{case_id.hex()}")
            text = page_text(page)
            assert f"Flyttdatum: Flyttar {MOVING_DATE}" in text
            assert "Uppföljningsmöte: Ska hållas senast 2027-01-15" in text
            assert (
                "Ekonomiskt ansvar: Kommun A har det ekonomiska ansvaret till och med 2027-01-31"
                in text
            )
            assert "Att göra nu Håll uppföljningsmötet och registrera det" in text
            assert "Uppföljningsmötet ska hållas senast 2027-01-15" in text
            assert "Läge: Flytt registrerad, flyttar 2026-12-15" in text
            assert "Flyttat" not in text  # not before the day
            assert "kommun-b" not in text

        data, _ = await _download(anna, case_id.hex())
        _keep_first_page(data, "case-moved-sender")
        text = _squash(_text(pypdf.PdfReader(io.BytesIO(data))))
        assert _squash("Förfrågan till Kommun B") in text
        assert _squash("Förfrågan från Kommun A") not in text
        assert _squash("Tillfrågade kommuner") in text
        assert _squash("Flyttdatum") in text  # a label column and a value column
        assert _squash(f"Flyttar {MOVING_DATE}") in text
        assert _squash("Kommun A har det ekonomiska ansvaret till och med 2027-01-31") in text
        assert "kommun-b" not in text
        assert "kommun-a" not in text

        # The follow-up meeting, recorded with its date, says when it was held.
        net.clock.now += 60 * 86_400  # 2027-01-17
        await bertil.core.answer(
            case_id,
            "record_follow_up",
            target="kommun-b",
            document=None,
            details={"follow_up_date": "2027-01-12"},
        )
        await anna.core.sync()
        _, page = await anna.page(f"/arende/{case_id.hex()}")
        text = page_text(page)
        assert f"Flyttdatum: Flyttade {MOVING_DATE}" in text
        assert "Uppföljningsmöte: Mötet hölls 2027-01-12" in text
        assert "Att göra nu Avsluta ärendet och rapportera utfallet" in text

"""Check before sending (hub.inbox.screening): what the review step flags in an inquiry's text
and its attachments' file names, and what it leaves alone."""

from __future__ import annotations

import pytest

from hub.inbox.screening import luhn_ok, screen_inquiry, screen_text


def _kinds(text: str) -> list[tuple[str, str]]:
    return [(f.kind, f.text) for f in screen_text("f", "Fält", text)]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        # personnummer: 12 and 10 digits, with '-', '+' (100 years or older) or nothing
        ("född 19811218-9876 i", [("personnummer", "19811218-9876")]),
        ("född 198112189876 i", [("personnummer", "198112189876")]),
        ("född 811218-9876 i", [("personnummer", "811218-9876")]),
        ("född 811218+9876 i", [("personnummer", "811218+9876")]),
        ("född 8112189876 i", [("personnummer", "8112189876")]),
        ("pnr 19811218+9876", [("personnummer", "19811218+9876")]),
        ("barnet 20120230-1006", []),  # 30 February does not exist
        ("skottdag 480229-1007.", [("personnummer", "480229-1007")]),
        ("ingen skottdag 450229-1000", []),
        # samordningsnummer: the day + 60
        ("samordningsnr 900161-1004", [("samordningsnummer", "900161-1004")]),
        ("samordningsnr 19900161-1004", [("samordningsnummer", "19900161-1004")]),
        ("samordningsnr 8507691007", [("samordningsnummer", "8507691007")]),
        # the check digit fails: a date and a number that only look like one
        ("född 19811218-9875 i", []),
        ("född 811218-9877 i", []),
        ("dnr 202611240001", []),
        ("datum 2026-11-24 och 20261124", []),
        ("beslut 20261124-1234", []),
        ("inget nr 12345678901234 här", []),
        # phone numbers
        ("ring 070-123 45 67", [("telefon", "070-123 45 67")]),
        ("ring 0701234567 i dag", [("telefon", "0701234567")]),
        ("växel 08-123 456 78.", [("telefon", "08-123 456 78")]),
        ("ring +46 70 123 45 67", [("telefon", "+46 70 123 45 67")]),
        ("samtal_070-1234567.pdf", [("telefon", "070-1234567")]),
        ("ärende A0701234567", []),
        ("summa 25 000 kr, 3 barn", []),
        # e-mail addresses
        ("skriv till anna.a@example.se nu", [("epost", "anna.a@example.se")]),
        # street addresses
        ("bor på Storgatan 12 i", [("adress", "Storgatan 12")]),
        ("bor på Kungsvägen 3B nu", [("adress", "Kungsvägen 3B")]),
        ("Lilla gränd: Hammargränd 4 A", [("adress", "Hammargränd 4 A")]),
        ("vid Stortorget 1", [("adress", "Stortorget 1")]),
        (
            "Ekstigen 9, Björkbacken 2 och Lindallén 7",
            [("adress", "Ekstigen 9"), ("adress", "Björkbacken 2"), ("adress", "Lindallén 7")],
        ),
        ("Gustav Adolfsplan 5", [("adress", "Adolfsplan 5")]),
        ("bor på våningsplan 3 med hiss", []),
        ("tog vägen 2 gånger", []),
    ],
)
def test_what_is_flagged(text: str, found: list[tuple[str, str]]) -> None:
    assert _kinds(text) == found


def test_luhn() -> None:
    assert luhn_ok("8112189876")
    assert not luhn_ok("8112189875")


def test_findings_in_context_and_file_names() -> None:
    """Each finding carries its field's label and text either side; file names are screened
    under their own label; the keys differ between findings and stay the same between runs."""
    document = {"boende": "Hon bor på Storgatan 12 i Kommun A.", "barn": "Inget."}
    labels = {"boende": "Boende", "barn": "Barn"}
    findings = screen_inquiry(document, labels, ["utredning_811218-9876.pdf", "ok.pdf"])
    assert [(f.where, f.kind) for f in findings] == [
        ("boende", "adress"),
        ("bilaga-1", "personnummer"),
    ]
    first, second = findings
    assert (first.where_label, first.before, first.after) == (
        "Boende",
        "Hon bor på ",
        " i Kommun A.",
    )
    assert second.where_label == "Bilagans filnamn: utredning_811218-9876.pdf"
    assert first.key != second.key
    assert [f.key for f in screen_inquiry(document, labels, ["utredning_811218-9876.pdf"])] == [
        first.key,
        second.key,
    ]

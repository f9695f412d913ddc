"""Check before sending: what should not be in an anonymised inquiry, found in its text and in
its attachments' file names (their contents are not read). Pure: text in, findings out.

A finding is a hint for the person, never a block on its own: they remove it or confirm that it
is needed. Personnummer and samordningsnummer are recognised by their check digit (Luhn), so a
date or a case number that merely looks like one is not flagged."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

Kind = Literal["personnummer", "samordningsnummer", "telefon", "epost", "adress"]

KIND_LABELS: Final[dict[Kind, str]] = {
    "personnummer": "Personnummer",
    "samordningsnummer": "Samordningsnummer",
    "telefon": "Telefonnummer",
    "epost": "E-postadress",
    "adress": "Gatuadress",
}
CONTEXT: Final = 40  # characters shown either side of a finding

# 12 digits (century, ÅÅMMDD, serial and check digit) or 10, with '-', '+' or nothing
# between date and serial; never part of a longer run of digits.
_ID_NUMBER = re.compile(r"(?<!\d)(\d{2})?(\d{6})([-+]?)(\d{4})(?!\d)")
# Swedish numbers: +46/0046 or a leading 0, then 7-9 digits, spaces or dashes between. An
# underscore may come before (file names: "samtal_070-1234567.pdf").
_PHONE = re.compile(
    r"(?<![\dA-Za-zåäöÅÄÖ+])(?:(?:\+46|0046)[\s-]?(?:\(0\)\s?)?|0)[1-9](?:[\s-]?\d){6,8}(?!\d)"
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_STREET_ENDINGS = (
    "gatan|gata|vägen|väg|gränd|gränden|torget|torg|stigen|stig|backen|backe|allén|allé"
    "|leden|platsen|plan|kajen"
)
# A word ending like a street, then a house number, with a letter: "12B", "12b" or "4 A" (a
# lower-case letter after a space is more often a word: "Storgatan 12 i Kommun A").
_STREET = re.compile(
    rf"(?<![A-Za-z0-9åäöéÅÄÖÉ])([A-Za-zåäöéÅÄÖÉ][A-Za-zåäöéÅÄÖÉ-]*?(?:{_STREET_ENDINGS}))"
    r"\s+(\d{1,4}(?:[A-Za-z]|\s(?-i:[A-Z]))?)(?![\wåäöÅÄÖ])",
    re.IGNORECASE,
)
# Words ending in "-plan" that name no place ("våningsplan 3" is a floor).
_NOT_STREETS: Final = frozenset(
    {"våningsplan", "handlingsplan", "vårdplan", "genomförandeplan", "säkerhetsplan", "plan"}
)


@dataclass(frozen=True)
class Finding:
    kind: Kind
    where: str  # a field id, or "bilaga-N" (N from 1) for an attachment's file name
    where_label: str  # Swedish: the field's label, or "Bilagans filnamn: x.pdf"
    text: str  # what was found, as written
    before: str  # up to CONTEXT characters before it ("…" first when there is more)
    after: str  # up to CONTEXT characters after it ("…" last when there is more)
    key: str  # stable across requests: what a "Uppgiften behövs" checkbox confirms

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]


def luhn_ok(digits: str) -> bool:
    """The Luhn check over a 10-digit ÅÅMMDDNNNK."""
    total = 0
    for i, ch in enumerate(digits):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n  # a doubled digit's digit sum
    return total % 10 == 0


def id_number_kind(century: str | None, yymmdd: str, serial: str) -> Kind | None:
    """ "personnummer" or "samordningsnummer" when the date exists (a samordningsnummer's day
    is the day + 60) and the check digit holds; None otherwise."""
    if not luhn_ok(yymmdd + serial):
        return None
    yy, mm, dd = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    if century and century not in {"18", "19", "20"}:
        return None
    kind: Kind = "personnummer"
    if dd > 60:  # the samordningsnummer's offset
        kind, dd = "samordningsnummer", dd - 60
    # Without a century, a century in which yy's leap years are leap years (29 Feb is real).
    year = int(century) * 100 + yy if century else 2000 + yy
    try:
        date(year, mm, dd)
    except ValueError:
        return None
    return kind


def _spans(text: str) -> list[tuple[int, int, Kind]]:
    found: list[tuple[int, int, Kind]] = []
    for m in _ID_NUMBER.finditer(text):
        kind = id_number_kind(m.group(1), m.group(2), m.group(4))
        if kind:
            found.append((m.start(), m.end(), kind))
    found += [(m.start(), m.end(), "epost") for m in _EMAIL.finditer(text)]
    found += [(m.start(), m.end(), "telefon") for m in _PHONE.finditer(text)]
    found += [
        (m.start(), m.end(), "adress")
        for m in _STREET.finditer(text)
        if m.group(1).lower() not in _NOT_STREETS
    ]
    # The first kind listed wins where two overlap: a Luhn-valid number that is also a
    # phone number's shape is reported once, as the identity number.
    kept: list[tuple[int, int, Kind]] = []
    for span in found:
        if all(span[1] <= k[0] or span[0] >= k[1] for k in kept):
            kept.append(span)
    return sorted(kept)


def screen_text(where: str, where_label: str, text: str) -> list[Finding]:
    findings = []
    for n, (start, end, kind) in enumerate(_spans(text)):
        found = text[start:end]
        digest = hashlib.sha256(f"{where}\0{n}\0{kind}\0{found}".encode()).hexdigest()[:16]
        findings.append(
            Finding(
                kind=kind,
                where=where,
                where_label=where_label,
                text=found,
                before=("…" if start > CONTEXT else "") + text[max(0, start - CONTEXT) : start],
                after=text[end : end + CONTEXT] + ("…" if len(text) > end + CONTEXT else ""),
                key=digest,
            )
        )
    return findings


def screen_inquiry(
    document: dict[str, str], labels: dict[str, str], file_names: list[str]
) -> list[Finding]:
    """Every finding in the inquiry's fields (in the order of labels, which names the fields
    to read) and in its attachments' file names."""
    findings = []
    for field_id, label in labels.items():
        findings += screen_text(field_id, label, document.get(field_id, ""))
    for i, name in enumerate(file_names, start=1):
        findings += screen_text(f"bilaga-{i}", f"Bilagans filnamn: {name}", name)
    return findings

"""Received documents read into typed models before any page or PDF sees them. Pure.

An envelope proves who sent a document, not that its sender's agent is honest or current:
another municipality's agent may send a list where text is expected, a number, a field this
version does not know, or a megabyte of nesting. Each reader takes the decrypted JSON value and
returns either the model a page renders or `Unreadable`, whose sentence names the problem in
Swedish. Nothing here raises on hostile input, so no received document can break a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from hub.inbox.forms import DECLINE_REASONS, INQUIRY_SECTIONS

# The keys of a thread document (an answer, a message, a withdrawal), as hub.inbox.forms
# writes them; "managers_consented" is "ja" when every manager concerned said yes.
_THREAD_TEXTS: Final = ("motivation", "message")
_THREAD_KEYS: Final = frozenset({"reason", "managers_consented", *_THREAD_TEXTS, "moving_date"})
_TYPE_NAMES: Final = {
    list: "en lista",
    dict: "ett objekt",
    int: "ett tal",
    float: "ett tal",
    bool: "ett sanningsvärde",
    type(None): "ingenting (null)",
}


@dataclass(frozen=True)
class Unreadable:
    """A document that does not fit what its kind must hold: never shown, only this sentence."""

    problem: str


@dataclass(frozen=True)
class InquirySection:
    title: str
    fields: tuple[tuple[str, str], ...]  # (label, text), only the fields filled in


@dataclass(frozen=True)
class Inquiry:
    sections: tuple[InquirySection, ...]
    unknown_fields: int  # keys this version does not know: not shown, but counted on the page


@dataclass(frozen=True)
class ThreadDocument:
    """An answer, a message or a withdrawal, as the thread shows it."""

    reason: str | None  # a decline's reason, by its Swedish label
    managers_consented: bool
    texts: tuple[str, ...]  # the motivation and the message, in that order, non-empty ones
    unknown_fields: int

    def lines(self) -> list[str]:
        said = []
        if self.reason is not None:
            said.append(f"Nej. Skäl: {self.reason}.")
        if self.managers_consented:
            said.append("Ja. Alla berörda chefer har samtyckt.")
        return said + list(self.texts)


def _kind_of(value: object) -> str:
    return _TYPE_NAMES.get(type(value), "något annat än text")


def _object(value: object) -> dict[str, object] | Unreadable:
    if not isinstance(value, dict):
        return Unreadable(
            f"Dokumentet är {_kind_of(value)}, inte ett formulär. Det visas inte; be avsändaren "
            "skicka det igen."
        )
    return value


def read_inquiry(value: object) -> Inquiry | Unreadable:
    """The inquiry form (hub.inbox.forms.INQUIRY_SECTIONS): every known field text or absent."""
    document = _object(value)
    if isinstance(document, Unreadable):
        return document
    sections = []
    known = set()
    for section in INQUIRY_SECTIONS:
        fields = []
        for field in section.fields:
            known.add(field.id)
            text = document.get(field.id, "")
            if not isinstance(text, str):
                return Unreadable(
                    f"Fältet ”{field.label_sv}” innehåller {_kind_of(text)} i stället för text. "
                    "Förfrågan visas inte; be avsändaren skicka den igen."
                )
            if text:
                fields.append((field.label_sv, text))
        if fields:
            sections.append(InquirySection(section.title_sv, tuple(fields)))
    return Inquiry(tuple(sections), sum(1 for key in document if key not in known))


def read_thread(value: object) -> ThreadDocument | Unreadable:
    """An answer, a message or a withdrawal: the reason a known code, the texts text."""
    document = _object(value)
    if isinstance(document, Unreadable):
        return document
    for key in ("reason", "managers_consented", *_THREAD_TEXTS):
        if key in document and not isinstance(document[key], str):
            return Unreadable(
                f"Meddelandet har {_kind_of(document[key])} där det ska stå text ({key}). "
                "Det visas inte; be avsändaren skicka det igen."
            )
    reasons = dict(DECLINE_REASONS)
    code = document.get("reason")
    if code and code not in reasons:
        return Unreadable("Svaret anger ett skäl som inte finns i nätverkets överenskommelse.")
    texts = tuple(t for key in _THREAD_TEXTS if isinstance(t := document.get(key), str) and t)
    return ThreadDocument(
        reason=reasons[code] if isinstance(code, str) and code else None,
        managers_consented=document.get("managers_consented") == "ja",
        texts=texts,
        unknown_fields=sum(1 for key in document if key not in _THREAD_KEYS),
    )


def read_outcome_note(value: object) -> str | Unreadable:
    """An outcome note's text ({"outcome_note": {"v": 1, "text": ...}})."""
    document = _object(value)
    if isinstance(document, Unreadable):
        return document
    note = document.get("outcome_note")
    text = note.get("text") if isinstance(note, dict) else None
    if not isinstance(text, str):
        return Unreadable("Utfallsbeskrivningen innehåller ingen text.")
    return text

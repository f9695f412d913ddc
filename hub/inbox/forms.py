"""The inbox's forms: what a contact person fills in, and the rules a filled form must meet.

Pure: no I/O, no clock, no aiohttp. The views pass the posted fields in (a mapping of strings;
anything that is not a string, such as an uploaded file, counts as missing) and get back
`(document, errors)`:

- `document` holds only the form's own fields, trimmed, with line breaks as "\\n". For the
  inquiry it is the JSON object that is encrypted; its keys are the field ids below, which are
  stable because other municipalities' inboxes read them. It is returned even when there are
  errors, so the page can show what was typed.
- `errors` maps a field id to one Swedish sentence for the person; empty means valid.

The inquiry form is Västmanland's förfrågningsunderlag (shared seed 003, "Förfrågningsunderlag
för kommuner i nätverket Länskompotten Västmanland"): its twelve headings in order, each heading's
questions verbatim as help text. The seed's form has one free box per heading, so each section
here has one field; the questions guide the writing rather than split it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Final, Literal

from hub.report.outcome import (
    NOT_MOVED_REASON_LABELS,
    TARGET_GROUP_LABELS,
    NotMovedReason,
    OutcomeReport,
    TargetGroup,
)

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence

FieldKind = Literal["text", "textarea", "date"]

MAX_TEXT: Final = 200  # one line: a municipality's name, a case officer's title
MAX_TEXTAREA: Final = 20_000  # about eight pages of text per section
MIN_MOTIVATION: Final = 20  # a decline's motivation must say something, not just "nej"
MAX_RECIPIENTS: Final = 3  # the sources speak of one to three municipalities at a time


@dataclass(frozen=True)
class Field:
    id: str  # ASCII snake_case: the key in the encrypted document and the form field's name
    label_sv: str
    kind: FieldKind
    required: bool
    help_sv: str = ""

    @property
    def max_length(self) -> int:
        return {"text": MAX_TEXT, "textarea": MAX_TEXTAREA, "date": 10}[self.kind]


@dataclass(frozen=True)
class Section:
    id: str
    title_sv: str
    fields: tuple[Field, ...]


def _one(
    id_: str, title: str, kind: FieldKind, help_sv: str = "", *, required: bool = True
) -> Section:
    """A section of the seed's form: one heading, one box under it."""
    return Section(id_, title, (Field(id_, title, kind, required, help_sv),))


# The ids match the demo's sample inquiry (hub/cli/demo_command.py). Required: everything a
# receiving municipality cannot judge a case without. Optional: "Barn" (not every case has
# children) and "Annan viktig information". A section with nothing to report can say so ("Ingen
# polisanmälan"), which is itself information the receiver needs. The seed's en dashes are
# written \N{EN DASH}: the wording stays exact with no look-alike character in the source.
INQUIRY_SECTIONS: Final[tuple[Section, ...]] = (
    _one("datum", "Datum", "date"),
    _one("ansvarig_kommun", "Ansvarig kommun", "text"),
    _one("handlaggare", "Handläggare", "text"),
    _one(
        "sokandes_bakgrund",
        "Bakgrundsinformation om sökande",
        "textarea",
        "Var befinner sig personen i dagsläget? Beskriv kortfattat den sökande eller om de är "
        "flera sökande, ålder, kön, etnisk bakgrund, funktionsvariationer, fysisk och psykisk "
        "ohälsa, hbtq, missbruk, klan etc. Behov av tolk, vilket språk? Information om "
        "uppehållstillstånd? Inställning till flytt?",
    ),
    _one(
        "bakgrund_till_placering",
        "Bakgrund till placering",
        "textarea",
        "Vad har hänt? Riskbedömning samt metod? Hur ser hotbilden ut? Tidigare kännedom? "
        "Tidigare placeringar eller andra insatser?",
    ),
    _one(
        "kontakter_med_polis",
        "Kontakter med rättsväsendet eller andra myndigheter",
        "textarea",
        "Angående förövaren/förövare, finns det en polisanmälan? Finns det en dom eller "
        "tidigare domar? Polisens riskbedömning? Kriminalvårdens bedömning? Kontakt med "
        "personsäkerhetsgruppen? Kontaktförbud? Skyddade personuppgifter? Namnbyte?",
    ),
    _one(
        "nuvarande_och_behov_av_stod",
        "Insatser",
        "textarea",
        "Vilka insatser finns idag och bedöms finnas behov av? Särskilda behov? Behov av eller "
        "pågående insatser av hälso- och sjukvården? Andra viktiga stödinsatser/kontakter?",
    ),
    _one(
        "boende",
        "Boende",
        "textarea",
        "Vilka åtgärder har tagits för att på egen hand lösa boendet? Finns det något som är "
        "viktigt att tänka på kring bostaden? Särskilda behov/önskemål om bostaden, till exempel "
        "tillgänglighet, våningsplan? Husdjur? Betalningsanmärkningar?",
    ),
    _one(
        "ekonomi_och_sysselsattning",
        "Ekonomi och sysselsättning",
        "textarea",
        "Ekonomi \N{EN DASH} egen försörjning eller behov av försörjningsstöd? Sysselsättning? "
        "Skulder och anmärkningar? Behov av skuld- och budgetrådgivning?",
    ),
    _one(
        "barn",
        "Barn",
        "textarea",
        "Vårdnaden? Finns det en dom på umgänge eller en pågående tvist? Hur ser ev. umgänge ut "
        "idag och hur planeras umgänget att fungera framöver? Barnens inställning till en flytt? "
        "Vad behövs i övrigt för barnen, skola/förskola? Behov av eller pågående insatser av "
        "hälso- och sjukvården? Andra viktiga stödinsatser/kontakter?",
        required=False,
    ),
    _one(
        "lamplig_kommun",
        "Lämplig kommun",
        "textarea",
        "Finns det särskilda skäl för val av kommun? Nätverket \N{EN DASH} risker och behov? "
        "Individens önskemål/behov?",
    ),
    _one("ovrigt", "Annan viktig information", "textarea", required=False),
)
INQUIRY_FIELDS: Final[tuple[Field, ...]] = tuple(f for s in INQUIRY_SECTIONS for f in s.fields)

# What a case page may offer, in the order the page shows them. Each posts to
# /arende/{case_id}/{action}; "export_pdf" is a link (GET /arende/{case_id}/pdf).
CASE_ACTIONS: Final = (
    "accept",
    "decline",
    "withdraw",
    "confirm",
    "decline_offer",
    "cancel",
    "record_move",
    "record_follow_up",
    "close",
    "close_not_moved",
    "message",
    "export_pdf",
)

# Västmanland's agreement allows exactly these two grounds for saying no (seed 003, "Förfrågan och
# beslut"; the ids are hub.protocol.lifecycle.DeclineReason's values). Housing shortage is
# deliberately not offered: the agreement says a shortage of housing is not a ground to decline,
# so the form must not make it look like one. validate_decline refuses it by name as well.
DECLINE_REASONS: Final[tuple[tuple[str, str], ...]] = (
    ("quota_reached", "Det överenskomna antalet ärenden har redan tagits emot"),
    ("insufficient_resources", "Kommunens interna resurser räcker inte för behovet"),
)
_HOUSING_SHORTAGE: Final = frozenset({"housing_shortage", "bostadsbrist", "no_housing"})

# The outcome report's categories (docs/statistics.md, "The outcome report"), with the labels
# the coordinator's tables use: hub.report.outcome is the one list.
TARGET_GROUPS: Final[tuple[tuple[str, str], ...]] = tuple(
    (group.value, TARGET_GROUP_LABELS[group]) for group in TargetGroup
)
NOT_MOVED_REASONS: Final[tuple[tuple[str, str], ...]] = tuple(
    (reason.value, NOT_MOVED_REASON_LABELS[reason]) for reason in NotMovedReason
)

# A checkbox posts its value only when ticked; ours post "ja", and "on" is a browser's default.
_TICKED: Final = frozenset({"ja", "on"})
_ISO_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
# C0 control characters other than tab and line feed: invisible, and never meant in a form.
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _text(form: Mapping[str, object], key: str, *, multiline: bool) -> str:
    """The field's text, trimmed, with "\\n" line breaks (one line for single-line fields)."""
    value = form.get(key)
    if not isinstance(value, str):
        return ""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if not multiline:
        value = " ".join(value.split("\n"))
    return _CONTROL.sub("", value).strip()


def _number(n: int) -> str:
    """20000 -> "20 000", as Swedish writes it (a no-break space between the groups)."""
    return f"{n:,}".replace(",", "\N{NO-BREAK SPACE}")


def _too_long(label: str, value: str, limit: int) -> str | None:
    if len(value) <= limit:
        return None
    return f"{label} får vara högst {_number(limit)} tecken (nu {_number(len(value))})."


def _iso_date(value: str) -> date | None:
    # fromisoformat alone also takes "20261124"; the form asks for exactly ÅÅÅÅ-MM-DD.
    if not _ISO_DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _date_error(label: str) -> str:
    return f"{label} ska vara ett datum som ÅÅÅÅ-MM-DD, till exempel 2026-11-24."


def validate_inquiry(form: Mapping[str, object]) -> tuple[dict[str, str], dict[str, str]]:
    """The inquiry document (every field of INQUIRY_SECTIONS, "" when left empty) and errors."""
    document: dict[str, str] = {}
    errors: dict[str, str] = {}
    for field in INQUIRY_FIELDS:
        value = _text(form, field.id, multiline=field.kind == "textarea")
        document[field.id] = value
        if not value:
            if field.required:
                errors[field.id] = f"{field.label_sv} måste fyllas i."
            continue
        if field.kind == "date" and _iso_date(value) is None:
            errors[field.id] = _date_error(field.label_sv)
            continue
        if (too_long := _too_long(field.label_sv, value, field.max_length)) is not None:
            errors[field.id] = too_long
    return document, errors


def validate_recipients(
    selected: Sequence[str], allowed: Collection[str], max_count: int = MAX_RECIPIENTS
) -> tuple[list[str], dict[str, str]]:
    """The chosen municipalities (deduplicated, in order) and an error under "municipalities"."""
    chosen = list(dict.fromkeys(s for s in selected if s))
    if any(s not in allowed for s in chosen):
        return chosen, {"municipalities": "Välj bland kommunerna i listan."}
    if not 1 <= len(chosen) <= max_count:
        return chosen, {"municipalities": f"Välj 1\N{EN DASH}{max_count} mottagande kommuner."}
    return chosen, {}


def validate_decline(form: Mapping[str, object]) -> tuple[dict[str, str], dict[str, str]]:
    """A decline: one of DECLINE_REASONS ("reason") and a written motivation ("motivation")."""
    reason = _text(form, "reason", multiline=False)
    motivation = _text(form, "motivation", multiline=True)
    errors: dict[str, str] = {}
    if not reason:
        errors["reason"] = "Välj skälet till att förfrågan nekas."
    elif reason.casefold() in _HOUSING_SHORTAGE:
        errors["reason"] = (
            "Bostadsbrist är inte ett godtagbart skäl att neka enligt överenskommelsen. "
            "Välj ett av de angivna skälen."
        )
    elif reason not in dict(DECLINE_REASONS):
        errors["reason"] = "Välj ett av de angivna skälen."
    if not motivation:
        errors["motivation"] = "Skriv en motivering till beslutet."
    elif len(motivation) < MIN_MOTIVATION:
        errors["motivation"] = f"Motiveringen behöver vara minst {MIN_MOTIVATION} tecken."
    elif (too_long := _too_long("Motiveringen", motivation, MAX_TEXTAREA)) is not None:
        errors["motivation"] = too_long
    return {"reason": reason, "motivation": motivation}, errors


def validate_accept(form: Mapping[str, object]) -> tuple[dict[str, str], dict[str, str]]:
    """An acceptance: the managers' consent ticked ("managers_consented") and a "message"."""
    consented = _text(form, "managers_consented", multiline=False).casefold() in _TICKED
    message = _text(form, "message", multiline=True)
    errors: dict[str, str] = {}
    if not consented:
        errors["managers_consented"] = (
            "Bekräfta att alla beslutsfattande arbetsledare vars enheter berörs har samtyckt "
            "till att ta emot ärendet."
        )
    if (too_long := _too_long("Meddelandet", message, MAX_TEXTAREA)) is not None:
        errors["message"] = too_long
    document = {"managers_consented": "ja" if consented else "", "message": message}
    return document, errors


def validate_message(form: Mapping[str, object]) -> tuple[dict[str, str], dict[str, str]]:
    """A message in the case's thread: free text under "message", required."""
    message = _text(form, "message", multiline=True)
    errors: dict[str, str] = {}
    if not message:
        errors["message"] = "Skriv ett meddelande."
    elif (too_long := _too_long("Meddelandet", message, MAX_TEXTAREA)) is not None:
        errors["message"] = too_long
    return {"message": message}, errors


def validate_move(form: Mapping[str, object]) -> tuple[dict[str, str], dict[str, str]]:
    """The moving date ("moving_date", ÅÅÅÅ-MM-DD): the lifecycle's record_move detail."""
    moving_date = _text(form, "moving_date", multiline=False)
    errors: dict[str, str] = {}
    if not moving_date:
        errors["moving_date"] = "Ange flyttdatum."
    elif _iso_date(moving_date) is None:
        errors["moving_date"] = _date_error("Flyttdatum")
    return {"moving_date": moving_date}, errors


def validate_follow_up(form: Mapping[str, object]) -> tuple[dict[str, str], dict[str, str]]:
    """The day of the follow-up meeting ("follow_up_date", ÅÅÅÅ-MM-DD): the signed
    record_follow_up step carries it."""
    follow_up_date = _text(form, "follow_up_date", multiline=False)
    errors: dict[str, str] = {}
    if not follow_up_date:
        errors["follow_up_date"] = "Ange datum för uppföljningsmötet."
    elif _iso_date(follow_up_date) is None:
        errors["follow_up_date"] = _date_error("Datum för uppföljningsmötet")
    return {"follow_up_date": follow_up_date}, errors


def validate_outcome(
    form: Mapping[str, object], *, moved: bool, receiving_municipality: str | None
) -> tuple[OutcomeReport | None, dict[str, str], dict[str, str]]:
    """The outcome report of a closed case: the person chooses "target_group" and, when the
    person did not move, "not_moved_reason"; whether the move happened and where to are the
    case's own (`moved`, `receiving_municipality`), never taken from the form.

    Returns (the report or None, the chosen values, errors). Categories only: the report goes
    to the hub in clear, so nothing typed is read from the form.
    """
    target_group = _text(form, "target_group", multiline=False)
    reason = _text(form, "not_moved_reason", multiline=False) if not moved else ""
    values = {"target_group": target_group, "not_moved_reason": reason}
    errors: dict[str, str] = {}
    if target_group not in dict(TARGET_GROUPS):
        errors["target_group"] = "Välj målgrupp."
    if not moved and reason not in dict(NOT_MOVED_REASONS):
        errors["not_moved_reason"] = "Välj varför flytten inte blev av."
    if moved and not receiving_municipality:
        errors["receiving_municipality"] = (
            "Ärendet visar ingen mottagande kommun. Hämta ärendet på nytt och försök igen."
        )
    if errors:
        return None, values, errors
    report = OutcomeReport(
        target_group=TargetGroup(target_group),
        moved=moved,
        receiving_municipality=receiving_municipality if moved else None,
        not_moved_reason=None if moved else NotMovedReason(reason),
    )
    return report, values, {}

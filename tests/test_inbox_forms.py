"""The inbox's forms (hub/inbox/forms.py): the inquiry form's sections and the rules a filled
inquiry, an answer, a message and an outcome report must meet."""

# ruff: noqa: RUF001 - Swedish text uses the en dash, as the pages and the seed do

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hub.inbox import forms
from hub.protocol.lifecycle import DeclineReason
from hub.report.outcome import NotMovedReason

# The headings of "Förfrågningsunderlag för kommuner i nätverket Länskompotten Västmanland",
# in the order the form lists them (the Västmanland collaboration plan, shared seed 003).
SEED_HEADINGS = [
    "Datum",
    "Ansvarig kommun",
    "Handläggare",
    "Bakgrundsinformation om sökande",
    "Bakgrund till placering",
    "Kontakter med rättsväsendet eller andra myndigheter",
    "Insatser",
    "Boende",
    "Ekonomi och sysselsättning",
    "Barn",
    "Lämplig kommun",
    "Annan viktig information",
]
SEED = Path("/work/shared/seeds/003_12d3f40f480027cc.txt")


def filled(**changes: str) -> dict[str, str]:
    """A complete, valid inquiry form as a browser posts it, with `changes` applied."""
    form = {f.id: "Uppgift." for f in forms.INQUIRY_FIELDS}
    form["datum"] = "2026-11-24"
    form.update(changes)
    return form


def test_sections_follow_the_seed_form_in_order() -> None:
    """The inquiry form shows the Västmanland form's twelve headings in the form's own order."""
    assert [s.title_sv for s in forms.INQUIRY_SECTIONS] == SEED_HEADINGS


@pytest.mark.skipif(not SEED.exists(), reason="the shared seed documents are not on this machine")
def test_sections_and_help_texts_are_the_seeds_own_words() -> None:
    """Every heading and every guiding question is worded exactly as in the seed's form."""
    text = SEED.read_text(encoding="utf-8")
    form_part = text[text.index("Förfrågningsunderlag för kommuner i nätverket") :]
    lines = [" ".join(line.split()) for line in form_part.splitlines()]
    positions = [lines.index(s.title_sv) for s in forms.INQUIRY_SECTIONS]
    assert positions == sorted(positions)
    flat = " ".join(" ".join(form_part.split()).split())
    for field in forms.INQUIRY_FIELDS:
        assert field.help_sv in flat


def test_field_ids_are_stable_ascii_keys() -> None:
    """Every field has a unique ASCII snake_case id, usable as a key in the encrypted document."""
    ids = [f.id for f in forms.INQUIRY_FIELDS]
    assert len(ids) == len(set(ids))
    for field_id in ids + [s.id for s in forms.INQUIRY_SECTIONS]:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", field_id), field_id
    assert {f.kind for f in forms.INQUIRY_FIELDS} <= {"text", "textarea", "date"}


def test_complete_inquiry_is_accepted_and_keeps_only_the_forms_fields() -> None:
    """A complete inquiry passes, and anything else the browser posted is left out."""
    document, errors = forms.validate_inquiry(
        filled(csrf="token", municipalities="kommun-b", extra="<script>")
    )
    assert errors == {}
    assert list(document) == [f.id for f in forms.INQUIRY_FIELDS]


def test_empty_inquiry_names_every_required_field() -> None:
    """An empty form gets one Swedish message per required field and none for optional ones."""
    document, errors = forms.validate_inquiry({})
    required = {f.id for f in forms.INQUIRY_FIELDS if f.required}
    assert set(errors) == required
    assert "barn" not in errors
    assert "ovrigt" not in errors
    assert errors["handlaggare"] == "Handläggare måste fyllas i."
    assert all(value == "" for value in document.values())


def test_whitespace_only_counts_as_empty_and_text_is_trimmed() -> None:
    """Spaces alone do not fill a required field, and text loses surrounding spaces."""
    document, errors = forms.validate_inquiry(filled(boende="   \n  ", barn="  Två barn.  "))
    assert "boende" in errors
    assert document["barn"] == "Två barn."


def test_line_breaks_are_normalised_and_one_line_fields_stay_one_line() -> None:
    """Text keeps its paragraphs as plain line breaks; a name field cannot hold several lines."""
    document, errors = forms.validate_inquiry(
        filled(boende="Rad ett\r\nRad två\rRad tre", handlaggare="Anna\r\nSocialsekreterare")
    )
    assert errors == {}
    assert document["boende"] == "Rad ett\nRad två\nRad tre"
    assert document["handlaggare"] == "Anna Socialsekreterare"


def test_invisible_control_characters_are_removed() -> None:
    """Control characters pasted from another program do not end up in the inquiry."""
    document, _ = forms.validate_inquiry(filled(boende="Tre\x00 rum\x0b\tnära\x7f skola"))
    assert document["boende"] == "Tre rum\tnära skola"


def test_a_file_instead_of_text_counts_as_missing() -> None:
    """A field that arrives as an upload rather than text is treated as not filled in."""
    form: dict[str, object] = dict(filled())
    form["boende"] = object()
    document, errors = forms.validate_inquiry(form)
    assert document["boende"] == ""
    assert "boende" in errors


def test_text_has_a_maximum_length() -> None:
    """A section may hold 20 000 characters; one more is refused with the limit in the message."""
    _, errors = forms.validate_inquiry(filled(boende="x" * 20_000))
    assert errors == {}
    _, errors = forms.validate_inquiry(filled(boende="x" * 20_001))
    assert "20\N{NO-BREAK SPACE}000" in errors["boende"]
    _, errors = forms.validate_inquiry(filled(ansvarig_kommun="K" * 201))
    assert "ansvarig_kommun" in errors


@pytest.mark.parametrize(
    "value", ["24/11/2026", "20261124", "2026-02-30", "2026-11-24T10:00", "i dag"]
)
def test_date_must_be_iso(value: str) -> None:
    """The date is refused unless it is a real date written ÅÅÅÅ-MM-DD."""
    _, errors = forms.validate_inquiry(filled(datum=value))
    assert "ÅÅÅÅ-MM-DD" in errors["datum"]


def test_decline_reasons_are_the_agreements_two_grounds() -> None:
    """Declining offers exactly the two allowed grounds and never housing shortage."""
    assert [r for r, _ in forms.DECLINE_REASONS] == [r.value for r in DeclineReason]
    labels = " ".join(label for _, label in forms.DECLINE_REASONS).casefold()
    assert "bostad" not in labels
    assert "bostadsbrist" not in labels


@pytest.mark.parametrize("reason", ["housing_shortage", "bostadsbrist", "Bostadsbrist"])
def test_housing_shortage_is_not_accepted_as_a_reason(reason: str) -> None:
    """A decline on grounds of housing shortage is refused with a message saying why."""
    _, errors = forms.validate_decline(
        {"reason": reason, "motivation": "Vi har inga lediga lägenheter alls just nu."}
    )
    assert "Bostadsbrist är inte ett godtagbart skäl" in errors["reason"]


def test_decline_needs_a_listed_reason() -> None:
    """A decline without a reason, or with one not on the list, is refused."""
    motivation = "Kommunens stödresurser för våldsutsatta är fullt belagda."
    _, errors = forms.validate_decline({"motivation": motivation})
    assert "reason" in errors
    _, errors = forms.validate_decline({"reason": "no_time", "motivation": motivation})
    assert errors["reason"] == "Välj ett av de angivna skälen."


def test_decline_needs_a_written_motivation() -> None:
    """A decline must carry a written motivation of at least 20 characters."""
    _, errors = forms.validate_decline({"reason": "quota_reached"})
    assert errors["motivation"] == "Skriv en motivering till beslutet."
    _, errors = forms.validate_decline({"reason": "quota_reached", "motivation": "  Fullt.  "})
    assert "minst 20 tecken" in errors["motivation"]
    _, errors = forms.validate_decline({"reason": "quota_reached", "motivation": "x" * 20_001})
    assert "högst" in errors["motivation"]


def test_a_motivated_decline_on_an_allowed_ground_passes() -> None:
    """A decline on an allowed ground with a real motivation is accepted as it was written."""
    document, errors = forms.validate_decline(
        {
            "reason": "insufficient_resources",
            "motivation": "  Vi saknar i dag tolk på arabiska inom öppenvården.\r\nSe bilaga.  ",
            "csrf": "token",
        }
    )
    assert errors == {}
    assert document == {
        "reason": "insufficient_resources",
        "motivation": "Vi saknar i dag tolk på arabiska inom öppenvården.\nSe bilaga.",
    }


def test_accept_needs_the_managers_consent_ticked() -> None:
    """Accepting is refused until the box for every concerned manager's consent is ticked."""
    _, errors = forms.validate_accept({"message": "Välkommen."})
    assert "arbetsledare" in errors["managers_consented"]
    _, errors = forms.validate_accept({"managers_consented": "nej"})
    assert "managers_consented" in errors


def test_accept_with_consent_passes_with_an_optional_message() -> None:
    """With consent ticked an acceptance passes, with or without a message."""
    document, errors = forms.validate_accept({"managers_consented": "ja"})
    assert errors == {}
    assert document == {"managers_consented": "ja", "message": ""}
    document, errors = forms.validate_accept({"managers_consented": "on", "message": " Hej "})
    assert errors == {}
    assert document["message"] == "Hej"


def test_message_is_required_and_limited() -> None:
    """A message cannot be empty or longer than 20 000 characters."""
    assert forms.validate_message({"message": "  "})[1] == {"message": "Skriv ett meddelande."}
    assert "message" in forms.validate_message({"message": "x" * 20_001})[1]
    assert forms.validate_message({"message": " Hej! "}) == ({"message": "Hej!"}, {})


def test_moving_date_must_be_a_date() -> None:
    """Recording a move needs the moving date as ÅÅÅÅ-MM-DD."""
    assert "moving_date" in forms.validate_move({})[1]
    assert "moving_date" in forms.validate_move({"moving_date": "1/12"})[1]
    assert forms.validate_move({"moving_date": "2027-02-01"}) == ({"moving_date": "2027-02-01"}, {})


def test_the_follow_up_needs_the_day_of_its_meeting() -> None:
    """Recording the follow-up needs the meeting's date as ÅÅÅÅ-MM-DD: it is signed with it."""
    assert "follow_up_date" in forms.validate_follow_up({})[1]
    assert "follow_up_date" in forms.validate_follow_up({"follow_up_date": "2027-02-30"})[1]
    good = {"follow_up_date": "2027-03-01"}
    assert forms.validate_follow_up(good) == (good, {})


def test_outcome_report_categories() -> None:
    """The report's target groups and reasons are the coordinator's lists, in their order."""
    assert [label for _, label in forms.TARGET_GROUPS] == [
        "Kvinna utan barn",
        "Kvinna med barn",
        "Man utan barn",
        "Man med barn",
    ]
    assert [r for r, _ in forms.NOT_MOVED_REASONS] == [r.value for r in NotMovedReason]
    assert "other" in dict(forms.NOT_MOVED_REASONS)


def test_outcome_validation_takes_moved_and_municipality_from_the_case() -> None:
    """A target group always; a reason only when not moved; the rest is the case's own."""
    report, _, errors = forms.validate_outcome({}, moved=False, receiving_municipality=None)
    assert report is None
    assert set(errors) == {"target_group", "not_moved_reason"}
    report, values, errors = forms.validate_outcome(
        {
            "target_group": "woman_with_children",
            "not_moved_reason": "other",
            "receiving_municipality": "kommun-x",
            "message": "fritext",
        },
        moved=True,
        receiving_municipality="kommun-c",
    )
    assert errors == {}
    assert report is not None
    assert report.to_json() == {
        "target_group": "woman_with_children",
        "moved": True,
        "receiving_municipality": "kommun-c",
        "not_moved_reason": None,
    }
    assert values == {"target_group": "woman_with_children", "not_moved_reason": ""}
    report, _, errors = forms.validate_outcome(
        {"target_group": "man_with_children", "not_moved_reason": "offer_declined"},
        moved=False,
        receiving_municipality=None,
    )
    assert set(errors) == {"not_moved_reason"}  # not one of the lists' reasons


def test_one_to_three_known_recipients() -> None:
    """An inquiry goes to one, two or three municipalities from the list, each at most once."""
    known = {"a", "b", "c", "d"}
    assert forms.validate_recipients([], known)[1] == {
        "municipalities": "Välj 1–3 mottagande kommuner."
    }
    assert forms.validate_recipients(["a", "b", "c", "d"], known)[1] != {}
    assert forms.validate_recipients(["x"], known)[1] == {
        "municipalities": "Välj bland kommunerna i listan."
    }
    assert forms.validate_recipients(["b", "a", "b", ""], known) == (["b", "a"], {})

"""case.html opens with "Att göra nu": the one next step, its deadline named, its form drawn
there and not again below; every date of a move says what it is; a förhandsförfrågan is shown
as such, with its Ja and Nej."""

from __future__ import annotations

from tests.inboxnet import page_text
from tests.test_inbox_templates import case, case_context, receiver_context, render


def _with_next(**step: object) -> dict[str, object]:
    return {
        "text": "Svara på erbjudandet från Kommun B",
        "action": "confirm",
        "target": "kommun-b",
        "deadline": "Svara senast 2026-12-21",
        "days_left": 3,
        "counterpart": "Kommun B",
        **step,
    }


def test_the_next_step_comes_first_with_its_deadline_and_its_form_only_there():
    html = render("case.html", case_context(next=_with_next()))
    text = page_text(html)
    assert (
        "Att göra nu Svara på erbjudandet från Kommun B Svara senast 2026-12-21 (3 dagar kvar)"
        in text
    )
    assert html.count('action="/arende/' + case()["case_id"] + '/confirm"') == 1
    assert html.index("Att göra nu") < html.index("/confirm") < html.index("Tillfrågade kommuner")
    # the other steps on the same request follow below
    assert html.index("Tillfrågade kommuner") < html.index("/decline_offer")


def test_an_overdue_next_step_says_so_in_words():
    html = render("case.html", case_context(next=_with_next(days_left=-2)))
    assert "Försenad: Svara senast 2026-12-21" in page_text(html)


def test_a_waiting_step_draws_no_form_and_the_outcome_step_links_to_the_report():
    waiting = _with_next(text="Vänta på svar från Kommun C", action=None, deadline=None)
    html = render("case.html", case_context(next=waiting))
    section = html[
        html.index('class="next-step"') : html.index("</section>", html.index('class="next-step"'))
    ]
    assert "<form" not in section
    report = _with_next(text="Rapportera utfallet", action="report_outcome", deadline=None)
    html = render("case.html", case_context(next=report))
    assert 'href="#utfall"' in html


def test_the_dates_of_a_move_are_named_in_the_request():
    moved = {
        **case()["requests"][0],
        "actions": ["record_follow_up"],
        "dates": [
            {"label": "Flyttdatum", "text": "Flyttar 2026-12-15"},
            {
                "label": "Ekonomiskt ansvar",
                "text": "Kommun A har det ekonomiska ansvaret till och med 2027-01-31",
            },
        ],
    }
    html = render("case.html", case_context(case=case(requests=[moved])))
    text = page_text(html)
    assert "Flyttdatum: Flyttar 2026-12-15" in text
    assert "Ekonomiskt ansvar: Kommun A har det ekonomiska ansvaret till och med 2027-01-31" in text


def test_a_pre_inquiry_is_shown_as_such_with_yes_and_no_first():
    own = {
        "municipality": "kommun-b",
        "name": "Kommun B",
        "state_label": "Förhandsförfrågan skickad",
        "actions": ["pre_inquiry_yes", "pre_inquiry_no"],
    }
    step = _with_next(
        text="Svara ja eller nej på förhandsförfrågan från Kommun A",
        action="pre_inquiry_yes",
        deadline=None,
        counterpart="Kommun A",
    )
    context = receiver_context(
        case=case(mine=False, to_names=["Kommun B"], requests=[own]),
        actions=["pre_inquiry_yes", "pre_inquiry_no", "message"],
        next=step,
        pre_only=True,
        pre_inquiry={"text": "Kan ni ta emot en familj?", "at": "2026-11-24 09:00"},
        document_sections=[],
        attachments=[],
    )
    html = render("case.html", context)
    text = page_text(html)
    assert "<h1>Förhandsförfrågan från Kommun A</h1>" in html
    assert "Förhandsförfrågan Kommun A, 2026-11-24 09:00 Kan ni ta emot en familj?" in text
    assert "Förfrågningsunderlag" not in text
    yes, no = html.index("/pre_inquiry_yes"), html.index("/pre_inquiry_no")
    question = html.index("Kan ni ta emot en familj?")
    assert html.index("Att göra nu") < question < yes < no < html.index("Förfrågan till er kommun")
    assert html.count("Kan ni ta emot en familj?") == 1
    assert html.count("/pre_inquiry_no") == 1
    assert "Ett nej är slutligt" in text
    no_form = html[no : html.index("</form>", no)]
    assert 'name="confirmed" value="ja" required' in no_form  # final: a box to tick first

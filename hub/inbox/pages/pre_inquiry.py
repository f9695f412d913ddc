"""Förhandsförfrågan: the network's short first question, to one to three municipalities, each
answering yes or no on its case page (hub.inbox.pages.case). The formal inquiry then goes to
those that said yes, from our case page through Ny förfrågan (hub.inbox.pages.compose).

One form: the question and the municipalities. Its post checks the text as the review step
checks an inquiry (hub.inbox.screening) and sends only when every finding is removed or
confirmed as needed; otherwise the form comes back with the findings (nothing was sent). A
post that sends redirects to the new case: Back and reload never send it again.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from hub.inbox import confirmations, forms, screening
from hub.inbox.pages import notices
from hub.inbox.pages.choices import municipality_choices
from hub.inbox.pages.common import core_of, render

MAX_QUESTION: Final = 2000  # a short first question, not the inquiry
QUESTION: Final = "question"
QUESTION_LABEL: Final = "Fråga"


def validate(
    values: dict[str, str], selected: list[str], allowed: set[str]
) -> tuple[str, list[str], dict[str, str]]:
    """The question, the chosen municipalities and the errors, each under its field."""
    question = values.get(QUESTION, "").replace("\r\n", "\n").strip()
    chosen, errors = forms.validate_recipients(selected, allowed)
    if not question:
        errors[QUESTION] = "Skriv frågan."
    elif len(question) > MAX_QUESTION:
        errors[QUESTION] = f"Frågan får vara högst {MAX_QUESTION} tecken. Den är {len(question)}."
    return question, chosen, errors


async def pre_inquiry_page(request: web.Request) -> web.Response:
    """GET /forhandsforfragan: the empty form."""
    core = core_of(request)
    return await _page(request, choices=await municipality_choices(core))


async def pre_inquiry_send(request: web.Request) -> web.StreamResponse:
    """POST /forhandsforfragan: checked, then sent (a redirect to the case), or the form again
    with what to fix or confirm."""
    core = core_of(request)
    form = await request.post()
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    selected = [v for v in form.getall("municipalities", []) if isinstance(v, str)]
    choices = await municipality_choices(core)
    question, chosen, errors = validate(values, selected, {c["id"] for c in choices})
    findings = screening.screen_text(QUESTION, QUESTION_LABEL, question) if question else []
    confirmed = {v for v in form.getall("needed", []) if isinstance(v, str)}
    unconfirmed = [f for f in findings if f.key not in confirmed]
    if errors or unconfirmed:
        return await _page(
            request,
            choices=choices,
            values=values,
            selected=chosen,
            errors=errors,
            findings=findings,
            confirmed=confirmed,
            unconfirmed=0 if errors else len(unconfirmed),
        )
    case_id = await core.send_inquiry({"message": question}, [], chosen, pre=True)
    waiting = not core.online or await core.cache.outbox_count() > 0
    names = [core.name_of(m) for m in chosen]
    sent = confirmations.sent_text(names, waiting=waiting)
    notices.flash(request, sent.replace("Förfrågan", "Förhandsförfrågan", 1))
    raise web.HTTPSeeOther(f"/arende/{case_id.hex()}")


async def _page(  # noqa: PLR0913 - the form's state, all keyword-only
    request: web.Request,
    *,
    choices: list[dict[str, object]],
    values: dict[str, str] | None = None,
    selected: list[str] | None = None,
    errors: dict[str, str] | None = None,
    findings: list[screening.Finding] | None = None,
    confirmed: set[str] | None = None,
    unconfirmed: int = 0,
) -> web.Response:
    return await render(
        request,
        "pre_inquiry.html",
        status=422 if errors or unconfirmed else 200,
        municipalities=choices,
        values=values or {},
        selected=selected or [],
        errors=errors or {},
        findings=findings or [],
        confirmed=confirmed or set(),
        unconfirmed=unconfirmed,
        max_question=MAX_QUESTION,
    )

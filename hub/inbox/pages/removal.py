"""Removing one case from the inbox by hand (issue 16, "Gallra"): once a case has ended for our
municipality, the person may remove its decrypted copy from this machine before the network's
inbox retention does, after a confirmation that says what goes and what stays. The removal is
the retention pass's own (InboxCache.remove_case): afterwards no file of the agent holds the
case's text. A case with something still in the outbox stays, as it does for the pass."""

from __future__ import annotations

from aiohttp import web

from hub.inbox import confirmations
from hub.inbox.inbox_retention import ended_at
from hub.inbox.pages import notices
from hub.inbox.pages.common import _case_id, core_of, render
from hub.protocol.case_reference import case_reference

ACTION = "ta-bort"
NOT_ENDED = (
    "Ärendet kan inte tas bort från inkorgen ännu: det har inte avslutats för er kommun. "
    "När det har avslutats kan du ta bort det, och efter nätverkets gallringstid tas det bort "
    "av sig självt."
)
WAITING = (
    "Ärendet kan inte tas bort från inkorgen just nu: något i det väntar i utkorgen på att "
    "skickas. Försök igen när det har skickats."
)


def _confirmation(reference: str) -> confirmations.Confirmation:
    return confirmations.Confirmation(
        f"Ta bort ärende {reference} från inkorgen?",
        "Den dekrypterade kopian av ärendet tas bort från den här datorn: förfrågan, svar, "
        "meddelanden och bilagor. Det du har exporterat till er akt (PDF) finns kvar där. "
        "Hubben har bara krypterade kopior, som den gallrar efter nätverkets tid.",
        "Ingen annan får besked: det gäller bara inkorgen på den här datorn.",
        "Ja, ta bort ärendet från inkorgen",
    )


async def _refusal(request: web.Request, case_id: bytes) -> str | None:
    """Why this case may not be removed now, or None."""
    core = core_of(request)
    view = await core.cache.get_case(case_id)
    if view is None:
        raise web.HTTPNotFound
    if ended_at(view, me=core.municipality) is None:
        return NOT_ENDED
    if case_id.hex() in await core.cache.cases_waiting():
        return WAITING
    return None


async def removal_page(request: web.Request) -> web.StreamResponse:
    """GET /arende/{id}/ta-bort: what will go and what stays; nothing is removed yet."""
    case_id = _case_id(request)
    refusal = await _refusal(request, case_id)
    if refusal is not None:
        notices.flash(request, refusal, "warning")
        raise web.HTTPSeeOther(f"/arende/{case_id.hex()}")
    return await render(
        request,
        "confirm_action.html",
        case_id=case_id.hex(),
        action=ACTION,
        confirm=_confirmation(case_reference(case_id)),
        details=[],
        hidden={},
    )


async def remove(request: web.Request) -> web.StreamResponse:
    """POST /arende/{id}/ta-bort with confirmed=ja: the case's copy goes; to Avslutade."""
    core = core_of(request)
    case_id = _case_id(request)
    form = await request.post()
    if form.get("confirmed") != confirmations.CONFIRMED_VALUE:
        raise web.HTTPSeeOther(f"/arende/{case_id.hex()}/{ACTION}")
    refusal = await _refusal(request, case_id)
    if refusal is not None:
        notices.flash(request, refusal, "warning")
        raise web.HTTPSeeOther(f"/arende/{case_id.hex()}")
    await core.cache.remove_case(case_id)
    core.version += 1
    core.changed.set()
    notices.flash(
        request,
        f"Ärende {case_reference(case_id)} är borttaget från inkorgen. Det du har exporterat "
        "till er akt finns kvar där.",
    )
    raise web.HTTPSeeOther("/?box=closed")

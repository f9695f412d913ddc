"""Filing the outcome report of a case we sent (docs/statistics.md, "The outcome report"): the
form checked against the case, the confirmation step, and sending it to the hub."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from hub.client.api import RemoteError
from hub.errors import MESSAGES
from hub.inbox import forms
from hub.inbox.pages import notices
from hub.inbox.pages.case import _receiving, _render_case, _reportable
from hub.inbox.pages.common import _case_id, core_of, render
from hub.inbox.sync import AgentCore, case_from_view
from hub.report.outcome import contradiction

if TYPE_CHECKING:
    from multidict import MultiDictProxy

    from hub.report.outcome import OutcomeReport


OUTCOME_UNREACHABLE = (
    "Hubben går inte att nå just nu, så rapporten är inte skickad. Dina val finns kvar här: "
    "försök igen med Skicka rapporten när hubben svarar."
)


# The hub names only a code (hub.client.api.RemoteError): our own sentences, by the field the
# case decides. The page is shown again with the case as the hub has it.
OUTCOME_CHOOSE_AGAIN = "Välj det skäl som stämmer med ärendet."


OUTCOME_MISMATCH = {
    "moved": (
        "Hubben har ett annat utfall för ärendet än inkorgen visade. Ärendet är nu hämtat på "
        "nytt: kontrollera uppgifterna och skicka rapporten igen."
    ),
    "receiving_municipality": (
        "Mottagande kommun stämmer inte med den kommun som ärendet avslutades med enligt "
        "hubben. Ärendet är nu hämtat på nytt: kontrollera uppgifterna och skicka rapporten igen."
    ),
    "not_moved_reason": (
        "Skälet stämmer inte med kommunernas svar i ärendet enligt hubben. Ärendet är nu hämtat "
        "på nytt: välj det skäl som stämmer och skicka rapporten igen."
    ),
}


OUTCOME_NOTE_MAX = 4000  # characters of the reasons in words


NO_BOARD_KEY = (
    "Katalogen har ingen giltig nyckel för länsstyrelsen, så skälen i ord kunde inte krypteras "
    "till den och skickades inte. Rapportens val skickades som vanligt."
)


def _outcome_note(core: AgentCore, form: MultiDictProxy[Any]) -> str:
    """The reasons in words, when the network asks for them: for the county board only, sealed
    to its keys (AgentCore.send_outcome_note); never part of the report the hub reads."""
    value = form.get("outcome_note")
    if not core.outcome_free_text or not isinstance(value, str):
        return ""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


async def _outcome_form(
    request: web.Request,
) -> tuple[bytes, dict[str, Any], OutcomeReport | None, dict[str, str], dict[str, str]]:
    """The posted outcome form checked against the case: (case id, view, report, values,
    errors). A case that is not ours or not closed is not found, as for the page itself."""
    core = core_of(request)
    case_id = _case_id(request)
    form = await request.post()
    view = await core.cache.get_case(case_id)
    if view is None or not _reportable(core, view):
        raise web.HTTPNotFound
    report, values, errors = forms.validate_outcome(
        form, moved=view["outcome"] == "moved", receiving_municipality=_receiving(view)
    )
    refused = None if report is None else contradiction(case_from_view(view), report)
    if refused is not None:  # the hub would refuse it: say so before the review step
        field_, sentence = refused
        errors = {field_: f"{sentence} {OUTCOME_CHOOSE_AGAIN}"}
        report = None
    note = _outcome_note(core, form)
    if note:
        values = {**values, "outcome_note": note}
    if len(note) > OUTCOME_NOTE_MAX:
        errors = {**errors, "outcome_note": f"Skriv högst {OUTCOME_NOTE_MAX} tecken."}
        report = None
    return case_id, view, report, values, errors


async def outcome_change(request: web.Request) -> web.Response:
    """ "Ändra" on the confirmation step: the case page, the form with what was chosen."""
    case_id, _, _, values, _ = await _outcome_form(request)
    return await _render_case(request, case_id, outcome_values=values)


async def outcome_review(request: web.Request) -> web.Response:
    """The confirmation step: exactly what the coordinator will see, before it is sent."""
    case_id, view, report, values, errors = await _outcome_form(request)
    if report is None:
        return await _render_case(
            request, case_id, status=422, outcome_values=values, outcome_errors=errors
        )
    return await _outcome_review_page(request, case_id, view, report, values)


async def _outcome_review_page(  # noqa: PLR0913 - the step, and why it is shown again
    request: web.Request,
    case_id: bytes,
    view: dict[str, Any],
    report: OutcomeReport,
    values: dict[str, str],
    *,
    problem: str | None = None,
    status: int = 200,
) -> web.Response:
    core = core_of(request)
    return await render(
        request,
        "outcome_review.html",
        status=status,
        case_id=case_id.hex(),
        case_title="Förfrågan till "
        + ", ".join(core.name_of(r["municipality"]) for r in view["requests"]),
        rows=list(report.shown_rows(core.names)),
        values=values,
        problem=problem,
        note_to_board=core.county_board() is not None,
    )


async def outcome_send(request: web.Request) -> web.Response:
    """ "Skicka rapporten": to the hub now. Refused: the form again, the reason by its field.
    Hub unreachable: the confirmation step again, nothing lost, said plainly."""
    core = core_of(request)
    case_id, view, report, values, errors = await _outcome_form(request)
    if report is None:
        return await _render_case(
            request, case_id, status=422, outcome_values=values, outcome_errors=errors
        )
    try:
        await core.file_outcome_report(case_id, report)
    except (aiohttp.ClientError, OSError, TimeoutError):
        return await _outcome_review_page(
            request, case_id, view, report, values, problem=OUTCOME_UNREACHABLE, status=503
        )
    except RemoteError as exc:
        if exc.code == "outcome_report_mismatch":
            field_ = await _mismatched_field(core, case_id, report)
            return await _render_case(
                request,
                case_id,
                status=422,
                outcome_values=values,
                outcome_errors={field_: OUTCOME_MISMATCH[field_]},
            )
        problem = MESSAGES.get(exc.code, f"Hubben tog inte emot rapporten ({exc.code}).")
        return await _render_case(
            request, case_id, status=422, outcome_values=values, outcome_problem=problem
        )
    note = values.get("outcome_note", "")
    # The report is filed; the words go sealed to the county board, through the outbox.
    if note and not await core.send_outcome_note(case_id, note):
        core.notices.append({"level": "warning", "text": NO_BOARD_KEY})
    notices.flash(request, "Utfallet är rapporterat till samordnaren.")
    raise web.HTTPSeeOther(f"/arende/{case_id.hex()}#utfall")


async def _mismatched_field(core: AgentCore, case_id: bytes, report: OutcomeReport) -> str:
    """The hub says the report contradicts the case: this inbox's copy was out of date. Fetch
    the case again and name what differs: the outcome itself, else the municipality."""
    with contextlib.suppress(RemoteError, aiohttp.ClientError, OSError, TimeoutError):
        await core.refresh_case(case_id)
    view = await core.cache.get_case(case_id)
    if view is None or (view.get("outcome") == "moved") != report.moved:
        return "moved"
    refused = contradiction(case_from_view(view), report)
    return "receiving_municipality" if refused is None else refused[0]

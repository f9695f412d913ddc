"""One case as case.html and pdf.html show it (case_context): its documents, thread, history
and receipts, read from the verified envelopes in the local cache."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.crypto.format import MessageKind
from hub.errors import MESSAGES
from hub.inbox import documents, forms
from hub.inbox.case_dates import move_dates, moved_label
from hub.inbox.inbox_retention import ended_at
from hub.inbox.next_step import Asked, next_step
from hub.inbox.pages.common import STATE_LABELS, _deadline_fields, _receipt_line, _when
from hub.inbox.verified_case import verified_case
from hub.protocol.case_reference import case_reference

if TYPE_CHECKING:
    from hub.inbox.sync import AgentCore
    from hub.inbox.verified_case import Message, StepProblem, VerifiedCase


EVENT_TEXT = {
    "send_pre_inquiry": "Förhandsförfrågan skickad",
    "pre_inquiry_yes": "Ja på förhandsförfrågan",
    "pre_inquiry_no": "Nej på förhandsförfrågan",
    "send_inquiry": "Förfrågan skickad",
    "deliver": "Levererad till mottagarens inkorg",
    "read_receipt": "Läst",
    "accept": "Accepterad",
    "decline": "Nekad",
    "confirm": "Bekräftad av överlämnande kommun",
    "decline_offer": "Erbjudandet avböjt",
    "withdraw": "Återkallad",
    "close_elsewhere": "Stängd: överenskommelse med annan kommun",
    "cancel": "Avbruten",
    "record_move": "Flytt registrerad",
    "record_follow_up": "Uppföljning registrerad",
    "close": "Ärendet avslutat",
    "close_not_moved": "Ärendet avslutat utan flytt",
}
MISSING_IN_THREAD = (
    "Ett meddelande i ärendet saknas: ett meddelande mellan er och {name} har inte kommit fram "
    "från hubben, fast ett senare meddelande visar att det finns. Kontakta {name} och fråga."
)
# What could not be proved of a case's signed history, in Swedish ({name}: the request's
# municipality; {reason}: why a step was refused).
PROBLEM_TEXT = {
    "step_fork": (
        "Motstridig historik för {name}: hubben har visat två olika förlopp. Inget av dem "
        "visas, och inget nytt steg kan tas där. Kontakta länsstyrelsen."
    ),
    "step_missing": (
        "Ett meddelande i ärendet saknas: ett underskrivet steg för {name} har inte kommit "
        "fram från hubben. Läget visas så långt de underskrivna stegen räcker."
    ),
    "step_refused": "Ett steg för {name} räknas inte: {reason}",
    "step_not_allowed": (
        "Ett steg för {name} går inte att ta enligt ärendets regler och räknas inte."
    ),
    "step_time_backwards": (
        "Ett steg för {name} är daterat före steget det bygger på och räknas inte."
    ),
    "step_wrong_case": "Hubben lämnade ett steg som hör till ett annat ärende. Det räknas inte.",
    "case_inconsistent": (
        "Ärendets underskrivna steg går inte ihop (till exempel två bekräftade kommuner). "
        "Inget läge visas. Kontakta länsstyrelsen."
    ),
    "step_clock_skew": (
        "Tiden i leveransen till {name} skiljer sig mer än tio minuter från när hubben tog "
        "emot den. Svarstiden räknas från den tidigare av tiderna."
    ),
    "hub_deadline_differs": (
        "Hubben räknar svarstiden för {name} från en annan tidpunkt än den underskrivna. "
        "Tidsfristen här räknas från den underskrivna."
    ),
}


# Lifecycle events offered as page actions: the form's list without the thread message.
ACTIONS = tuple(a for a in forms.CASE_ACTIONS if a != "message")
# The answers to a förhandsförfrågan (posted like the actions above), and the formal inquiry
# to a municipality that said yes (a link to Ny förfrågan for this case).
PRE_INQUIRY_ANSWERS = ("pre_inquiry_yes", "pre_inquiry_no")
SEND_INQUIRY = "send_inquiry"
PAGE_ACTIONS = (*ACTIONS, *PRE_INQUIRY_ANSWERS, SEND_INQUIRY)


async def _read_receipts(core: AgentCore, case: VerifiedCase) -> dict[bytes, list[tuple[str, int]]]:
    """Who has signed a read receipt for each message we sent, and when: verified receipts
    only (refresh_receipts keeps no other), by message; our own municipality's left out."""
    ours = [m.message_id for m in (case.inquiries_ours + case.thread) if m.ours]
    found: dict[bytes, list[tuple[str, int]]] = {m: [] for m in ours}
    for message_id, m, event, t in await core.cache.receipts_of(ours):
        if event == "read" and m != core.municipality:
            found[message_id].append((m, t))
    return found


async def case_context(core: AgentCore, case_id: bytes) -> dict[str, Any] | None:
    """One case as case.html and pdf.html show it, from the local cache; None if unknown. It
    renders the verified case (hub.inbox.verified_case): parties, documents, senders and
    times from the verified envelopes; states, history and actions from the signed steps."""
    view = await core.cache.get_case(case_id)
    if view is None:
        return None
    envelopes = await core.cache.envelopes_of_case(case_id)
    case = verified_case(view, envelopes, me=core.municipality)
    if case is None:
        return None
    document_sections: list[dict[str, Any]] = []
    attachments: list[dict[str, Any]] = []
    inquiry_problem = None
    if case.inquiry is not None:
        body = case.inquiry.body
        if isinstance(body, documents.Unreadable):
            inquiry_problem = body.problem
        elif isinstance(body, documents.Inquiry):
            document_sections = [
                {
                    "title": section.title,
                    "fields": [{"label": label, "value": text} for label, text in section.fields],
                }
                for section in body.sections
            ]
            if body.unknown_fields:
                inquiry_problem = _unknown_fields(body.unknown_fields)
            attachments = _attachment_links(case.inquiry)
    read_receipts = await _read_receipts(core, case)

    def read_by(message: Message) -> list[str]:
        return [
            f"Läst av {core.name_of(m)} {_when(t)}" for m, t in read_receipts[message.message_id]
        ]

    thread = [
        {
            "from_name": core.name_of(m.sender),
            "at": _when(m.created_at),
            "hub_at": None if m.hub_received_at is None else _when(m.hub_received_at),
            "text": _thread_text(m),
            "sent": m.ours,
            "read_by": read_by(m) if m.ours else [],
            "listing_mismatch": m.listing_mismatch,
            "attachments": _attachment_links(m),
        }
        for m in case.thread
        if m.kind != MessageKind.PRE_INQUIRY  # shown once, in its own section
    ]
    today = core.calendar.local_date(int(core.clock()))
    histories = {r["municipality"]: r["history"] for r in view["requests"]}
    requests: list[dict[str, Any]] = [
        {
            "municipality": r.municipality,
            "name": core.name_of(r.municipality),
            "state_label": (
                r.state == "moved" and moved_label(histories.get(r.municipality, []), today=today)
            )
            or STATE_LABELS.get(r.state, r.state),
            "actions": [a for a in r.allowed_events if a in PAGE_ACTIONS],
            "dates": [
                {"label": line.label, "text": line.text}
                for line in move_dates(
                    histories.get(r.municipality, []),
                    r.state,
                    today=today,
                    rules=core.deadline_rules,
                    calendar=core.calendar,
                    sender_name=core.name_of(case.sender),
                )
            ],
        }
        for r in case.requests
    ]
    history = [
        {"at": _when(at), "text": text}
        for at, text in sorted(
            (h.at, f"{core.name_of(r.municipality)}: {EVENT_TEXT.get(h.event, h.event)}")
            for r in case.requests
            for h in r.history
        )
    ]
    actions = [*sorted({a for r in requests for a in r["actions"]}), "message", "export_pdf"]
    if case.may_close_not_moved:
        actions.insert(-2, "close_not_moved")
    shown = {
        "case_id": case.case_id.hex(),
        "reference": case_reference(case.case_id),
        "removable": ended_at(view, me=core.municipality) is not None,
        "from_name": core.name_of(case.sender),
        "to_names": [core.name_of(m) for m in case.asked]
        if case.mine
        else [r["name"] for r in requests],
        "state_label": "; ".join(f"{r['name']}: {r['state_label']}" for r in requests),
        "history": history,
        "receipts": [
            _receipt_line(core, int(kind), created_at, m, t)
            for t, kind, created_at, m in sorted(
                (t, message.kind, message.created_at, m)
                for message in (case.inquiries_ours + case.thread)
                for m, t in read_receipts.get(message.message_id, [])
            )
        ],
        "hub_disagrees": case.hub_disagrees,
        "problems": [_problem_text(core, p) for p in case.problems]
        + [MISSING_IN_THREAD.format(name=core.name_of(m)) for m in case.missing_in_thread],
        "refused": [
            f"{_when(at)}: {MESSAGES.get(code, code)}"
            for code, at in await core.cache.refused_of_case(case_id)
        ],
        **_deadline_fields(core, view),
        "requests": requests,
        "mine": case.mine,
    }
    closed = view.get("outcome") is not None
    step = next_step(
        mine=case.mine,
        sender_name=core.name_of(case.sender),
        requests=[
            Asked(r.municipality, core.name_of(r.municipality), r.state, r.allowed_events)
            for r in case.requests
        ],
        dues=core.dues_of(view),
        closed=closed,
        report_filed=case.mine and closed and await core.outcome_report(case_id) is not None,
        may_close_not_moved=case.may_close_not_moved,
    )
    pre_inquiry = next((m for m in case.thread if m.kind == MessageKind.PRE_INQUIRY), None)
    return {
        "next": {
            "text": step.text,
            "action": step.action,
            "target": step.target,
            "deadline": step.deadline,
            "days_left": None if step.due_date is None else (step.due_date - today).days,
            "counterpart": core.name_of(step.target)
            if case.mine and step.target
            else core.name_of(case.sender),
        },
        "pre_only": case.inquiry is None and pre_inquiry is not None,
        "pre_inquiry": None
        if pre_inquiry is None
        else {"text": _thread_text(pre_inquiry), "at": _when(pre_inquiry.created_at)},
        "case": shown,
        "document_sections": document_sections,
        "attachments": attachments,
        "inquiry_problem": inquiry_problem,
        "inquiry_read_by": [
            f"Förfrågan läst av {core.name_of(m)} {_when(t)}"
            for message in case.inquiries_ours
            for m, t in read_receipts[message.message_id]
        ],
        "thread": thread,
        "actions": actions,
    }


def _problem_text(core: AgentCore, problem: StepProblem) -> str:
    name = core.name_of(problem.municipality) if problem.municipality else "ärendet"
    reason = MESSAGES.get(problem.code or "", "den gick inte att kontrollera.")
    text = PROBLEM_TEXT.get(problem.problem, "Ärendets historik gick inte att kontrollera helt.")
    return text.format(name=name, reason=reason)


def _thread_text(message: Message) -> str:
    """What a message in the thread says, in Swedish: decisions and reasons by their labels."""
    body = message.body
    if body is None:
        return f"Meddelandet kunde inte öppnas ({message.error})."
    if isinstance(body, documents.Unreadable):
        return body.problem
    if isinstance(body, documents.Inquiry):  # an inquiry form in the thread: not expected
        return "(ett formulär)"
    lines = body.lines()
    if body.unknown_fields:
        lines.append(_unknown_fields(body.unknown_fields))
    return "\n".join(lines) or "(tomt meddelande)"


def _unknown_fields(count: int) -> str:
    return (
        f"Avsändaren skickade {count} uppgift{'er' if count > 1 else ''} som den här versionen "
        "av inkorgen inte känner till; de visas inte."
    )


def _attachment_links(envelope: Message) -> list[dict[str, Any]]:
    return [
        {
            "index": i,
            "name": a.name,
            "size": a.size,
            "media_type": a.media_type,
            "message_id": envelope.message_id.hex(),
        }
        for i, a in enumerate(envelope.attachments)
    ]

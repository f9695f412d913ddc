"""One case as case.html and pdf.html show it (case_context): its documents, thread, history
and receipts, read from the verified envelopes in the local cache."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.crypto.format import MessageKind
from hub.errors import MESSAGES
from hub.inbox import documents, forms
from hub.inbox.pages.common import STATE_LABELS, _deadline_fields, _receipt_line, _when

if TYPE_CHECKING:
    from hub.inbox.cache_envelopes import StoredEnvelope
    from hub.inbox.sync import AgentCore


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
    "expire": "Svarstiden gick ut",
    "close_elsewhere": "Stängd: överenskommelse med annan kommun",
    "cancel": "Avbruten",
    "record_move": "Flytt registrerad",
    "record_follow_up": "Uppföljning registrerad",
    "close": "Ärendet avslutat",
}


# Lifecycle events offered as page actions: the form's list without the thread message.
ACTIONS = tuple(a for a in forms.CASE_ACTIONS if a != "message")


async def _read_receipts(
    core: AgentCore, envelopes: list[StoredEnvelope]
) -> dict[bytes, list[tuple[str, int]]]:
    """Who has signed a read receipt for each message we sent, and when: verified receipts
    only (refresh_receipts keeps no other), by message; our own municipality's left out."""
    sent = [e.message_id for e in envelopes if e.box == "sent"]
    found: dict[bytes, list[tuple[str, int]]] = {m: [] for m in sent}
    for message_id, m, event, t in await core.cache.receipts_of(sent):
        if event == "read" and m != core.municipality:
            found[message_id].append((m, t))
    return found


async def case_context(core: AgentCore, case_id: bytes) -> dict[str, Any] | None:
    """One case as case.html and pdf.html show it, from the local cache; None if unknown. The
    documents, senders and times come from the verified envelopes, each document read into
    its typed model (hub.inbox.documents) so that no received shape can break the page."""
    view = await core.cache.get_case(case_id)
    if view is None:
        return None
    envelopes = await core.cache.envelopes_of_case(case_id)
    inquiry = next(
        (e for e in envelopes if e.kind == MessageKind.INQUIRY and e.document is not None), None
    )
    document_sections: list[dict[str, Any]] = []
    attachments: list[dict[str, Any]] = []
    inquiry_problem = None
    if inquiry is not None:
        read = documents.read_inquiry(inquiry.document)
        if isinstance(read, documents.Unreadable):
            inquiry_problem = read.problem
        else:
            document_sections = [
                {
                    "title": section.title,
                    "fields": [{"label": label, "value": text} for label, text in section.fields],
                }
                for section in read.sections
            ]
            if read.unknown_fields:
                inquiry_problem = _unknown_fields(read.unknown_fields)
            attachments = _attachment_links(inquiry)
    read_receipts = await _read_receipts(core, envelopes)

    def read_by(envelope: StoredEnvelope) -> list[str]:
        return [
            f"Läst av {core.name_of(m)} {_when(t)}" for m, t in read_receipts[envelope.message_id]
        ]

    thread = [
        {
            "from_name": core.name_of(e.sender),
            "at": _when(e.created_at),
            "hub_at": None if e.hub_received_at is None else _when(e.hub_received_at),
            "text": _thread_text(e),
            "sent": e.box == "sent",
            "read_by": read_by(e) if e.box == "sent" else [],
            "listing_mismatch": e.listing_mismatch,
            "attachments": _attachment_links(e),
        }
        for e in envelopes
        if e.kind != MessageKind.INQUIRY
    ]
    mine = view["from"] == core.municipality
    requests = [
        {
            "municipality": r["municipality"],
            "name": core.name_of(r["municipality"]),
            "state_label": STATE_LABELS.get(r["state"], r["state"]),
            "actions": [a for a in r["allowed_events"] if a in ACTIONS],
        }
        for r in view["requests"]
    ]
    history = sorted(
        (
            {
                "at": _when(h["at"]),
                "text": f"{core.name_of(r['municipality'])}: "
                f"{EVENT_TEXT.get(h['event'], h['event'])}",
                "sort": h["at"],
            }
            for r in view["requests"]
            for h in r["history"]
        ),
        key=lambda h: h["sort"],
    )
    actions = [*sorted({a for r in requests for a in r["actions"]}), "message", "export_pdf"]
    if view.get("can_close_not_moved"):
        actions.insert(-2, "close_not_moved")
    case = {
        "case_id": view["case_id"],
        "from_name": core.name_of(view["from"]),
        "to_names": [r["name"] for r in requests],
        "state_label": "; ".join(f"{r['name']}: {r['state_label']}" for r in requests),
        "history": history,
        "receipts": [
            _receipt_line(core, kind, created_at, m, t)
            for t, kind, created_at, m in sorted(
                (t, e.kind, e.created_at, m)
                for e in envelopes
                for m, t in read_receipts.get(e.message_id, [])
            )
        ],
        "hub_disagrees": bool(view.get("hub_disagrees"))
        or any(e.listing_mismatch for e in envelopes),
        "refused": [
            f"{_when(at)}: {MESSAGES.get(code, code)}"
            for code, at in await core.cache.refused_of_case(case_id)
        ],
        **_deadline_fields(core, view),
        "requests": requests,
        "mine": mine,
    }
    return {
        "case": case,
        "document_sections": document_sections,
        "attachments": attachments,
        "inquiry_problem": inquiry_problem,
        "inquiry_read_by": [
            f"Förfrågan läst av {core.name_of(m)} {_when(t)}"
            for e in envelopes
            if e.kind == MessageKind.INQUIRY and e.box == "sent"
            for m, t in read_receipts[e.message_id]
        ],
        "thread": thread,
        "actions": actions,
    }


def _thread_text(envelope: StoredEnvelope) -> str:
    """What a message in the thread says, in Swedish: decisions and reasons by their labels."""
    if envelope.document is None:
        return f"Meddelandet kunde inte öppnas ({envelope.error})."
    read = documents.read_thread(envelope.document)
    if isinstance(read, documents.Unreadable):
        return read.problem
    lines = read.lines()
    if read.unknown_fields:
        lines.append(_unknown_fields(read.unknown_fields))
    return "\n".join(lines) or "(tomt meddelande)"


def _unknown_fields(count: int) -> str:
    return (
        f"Avsändaren skickade {count} uppgift{'er' if count > 1 else ''} som den här versionen "
        "av inkorgen inte känner till; de visas inte."
    )


def _attachment_links(envelope: StoredEnvelope) -> list[dict[str, Any]]:
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

"""Whom an inquiry may go to: the other members of the network, from the signed registry, with
their kommunmall and their year so far (Ny förfrågan, Ny förhandsförfrågan); and for the
formal inquiry in a case, only those whose yes to its förhandsförfrågan is verified here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.inbox import confirmations
from hub.inbox.pages import notices

if TYPE_CHECKING:
    from hub.inbox.sync import AgentCore


async def said_yes(core: AgentCore, case_hex: str) -> list[str] | None:
    """The municipalities of our case `case_hex` that said yes to its förhandsförfrågan and
    may now be sent the formal inquiry (the lifecycle allows send_inquiry, as verified
    here); None when it is no case of ours."""
    if len(case_hex) != 32 or any(c not in "0123456789abcdef" for c in case_hex):
        return None
    view = await core.cache.get_case(bytes.fromhex(case_hex))
    if view is None or view["from"] != core.municipality:
        return None
    return [
        r["municipality"]
        for r in view["requests"]
        if r["state"] == "pre_inquiry_positive" and "send_inquiry" in r["allowed_events"]
    ]


async def municipality_choices(
    core: AgentCore, only: list[str] | None = None
) -> list[dict[str, Any]]:
    """The other members to choose from; `only`: just these (the formal inquiry of a case to
    those that said yes to its förhandsförfrågan)."""
    await core.refresh_members()  # unreachable: the list as last fetched (the outbox waits)
    choices = []
    for m in core.members:
        if m.id == core.municipality or (only is not None and m.id not in only):
            continue
        choices.append(
            {
                "id": m.id,
                "name": m.name,
                "template_text": str(m.template.get("text", "")),
                "quota_text": _quota_text(core, m.id),
            }
        )
    return choices


def _quota_text(core: AgentCore, municipality: str) -> str:
    """The line under a municipality's choice, "Kvot i år: 1 av 3 mottagna" (or "ingen kvot"),
    as the last sync heard it; with its date when the hub has not answered since; "" when we
    know nothing of this year."""
    known = core.year_so_far
    now = int(core.clock())
    if known is None or municipality not in known.figures:
        return ""
    if known.year != core.calendar.local_date(now).year:
        return ""
    quota, received = known.figures[municipality]
    text = (
        f"Kvot i år: ingen kvot, {received} mottagna"
        if quota is None
        else f"Kvot i år: {received} av {quota} mottagna"
    )
    if core.year_so_far_stale or not core.online:
        text += f" (uppgift från {core.calendar.local_date(known.fetched_at).isoformat()})"
    return text


async def still_said_yes(request: web.Request, core: AgentCore, draft: dict[str, Any]) -> None:
    """A formal inquiry in a case goes only to those whose yes to its förhandsförfrågan still
    stands as verified here (another tab may have withdrawn one since the review): otherwise
    nothing is sent, the draft is kept and the case page says why."""
    in_case = draft.get("case_id") or ""
    if not in_case:
        return
    gone = set(draft["municipalities"]) - set(await said_yes(core, in_case) or [])
    if gone:
        names = confirmations.names_in_words(sorted(core.name_of(m) for m in gone))
        notices.flash(
            request,
            f"Förfrågan skickades inte: {names} kan inte längre få förfrågan i det här "
            "ärendet. Utkastet är sparat.",
            "warning",
        )
        raise web.HTTPSeeOther(f"/arende/{in_case}")

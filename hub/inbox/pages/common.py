"""What every inbox page shares: the agent's app key, render() with the base context, the case
states' labels, times, the nearest deadline and a read receipt in words, a case id from the
path."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web

from hub.crypto.format import MessageKind
from hub.inbox.pages.notices import page_notices
from hub.inbox.sync import AgentCore
from hub.localagent.lock import IDLE_CHOICES, KEEPER, UNLOCK_PATH
from hub.localagent.security import CSRF
from hub.localagent.templates import TEMPLATES
from hub.protocol.deadlines import days_left

if TYPE_CHECKING:
    from hub.inbox.cache import InboxCache


class PageCore(Protocol):
    """What every page's frame shows of an agent (the inbox's, or the county board's)."""

    @property
    def municipality(self) -> str: ...
    @property
    def notices(self) -> list[dict[str, str]]: ...
    @property
    def online(self) -> bool: ...
    @property
    def cache(self) -> InboxCache: ...
    @property
    def version(self) -> int: ...
    def name_of(self, municipality: str) -> str: ...
    async def acknowledge_notice(self, text: str) -> None: ...


def core_of(request: web.Request) -> AgentCore:
    """The contact person's agent, while unlocked (hub.localagent.lock): the inbox's pages."""
    held = request.app[KEEPER].held
    if not isinstance(held, AgentCore):  # locked (the gate sends the browser away first)
        raise web.HTTPSeeOther(UNLOCK_PATH)
    return held


def frame_of(request: web.Request) -> PageCore:
    """Any agent, while unlocked: what render() shows around a page."""
    held: PageCore | None = request.app[KEEPER].held
    if held is None:
        raise web.HTTPSeeOther(UNLOCK_PATH)
    return held


STATE_LABELS = {
    "pre_inquiry_sent": "Förhandsförfrågan skickad",
    "pre_inquiry_positive": "Positivt svar på förhandsförfrågan",
    "pre_inquiry_negative": "Nej på förhandsförfrågan",
    "sent": "Skickad",
    "delivered": "Levererad",
    "read": "Läst",
    "accepted": "Accepterad",
    "declined": "Nekad",
    "confirmed": "Bekräftad",
    "offer_declined": "Erbjudandet avböjt",
    "withdrawn": "Återkallad",
    "closed_elsewhere": "Avslutad: överenskommelse med annan kommun",
    "cancelled": "Avbruten efter ja",
    "moved": "Flyttat",
    "followed_up": "Uppföljd",
    "closed": "Avslutad",
    "conflicting": "Motstridig historik",
}


async def render(
    request: web.Request, template: str, status: int = 200, **context: object
) -> web.Response:
    core = frame_of(request)
    base = {
        "csrf": request.get(CSRF, ""),
        "municipality_name": core.name_of(core.municipality),
        "notices": page_notices(request, core),
        "back": request.path_qs,
        "hub_status": "online" if core.online else "offline",
        "outbox_count": await core.cache.outbox_count(),
        "live_version": core.version,
        "idle_minutes": request.app[KEEPER].idle_minutes,
        "idle_choices": IDLE_CHOICES,
    }
    if "unread_count" not in context:  # the tab title's "(3)": a page that counted says so
        base["unread_count"] = len(await core.cache.unread_cases())
    html = request.app[TEMPLATES].get_template(f"inbox/{template}").render({**base, **context})
    return web.Response(text=html, content_type="text/html", charset="utf-8", status=status)


def _when(at: int) -> str:
    return datetime.fromtimestamp(at, UTC).astimezone().strftime("%Y-%m-%d %H:%M")


def _deadline_fields(core: AgentCore, view: dict[str, Any]) -> dict[str, Any]:
    """The nearest deadline that concerns us (worked out when the case was stored): its date,
    the days left (negative: overdue)."""
    due = view.get("local_due")
    if not due:
        return {"deadline": None, "days_left": None, "overdue": False}
    now = int(core.clock())
    return {
        "deadline": due["date"],
        "days_left": days_left(due["at"], now, core.calendar),
        "overdue": now > due["at"],
    }


# What a read receipt names, in words: the inquiry (one per asked municipality), or the
# message of the thread by when it was sent.
_RECEIPT_NOUNS = {
    MessageKind.PRE_INQUIRY: "Förhandsförfrågan",
    MessageKind.INQUIRY: "Förfrågan",
    MessageKind.ANSWER: "Svaret",
    MessageKind.MESSAGE: "Meddelandet",
    MessageKind.WITHDRAWAL: "Återkallelsen",
}


def _receipt_line(core: AgentCore, kind: int, created_at: int, municipality: str, at: int) -> str:
    """'Förfrågan läst av Kommun B 2026-11-25 10:14', 'Meddelandet (2026-11-26 09:00) läst av
    Kommun B 2026-11-26 10:14'."""
    noun = _RECEIPT_NOUNS.get(MessageKind(kind), "Meddelandet")
    if kind not in {MessageKind.INQUIRY, MessageKind.PRE_INQUIRY}:
        noun = f"{noun} ({_when(created_at)})"
    return f"{noun} läst av {core.name_of(municipality)} {_when(at)}"


def _case_id(request: web.Request) -> bytes:
    text = request.match_info["case_id"]
    if len(text) != 32 or any(c not in "0123456789abcdef" for c in text):
        raise web.HTTPNotFound
    return bytes.fromhex(text)

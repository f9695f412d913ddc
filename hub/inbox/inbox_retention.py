"""When this inbox removes its decrypted copy of a case (gallring): once the case has ended
for our municipality (hub.protocol.ended, the one definition) longer ago than the network's
signed `inbox_retention_days`, or the national days until the settings are signed. Pure;
AgentCore.keep_less applies it, InboxCache.remove_case removes.

What the person exported to their own case file (the PDF) is theirs, outside the inbox.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from hub.crypto.registry import NATIONAL
from hub.inbox.case_state import CONFLICTING
from hub.inbox.casebook import case_from_view
from hub.protocol.ended import ended_for_at

if TYPE_CHECKING:
    from collections.abc import Mapping

DAY: Final = 86_400


def retention_days(settings: Mapping[str, object]) -> int:
    """The signed setting, or the national network's while none is signed."""
    days = settings.get("inbox_retention_days")
    return (
        days
        if isinstance(days, int) and not isinstance(days, bool)
        else NATIONAL.inbox_retention_days
    )


def ended_at(view: Mapping[str, Any], *, me: str) -> int | None:
    """When the kept case ended for `me`, or None: still running, or its history conflicting
    (what cannot be proved ended is never removed, by hand or by the retention pass)."""
    if any(r["state"] == CONFLICTING for r in view["requests"]) or view.get("problems"):
        return None
    return ended_for_at(case_from_view(dict(view)), me)


def due_for_removal(view: Mapping[str, Any], *, me: str, days: int, now: int) -> bool:
    """The kept case has ended for `me` at least `days` ago."""
    ended = ended_at(view, me=me)
    return ended is not None and ended + days * DAY <= now

"""Every date of a move says what it is: the moving date ("Flyttar 2026-12-15" ahead, "Flyttade
2026-12-01" after), the follow-up meeting (held on the date its signed step carries, or due by
the network's rule) and the end of the sender's financial responsibility. Pure: a request's
signed history (hub.protocol.case_codec entries) and today's date in, labelled lines out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from hub.protocol.deadlines import financial_overlap_last_day, follow_up_deadline

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from hub.protocol.deadlines import NetworkDeadlines, SwedishCalendar


@dataclass(frozen=True)
class DatedLine:
    label: str  # "Flyttdatum"
    text: str  # "Flyttar 2026-12-15"


def _last(history: Sequence[Mapping[str, Any]], key: str) -> date | None:
    value = next((h[key] for h in reversed(history) if h.get(key)), None)
    try:
        return None if value is None else date.fromisoformat(str(value))
    except ValueError:
        return None


def moved_label(history: Sequence[Mapping[str, Any]], *, today: date) -> str | None:
    """The state's label for a move registered ahead of its day (the state is "moved" from the
    step, but the person has not moved yet); None otherwise."""
    moving = _last(history, "moving_date")
    if moving is None or moving <= today:
        return None
    return f"Flytt registrerad, flyttar {moving.isoformat()}"


def move_dates(  # noqa: PLR0913 - the request, the day, the network's rules, whose money
    history: Sequence[Mapping[str, Any]],
    state: str,
    *,
    today: date,
    rules: NetworkDeadlines,
    calendar: SwedishCalendar,
    sender_name: str,
) -> list[DatedLine]:
    """The dated lines of one request: none before a move is registered."""
    moving = _last(history, "moving_date")
    if moving is None:
        return []
    if moving > today:
        lines = [DatedLine("Flyttdatum", f"Flyttar {moving.isoformat()}")]
    elif moving == today:
        lines = [DatedLine("Flyttdatum", f"Flyttar i dag, {moving.isoformat()}")]
    else:
        lines = [DatedLine("Flyttdatum", f"Flyttade {moving.isoformat()}")]
    held = _last(history, "follow_up_date")
    if held is not None:
        verb = "hålls" if held > today else "hölls"
        lines.append(DatedLine("Uppföljningsmöte", f"Mötet {verb} {held.isoformat()}"))
    elif state == "moved":
        due = follow_up_deadline(moving, rules, calendar)
        if due is not None:
            day = calendar.local_date(due).isoformat()
            lines.append(DatedLine("Uppföljningsmöte", f"Ska hållas senast {day}"))
    last_day = financial_overlap_last_day(moving, rules)
    verb = "har" if last_day >= today else "hade"
    lines.append(
        DatedLine(
            "Ekonomiskt ansvar",
            f"{sender_name} {verb} det ekonomiska ansvaret till och med {last_day.isoformat()}",
        )
    )
    return lines

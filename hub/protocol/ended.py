"""When a request, a case, and a case for one municipality have ended: the one definition the
two retention settings of the signed network settings (hub.crypto.registry.SettingsRecord) count
from. docs/protocol.md ("Network settings") states it; pure.

- A request has ended when its state is terminal in the lifecycle table: closed, withdrawn,
  declined, offer declined, cancelled, closed elsewhere, or a pre-inquiry answered no.
- A case has ended when it is closed (its outcome is recorded), or when it has requests and
  every one of them has ended. It ends at the latest of those moments. A case whose requests
  have all ended is open again if its sender asks another municipality (only possible before
  the hub has let it go), and its time of ending moves with it.
- A case has ended for a municipality: for the sender, when the whole case has ended; for an
  asked municipality, when its own request has ended.

`case_retention_days` counts from `case_ended_at`; `inbox_retention_days` from
`ended_for_at` of the inbox's own municipality.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.protocol.lifecycle import TERMINAL_STATES

if TYPE_CHECKING:
    from hub.protocol.lifecycle import Case, Request

__all__ = ["case_ended_at", "ended_for_at", "request_ended_at"]


def request_ended_at(request: Request) -> int | None:
    """When the request reached its terminal state, or None while it runs."""
    if request.state not in TERMINAL_STATES:
        return None
    return request.entered_at(request.state)


def case_ended_at(case: Case) -> int | None:
    """When the case ended (closed, or its last running request ended), or None."""
    if case.closed_at is not None:
        return case.closed_at
    if not case.requests:
        return None
    ends = [request_ended_at(r) for r in case.requests]
    if any(end is None for end in ends):
        return None
    return max(end for end in ends if end is not None)


def ended_for_at(case: Case, municipality: str) -> int | None:
    """When the case ended for `municipality` (its sender or one it asked), or None."""
    if municipality == case.sender:
        return case_ended_at(case)
    for request in case.requests:
        if request.municipality == municipality:
            return request_ended_at(request)
    return None

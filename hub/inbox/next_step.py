""" "Att göra nu": the one next step of a case for this contact person, and its deadline named.
Pure: the verified case in (each request's signed state and the actions the lifecycle allows
now, the running deadlines that concern us), one sentence out.

One table, by (our side, a request's state), ranks what each request asks of us; the most
urgent row whose action the lifecycle still allows wins, ties going to the nearest deadline.
A row with no action is waiting for the other side: it is the step only when nothing asks
anything of us, and then it says whom we wait for and by when. A case that has ended asks
for its outcome report (the sender's) or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from hub.protocol.deadlines import DueKind
from hub.protocol.lifecycle import Role

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import date

    from hub.protocol.deadlines import Due

# Not lifecycle events: steps of the page itself (the outcome report's section, and closing
# without a move when every request has ended).
REPORT_OUTCOME: Final = "report_outcome"


@dataclass(frozen=True)
class Asked:
    """One request of the case as its signed steps prove it."""

    municipality: str
    name: str  # its signed name
    state: str  # a lifecycle state (or "conflicting")
    actions: tuple[str, ...]  # the events the lifecycle allows us on it now


@dataclass(frozen=True)
class NextStep:
    text: str  # "Svara på förfrågan från Kommun A"
    action: str | None  # the action drawn first; None: nothing for us to do now
    target: str | None  # the request it is about (None: the case itself)
    deadline: str | None = None  # "Svara senast 2026-12-21"
    due_date: date | None = None


@dataclass(frozen=True)
class _Row:
    rank: int  # 1 first
    action: str | None  # None: we wait for the other side
    text: str  # {name}: the other municipality of the request
    due: DueKind | None = None  # the clock that dates it


_WAIT: Final = 9  # waiting rows come after every row that asks something of us
_ANSWER_INQUIRY = _Row(1, "accept", "Svara på förfrågan från {name}", DueKind.ANSWER)
_WAIT_ANSWER = _Row(_WAIT, None, "Vänta på svar från {name}", DueKind.ANSWER)
_FOLLOW_UP = _Row(
    2, "record_follow_up", "Håll uppföljningsmötet och registrera det", DueKind.FOLLOW_UP
)

# (we sent the case, the request's state) -> what it asks of us.
TABLE: Final[Mapping[tuple[bool, str], _Row]] = MappingProxyType(
    {
        # the asked municipality's side
        (False, "pre_inquiry_sent"): _Row(
            1, "pre_inquiry_yes", "Svara ja eller nej på förhandsförfrågan från {name}"
        ),
        (False, "sent"): _Row(_WAIT, None, "Förfrågan från {name} hämtas till inkorgen"),
        (False, "delivered"): _ANSWER_INQUIRY,
        (False, "read"): _ANSWER_INQUIRY,
        (False, "accepted"): _Row(
            _WAIT, None, "Vänta på att {name} svarar på erbjudandet", DueKind.OFFER_RESPONSE
        ),
        (False, "confirmed"): _Row(3, "record_move", "Registrera flytten när personen har flyttat"),
        (False, "moved"): _FOLLOW_UP,
        (False, "followed_up"): _Row(_WAIT, None, "Vänta på att {name} avslutar ärendet"),
        # the sender's side
        (True, "accepted"): _Row(
            1, "confirm", "Svara på erbjudandet från {name}", DueKind.OFFER_RESPONSE
        ),
        (True, "followed_up"): _Row(1, "close", "Avsluta ärendet och rapportera utfallet"),
        (True, "moved"): _FOLLOW_UP,
        (True, "confirmed"): _Row(
            3, "record_move", "Registrera flytten till {name} när personen har flyttat"
        ),
        (True, "pre_inquiry_positive"): _Row(
            4, "send_inquiry", "Skicka förfrågan till {name}, som svarade ja på förhandsförfrågan"
        ),
        (True, "pre_inquiry_sent"): _Row(
            _WAIT + 1, None, "Vänta på svar på förhandsförfrågan från {name}"
        ),
        (True, "sent"): _WAIT_ANSWER,
        (True, "delivered"): _WAIT_ANSWER,
        (True, "read"): _WAIT_ANSWER,
    }
)


def next_step(  # noqa: PLR0913 - the verified case's parts, all keyword-only
    *,
    mine: bool,
    sender_name: str,
    requests: Sequence[Asked],
    dues: Sequence[Due],
    closed: bool,
    report_filed: bool,
    may_close_not_moved: bool,
) -> NextStep:
    """The one next step: `mine` when we sent the case; `dues` the running deadlines that
    concern us (hub.inbox.casebook.Casebook.dues_of); `closed` when the case has its outcome."""
    if closed:
        return _ended(mine=mine, report_filed=report_filed)
    candidates = []
    for request in requests:
        row = TABLE.get((mine, request.state))
        if row is None or (row.action is not None and row.action not in request.actions):
            continue
        due = _due(row, request.municipality, dues)
        order = (row.rank, due.due_date.toordinal() if due else 10**7, request.name)
        candidates.append((order, row, request, due))
    if candidates:
        _, row, request, due = min(candidates, key=lambda c: c[0])
        name = request.name if mine else sender_name
        return NextStep(
            row.text.format(name=name),
            row.action,
            request.municipality,
            None if due is None else _deadline_text(due, mine=mine, name=name),
            None if due is None else due.due_date,
        )
    if mine and may_close_not_moved:
        return NextStep(
            "Ingen tillfrågad kommun kan ta emot personen. Avsluta ärendet utan flytt",
            "close_not_moved",
            None,
        )
    if not mine:
        return NextStep("Ärendet är avslutat för er kommun. Inget mer att göra.", None, None)
    return NextStep("Inget att göra just nu.", None, None)


def _ended(*, mine: bool, report_filed: bool) -> NextStep:
    if not mine:
        return NextStep("Ärendet är avslutat. Inget mer att göra.", None, None)
    if report_filed:
        return NextStep("Ärendet är avslutat och utfallet är rapporterat.", None, None)
    return NextStep("Rapportera utfallet", REPORT_OUTCOME, None)


def _due(row: _Row, municipality: str, dues: Sequence[Due]) -> Due | None:
    if row.due is None:
        return None
    return next((d for d in dues if d.kind is row.due and d.municipality == municipality), None)


def _deadline_text(due: Due, *, mine: bool, name: str) -> str:
    """'Svara senast 2026-12-21' for what we owe, 'Kommun B ska svara senast …' otherwise."""
    day = due.due_date.isoformat()
    if due.kind is DueKind.FOLLOW_UP:
        return f"Uppföljningsmötet ska hållas senast {day}"
    ours = (Role.SENDER if mine else Role.RECEIVER) in due.owed_by
    return f"Svara senast {day}" if ours else f"{name} ska svara senast {day}"

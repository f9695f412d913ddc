"""Notices: which content-free reminders a running deadline causes, when, to whom, and the
words they use. Pure: the hub's scheduler stores the alarms this module computes and fires
them; the local inbox shows the same notices as banners.

What a deadline causes (issue 6; docs/notices.md):

    stage       when (Stockholm)                               to whom
    ---------   --------------------------------------------   ------------------------------
    reminder    08:00, N working days before the due date      the side(s) that must act
    due_today   08:00 on the due date                          the side(s) that must act
    overdue     08:00 on the first working day after it        the acting side's manager, and
                                                               the other side's contact persons

The end of the sender's financial responsibility has nothing to act on: one notice on the day,
to both sides' contact persons, and no escalation. The follow-up meeting is owed by both
sides, so its escalation goes to both managers.

Why 08:00 the next working day for an escalation, not 00:00: a manager reads it at work, and
the inbox already shows the case as late from midnight.

When several stages of one clock have passed unseen (the hub was down), only the latest is
sent: "due today" is no longer true once the day has passed, and one overdue notice says it.

The words say only that something is new or due in the hub, and how many: never a
municipality, a case id, a person or any content. An e-mail may travel unencrypted, and even
the network's membership is confidential.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Final

from hub.protocol.deadlines import WORKING_DAY_STARTS, DueKind
from hub.protocol.lifecycle import Role

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from hub.protocol.deadlines import Due, SwedishCalendar


class Stage(enum.IntEnum):
    """A deadline's notices in the order they fire; a later stage supersedes an earlier one."""

    REMINDER = 1
    DUE_TODAY = 2
    OVERDUE = 3


class Topic(enum.StrEnum):
    """What a notice says, and all it says."""

    NEW = "new"  # a new message waits in the inbox
    DUE_SOON = "due_soon"
    DUE_TODAY = "due_today"
    OVERDUE = "overdue"
    # The administrator signed a key for, or a revocation of, one of the municipality's keys
    # (issue 14): to its manager, because its one contact person may be the one who is gone.
    DIRECTORY = "directory"


class Audience(enum.StrEnum):
    CONTACTS = "contacts"  # the municipality's contact persons
    MANAGER = "manager"  # the municipality's responsible manager (ansvarig chef)


@dataclass(frozen=True)
class Target:
    """Who hears of a notice: a side of the request, and who on that side."""

    side: Role  # SENDER: the case's sending municipality; RECEIVER: the asked municipality
    audience: Audience


@dataclass(frozen=True)
class Alarm:
    """One notice of one running clock, to fire at `fire_at` (Unix seconds)."""

    kind: DueKind
    municipality: str  # the asked municipality: the request the clock belongs to
    stage: Stage
    fire_at: int
    due_at: int  # the clock's due instant: with the stage, what makes a notice unique

    @property
    def clock(self) -> tuple[DueKind, str, int]:
        return (self.kind, self.municipality, self.due_at)

    @property
    def topic(self) -> Topic:
        return _TOPIC[self.stage]

    def targets(self) -> tuple[Target, ...]:
        return targets_of(self.kind, self.stage)

    def key(self, case_id: str) -> str:
        """What makes this notice unique across restarts: the idempotency key's stem."""
        return f"{clock_cause(case_id, self.municipality, self.kind, self.due_at)}/{self.stage}"


def clock_cause(case_id: str, municipality: str, kind: str, due_at: int) -> str:
    """What a deadline's notices wait on: they are cancelled when its clock stops."""
    return f"{clock_cause_prefix(case_id)}{municipality}/{kind}/{due_at}"


def clock_cause_prefix(case_id: str) -> str:
    """How every deadline cause and alarm key of one case begins (retention removes them)."""
    return f"clock/{case_id}/"


def delivery_cause(message_id: str, municipality: str) -> str:
    """What a new-message notice waits on: it is cancelled when the message is delivered."""
    return f"{delivery_cause_prefix(message_id)}{municipality}"


def delivery_cause_prefix(message_id: str) -> str:
    """How every delivery cause of one message begins (retention removes them)."""
    return f"delivery/{message_id}/"


_TOPIC: Final = {
    Stage.REMINDER: Topic.DUE_SOON,
    Stage.DUE_TODAY: Topic.DUE_TODAY,
    Stage.OVERDUE: Topic.OVERDUE,
}
_OTHER: Final = {Role.SENDER: Role.RECEIVER, Role.RECEIVER: Role.SENDER}


def targets_of(kind: DueKind, stage: Stage) -> tuple[Target, ...]:
    """Reminders and the day's notice go to whoever must act; an overdue clock goes to their
    manager and tells the other side it is waiting."""
    owed_by = _OWED_BY[kind]
    if kind is DueKind.FINANCIAL_OVERLAP_END:
        return tuple(Target(side, Audience.CONTACTS) for side in (Role.SENDER, Role.RECEIVER))
    if stage is not Stage.OVERDUE:
        return tuple(Target(side, Audience.CONTACTS) for side in owed_by)
    escalate = [Target(side, Audience.MANAGER) for side in owed_by]
    waiting = [Target(_OTHER[side], Audience.CONTACTS) for side in owed_by]
    return tuple(escalate + [t for t in waiting if t.side not in owed_by])


_OWED_BY: Final = {
    DueKind.ANSWER: (Role.RECEIVER,),
    DueKind.OFFER_RESPONSE: (Role.SENDER,),
    DueKind.FOLLOW_UP: (Role.SENDER, Role.RECEIVER),
    DueKind.FINANCIAL_OVERLAP_END: (Role.SENDER,),
}


def alarms_for(dues: Iterable[Due], calendar: SwedishCalendar) -> list[Alarm]:
    """Every notice the running clocks will cause, in firing order."""
    alarms: list[Alarm] = []
    for due in dues:
        due_at = int(due.due_at.timestamp())

        def alarm(stage: Stage, at: int, due: Due = due, due_at: int = due_at) -> Alarm:
            return Alarm(due.kind, due.municipality, stage, at, due_at)

        on_the_day = int(calendar.at_local(due.due_date, WORKING_DAY_STARTS).timestamp())
        if due.kind is DueKind.FINANCIAL_OVERLAP_END:
            alarms.append(alarm(Stage.DUE_TODAY, on_the_day))
            continue
        if due.remind_at is not None and int(due.remind_at.timestamp()) < on_the_day:
            alarms.append(alarm(Stage.REMINDER, int(due.remind_at.timestamp())))
        alarms.append(alarm(Stage.DUE_TODAY, on_the_day))
        next_working = calendar.next_working_day_on_or_after(due.due_date + timedelta(days=1))
        escalate = int(calendar.at_local(next_working, WORKING_DAY_STARTS).timestamp())
        alarms.append(alarm(Stage.OVERDUE, escalate))
    return sorted(alarms, key=lambda a: (a.fire_at, a.municipality, a.kind, a.stage))


def latest_per_clock(alarms: Iterable[Alarm]) -> list[Alarm]:
    """Of alarms that have all come due, the latest stage of each clock (see the module note)."""
    latest: dict[tuple[DueKind, str, int], Alarm] = {}
    for a in alarms:
        seen = latest.get(a.clock)
        if seen is None or a.stage > seen.stage:
            latest[a.clock] = a
    return sorted(latest.values(), key=lambda a: (a.fire_at, a.municipality, a.kind))


def current_stage(due: Due, now: int, calendar: SwedishCalendar) -> Alarm | None:
    """The latest notice of `due` that has fired by `now` (for the inbox's banners), if any."""
    passed = [a for a in alarms_for([due], calendar) if a.fire_at <= now]
    return max(passed, key=lambda a: a.stage) if passed else None


# -- the words ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoticeText:
    subject: str
    body: str


SUBJECT: Final = "Nytt i hubben"
_LINES: Final = {
    Topic.NEW: ("nytt meddelande väntar", "nya meddelanden väntar"),
    Topic.DUE_SOON: (
        "ärende har en tidsfrist som går ut snart",
        "ärenden har en tidsfrist som går ut snart",
    ),
    Topic.DUE_TODAY: (
        "ärende har en tidsfrist som går ut i dag",
        "ärenden har en tidsfrist som går ut i dag",
    ),
    Topic.OVERDUE: (
        "ärende har en tidsfrist som har passerat",
        "ärenden har en tidsfrist som har passerat",
    ),
    Topic.DIRECTORY: (
        "ändring av er kommuns nycklar har signerats av länsstyrelsen",
        "ändringar av er kommuns nycklar har signerats av länsstyrelsen",
    ),
}
# A manager's e-mail that tells of a key change: no deadline has passed, and what to ask.
_DIRECTORY_GREETING: Final = "Hej!\n\nDu får det här meddelandet som ansvarig chef:"
_DIRECTORY_ACTION: Final = (
    "Fråga er kontaktperson om ändringen är känd. Den syns i inkorgen under Kontakt och "
    "nycklar. Känner ingen till den, eller finns ingen kontaktperson kvar, ring länsstyrelsen. "
    "Inkorgen:"
)
_GREETING: Final = {
    Audience.CONTACTS: "Hej!\n\nDet finns nytt i hubben för dig som kontaktperson:",
    Audience.MANAGER: (
        "Hej!\n\nDu får det här meddelandet som ansvarig chef. En tidsfrist har passerat i hubben:"
    ),
}
_ACTION: Final = {
    Audience.CONTACTS: "Öppna din inkorg för att se vad det gäller:",
    Audience.MANAGER: "Tala med er kontaktperson, som ser vad det gäller i sin inkorg:",
}
_FOOTER: Final = (
    "Meddelandet skickas automatiskt och säger med avsikt ingenting om ärendena. Svara inte på det."
)


def topic_line(topic: Topic, count: int) -> str:
    """'1 ärende har en tidsfrist som går ut i dag', '3 nya meddelanden väntar'."""
    if count < 1:
        raise ValueError("a notice counts at least one thing")
    one, many = _LINES[topic]
    return f"{count} {one if count == 1 else many}"


def render_notice(audience: Audience, counts: Mapping[Topic, int], link: str) -> NoticeText:
    """The whole e-mail: the same subject for every notice, one line per topic with its count,
    and the link to the inbox. Nothing else can be put into it."""
    lines = [f"- {topic_line(topic, counts[topic])}" for topic in Topic if counts.get(topic)]
    if not lines:
        raise ValueError("a notice must say something")
    greeting, action = _GREETING[audience], _ACTION[audience]
    if audience is Audience.MANAGER and counts.get(Topic.DIRECTORY):
        greeting, action = _DIRECTORY_GREETING, _DIRECTORY_ACTION
    body = "\n".join([greeting, "", *lines, "", action, link, "", _FOOTER, ""])
    return NoticeText(SUBJECT, body)


def banner_counts(dues: Iterable[Due], now: int, calendar: SwedishCalendar) -> Counter[Topic]:
    """What the local inbox's banners say: the current stage of each deadline that concerns
    the contact person (the caller picks those), counted by topic, in the e-mails' words."""
    stages = (current_stage(due, now, calendar) for due in dues)
    return Counter(alarm.topic for alarm in stages if alarm is not None)

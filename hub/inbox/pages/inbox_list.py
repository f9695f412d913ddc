"""The inbox's list of cases (Inkorg, Skickade, Avslutade) and its deadline banners."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web

from hub.inbox.pages.common import STATE_LABELS, _deadline_fields, _receipt_line, core_of, render
from hub.inbox.pages.list_filter import SEARCH, list_filter, municipality_choices, state_choices
from hub.inbox.sync import AgentCore, due_from_json
from hub.protocol.case_reference import case_reference
from hub.protocol.deadlines import WORKING_DAY_STARTS, DueKind, NetworkDeadlines
from hub.protocol.lifecycle import RequestState
from hub.protocol.notices import Topic, banner_counts, topic_line


async def inbox(request: web.Request) -> web.Response:
    core = core_of(request)
    box = request.query.get("box", "inbox")
    if box not in {"inbox", "sent", "closed"}:
        box = "inbox"
    flagged = await _flagged_cases(core, request.app[BANNERS])
    topic = next((t for t in BANNER_ORDER if t == request.query.get("frist")), None)
    if topic is not None:
        box = "inbox"  # a banner's list: the open cases with that deadline, nearest first
    index = request.app[SEARCH]
    index.warm(core)  # built in the background after unlocking, ready for the first search
    wanted = list_filter(request, core)
    only: set[bytes] | None = None if topic is None else flagged.get(topic, set())
    without: set[bytes] | None = None
    if wanted.words:
        found = await index.search(core, wanted.words)
        if only is None and len(found) > len(index.words.numbers) // 2:
            without = index.words.cases - found  # the fewer ids to hand the query
        else:
            only = found if only is None else only & found
    unread = await core.cache.unread_cases()
    views_ = await core.cache.list_cases(
        box, only=only, without=without, state=wanted.state, municipality=wanted.municipality
    )
    read = await core.cache.read_receipts_by_case([bytes.fromhex(v["case_id"]) for v in views_])
    items = [
        _inbox_item(core, view, unread, read[bytes.fromhex(view["case_id"])]) for view in views_
    ]
    elsewhere = None
    if wanted.active and topic is None and not views_:  # does the other list have some?
        other = "inbox" if box == "closed" else "closed"
        found_there = await core.cache.list_cases(
            other,
            limit=201,
            only=only,
            without=without,
            state=wanted.state,
            municipality=wanted.municipality,
        )
        if found_there:
            elsewhere = {
                "box": _BOX_NAMES[other],
                "count": len(found_there) if len(found_there) <= 200 else "fler än 200",
                "href": str(request.rel_url.update_query(box=other)),
            }
    banners = [
        {
            "topic": str(t),
            "text": topic_line(t, len(flagged[t])),
            "href": f"/?frist={t}",
            "urgent": t is not Topic.DUE_SOON,
        }
        for t in BANNER_ORDER
        if flagged.get(t)
    ]
    return await render(
        request,
        "inbox.html",
        items=items,
        box=box,
        deadline_banners=banners,
        deadline_filter=None if topic is None else _FILTER_TITLES[topic],
        search=wanted.as_context(
            await state_choices(core, wanted), await municipality_choices(core, wanted)
        ),
        unread_count=len(unread),
        elsewhere=elsewhere,
    )


_BOX_NAMES = {"inbox": "Inkorg", "closed": "Avslutade"}


BANNER_ORDER = (Topic.OVERDUE, Topic.DUE_TODAY, Topic.DUE_SOON)


_FILTER_TITLES = {
    Topic.OVERDUE: "tidsfristen har passerat",
    Topic.DUE_TODAY: "tidsfristen går ut i dag",
    Topic.DUE_SOON: "tidsfristen går ut snart",
}


@dataclass
class BannerMemo:
    """The last banner count, reused while neither the cases nor the hour could change it."""

    key: tuple[int, NetworkDeadlines] | None = None
    since: int = 0
    until: int = 0
    flagged: dict[Topic, set[bytes]] = field(default_factory=dict)
    # Within one stretch [since, until) a running deadline's notice stage cannot change: what
    # each (as stored) says is kept, so a changed case does not recount all the others.
    topics: dict[str, Topic | None] = field(default_factory=dict)


BANNERS = web.AppKey("banners", BannerMemo)


async def _flagged_cases(core: AgentCore, memo: BannerMemo) -> dict[Topic, set[bytes]]:
    """Which open cases each deadline banner counts, once per case, among the deadlines that
    concern us. A deadline whose last day has ended is overdue from that second, as the list
    beside the banners says "Försenad" (the e-mail waits for 08:00 the next working day);
    the end of financial responsibility, which nobody acts on, is then no longer shown. A
    deadline still running counts by the notices' own rule: its latest notice fired by now.

    The count changes only when a case changes (the agent's version), the network's rules
    change, or the clock passes a notice's firing time (08:00 Stockholm, when every notice
    fires) or the end of a day; until then the last count is reused."""
    now = int(core.clock())
    key = (core.version, core.deadline_rules)
    if memo.since <= now < memo.until:
        if memo.key == key:
            return memo.flagged
    else:
        memo.since, memo.until, memo.topics = now, _next_banner_change(now, core), {}
    if memo.key is not None and memo.key[1] != core.deadline_rules:
        memo.topics = {}
    memo.key = key
    memo.flagged = await _count_flagged(core, now, memo.topics)
    return memo.flagged


def _next_banner_change(now: int, core: AgentCore) -> int:
    today = core.calendar.local_date(now)
    morning = int(core.calendar.at_local(today, WORKING_DAY_STARTS).timestamp())
    return morning if now < morning else int(core.calendar.end_of_day(today).timestamp()) + 1


async def _count_flagged(
    core: AgentCore, now: int, topics: dict[str, Topic | None]
) -> dict[Topic, set[bytes]]:
    flagged: dict[Topic, set[bytes]] = {
        Topic.OVERDUE: await core.cache.cases_past_due(
            now, ignore=str(DueKind.FINANCIAL_OVERLAP_END)
        )
    }
    for case_id, stored in await core.cache.alarmed_dues(now):
        if stored not in topics:
            # A case's banners are the topics of its deadlines, each by the notices' rule.
            counted = banner_counts([due_from_json(json.loads(stored))], now, core.calendar)
            topics[stored] = next(iter(counted), None)
        topic = topics[stored]
        if topic is not None:
            flagged.setdefault(topic, set()).add(case_id)
    return flagged


PRE_STATES: Final = frozenset(
    {
        RequestState.PRE_INQUIRY_SENT,
        RequestState.PRE_INQUIRY_POSITIVE,
        RequestState.PRE_INQUIRY_NEGATIVE,
    }
)


def _inbox_item(
    core: AgentCore,
    view: dict[str, Any],
    unread: set[bytes],
    read: list[tuple[int, int, str, int]],
) -> dict[str, Any]:
    mine = view["from"] == core.municipality
    others = [core.name_of(r["municipality"]) for r in view["requests"]]
    if not view["requests"]:
        state_label = "Nytt ärende"
    elif len(view["requests"]) == 1:
        state_label = STATE_LABELS.get(view["requests"][0]["state"], "")
    else:
        state_label = "; ".join(
            f"{core.name_of(r['municipality'])}: {STATE_LABELS.get(r['state'], '')}"
            for r in view["requests"]
        )
    times = [h["at"] for r in view["requests"] for h in r["history"]]
    # A case that has asked no one formally yet is a förhandsförfrågan, as its page says.
    pre_only = bool(view["requests"]) and all(r["state"] in PRE_STATES for r in view["requests"])
    noun = "Förhandsförfrågan" if pre_only else "Förfrågan"
    return {
        "case_id": view["case_id"],
        "mine": mine,
        # When it was sent (it came in), and the latest signed step: Stockholm dates.
        "started": _local_date(core, min(times)) if times else None,
        "latest": _local_date(core, max(times)) if times else None,
        "reference": case_reference(bytes.fromhex(view["case_id"])),
        "title": f"{noun} till {', '.join(others)}"
        if mine
        else f"{noun} från {core.name_of(view['from'])}",
        "counterpart_name": ", ".join(others) if mine else core.name_of(view["from"]),
        "state_label": state_label,
        **_deadline_fields(core, view),
        "unread": bytes.fromhex(view["case_id"]) in unread,
        "read_by": [
            _receipt_line(core, kind, created_at, m, t)
            for kind, created_at, m, t in read
            if m != core.municipality
        ],
    }


def _local_date(core: AgentCore, at: int) -> str:
    return core.calendar.local_date(int(at)).isoformat()

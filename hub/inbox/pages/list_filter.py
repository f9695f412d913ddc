"""The list's search and filters: a GET form (Sök, Läge, Kommun) that works without
JavaScript, read here into what the list asks the cache and the search index for. The words
are searched in memory only (hub/inbox/search_index.py); nothing typed is kept."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.inbox.pages.common import STATE_LABELS
from hub.inbox.search_index import SearchIndex

if TYPE_CHECKING:
    from hub.inbox.sync import AgentCore

SEARCH = web.AppKey("search_index", SearchIndex)
MAX_QUERY = 200  # characters of a search kept; a longer one is cut


@dataclass(frozen=True)
class ListFilter:
    """What the person asked the list for: words to search, a state, a municipality (each
    None or "" when not asked for); an unknown state or municipality counts as not asked."""

    words: str = ""
    state: str | None = None
    municipality: str | None = None

    @property
    def active(self) -> bool:
        return bool(self.words or self.state or self.municipality)

    def described(self, name_of: dict[str, str]) -> str:
        """In words, for the caption and the empty result: 'sökningen ”Patriark”, läget
        Accepterad, Kommun B'."""
        parts = []
        if self.words:
            parts.append(f"sökningen ”{self.words}”")
        if self.state:
            parts.append(f"läget {STATE_LABELS[self.state]}")
        if self.municipality:
            parts.append(name_of.get(self.municipality, self.municipality))
        return ", ".join(parts)

    def as_context(
        self, states: list[tuple[str, str]], municipalities: list[tuple[str, str]]
    ) -> dict[str, Any]:
        names = dict(municipalities)
        return {
            "words": self.words,
            "state": self.state or "",
            "municipality": self.municipality or "",
            "active": self.active,
            "described": self.described(names),
            "states": states,
            "municipalities": municipalities,
        }


async def list_filter(request: web.Request, core: AgentCore) -> ListFilter:
    """The query's sok, lage and kommun, each checked against what the list can show."""
    words = " ".join(request.query.get("sok", "").split())[:MAX_QUERY]
    state = request.query.get("lage", "")
    municipality = request.query.get("kommun", "")
    known = {m.id for m in core.members} | set(core.names)
    return ListFilter(
        words=words,
        state=state if state in STATE_LABELS else None,
        municipality=municipality if municipality in known else None,
    )


async def state_choices(core: AgentCore, wanted: ListFilter) -> list[tuple[str, str]]:
    """Läge's choices: the states some kept case is in (and the one asked for), in the
    lifecycle's order, each by its Swedish label."""
    present = await core.cache.case_states()
    if wanted.state:
        present.add(wanted.state)
    return [(state, label) for state, label in STATE_LABELS.items() if state in present]


def municipality_choices(core: AgentCore) -> list[tuple[str, str]]:
    """Kommun's choices: the network's other municipalities, by their signed names."""
    members = {m.id for m in core.members} | set(core.names)
    members.discard(core.municipality)
    return sorted(((m, core.name_of(m)) for m in members), key=lambda c: (c[1].casefold(), c[0]))

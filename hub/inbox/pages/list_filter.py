"""The list's search and filters (Sök, Läge, Kommun), read into what the list asks the cache
and the search index for. It works without JavaScript.

The filters are a plain GET query (?lage=read&kommun=kommun-b): states and municipality ids,
which the hub knows too. The words searched for are not: in a URL they would be kept in the
browser's history on disk. So the form posts (POST /sok, CSRF-checked like every post) and is
answered with a redirect to the list whose URL names the search by a random token only
(?sokning=…); the words stay in this process's memory for the browser session, forgotten at
every lock as the index is (hub/inbox/search_index.py). Back and reload show the same list."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

from hub.inbox.pages.common import STATE_LABELS, core_of
from hub.inbox.search_index import SearchIndex
from hub.localagent.security import COOKIE

if TYPE_CHECKING:
    from hub.inbox.sync import AgentCore

MAX_QUERY = 200  # characters of a search kept; a longer one is cut
KEPT_SEARCHES = 50  # per browser session: older tokens stop working (the list says so)
EXPIRED = (
    "Sökningen finns inte längre: inkorgen har låsts eller startats om sedan den gjordes. "
    "Sök igen om du vill."
)


@dataclass
class Searches:
    """The words of each search, by its token, per browser session (its cookie)."""

    words: dict[tuple[str, str], str] = field(default_factory=dict)

    def keep(self, session: str, words: str) -> str:
        token = secrets.token_urlsafe(12)
        self.words[session, token] = words
        mine = [key for key in self.words if key[0] == session]
        for key in mine[:-KEPT_SEARCHES]:
            del self.words[key]
        return token

    def find(self, session: str, token: str) -> str | None:
        return self.words.get((session, token))

    def clear(self) -> None:
        """Locked means blind (G18, G-L1): no search outlives a lock."""
        self.words.clear()


SEARCH = web.AppKey("search_index", SearchIndex)
SEARCHES = web.AppKey("searches", Searches)


async def search_posted(request: web.Request) -> web.StreamResponse:
    """POST /sok: the words kept under a new token; on to the list, words out of the URL."""
    core_of(request)  # locked: to the unlock page
    form = await request.post()
    query: dict[str, str] = {}
    box = str(form.get("box", ""))
    if box in {"sent", "closed"}:
        query["box"] = box
    for name in ("lage", "kommun"):
        value = str(form.get(name, ""))
        if value:
            query[name] = value
    words = " ".join(str(form.get("sok", "")).split())[:MAX_QUERY]
    if words:
        session = request.cookies.get(COOKIE, "")
        query["sokning"] = request.app[SEARCHES].keep(session, words)
    raise web.HTTPSeeOther("/" + (f"?{urlencode(query)}" if query else ""))


@dataclass(frozen=True)
class ListFilter:
    """What the person asked the list for: words to search, a state, a municipality (each
    None or "" when not asked for); an unknown state or municipality counts as not asked."""

    words: str = ""
    state: str | None = None
    municipality: str | None = None
    token: str = ""  # the search's token in the URL ("" when there are no words)
    expired: bool = False  # the URL names a search this session no longer holds

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
            "token": self.token,
            "expired": EXPIRED if self.expired else "",
            "state": self.state or "",
            "municipality": self.municipality or "",
            "active": self.active,
            "described": self.described(names),
            "states": states,
            "municipalities": municipalities,
        }


def list_filter(request: web.Request, core: AgentCore) -> ListFilter:
    """The query's sokning (the token of words kept), lage and kommun, each checked against
    what the list can show; an unknown one counts as not asked for."""
    token = request.query.get("sokning", "")
    words = None
    if token:
        words = request.app[SEARCHES].find(request.cookies.get(COOKIE, ""), token)
    state = request.query.get("lage", "")
    municipality = request.query.get("kommun", "")
    known = {m.id for m in core.members} | set(core.names)
    return ListFilter(
        words=words or "",
        state=state if state in STATE_LABELS else None,
        municipality=municipality if municipality in known else None,
        token=token if words else "",
        expired=bool(token) and words is None,
    )


async def state_choices(core: AgentCore, wanted: ListFilter) -> list[tuple[str, str]]:
    """Läge's choices: the states some kept case is in (and the one asked for), in the
    lifecycle's order, each by its Swedish label."""
    present = await core.cache.case_states()
    if wanted.state:
        present.add(wanted.state)
    return [(state, label) for state, label in STATE_LABELS.items() if state in present]


async def municipality_choices(core: AgentCore, wanted: ListFilter) -> list[tuple[str, str]]:
    """Kommun's choices: the other municipalities of the kept cases (the verified parties, not
    the whole network's list), and the one asked for, by their signed names, sorted by name."""
    present = await core.cache.case_municipalities()
    if wanted.municipality:
        present.add(wanted.municipality)
    present.discard(core.municipality)
    return sorted(((m, core.name_of(m)) for m in present), key=lambda c: (c[1].casefold(), c[0]))

"""Search over the contact person's own cases, held in this process's memory only.

The cache keeps what a person wrote encrypted (hub/inbox/cache.py); an index on disk would be
a readable copy of it beside the encrypted one. So the words are indexed here, in memory: built
from the opened inquiries and förhandsförfrågningar after the agent is unlocked, brought up to
date with what has arrived since whenever a search asks (the agent's version tells), and
dropped at every lock (hub.localagent.lock.Keeper.forget_at_lock), as the pages' other
per-session memory is.

What a person would look for: the inquiry's fields (what the case page shows of it), the
spoken case reference ("7KQ2-M9XD", also without its dash), and the municipalities' names,
matched against the names the signed registry gives now (a renamed municipality is found by its
new name). Each word of the query must begin a word of the case (AND of prefixes), case and
accents as typed aside from case: "patri" finds "Patriark", "7kq2" the reference.

Python gives no way to wipe a str: what is dropped lives on in freed memory until it is
reused, as the unlocked keys do (docs/threat-model.md).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from hub.crypto.format import MessageKind
from hub.inbox.documents import Inquiry, read_inquiry
from hub.protocol.case_reference import case_reference

if TYPE_CHECKING:
    from collections.abc import Iterable

    from hub.inbox.cache import InboxCache

log = logging.getLogger("hub.inbox")
_WORD = re.compile(r"\w+")
BATCH = 500  # documents opened per read while building: pages are served in between
MAX_QUERY_WORDS = 12  # a longer query is cut: each word is one more set to intersect


def words_of(text: str) -> list[str]:
    """The words of `text` as the index keeps them: letters and digits, case folded."""
    return _WORD.findall(text.casefold())


def document_texts(kind: int, document: object) -> list[str]:
    """What a person may search for in a first document: the inquiry's fields as its page
    shows them (nothing of one that cannot be read); of a förhandsförfrågan, its texts."""
    if kind == MessageKind.INQUIRY:
        inquiry = read_inquiry(document)
        if not isinstance(inquiry, Inquiry):
            return []
        return [text for section in inquiry.sections for _, text in section.fields]
    if isinstance(document, dict):
        return [value for value in document.values() if isinstance(value, str)]
    return []


def reference_words(case_id: bytes) -> list[str]:
    """The spoken reference's groups, and the whole of it without the dash."""
    groups = words_of(case_reference(case_id))
    return [*groups, "".join(groups)]


@dataclass
class WordIndex:
    """Pure: words to the cases that hold them, and the municipalities of each case."""

    cases_by_word: dict[str, set[bytes]] = field(default_factory=dict)
    cases_by_municipality: dict[str, set[bytes]] = field(default_factory=dict)
    cases: set[bytes] = field(default_factory=set)
    _sorted: list[str] | None = None  # the words, sorted, for prefix lookups

    def add(self, case_id: bytes, texts: Iterable[str], municipalities: Iterable[str]) -> None:
        self.cases.add(case_id)
        for word in {*reference_words(case_id), *(w for t in texts for w in words_of(t))}:
            found = self.cases_by_word.get(word)
            if found is None:
                self.cases_by_word[word] = found = set()
                self._sorted = None
            found.add(case_id)
        for municipality in municipalities:
            self.cases_by_municipality.setdefault(municipality, set()).add(case_id)

    def clear(self) -> None:
        self.cases_by_word.clear()
        self.cases_by_municipality.clear()
        self.cases.clear()
        self._sorted = None

    def search(self, query: str, names: dict[str, str]) -> set[bytes]:
        """The cases where every word of `query` begins a word of the case or of the name of
        one of its municipalities (`names`: id -> name; an unnamed one by its id)."""
        wanted = list(dict.fromkeys(words_of(query)))[:MAX_QUERY_WORDS]
        if not wanted:
            return set(self.cases)
        name_words = {
            m: words_of(names.get(m, m)) for m in self.cases_by_municipality
        }  # a few hundred municipalities at most: looked at anew, so a new name counts at once
        hits: set[bytes] | None = None
        for prefix in wanted:
            found = self._with_prefix(prefix)
            for municipality, words in name_words.items():
                if any(w.startswith(prefix) for w in words):
                    found |= self.cases_by_municipality[municipality]
            hits = found if hits is None else hits & found
            if not hits:
                return set()
        return hits or set()

    def _with_prefix(self, prefix: str) -> set[bytes]:
        if self._sorted is None:
            self._sorted = sorted(self.cases_by_word)
        found: set[bytes] = set()
        at = bisect.bisect_left(self._sorted, prefix)
        while at < len(self._sorted) and self._sorted[at].startswith(prefix):
            found |= self.cases_by_word[self._sorted[at]]
            at += 1
        return found


class Indexed(Protocol):
    """What the index reads of an agent (hub.inbox.sync.AgentCore)."""

    @property
    def cache(self) -> InboxCache: ...
    @property
    def version(self) -> int: ...
    @property
    def names(self) -> dict[str, str]: ...


@dataclass
class SearchIndex:
    """The index of the agent now unlocked; `forget` drops it (at every lock)."""

    words: WordIndex = field(default_factory=WordIndex)
    owner: int | None = None  # id() of the agent it was built for
    version: int | None = None  # the agent's version it is current with
    messages: set[bytes] = field(default_factory=set)  # the first documents indexed
    _turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    _warming: asyncio.Task[None] | None = None

    def forget(self) -> None:
        """Locked means blind: nothing of the index outlives a lock (G-L1)."""
        if self._warming is not None:
            self._warming.cancel()
            self._warming = None
        self.words.clear()
        self.messages.clear()
        self.owner = self.version = None

    def warm(self, core: Indexed) -> None:
        """Build the index in the background (the first page after unlocking asks), so that
        the first search need not wait for it."""
        if self.owner == id(core) or (self._warming is not None and not self._warming.done()):
            return
        self._warming = asyncio.create_task(self._warm(core))

    async def _warm(self, core: Indexed) -> None:
        with contextlib.suppress(Exception):  # a search will try again, and say so if it fails
            await self.current(core)

    async def search(self, core: Indexed, query: str) -> set[bytes]:
        """The ids of the cases `query` finds (hub/inbox/search_index.py's rule)."""
        await self.current(core)
        return self.words.search(query, core.names)

    async def current(self, core: Indexed) -> None:
        """Built for `core`, with every first document it keeps at its present version."""
        async with self._turn:
            if self.owner != id(core):
                self.words.clear()
                self.messages.clear()
                self.owner, self.version = id(core), None
            if self.version == core.version:
                return
            version = core.version
            kept = await core.cache.first_document_ids()
            if self.messages - kept:  # cases removed (gallrade): their words go too
                self.words.clear()
                self.messages.clear()
            new = sorted(kept - self.messages)
            for at in range(0, len(new), BATCH):
                opened = await core.cache.first_documents(new[at : at + BATCH])
                for message_id, case_id, kind, municipalities, document in opened:
                    self.words.add(case_id, document_texts(kind, document), municipalities)
                    self.messages.add(message_id)
            self.version = version

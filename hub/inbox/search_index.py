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
new name). A municipality's whole name in the query stands for its cases; every other word must
begin a word of the case (AND of prefixes), accents as typed, case aside: "patri" finds
"Patriark", "7kq2" the reference, "Kommun C huskatt" Kommun C's cases that mention a huskatt.

Python gives no way to wipe a str: what is dropped lives on in freed memory until it is
reused, as the unlocked keys do (docs/threat-model.md).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import re
from array import array
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
BATCH = 100  # documents opened per read while building: pages are served in between
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
    """Pure: words to the cases that hold them, and the municipalities of each case.

    Each case is a number here, and each word's cases an array of numbers: an array is not
    followed by Python's cycle collector, whereas sets of 10,000 cases' words (millions of
    entries) were, and made every full collection, and the page it fell on, 150 ms slower."""

    cases_by_word: dict[str, array[int]] = field(default_factory=dict)
    cases_by_municipality: dict[str, array[int]] = field(default_factory=dict)
    numbers: dict[bytes, int] = field(default_factory=dict)  # case id -> its number here
    ids: list[bytes] = field(default_factory=list)  # number -> case id
    _sorted: list[str] | None = None  # the words, sorted, for prefix lookups

    @property
    def cases(self) -> set[bytes]:
        return set(self.numbers)

    def add(self, case_id: bytes, texts: Iterable[str], municipalities: Iterable[str]) -> None:
        number = self.numbers.get(case_id)
        if number is None:
            number = self.numbers[case_id] = len(self.ids)
            self.ids.append(case_id)
        words = set(words_of("\n".join(texts)))
        words.update(reference_words(case_id))
        by_word = self.cases_by_word
        for word in words:  # the build's inner loop: kept to a subscript and an append
            try:
                by_word[word].append(number)
            except KeyError:
                by_word[word] = array("I", (number,))
                self._sorted = None
        for municipality in municipalities:
            self.cases_by_municipality.setdefault(municipality, array("I")).append(number)

    def clear(self) -> None:
        self.cases_by_word.clear()
        self.cases_by_municipality.clear()
        self.numbers.clear()
        self.ids.clear()
        self._sorted = None

    def search(self, query: str, names: dict[str, str]) -> set[bytes]:
        """The cases that match every part of `query`: a municipality's whole name in it
        ("Kommun C", "Upplands Väsby") is that municipality's cases; each other word must
        begin a word of the case or of one of its municipalities' names (`names`: id ->
        name; an unnamed one by its id)."""
        # A few hundred municipalities at most: their names are looked at anew each time, so
        # a renamed one is found by its new name at once.
        name_words = {m: words_of(names.get(m, m)) for m in self.cases_by_municipality}
        rest = f" {' '.join(words_of(query))} "
        hits: set[int] | None = None
        for municipality, words in sorted(name_words.items(), key=lambda n: -len(n[1])):
            phrase = f" {' '.join(words)} "
            if words and phrase in rest:
                rest = rest.replace(phrase, " ")
                found = set(self.cases_by_municipality[municipality])
                hits = found if hits is None else hits & found
        for prefix in list(dict.fromkeys(rest.split()))[:MAX_QUERY_WORDS]:
            found = self._with_prefix(prefix)
            for municipality, words in name_words.items():
                if any(w.startswith(prefix) for w in words):
                    found.update(self.cases_by_municipality[municipality])
            hits = found if hits is None else hits & found
            if not hits:
                return set()
        return self.cases if hits is None else {self.ids[n] for n in hits}

    def _with_prefix(self, prefix: str) -> set[int]:
        if self._sorted is None:
            self._sorted = sorted(self.cases_by_word)
        found: set[int] = set()
        at = bisect.bisect_left(self._sorted, prefix)
        while at < len(self._sorted) and self._sorted[at].startswith(prefix):
            found.update(self.cases_by_word[self._sorted[at]])
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
                await asyncio.sleep(0)  # a page waiting meanwhile is served now
            self.version = version

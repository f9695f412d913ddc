"""Small-number suppression: with 13-15 cases a year, a count of one or two can point at a person.

The rule, for every count the coordinator sees (breakdown cells and totals alike):

- A count of 1 or 2 is shown as "<3" (primary suppression).
- A count of 0 is shown as "0". Hiding every zero would hide what the follow-up is for (the
  members that never receive a case) and would turn each "<3" into a guess between 0 and 2
  for the reader too. A zero carries no person, only the absence of one.
- Complementary suppression: the shown numbers must not give a suppressed count back. The
  reader is assumed to know every relation between the figures (`Line`: a total is the sum of
  its parts, within a table and between tables), that "<3" means 0, 1 or 2 and that "x" means 3
  or more. Whenever those pin a suppressed count to one value, one more cell on a line through
  it is hidden, and the check runs again until nothing is pinned:
    * a zero first, shown as "<3": true (0 < 3) and it costs the reader no information;
    * else the smallest other count: "<3" if it is 1-2, else "x" (it is 3 or more);
    * a part before a total, so the headline figures stay visible when they can.
  Example: 7 cases, 1 woman with children, 6 without children, no men. The 1 becomes "<3"; the
  7 minus the 6 would give it back, so one man row (a 0) also shows "<3": the reader learns
  only that those two rows hold 1 between them.

What "pinned" means: the bounds the reader can derive by subtracting shown cells from shown
totals along any line, repeated across lines until they settle (bounds propagation). That is
exact for a single list with its total. For tables with several crossing lines a full linear
program could in rare cases infer more; the property tests search small tables exhaustively.
What this does not hide: that all of a group share one category ("all 5 ended without a
move") is visible whenever the other categories are 0.

Pure functions: `suppress` over any set of keyed counts and lines, `suppress_table` over one
table of rows x columns with totals.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

SMALL: Final = "<3"  # a count of 0, 1 or 2 (1-2 always; 0 only to protect another cell)
HIDDEN: Final = "x"  # a count of 3 or more, hidden so that a small one cannot be derived
NOT_SHOWN: Final = ".."  # not shown, any value: where even "x" says too much; a rate or median
THRESHOLD: Final = 3  # counts from 1 up to THRESHOLD - 1 are never shown
LEGEND: Final = (
    f'"{SMALL}" betyder 0, 1 eller 2. "{HIDDEN}" betyder 3 eller fler, dolt så att ett litet '
    f'antal inte kan räknas fram. "{NOT_SHOWN}" betyder att uppgiften inte visas: underlaget '
    "är för litet, eller den skulle avslöja ett litet antal."
)

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Line(Generic[K]):
    """`total` is the sum of `parts`: a relation the reader of the figures knows."""

    total: K
    parts: tuple[K, ...]


def shown_count(count: int) -> str:
    """One count on its own, with no lines: "<3" for 1-2, else the number."""
    _check_count(count)
    return SMALL if 0 < count < THRESHOLD else str(count)


def suppress(counts: Mapping[K, int], lines: Iterable[Line[K]] = ()) -> dict[K, str]:
    """Every count as it may be shown: its number, "<3" or "x". See the module's rule.

    Raises ValueError when a count is negative or a line does not add up (a bug upstream:
    suppression that trusts a wrong relation protects nothing).
    """
    lines = tuple(lines)
    for key, count in counts.items():
        _check_count(count, key)
    for line in lines:
        if sum(counts[p] for p in line.parts) != counts[line.total]:
            raise ValueError(f"the parts of {line.total!r} do not add up to it")
    masked: dict[K, str] = {k: SMALL for k, v in counts.items() if 0 < v < THRESHOLD}
    neighbours = _Neighbours(counts, lines)
    while True:
        bounds = _reader_bounds(counts, masked, lines)
        pinned = next((k for k in masked if bounds[k][0] == bounds[k][1]), None)
        if pinned is None:
            break
        extra = neighbours.complement(pinned, masked)
        if extra is None:  # nothing left to hide or to say less about: cannot happen
            break
        if extra in masked:  # all is hidden and "3 or more" still gives it away: say nothing
            masked[extra] = NOT_SHOWN
        else:
            masked[extra] = SMALL if counts[extra] < THRESHOLD else HIDDEN
    return {k: masked.get(k, str(v)) for k, v in counts.items()}


def _check_count(count: object, key: object = None) -> None:
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        where = "" if key is None else f" for {key!r}"
        raise ValueError(f"a count must be a whole number 0 or more{where}")


_Bounds = dict[K, tuple[float, float]]


def _reader_bounds(
    counts: Mapping[K, int], masked: Mapping[K, str], lines: Sequence[Line[K]]
) -> _Bounds[K]:
    """What the reader can know of each count: exact when shown, else an interval narrowed by
    subtraction along every line until nothing changes."""
    bounds: _Bounds[K] = {}
    for key, count in counts.items():
        mark = masked.get(key)
        if mark is None:
            bounds[key] = (count, count)
        elif mark == SMALL:
            bounds[key] = (0, THRESHOLD - 1)
        elif mark == HIDDEN:
            bounds[key] = (THRESHOLD, math.inf)
        else:
            bounds[key] = (0, math.inf)
    changed = True
    while changed:  # bounds only narrow, by whole numbers, towards the true counts: it ends
        changed = False
        for line in lines:
            changed |= _narrow(line, bounds)
    return bounds


def _narrow(line: Line[K], bounds: _Bounds[K]) -> bool:
    lows = [bounds[p][0] for p in line.parts]
    highs = [bounds[p][1] for p in line.parts]
    low_sum = sum(lows)
    unbounded = sum(1 for h in highs if h == math.inf)  # counted apart: inf - inf is nan
    bounded_sum = sum(h for h in highs if h != math.inf)
    total_low, total_high = bounds[line.total]
    changed = _tighten(bounds, line.total, low_sum, math.inf if unbounded else bounded_sum)
    for part, low, high in zip(line.parts, lows, highs, strict=True):
        others_unbounded = unbounded - (high == math.inf)
        others_high = (
            math.inf if others_unbounded else bounded_sum - (high if high != math.inf else 0)
        )
        # total - (the others at their most) <= part <= total - (the others at their least)
        changed |= _tighten(bounds, part, total_low - others_high, total_high - (low_sum - low))
    return changed


def _tighten(bounds: _Bounds[K], key: K, low: float, high: float) -> bool:
    old_low, old_high = bounds[key]
    new = (max(old_low, low), min(old_high, high))
    if new == (old_low, old_high):
        return False
    bounds[key] = new
    return True


class _Neighbours(Generic[K]):
    """Which cell to hide next: the lines through each cell, and the order to prefer."""

    def __init__(self, counts: Mapping[K, int], lines: Sequence[Line[K]]) -> None:
        self.counts = counts
        self.lines = lines
        self.order = {key: i for i, key in enumerate(counts)}
        self.totals = {line.total for line in lines}
        self.lines_of: dict[K, list[int]] = {}
        for i, line in enumerate(lines):
            for key in (line.total, *line.parts):
                self.lines_of.setdefault(key, []).append(i)

    def complement(self, pinned: K, masked: Mapping[K, str]) -> K | None:
        """The cell to hide for `pinned`: on the nearest lines through it (breadth first over
        lines that share hidden cells), a zero, else the smallest count; parts before totals.
        When every cell within reach is hidden already, the nearest "x" instead, to be shown
        as ".." (for example 1 1 / 2 2 with all totals: the rows' "x" = 4 and "<3" = 2 pin it).
        """
        shown = self._nearest(pinned, lambda key: key not in masked)
        if shown:
            return min(shown, key=self._preference)
        hidden = self._nearest(pinned, lambda key: masked.get(key) == HIDDEN)
        return min(hidden, key=self._preference) if hidden else None

    def _nearest(self, start: K, wanted: Callable[[K], bool]) -> list[K]:
        """The wanted cells on the nearest lines from `start` that have any."""
        seen_lines: set[int] = set()
        seen_keys = {start}
        frontier = [start]
        while frontier:
            found: list[K] = []
            further: list[K] = []
            for key in frontier:
                for i in self.lines_of.get(key, ()):
                    if i in seen_lines:
                        continue
                    seen_lines.add(i)
                    for other in (self.lines[i].total, *self.lines[i].parts):
                        if other not in seen_keys:
                            seen_keys.add(other)
                            (found if wanted(other) else further).append(other)
            if found:
                return found
            frontier = further
        return []

    def _preference(self, key: K) -> tuple[bool, int, int]:
        return (key in self.totals, self.counts[key], self.order[key])


# -- one table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountTable:
    """Counts in rows x columns. With `row_totals` each row has a total (the sum across); with
    `column_totals` each column has one (the sum down); with both, a grand total too."""

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: tuple[tuple[int, ...], ...]
    row_totals: bool = False
    column_totals: bool = True

    def __post_init__(self) -> None:
        if len(self.cells) != len(self.rows) or any(
            len(r) != len(self.columns) for r in self.cells
        ):
            raise ValueError("the table's cells do not match its rows and columns")


@dataclass(frozen=True)
class ShownTable:
    """A CountTable as it may be shown: every count a string (a number, "<3" or "x")."""

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: tuple[tuple[str, ...], ...]
    row_totals: tuple[str, ...] | None
    column_totals: tuple[str, ...] | None
    grand_total: str | None


def table_counts(table: CountTable) -> tuple[dict[Hashable, int], list[Line[Hashable]]]:
    """The table's counts by key ("cell", r, c), ("row", r), ("column", c), ("all",) and the
    lines between them, for `suppress`."""
    counts: dict[Hashable, int] = {}
    lines: list[Line[Hashable]] = []
    rows, columns = range(len(table.rows)), range(len(table.columns))
    for r in rows:
        for c in columns:
            counts["cell", r, c] = table.cells[r][c]
    if table.row_totals:
        for r in rows:
            counts["row", r] = sum(table.cells[r])
            lines.append(Line(("row", r), tuple(("cell", r, c) for c in columns)))
    if table.column_totals:
        for c in columns:
            counts["column", c] = sum(row[c] for row in table.cells)
            lines.append(Line(("column", c), tuple(("cell", r, c) for r in rows)))
    if table.row_totals and table.column_totals:
        counts["all",] = sum(map(sum, table.cells))
        lines.append(Line(("all",), tuple(("row", r) for r in rows)))
        lines.append(Line(("all",), tuple(("column", c) for c in columns)))
    return counts, lines


def suppress_table(table: CountTable) -> ShownTable:
    counts, lines = table_counts(table)
    shown = suppress(counts, lines)
    rows, columns = range(len(table.rows)), range(len(table.columns))
    both = table.row_totals and table.column_totals
    return ShownTable(
        rows=table.rows,
        columns=table.columns,
        cells=tuple(tuple(shown["cell", r, c] for c in columns) for r in rows),
        row_totals=tuple(shown["row", r] for r in rows) if table.row_totals else None,
        column_totals=tuple(shown["column", c] for c in columns) if table.column_totals else None,
        grand_total=shown["all",] if both else None,
    )

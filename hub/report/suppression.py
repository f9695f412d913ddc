"""Small-number suppression: with 13-15 cases a year, a count of one or two can point at a person.

The rule, for every count the coordinator sees (breakdown cells and totals alike):

- A count of 1 or 2 is shown as "<3" (primary suppression).
- A count of 0 is shown as "0". Hiding every zero would hide what the follow-up is for (the
  members that never receive a case) and would turn each "<3" into a guess between 0 and 2
  for the reader too. A zero carries no person, only the absence of one.
- Complementary suppression: the shown numbers must not give a 1 or a 2 back. The reader is
  assumed to know every relation between the figures (`Line`: a total is the sum of its parts,
  within a table and between tables) and what each mark means: "<3" is 0, 1 or 2, "x" is 3 or
  more, ".." anything. Whenever that pins a small count to one value, one more cell on a line
  through it is hidden, and the check runs again until no small count is pinned:
    * a zero first, shown as "<3": true (0 < 3) and it costs the reader no information;
    * else the smallest other count: "<3" if it is 1-2, else "x" (it is 3 or more);
    * a part before a total, so the headline figures stay visible when they can; and the
      cells given as `hide_last` (the overview's headlines) only when no other cell on the
      lines within reach can do it;
    * when everything near is hidden and an "x" still says too much by meaning "3 or more"
      (1 1 / 2 2 with every total), that "x" becomes "..".
  Example: 7 cases, 1 woman with children, 6 without children, no men. The 1 becomes "<3"; the
  7 minus the 6 would give it back, so one man row (a 0) also shows "<3": the reader learns
  only that those two rows hold 1 between them.

How the reader is modelled (`_Reader`): every line with the shown counts filled in; the
equations that follow from the lines together (the reduced row echelon form of each connected
group, so any count fixed by the equations alone is found); the bounds each mark says,
narrowed along all of these until they settle; and, for each small count still in doubt,
every value of its bounds tried in turn against all of that (probing), which finds what needs
the bounds and several lines at once (row + column against the grand total). That is no full
integer program, but the property tests search small tables, 3 x 3 cross-tables included,
exhaustively and find nothing it misses. What this does not hide: that all of a group share
one category ("all 5 ended without a move") is visible whenever the other categories are 0.

Pure functions: `suppress` over any set of keyed counts and lines, `suppress_table` over one
table of rows x columns with totals.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Hashable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Final, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

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


def suppress(
    counts: Mapping[K, int], lines: Iterable[Line[K]] = (), *, hide_last: Collection[K] = ()
) -> dict[K, str]:
    """Every count as it may be shown: its number, "<3" or "x". See the module's rule.
    `hide_last`: the headline figures, hidden to protect another count only when no other
    cell within reach can.

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
    neighbours = _Neighbours(counts, lines, hide_last)
    # Only a small count needs protecting: a hidden 0, or an "x" the reader can work out,
    # gives no one away (zeros and larger counts are shown elsewhere anyway).
    to_check = list(masked)
    while True:
        reader = _Reader(counts, masked, lines)
        pinned = [k for k in to_check if reader.pinned(k)]
        # Hiding more only takes knowledge away from the reader: a count not pinned now is not
        # pinned later. So the next round looks again only at the counts pinned now and at
        # the small counts hidden now (it saves most of the probing in a large network).
        newly_hidden = _hide_more(pinned, counts, masked, neighbours)
        if not newly_hidden:
            break
        to_check = [*pinned, *(k for k in newly_hidden if 0 < counts[k] < THRESHOLD)]
    return {k: masked.get(k, str(v)) for k, v in counts.items()}


def _hide_more(
    pinned: Sequence[K], counts: Mapping[K, int], masked: dict[K, str], neighbours: _Neighbours[K]
) -> list[K]:
    """One more cell for each pinned count, in one round (into `masked`); a count whose lines
    got a new hidden cell this round waits for the next check rather than take a second one.
    Returns the cells hidden or said less about."""
    touched: set[int] = set()
    changed: list[K] = []
    for key in pinned:
        if touched & neighbours.lines_through(key):
            continue
        extra = neighbours.complement(key, masked)
        if extra is None:  # nothing left to hide or to say less about: cannot happen
            continue
        if extra in masked:  # all is hidden and "3 or more" still gives it away
            masked[extra] = NOT_SHOWN
        else:
            masked[extra] = SMALL if counts[extra] < THRESHOLD else HIDDEN
        changed.append(extra)
        touched |= neighbours.lines_through(extra)
    return changed


def _check_count(count: object, key: object = None) -> None:
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        where = "" if key is None else f" for {key!r}"
        raise ValueError(f"a count must be a whole number 0 or more{where}")


# -- what the reader can work out -------------------------------------------------------------

_Bound = int | float  # a whole number, or math.inf for "no bound"


@dataclass(frozen=True)
class _Equation(Generic[K]):
    """sum(coefficient * count) = constant in whole numbers, over hidden counts only (shown
    ones are moved to the constant: the reader knows them)."""

    coefficients: tuple[tuple[K, int], ...]
    constant: int


class _Contradiction(Exception):  # noqa: N818 - a signal inside probing, never raised out
    """No count fits: the value being tried is impossible."""


class _Reader(Generic[K]):
    """What a reader who knows every relation and what each mark means can work out of the
    hidden counts: the interval each mark says, narrowed by every line and by every equation
    that follows from the lines together (by elimination: col = a + b and a + b = total - row
    give col = total - row), until nothing changes."""

    def __init__(
        self, counts: Mapping[K, int], masked: Mapping[K, str], lines: Sequence[Line[K]]
    ) -> None:
        self.bounds: dict[K, tuple[_Bound, _Bound]] = {
            key: _MEANING[mark] for key, mark in masked.items()
        }
        substituted = (_substituted(line, counts, masked) for line in lines)
        self.equations = [e for e in substituted if e.coefficients]
        self.equations += _implied(self.equations)
        self.equations_of: dict[K, list[int]] = {}
        for i, equation in enumerate(self.equations):
            for key, _ in equation.coefficients:
                self.equations_of.setdefault(key, []).append(i)
        self._propagate(self.bounds, range(len(self.equations)))

    def pinned(self, key: K) -> bool:
        """Only one value of the count fits: by its bounds, or because every other value in
        them, tried in turn, contradicts what the reader knows (probing catches what needs the
        bounds and several lines at once)."""
        low, high = self.bounds[key]
        if low == high:
            return True
        if not math.isfinite(high) or high - low > _PROBE_WIDTH:
            return False
        fitting = 0
        for value in range(int(low), int(high) + 1):
            trial = dict(self.bounds)
            trial[key] = (value, value)
            try:
                self._propagate(trial, self.equations_of.get(key, ()))
            except _Contradiction:
                continue
            fitting += 1
            if fitting > 1:
                return False
        return True

    def _propagate(self, bounds: dict[K, tuple[_Bound, _Bound]], start: Iterable[int]) -> None:
        """Narrow until nothing changes, looking again only at the equations of what changed.
        Bounds only narrow, by whole numbers, towards the true counts, so it ends; the cap is
        a guard."""
        queue = deque(start)
        queued = set(queue)
        for _ in range(_MAX_STEPS):
            if not queue:
                break
            i = queue.popleft()
            queued.discard(i)
            for key in _narrow(self.equations[i], bounds):
                for j in self.equations_of[key]:
                    if j not in queued:
                        queue.append(j)
                        queued.add(j)


_PROBE_WIDTH: Final = THRESHOLD  # probe the counts hidden as "<3" (and narrower), not every "x"
# What a mark tells the reader: the bounds of the count behind it.
_MEANING: Final[Mapping[str, tuple[_Bound, _Bound]]] = {
    SMALL: (0, THRESHOLD - 1),
    HIDDEN: (THRESHOLD, math.inf),
    NOT_SHOWN: (0, math.inf),
}


_MAX_STEPS: Final = 1_000_000


def _substituted(line: Line[K], counts: Mapping[K, int], masked: Mapping[K, str]) -> _Equation[K]:
    """total - sum(parts) = 0, with the shown counts moved to the constant."""
    coefficients: dict[K, int] = {}
    constant = 0
    for key, sign in ((line.total, 1), *((p, -1) for p in line.parts)):
        if key in masked:
            coefficients[key] = coefficients.get(key, 0) + sign
        else:
            constant -= sign * counts[key]
    return _Equation(tuple((k, a) for k, a in coefficients.items() if a), constant)


def _implied(equations: Sequence[_Equation[K]]) -> list[_Equation[K]]:
    """The reduced row echelon form of each connected group of equations: every hidden count
    that the equations fix on their own appears in it as `count = constant`, and the other
    rows are the combinations a reader would try."""
    groups: dict[K, list[_Equation[K]]] = {}
    root: dict[K, K] = {}

    def find(key: K) -> K:
        while root.setdefault(key, key) != key:
            key = root[key]
        return key

    for equation in equations:
        first = find(equation.coefficients[0][0])
        for key, _ in equation.coefficients[1:]:
            root[find(key)] = first
    for equation in equations:
        groups.setdefault(find(equation.coefficients[0][0]), []).append(equation)
    return [row for group in groups.values() if len(group) > 1 for row in _echelon(group)]


_Number = int | Fraction  # a whole number until a division makes it a fraction
_Row = tuple[dict[K, _Number], _Number]


def _echelon(equations: Sequence[_Equation[K]]) -> list[_Equation[K]]:
    # Whole numbers while they stay whole (most pivots are 1 or -1): Fraction only when a
    # division needs it, as Fraction arithmetic is many times slower than int's.
    rows: list[_Row[K]] = [(dict(e.coefficients), e.constant) for e in equations]
    # Which rows hold each count, kept up to date: a pivot touches only those rows, not every
    # row of the group (in a network of a hundred members, most rows hold none of it).
    holders: dict[K, set[int]] = {}
    for i, (coefficients, _) in enumerate(rows):
        for k in coefficients:
            holders.setdefault(k, set()).add(i)
    # The count in fewest equations first: a row's unshown rest is in one only, and taking it
    # first keeps the rows short (no fill-in across a whole column of municipalities).
    degree = Counter(k for e in equations for k, _ in e.coefficients)
    order = sorted(degree, key=degree.__getitem__)  # stable: ties keep first appearance
    waiting = set(range(len(rows)))  # rows not yet a pivot
    done: list[int] = []
    for key in order:
        chosen = holders.get(key, set()) & waiting
        if not chosen:
            continue
        first = min(chosen)  # the first such row in the equations' order
        waiting.discard(first)
        coefficients, constant = rows[first]
        scale = coefficients[key]
        pivot: _Row[K] = _scaled(coefficients, constant, scale)
        rows[first] = pivot
        for i in sorted(holders[key] - {first}):
            old = rows[i][0]
            rows[i] = _eliminate(rows[i], pivot, key)
            for k in pivot[0]:
                if k in rows[i][0]:
                    holders.setdefault(k, set()).add(i)
                elif k in old:
                    holders[k].discard(i)
        done.append(first)
    return [_whole(*rows[i]) for i in done if rows[i][0]]


def _scaled(coefficients: Mapping[K, _Number], constant: _Number, scale: _Number) -> _Row[K]:
    """The row divided by `scale`, kept whole when it is 1 or -1 (its own inverse)."""
    if scale in {1, -1}:
        return {k: a * scale for k, a in coefficients.items()}, constant * scale
    return {k: Fraction(a) / scale for k, a in coefficients.items()}, Fraction(constant) / scale


def _eliminate(row: _Row[K], pivot: _Row[K], key: K) -> _Row[K]:
    factor = row[0].get(key)
    if not factor:
        return row
    coefficients = dict(row[0])
    for k, a in pivot[0].items():
        value = coefficients.get(k, 0) - factor * a
        if value:
            coefficients[k] = value
        else:
            coefficients.pop(k, None)
    return coefficients, row[1] - factor * pivot[1]


def _whole(coefficients: Mapping[K, _Number], constant: _Number) -> _Equation[K]:
    """The same equation in whole numbers (times the denominators' least common multiple)."""
    scale = math.lcm(constant.denominator, *(a.denominator for a in coefficients.values()))
    return _Equation(
        tuple((k, int(a * scale)) for k, a in coefficients.items()), int(constant * scale)
    )


def _narrow(equation: _Equation[K], bounds: dict[K, tuple[_Bound, _Bound]]) -> list[K]:
    """Each count's bounds from the equation and the others' bounds: the counts that narrowed.
    Linear in the equation's length: the others' sum is the whole sum less the term's own,
    with infinite ends counted apart (inf - inf has no value)."""
    spans = []  # each term's least and greatest value
    for key, a in equation.coefficients:
        low, high = bounds[key]
        spans.append((a * low, a * high) if a > 0 else (a * high, a * low))
    low_sum = sum(s[0] for s in spans if s[0] != -math.inf)
    high_sum = sum(s[1] for s in spans if s[1] != math.inf)
    low_infinite = sum(1 for s in spans if s[0] == -math.inf)
    high_infinite = sum(1 for s in spans if s[1] == math.inf)
    narrowed: list[K] = []
    for (key, a), (own_low, own_high) in zip(equation.coefficients, spans, strict=True):
        if low_infinite - (own_low == -math.inf):
            rest_low: _Bound = -math.inf
        else:
            rest_low = low_sum - (own_low if own_low != -math.inf else 0)
        if high_infinite - (own_high == math.inf):
            rest_high: _Bound = math.inf
        else:
            rest_high = high_sum - (own_high if own_high != math.inf else 0)
        # a * count = constant - the rest, which lies in [least, most]
        least, most = equation.constant - rest_high, equation.constant - rest_low
        if a > 0:
            low, high = _ceil_div(least, a), _floor_div(most, a)
        else:
            low, high = _ceil_div(most, a), _floor_div(least, a)
        old_low, old_high = bounds[key]
        new = (max(old_low, low), min(old_high, high))
        if new[0] > new[1]:
            raise _Contradiction
        if new != (old_low, old_high):
            bounds[key] = new
            narrowed.append(key)
    return narrowed


def _ceil_div(n: _Bound, d: int) -> _Bound:
    if not math.isfinite(n):
        return n if d > 0 else -n
    return -(-int(n) // d)


def _floor_div(n: _Bound, d: int) -> _Bound:
    if not math.isfinite(n):
        return n if d > 0 else -n
    return int(n) // d


class _Neighbours(Generic[K]):
    """Which cell to hide next: the lines through each cell, and the order to prefer."""

    def __init__(
        self, counts: Mapping[K, int], lines: Sequence[Line[K]], hide_last: Collection[K] = ()
    ) -> None:
        self.counts = counts
        self.hide_last = frozenset(hide_last)
        self.lines = lines
        self.order = {key: i for i, key in enumerate(counts)}
        self.totals = {line.total for line in lines}
        self.lines_of: dict[K, list[int]] = {}
        for i, line in enumerate(lines):
            for key in (line.total, *line.parts):
                self.lines_of.setdefault(key, []).append(i)

    def lines_through(self, key: K) -> set[int]:
        return set(self.lines_of.get(key, ()))

    def complement(self, pinned: K, masked: Mapping[K, str]) -> K | None:
        """The cell to hide for `pinned`: on the nearest lines through it (breadth first over
        lines that share hidden cells), a zero, else the smallest count; parts before totals.
        When every cell within reach is hidden already, the nearest "x" instead, to be shown
        as ".." (for example 1 1 / 2 2 with all totals: the rows' "x" = 4 and "<3" = 2 pin it).
        """
        for wanted in (
            lambda key: key not in masked and key not in self.hide_last,
            lambda key: key not in masked,
        ):
            shown = self._nearest(pinned, wanted)
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

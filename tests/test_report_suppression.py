"""Small-number suppression (hub/report/suppression.py): "<3", and nothing can be subtracted back."""

from __future__ import annotations

import math
from collections.abc import Hashable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.report.suppression import (
    HIDDEN,
    NOT_SHOWN,
    SMALL,
    CountTable,
    Line,
    ShownTable,
    shown_count,
    suppress,
    suppress_table,
    table_counts,
)

# -- worked examples -----------------------------------------------------------------------------


def test_one_and_two_show_as_under_three_and_zero_and_three_as_themselves():
    """A single figure: 1 and 2 are "<3"; 0 and 3 are shown."""
    assert [shown_count(n) for n in (0, 1, 2, 3, 14)] == ["0", SMALL, SMALL, "3", "14"]


def test_a_lone_small_cell_next_to_a_total_takes_a_zero_with_it():
    """7 cases: 1 woman with children, 6 without, no men. The 1 is "<3"; 7 - 6 would give it
    back, so a 0 beside it shows "<3" too (true: 0 is under 3). The total stays visible."""
    table = CountTable(
        rows=("Kvinna utan barn", "Kvinna med barn", "Man utan barn", "Man med barn"),
        columns=("Ärenden",),
        cells=((6,), (1,), (0,), (0,)),
    )
    shown = suppress_table(table)
    assert shown.cells == (("6",), (SMALL,), (SMALL,), ("0",))
    assert shown.column_totals == ("7",)


def test_with_no_zero_to_take_the_next_smallest_count_is_hidden_as_x():
    """Accepted 9, declined for quota 1, declined for resources 4, total 14: the 4 is hidden as
    "x" (3 or more), so the 1 cannot be found as 14 - 9 - 4."""
    table = CountTable(
        rows=("Ja", "Nej, kvot", "Nej, resurser"), columns=("Svar",), cells=((9,), (1,), (4,))
    )
    shown = suppress_table(table)
    assert shown.cells == (("9",), (SMALL,), (HIDDEN,))
    assert shown.column_totals == ("14",)


def test_two_small_cells_that_add_up_to_their_known_range_are_protected():
    """Total 4 = 2 + 2: two "<3" cells of at most 2 each must both be 2. Hiding one more cell
    (here the 0) breaks that."""
    table = CountTable(rows=("a", "b", "c"), columns=("n",), cells=((2,), (2,), (0,)))
    shown = suppress_table(table)
    assert shown.cells == ((SMALL,), (SMALL,), (SMALL,))
    assert shown.column_totals == ("4",)


def test_a_small_total_is_suppressed_too():
    """A county network with two cases in a year shows "<3" cases, not 2."""
    table = CountTable(rows=("Flyttade", "Inte flyttade"), columns=("Ärenden",), cells=((0,), (2,)))
    shown = suppress_table(table)
    assert shown.column_totals == (SMALL,)
    assert shown.cells[1] == (SMALL,)


def test_a_cross_table_hides_a_rectangle():
    """Target group x moved, with all totals: a single 1 takes a cell in its row, one in its
    column, and the corner that closes the rectangle."""
    table = CountTable(
        rows=("Kvinna utan barn", "Kvinna med barn"),
        columns=("Flyttade", "Inte flyttade"),
        cells=((5, 4), (1, 6)),
        row_totals=True,
        column_totals=True,
    )
    shown = suppress_table(table)
    assert shown.cells[1][0] == SMALL
    assert sum(v in {SMALL, HIDDEN} for row in shown.cells for v in row) >= 2
    assert_nothing_pinned(table, shown)
    assert shown.grand_total == "16"


def test_when_x_would_still_give_a_count_away_it_shows_as_two_dots():
    """1 1 / 2 2 with every total: the second row's total, shown as "x" (3 or more), would force
    both its cells to 2, and the first row's to 1. Such an "x" says nothing at all instead."""
    table = CountTable(rows=("a", "b"), columns=("c", "d"), cells=((1, 1), (2, 2)), row_totals=True)
    shown = suppress_table(table)
    assert NOT_SHOWN in {*(shown.row_totals or ()), *(shown.column_totals or ()), shown.grand_total}
    assert_nothing_pinned(table, shown)


def test_a_relation_between_tables_is_honoured():
    """The same count in two tables (answered = in time + late = accepted + declined): hiding
    "late" alone would be undone by "answered" - "in time"."""
    counts = {"answered": 10, "in_time": 8, "late": 2, "accepted": 6, "declined": 4}
    lines = [
        Line("answered", ("in_time", "late")),
        Line("answered", ("accepted", "declined")),
    ]
    shown = suppress(counts, lines)
    assert shown["late"] == SMALL
    assert shown["in_time"] == HIDDEN or shown["answered"] == HIDDEN


def test_a_line_that_does_not_add_up_is_refused():
    """Suppression that trusts a wrong relation would protect nothing: it is a bug upstream."""
    with pytest.raises(ValueError, match="add up"):
        suppress({"t": 5, "a": 1, "b": 3}, [Line("t", ("a", "b"))])


@pytest.mark.parametrize("bad", [-1, True, 1.5])
def test_a_count_must_be_a_whole_number(bad: object):
    with pytest.raises(ValueError, match="whole number"):
        suppress({"a": bad})  # type: ignore[dict-item]


def test_the_table_shape_is_checked():
    with pytest.raises(ValueError, match="rows and columns"):
        CountTable(rows=("a",), columns=("x", "y"), cells=((1,),))


# -- properties ----------------------------------------------------------------------------------


@st.composite
def tables(draw: st.DrawFn, cells_at_most: int = 6, largest: int = 5) -> CountTable:
    """Small tables, small counts: the shapes of the coordinator's tables (lists with a total,
    columns with totals, cross-tables with every total), small enough to search in full."""
    n_rows = draw(st.integers(1, min(5, cells_at_most)))
    n_cols = draw(st.integers(1, max(1, min(3, cells_at_most // n_rows))))
    cells = draw(
        st.lists(
            st.lists(st.integers(0, largest), min_size=n_cols, max_size=n_cols),
            min_size=n_rows,
            max_size=n_rows,
        )
    )
    row_totals = draw(st.booleans()) if n_cols > 1 else False
    column_totals = draw(st.booleans()) or not row_totals
    return CountTable(
        rows=tuple(f"r{i}" for i in range(n_rows)),
        columns=tuple(f"c{i}" for i in range(n_cols)),
        cells=tuple(tuple(row) for row in cells),
        row_totals=row_totals,
        column_totals=column_totals,
    )


def shown_by_key(table: CountTable, shown: ShownTable) -> dict[Hashable, str]:
    """The shown table back under table_counts' keys, read from the ShownTable itself."""
    found: dict[Hashable, str] = {}
    for r, row in enumerate(shown.cells):
        for c, value in enumerate(row):
            found["cell", r, c] = value
    for r, value in enumerate(shown.row_totals or ()):
        found["row", r] = value
    for c, value in enumerate(shown.column_totals or ()):
        found["column", c] = value
    if shown.grand_total is not None:
        found["all",] = shown.grand_total
    assert found.keys() == table_counts(table)[0].keys()
    return found


def possible_values(table: CountTable, shown: ShownTable) -> dict[Hashable, set[int]]:
    """Every value each count can have in some table that reads exactly as `shown`: an
    exhaustive reader who knows the totals are sums, "<3" is 0-2, "x" is 3 or more and ".."
    anything. A hidden cell is searched up to the largest cell + 3, which can only make the
    reader stronger than one who must also consider larger values; totals follow from cells."""
    counts, _ = table_counts(table)
    seen = shown_by_key(table, shown)
    cell_top = max(v for k, v in counts.items() if k[0] == "cell") + 3

    def bounds(key: Hashable) -> tuple[int, float]:
        value = seen[key]
        if value == SMALL:
            return 0, 2
        if value == HIDDEN:
            return 3, math.inf
        if value == NOT_SHOWN:
            return 0, math.inf
        return int(value), int(value)

    def fits(key: Hashable, value: int) -> bool:
        low, high = bounds(key)
        return low <= value <= high

    def cell_values(key: Hashable) -> range:
        low, high = bounds(key)
        return range(low, int(min(high, cell_top)) + 1)

    n_rows, n_cols = len(table.rows), len(table.columns)
    possible: dict[Hashable, set[int]] = {k: set() for k in counts}
    grid = [[0] * n_cols for _ in range(n_rows)]

    def column_fits(c: int, upto_row: int, complete: bool) -> bool:
        if not table.column_totals:
            return True
        partial = sum(grid[r][c] for r in range(upto_row + 1))
        return fits(("column", c), partial) if complete else partial <= bounds(("column", c))[1]

    def record() -> None:
        found: dict[Hashable, int] = {}
        for r in range(n_rows):
            for c in range(n_cols):
                found["cell", r, c] = grid[r][c]
        if table.row_totals:
            for r in range(n_rows):
                found["row", r] = sum(grid[r])
        if table.column_totals:
            for c in range(n_cols):
                found["column", c] = sum(grid[r][c] for r in range(n_rows))
        if table.row_totals and table.column_totals:
            found["all",] = sum(map(sum, grid))
            if not fits(("all",), found["all",]):
                return
        for key, value in found.items():
            possible[key].add(value)

    def place(i: int) -> None:
        if i == n_rows * n_cols:
            record()
            return
        r, c = divmod(i, n_cols)
        last_row = r == n_rows - 1
        for value in cell_values(("cell", r, c)):
            grid[r][c] = value
            if not column_fits(c, r, complete=last_row):
                continue
            if c == n_cols - 1 and table.row_totals and not fits(("row", r), sum(grid[r])):
                continue
            place(i + 1)

    place(0)
    return possible


def assert_nothing_pinned(table: CountTable, shown: ShownTable) -> None:
    counts, _ = table_counts(table)
    seen = shown_by_key(table, shown)
    possible = possible_values(table, shown)
    for key in seen:
        assert counts[key] in possible[key]
        if 0 < counts[key] < 3:
            assert len(possible[key]) > 1, f"{key} = {counts[key]} can be derived: {seen}"


@settings(max_examples=300, deadline=None)
@given(tables())
def test_no_count_of_one_or_two_is_ever_shown(table: CountTable):
    """Whatever the table, a 1 or a 2 never appears as a number, and every number is true."""
    counts, _ = table_counts(table)
    seen = shown_by_key(table, suppress_table(table))
    for key, value in seen.items():
        if value == SMALL:
            assert counts[key] < 3
        elif value == HIDDEN:
            assert counts[key] >= 3
        elif value != NOT_SHOWN:
            assert int(value) == counts[key]
            assert counts[key] == 0 or counts[key] >= 3


@settings(max_examples=300, deadline=None)
@given(tables())
def test_no_suppressed_count_can_be_recovered_from_the_shown_numbers(table: CountTable):
    """For any table, subtracting shown cells from shown totals (in every combination a
    reader could try, with what each mark means) never pins a 1 or a 2 to its value."""
    assert_nothing_pinned(table, suppress_table(table))


@settings(max_examples=40, deadline=None)
@given(tables(cells_at_most=9, largest=3))
def test_nor_in_three_by_three_cross_tables(table: CountTable):
    """Where a reader needs several lines and the marks' bounds at once (1 1 / 2 2, or
    row + column against the grand total), probing finds it too."""
    assert_nothing_pinned(table, suppress_table(table))


@given(tables())
def test_suppression_is_deterministic(table: CountTable):
    """The same figures give the same page, CSV and PDF every time."""
    assert suppress_table(table) == suppress_table(table)

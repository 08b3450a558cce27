"""Small-number suppression: the one home of the rule every published count follows.

Primary: a count c with 0 < c < threshold reads None (0 is shown: "nobody" points at nobody).
Secondary: a published breakdown is a set of lines, each a total and the cells that sum to it
(a 1-D list against its total; a 2-D table's rows against the row totals, its columns against
the column totals, and the margins against the grand total). Where a line has exactly one
unknown (one hidden cell and a shown total, or a hidden total and every cell shown) the unknown
could be worked out by subtraction, so the smallest non-zero shown cell of the line is hidden as
well (the total itself when no cell is left to hide). A line whose total is itself below the
threshold hides everything in it. A change in one line can force one in another (a row's second
cell sits in a column too), so the rules run until nothing changes.

Pure functions over plain ints: callers mask with these and publish the None as null.
"""

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

Key = TypeVar("Key", bound=Hashable)
TOTAL = "total"


def is_small(count: int, threshold: int) -> bool:
    return 0 < count < threshold


def suppress(count: int, threshold: int) -> int | None:
    """Primary suppression of one count on its own."""
    return None if is_small(count, threshold) else count


def share(numerator: int | None, denominator: int | None, digits: int = 3) -> float | None:
    """numerator / denominator, None when either is suppressed or there is nothing to divide."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return round(numerator / denominator, digits)


@dataclass(frozen=True)
class Breakdown:
    """A 1-D breakdown as published: its cells and its total, None where suppressed."""

    cells: list[int | None]
    total: int | None


@dataclass(frozen=True)
class Table:
    """A 2-D table as published, with its row, column and grand totals."""

    cells: list[list[int | None]]
    row_totals: list[int | None]
    column_totals: list[int | None]
    total: int | None


def suppress_breakdown(cells: Sequence[int], threshold: int, total: int | None = None) -> Breakdown:
    """Cells that sum to `total` (their sum when not given), both published."""
    values: dict[object, int] = dict(enumerate(cells))
    values[TOTAL] = sum(cells) if total is None else total
    hidden = hidden_cells(values, [(TOTAL, list(range(len(cells))))], threshold)
    masked = _masked(values, hidden)
    return Breakdown([masked[index] for index in range(len(cells))], masked[TOTAL])


def suppress_table(rows: Sequence[Sequence[int]], threshold: int) -> Table:
    """A table of counts with its margins (each row's and each column's sum, and the grand
    total), all published; every row has as many cells."""
    width = len(rows[0]) if rows else 0
    values: dict[object, int] = {}
    for i, row in enumerate(rows):
        values |= {(i, j): count for j, count in enumerate(row)}
        values[("row", i)] = sum(row)
    for j in range(width):
        values[("column", j)] = sum(row[j] for row in rows)
    values[TOTAL] = sum(sum(row) for row in rows)
    hidden = hidden_cells(values, _table_lines(len(rows), width), threshold)
    masked = _masked(values, hidden)
    return Table(
        cells=[[masked[(i, j)] for j in range(width)] for i in range(len(rows))],
        row_totals=[masked[("row", i)] for i in range(len(rows))],
        column_totals=[masked[("column", j)] for j in range(width)],
        total=masked[TOTAL],
    )


def _table_lines(height: int, width: int) -> list[tuple[object, list[object]]]:
    rows: list[tuple[object, list[object]]] = [
        (("row", i), [(i, j) for j in range(width)]) for i in range(height)
    ]
    columns: list[tuple[object, list[object]]] = [
        (("column", j), [(i, j) for i in range(height)]) for j in range(width)
    ]
    margins: list[tuple[object, list[object]]] = [
        (TOTAL, [("row", i) for i in range(height)]),
        (TOTAL, [("column", j) for j in range(width)]),
    ]
    return rows + columns + margins


def hidden_cells(
    values: Mapping[Key, int], lines: Iterable[tuple[Key, Sequence[Key]]], threshold: int
) -> set[Key]:
    """The keys to hide: primary suppression, then the secondary rules above until stable.
    `lines` pairs each total's key with the keys of the cells summing to it."""
    listed = list(lines)
    hidden = {key for key, count in values.items() if is_small(count, threshold)}
    changed = True
    while changed:
        changed = False
        for total, cells in listed:
            more = _to_hide(values, hidden, total, cells, threshold)
            if more - hidden:
                hidden |= more
                changed = True
    return hidden


def _to_hide(
    values: Mapping[Key, int], hidden: set[Key], total: Key, cells: Sequence[Key], threshold: int
) -> set[Key]:
    """What one line needs hidden besides what already is."""
    if is_small(values[total], threshold):
        return {total, *cells}
    unknowns = sum(1 for cell in cells if cell in hidden) + (total in hidden)
    if unknowns != 1:
        return set()
    shown = [cell for cell in cells if cell not in hidden and values[cell] > 0]
    if not shown:
        return {total}
    # The smallest, so as little as possible is lost; ties go to the earliest cell.
    return {min(shown, key=lambda cell: values[cell])}


def _masked(values: Mapping[Key, int], hidden: set[Key]) -> dict[Key, int | None]:
    return {key: None if key in hidden else count for key, count in values.items()}

"""Small-number suppression: primary (a small count), secondary (a second cell wherever the first
could be worked out from a total), in 1-D breakdowns and 2-D tables, until stable."""

import itertools
import random

import pytest

from app.core.suppression import (
    share,
    suppress,
    suppress_breakdown,
    suppress_table,
)

T = 10


@pytest.mark.parametrize(("count", "shown"), [(0, 0), (1, None), (9, None), (10, 10), (250, 250)])
def test_a_small_count_other_than_zero_is_suppressed(count: int, shown: int | None) -> None:
    assert suppress(count, T) == shown


def test_the_threshold_is_the_callers() -> None:
    assert suppress(4, 5) is None
    assert suppress(5, 5) == 5
    assert suppress(1, 1) == 1


def test_a_breakdown_with_nothing_small_shows_in_full() -> None:
    published = suppress_breakdown([12, 0, 30, 18], T)
    assert published.cells == [12, 0, 30, 18]
    assert published.total == 60


def test_one_small_cell_takes_the_next_smallest_non_zero_cell_with_it() -> None:
    # A school with 4 responses in a trust total of 60: 4 alone would be 60 − 12 − 30 − 14.
    published = suppress_breakdown([12, 4, 30, 14], T)
    assert published.cells == [None, None, 30, 14]
    assert published.total == 60


def test_zero_is_not_taken_as_the_second_cell() -> None:
    published = suppress_breakdown([0, 3, 40, 0, 25], T)
    assert published.cells == [0, None, 40, 0, None]


def test_two_small_cells_protect_each_other() -> None:
    published = suppress_breakdown([3, 5, 40, 25], T)
    assert published.cells == [None, None, 40, 25]


def test_a_small_total_hides_everything_in_it() -> None:
    published = suppress_breakdown([3, 0, 4], T)
    assert published.cells == [None, None, None]
    assert published.total is None


def test_a_total_given_apart_from_the_cells() -> None:
    # The cells need not be every part of the total (another part is published elsewhere).
    published = suppress_breakdown([20, 15], T, total=40)
    assert published.cells == [20, 15]
    assert published.total == 40


def test_a_hidden_cell_with_no_other_to_hide_hides_the_total() -> None:
    # 3 is small; the only other cell is 0, so the total would give it away.
    published = suppress_breakdown([3, 0], T, total=13)
    assert published.cells == [None, 0]
    assert published.total is None


def _derivable(cells: list[int | None], total: int | None) -> bool:
    """True when exactly one unknown remains in the line: it could be worked out."""
    return [c is None for c in cells].count(True) + (total is None) == 1


@pytest.mark.parametrize("cells", list(itertools.product([0, 2, 9, 10, 25], repeat=3)))
def test_no_published_breakdown_leaves_a_single_unknown(cells: tuple[int, ...]) -> None:
    published = suppress_breakdown(list(cells), T)
    assert not _derivable(published.cells, published.total)
    for original, shown in zip(cells, published.cells, strict=True):
        assert shown is None or shown == original
        assert shown is not None or original != 0 or published.total is None


def test_a_table_with_nothing_small_shows_in_full() -> None:
    table = suppress_table([[10, 20], [30, 40]], T)
    assert table.cells == [[10, 20], [30, 40]]
    assert table.row_totals == [30, 70]
    assert table.column_totals == [40, 60]
    assert table.total == 100


def test_a_small_cell_in_a_table_is_protected_in_its_row_and_its_column() -> None:
    table = suppress_table([[4, 20, 30], [15, 25, 35], [40, 12, 50]], T)
    hidden = {(i, j) for i, row in enumerate(table.cells) for j, c in enumerate(row) if c is None}
    assert (0, 0) in hidden
    # The row's next smallest (20) and the column's (15) go with it...
    assert {(0, 1), (1, 0)} <= hidden
    # ...and then each of their lines needs a second unknown too.
    for line in _lines(table.cells, table.row_totals, table.column_totals, table.total):
        assert not _derivable(*line)


def test_a_small_row_total_hides_its_row_and_a_second_row_total() -> None:
    table = suppress_table([[2, 1], [30, 40], [25, 35]], T)
    assert table.cells[0] == [None, None]
    assert table.row_totals[0] is None
    assert table.row_totals.count(None) >= 2  # else 3 = 135 − 70 − 60
    for line in _lines(table.cells, table.row_totals, table.column_totals, table.total):
        assert not _derivable(*line)


@pytest.mark.parametrize("seed", range(40))
def test_no_published_table_leaves_a_single_unknown_in_any_line(seed: int) -> None:
    rng = random.Random(seed)
    rows = [[rng.choice([0, 1, 3, 8, 12, 20, 45]) for _ in range(4)] for _ in range(5)]
    table = suppress_table(rows, T)
    for line in _lines(table.cells, table.row_totals, table.column_totals, table.total):
        assert not _derivable(*line)
    for row, shown_row in zip(rows, table.cells, strict=True):
        for original, shown in zip(row, shown_row, strict=True):
            assert shown is None or shown == original
            if 0 < original < T:
                assert shown is None


def _lines(
    cells: list[list[int | None]],
    row_totals: list[int | None],
    column_totals: list[int | None],
    total: int | None,
) -> list[tuple[list[int | None], int | None]]:
    columns = [[row[j] for row in cells] for j in range(len(column_totals))]
    return [
        *zip(cells, row_totals, strict=True),
        *zip(columns, column_totals, strict=True),
        (row_totals, total),
        (column_totals, total),
    ]


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(12, 40, 0.3), (None, 40, None), (12, None, None), (0, 0, None), (2, 3, 0.667)],
)
def test_a_share_is_null_wherever_either_count_is(
    numerator: int | None, denominator: int | None, expected: float | None
) -> None:
    assert share(numerator, denominator) == expected

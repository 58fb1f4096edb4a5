"""The calendar of DESIGN.md §8 on its own: keys, clipping, the previous period and the same
days a year earlier, where a leap day and year ends are easy to get wrong."""

import datetime as dt

import pytest

from resolvers import periods

D = dt.date


@pytest.mark.parametrize(
    ("first", "last", "previous"),
    [
        (D(2026, 3, 1), D(2026, 3, 31), (D(2026, 2, 1), D(2026, 2, 28))),  # a whole month
        (D(2026, 1, 1), D(2026, 1, 31), (D(2025, 12, 1), D(2025, 12, 31))),
        (D(2026, 1, 1), D(2026, 3, 31), (D(2025, 10, 1), D(2025, 12, 31))),  # a whole quarter
        (D(2026, 7, 1), D(2026, 9, 30), (D(2026, 4, 1), D(2026, 6, 30))),
        (D(2025, 1, 1), D(2025, 12, 31), (D(2024, 1, 1), D(2024, 12, 31))),  # a whole year
        (D(2026, 3, 10), D(2026, 3, 19), (D(2026, 2, 28), D(2026, 3, 9))),  # ten days
        (D(2026, 1, 1), D(2026, 2, 28), (D(2025, 11, 3), D(2025, 12, 31))),  # two months
    ],
)
def test_the_previous_period(
    first: dt.date, last: dt.date, previous: tuple[dt.date, dt.date]
) -> None:
    assert periods.previous(first, last) == previous


def test_a_year_ago_turns_the_leap_day_into_the_28th() -> None:
    assert periods.year_ago(D(2028, 2, 1), D(2028, 2, 29)) == (D(2027, 2, 1), D(2027, 2, 28))
    assert periods.year_ago(D(2026, 3, 5), D(2026, 4, 5)) == (D(2025, 3, 5), D(2025, 4, 5))


def test_slots_are_clipped_keyed_and_labelled() -> None:
    found = periods.slots("QUARTER", D(2025, 11, 15), D(2026, 4, 10))
    assert [(s.key, s.label, s.first, s.last) for s in found] == [
        ("2025-Q4", "2025年第4季度", D(2025, 11, 15), D(2025, 12, 31)),
        ("2026-Q1", "2026年第1季度", D(2026, 1, 1), D(2026, 3, 31)),
        ("2026-Q2", "2026年第2季度", D(2026, 4, 1), D(2026, 4, 10)),
    ]
    years = periods.slots("YEAR", D(2025, 11, 15), D(2026, 4, 10))
    assert [(s.key, s.label) for s in years] == [("2025", "2025年"), ("2026", "2026年")]
    assert periods.count_between("MONTH", D(2016, 1, 1), D(2025, 12, 31)) == 120

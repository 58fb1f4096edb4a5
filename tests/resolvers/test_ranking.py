"""Every `BreakdownOrder` ranks CHILD rows: ties by code, null figures last in either
direction, the own row first and unranked."""

import pytest

from resolvers import ranking
from resolvers.errors import BadUserInput
from resolvers.figures import OrganizationFigures, ParticipationFigures, ServiceFigures
from resolvers.stats import Row
from schema.enums import BreakdownOrder


def _row(key: str, rated: int, satisfied: int, own: bool = False) -> Row:
    services = ServiceFigures(total=rated, rated=rated, satisfied=satisfied)
    sections = (OrganizationFigures(), services, ParticipationFigures())
    return Row(key, key, sections, own=own)


ROWS = [
    _row("340", 1, 1, own=True),
    _row("343", 4, 2),  # 0.5
    _row("341", 0, 0),  # no rate
    _row("342", 2, 1),  # 0.5, ties with 343
    _row("344", 4, 4),  # 1.0
]


@pytest.mark.parametrize(
    ("order", "keys"),
    [
        ("SATISFACTION_RATE_DESC", ["340", "344", "342", "343", "341"]),
        ("SATISFACTION_RATE_ASC", ["340", "342", "343", "344", "341"]),
        ("TOTAL_DESC", ["340", "343", "344", "342", "341"]),
        ("KEY_ASC", ["340", "343", "341", "342", "344"]),
    ],
)
def test_rows_rank_with_ties_by_code_and_nulls_last(order: str, keys: list[str]) -> None:
    assert [r.key for r in ranking.ranked(ROWS, order)] == keys


@pytest.mark.parametrize("order", [o.value for o in BreakdownOrder])
def test_every_order_of_the_schema_ranks(order: str) -> None:
    assert ranking.ranked(ROWS, order)[0].own


def test_an_order_needs_child_rows() -> None:
    ranking.check_order("TOTAL_DESC", "CHILD")
    ranking.check_order(None, "MONTH")
    with pytest.raises(BadUserInput) as refused:
        ranking.check_order("KEY_ASC", "MONTH")
    assert (refused.value.extensions or {})["reason"] == "ORDER_NEEDS_CHILD"

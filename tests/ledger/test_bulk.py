"""`bulk.update_rows` against PostgreSQL: the fields named change on exactly the rows given."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alphapanda import bulk
from portfolio.models import Position as PositionRow

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_redis")]
T1 = datetime(2026, 1, 5, 4, 0, 7, 123456, tzinfo=UTC)


def _position(strategy: str, token: int, **values: object) -> PositionRow:
    return PositionRow.objects.create(
        broker="paper", strategy=strategy, instrument_token=token, symbol=f"S{token}", **values
    )


def test_each_row_gets_its_own_values_and_nothing_else_changes() -> None:
    rows = [_position("mom", token, quantity=1, cost=100, realized=5) for token in range(1, 301)]
    untouched = _position("other", 1, quantity=7, cost=700)
    for n, row in enumerate(rows):
        row.quantity, row.cost, row.product, row.updated_at = -n, -(2**40) - n, "CNC", T1
        row.realized = 999  # set but not named: must not be written

    assert bulk.update_rows(rows, ["quantity", "cost", "product", "updated_at"]) == 300

    stored = {r.instrument_token: r for r in PositionRow.objects.filter(strategy="mom")}
    for n, token in enumerate(range(1, 301)):
        assert (stored[token].quantity, stored[token].cost) == (-n, -(2**40) - n)
        assert (stored[token].product, stored[token].updated_at, stored[token].realized) == ("CNC", T1, 5)
    untouched.refresh_from_db()
    assert (untouched.quantity, untouched.cost, untouched.product) == (7, 700, "MIS")


def test_no_rows_writes_nothing() -> None:
    assert bulk.update_rows([], ["quantity"]) == 0

"""The read model's instrument totals, which the risk step reads for net positions: versioned, so a
mirror that lands late never puts back an older figure."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portfolio import read_model
from portfolio.models import Account
from portfolio.positions import equity_of
from portfolio.services import book_current

pytestmark = pytest.mark.usefixtures("clean_redis")
BROKER = "paper"


def _mirror(version: int, totals: dict[int, tuple[int, int]], cash: int = 1_000_000) -> None:
    read_model.ledger_mirror(BROKER, [], account=(1_000_000, cash, version), totals=totals)


def test_book_gives_net_quantities_open_instruments_and_the_equity_of_the_same_read() -> None:
    _mirror(3, {11: (10, 14_000), 12: (0, 0), 13: (-5, -7_500)})
    read_model.marks_set(BROKER, {11: Decimal("1500"), 13: Decimal("1400")})

    book = read_model.book(BROKER)

    assert book.net == {11: 10, 12: 0, 13: -5}
    assert book.open_positions == 2
    assert book.marks == {11: 150_000, 13: 140_000}
    totals = {11: (10, 14_000), 12: (0, 0), 13: (-5, -7_500)}
    assert book.equity == equity_of(cash=1_000_000, totals=totals, last_prices=book.marks)


def test_totals_from_an_older_account_version_landing_late_are_ignored() -> None:
    _mirror(5, {11: (20, 30_000)})
    _mirror(4, {11: (10, 15_000), 12: (1, 100)})  # a second worker's earlier batch, mirrored after

    assert read_model.book(BROKER).net == {11: 20, 12: 1}  # 12 had no newer figure: taken


def test_totals_from_the_same_version_again_change_nothing_and_a_newer_one_replaces() -> None:
    _mirror(5, {11: (20, 30_000)})
    _mirror(5, {11: (99, 1)})
    assert read_model.book(BROKER).net == {11: 20}
    _mirror(6, {11: (0, 0)})
    assert read_model.book(BROKER).net == {11: 0}


def test_a_total_written_without_a_version_is_read_and_then_replaced(clean_redis) -> None:
    _mirror(0, {})
    clean_redis.hset(read_model.net_key(BROKER), mapping={11: "7,700"})  # as written before versions
    assert read_model.book(BROKER).net == {11: 7}
    _mirror(1, {11: (8, 800)})
    assert read_model.book(BROKER).net == {11: 8}


def test_book_is_none_without_the_account_and_book_current_mirrors_the_ledger_first(db) -> None:
    assert read_model.book(BROKER) is None  # a Redis that restarted empty

    book = book_current(broker=BROKER)

    assert read_model.has_account(BROKER)
    assert book == read_model.book(BROKER)
    assert book.equity == Account.objects.get(broker=BROKER).cash  # nothing held: equity is the cash

from __future__ import annotations

import dataclasses
import functools
import itertools
import random
from collections.abc import Iterable
from decimal import Decimal
from typing import NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alphapanda.events import Charges, Fill, Product, Side
from alphapanda.money import from_paise
from portfolio.positions import Key, Position, apply_fill, fill_cash_flow, replay, summarize

BUY, SELL = Side.BUY, Side.SELL
INFY, TCS = 408065, 2953217
FLAT = Position()


class Trade(NamedTuple):
    """One fill as apply_fill sees it, amounts in paise."""

    side: Side
    quantity: int
    price: int
    charges: int = 0


def apply(position: Position, trade: Trade) -> Position:
    return apply_fill(position, **trade._asdict())


def apply_all(trades: Iterable[Trade], position: Position = FLAT) -> Position:
    return functools.reduce(apply, trades, position)


def signed_value(trades: Iterable[Trade]) -> int:
    """What the fills bought, less what they sold, in paise: the cash they moved before charges."""
    return sum(trade.side.sign * trade.quantity * trade.price for trade in trades)


def fill(trade: Trade, *, strategy: str = "momentum", token: int = INFY, n: int = 0) -> Fill:
    return Fill(
        fill_id=f"F{n}",
        order_id=f"O{n}",
        strategy=strategy,
        instrument_token=token,
        symbol=f"T{token}",
        exchange="NSE",
        side=trade.side,
        quantity=trade.quantity,
        price=from_paise(trade.price),
        product=Product.MIS,
        charges=Charges(brokerage=from_paise(trade.charges)),
        ts=n,
    )


# --- long -------------------------------------------------------------------------------------------


def test_apply_fill_when_long_opened_added_trimmed_and_closed_then_cost_and_realized_follow() -> None:
    # Buy 10 @ ₹100: cost 10 × 10000 = 100000 paise, average ₹100.
    position = apply(Position(), Trade(BUY, 10, 10000))
    assert (position.quantity, position.cost, position.realized) == (10, 100000, 0)
    assert position.average_price == Decimal("100.0000")

    # Buy 5 @ ₹106: cost 100000 + 53000 = 153000 for 15, average ₹102.
    position = apply(position, Trade(BUY, 5, 10600))
    assert (position.quantity, position.cost, position.realized) == (15, 153000, 0)
    assert position.average_price == Decimal("102.0000")

    # Sell 6 @ ₹110: removes 153000 × 6/15 = 61200 of cost; realized 66000 - 61200 = 4800.
    position = apply(position, Trade(SELL, 6, 11000))
    assert (position.quantity, position.cost, position.realized) == (9, 91800, 4800)
    assert position.average_price == Decimal("102.0000")

    # Sell 9 @ ₹99: removes the remaining 91800; realized 4800 + 89100 - 91800 = 2100.
    position = apply(position, Trade(SELL, 9, 9900))
    assert (position.quantity, position.cost, position.realized) == (0, 0, 2100)
    assert position.average_price == Decimal(0)
    assert (position.buy_quantity, position.buy_value) == (15, 153000)
    assert (position.sell_quantity, position.sell_value) == (15, 155100)
    assert position.fills == 4


# --- short ------------------------------------------------------------------------------------------


def test_apply_fill_when_short_opened_added_covered_and_closed_then_cost_and_realized_follow() -> None:
    # Sell 10 @ ₹100: cost -100000.
    position = apply(Position(), Trade(SELL, 10, 10000))
    assert (position.quantity, position.cost, position.realized) == (-10, -100000, 0)

    # Sell 5 @ ₹94: cost -100000 - 47000 = -147000 for -15, average ₹98.
    position = apply(position, Trade(SELL, 5, 9400))
    assert (position.quantity, position.cost, position.realized) == (-15, -147000, 0)
    assert position.average_price == Decimal("98.0000")

    # Buy 6 @ ₹90: removes -147000 × 6/15 = -58800; realized -54000 + 58800 = 4800.
    position = apply(position, Trade(BUY, 6, 9000))
    assert (position.quantity, position.cost, position.realized) == (-9, -88200, 4800)
    assert position.average_price == Decimal("98.0000")

    # Buy 9 @ ₹101: removes -88200; realized 4800 - 90900 + 88200 = 2100.
    position = apply(position, Trade(BUY, 9, 10100))
    assert (position.quantity, position.cost, position.realized) == (0, 0, 2100)


# --- flip -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opening", "flipping", "expected"),
    [
        # Long 10 @ ₹100, sell 25 @ ₹104: closes 10 for 104000 - 100000 = 4000, then short 15 @ ₹104.
        (Trade(BUY, 10, 10000), Trade(SELL, 25, 10400), (-15, -156000, 4000)),
        # Short 10 @ ₹100, buy 25 @ ₹104: closes 10 for 100000 - 104000 = -4000, then long 15 @ ₹104.
        (Trade(SELL, 10, 10000), Trade(BUY, 25, 10400), (15, 156000, -4000)),
    ],
    ids=["long-to-short", "short-to-long"],
)
def test_apply_fill_when_fill_crosses_zero_then_remainder_opens_at_fill_price(
    opening: Trade, flipping: Trade, expected: tuple[int, int, int]
) -> None:
    position = apply_all([opening, flipping])

    assert (position.quantity, position.cost, position.realized) == expected
    assert position.average_price == Decimal("104.0000")


# --- rounding ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trades", "cost", "realized"),
    [
        # Cost 10000 + 10001 = 20001 for 2; half is 10000.5, rounds to even 10000: realized 100.
        ([Trade(BUY, 1, 10000), Trade(BUY, 1, 10001), Trade(SELL, 1, 10100)], 10001, 100),
        # Cost 10001 + 10002 = 20003 for 2; half is 10001.5, rounds to even 10002: realized 98.
        ([Trade(BUY, 1, 10001), Trade(BUY, 1, 10002), Trade(SELL, 1, 10100)], 10001, 98),
        # Short cost -20001 for -2; half is -10000.5, rounds to even -10000: realized -10100 + 10000.
        ([Trade(SELL, 1, 10000), Trade(SELL, 1, 10001), Trade(BUY, 1, 10100)], -10001, -100),
    ],
    ids=["half-down-to-even", "half-up-to-even", "short-half-to-even"],
)
def test_apply_fill_when_removed_cost_is_half_a_paisa_then_rounds_half_even(
    trades: list[Trade], cost: int, realized: int
) -> None:
    position = apply_all(trades)

    assert (position.cost, position.realized) == (cost, realized)


def test_average_price_when_not_a_whole_paisa_then_quantized_to_four_places() -> None:
    # 10000 + 10000 + 10001 = 30001 paise for 3: ₹100.003333... shown as ₹100.0033.
    position = apply_all([Trade(BUY, 1, 10000), Trade(BUY, 1, 10000), Trade(BUY, 1, 10001)])

    assert position.average_price == Decimal("100.0033")


# --- charges, unrealized, cash ----------------------------------------------------------------------


def test_apply_fill_when_charged_then_charges_accumulate_apart_from_realized() -> None:
    position = apply_all([Trade(BUY, 10, 10000, charges=2360), Trade(SELL, 10, 10100, charges=2500)])

    assert position.realized == 1000  # 101000 - 100000, before charges
    assert position.charges == 4860


@pytest.mark.parametrize(
    ("trade", "unrealized", "market_value"),
    [
        # Long 10 @ ₹100 marked at ₹105: 105000 - 100000.
        (Trade(BUY, 10, 10000), 5000, 105000),
        # Short 10 @ ₹100 marked at ₹105: -105000 + 100000.
        (Trade(SELL, 10, 10000), -5000, -105000),
    ],
    ids=["long", "short"],
)
def test_unrealized_when_marked_above_cost_then_long_gains_and_short_loses(
    trade: Trade, unrealized: int, market_value: int
) -> None:
    position = apply(Position(), trade)

    assert position.unrealized(10500) == unrealized
    assert position.market_value(10500) == market_value


@pytest.mark.parametrize(("side", "cash"), [(BUY, -100025), (SELL, 99975)])
def test_fill_cash_flow_when_filled_then_trade_value_moves_and_charges_always_cost(
    side: Side, cash: int
) -> None:
    assert fill_cash_flow(side=side, quantity=10, price=10000, charges=25) == cash


# --- summary ----------------------------------------------------------------------------------------


def test_summarize_when_strategies_net_to_zero_then_instrument_is_not_an_open_position() -> None:
    positions: dict[Key, Position] = {
        ("momentum", INFY): apply(Position(), Trade(BUY, 10, 10000, charges=100)),
        ("reversion", INFY): apply(Position(), Trade(SELL, 10, 10200, charges=100)),
        ("momentum", TCS): apply(Position(), Trade(BUY, 2, 350000, charges=50)),
    }
    # Cash: 1000000 - 100100 + 101900 - 700050 = 301750.
    summary = summarize(positions, starting_cash=1_000_000, cash=301750, last_prices={INFY: 10100})

    assert summary.open_positions == 1
    # Bought at ₹100 and sold at ₹102, both marked at ₹101: each is ₹1 × 10 up. TCS has no price.
    assert summary.unrealized == 1000 + 1000
    assert summary.charges == 250
    # 301750 + 101000 - 101000 + 700000 (TCS at cost)
    assert summary.equity == 1001750
    assert summary.pnl == 1750 == summary.realized - summary.charges + summary.unrealized


# --- properties -------------------------------------------------------------------------------------

trades = st.builds(
    Trade,
    side=st.sampled_from(Side),
    quantity=st.integers(1, 300),
    price=st.integers(1, 1_000_000),
    charges=st.integers(0, 5_000),
)
keys = st.tuples(st.sampled_from(["momentum", "reversion"]), st.sampled_from([INFY, TCS]))
keyed_trades = st.lists(st.tuples(keys, trades), max_size=20)


@st.composite
def split_trades(draw: st.DrawFn) -> tuple[Trade, list[Trade]]:
    """A fill, and the same fill cut into parts at the same price with its charges spread over them."""
    whole = draw(trades.filter(lambda trade: trade.quantity > 1))
    cuts = sorted(draw(st.sets(st.integers(1, whole.quantity - 1), min_size=1, max_size=6)))
    quantities = [b - a for a, b in itertools.pairwise([0, *cuts, whole.quantity])]
    charges = draw(st.lists(st.integers(0, 1_000), min_size=len(quantities), max_size=len(quantities)))
    parts = [Trade(whole.side, q, whole.price, c) for q, c in zip(quantities, charges, strict=True)]
    return whole._replace(charges=sum(charges)), parts


@given(history=st.lists(trades, max_size=10))
def test_apply_fill_for_any_fills_realized_minus_cost_is_minus_their_signed_value(
    history: list[Trade],
) -> None:
    # Rounding the removed cost moves a paisa between realized and cost, never out of their difference.
    position = apply_all(history)

    assert position.realized - position.cost == -signed_value(history)
    assert position.quantity == sum(trade.side.sign * trade.quantity for trade in history)
    assert position.quantity != 0 or position.cost == 0


@given(history=st.lists(trades, max_size=6), split=split_trades())
def test_apply_fill_when_fill_is_split_then_only_realized_may_shift_by_a_paisa_a_split(
    history: list[Trade], split: tuple[Trade, list[Trade]]
) -> None:
    whole, parts = split
    start = apply_all(history)

    at_once, in_parts = apply(start, whole), apply_all(parts, start)

    # Exact: quantity, the trade tallies, charges, and realized - cost (the signed value is the same).
    assert in_parts.quantity == at_once.quantity
    assert in_parts.realized - in_parts.cost == at_once.realized - at_once.cost
    assert (in_parts.buy_quantity, in_parts.sell_quantity) == (at_once.buy_quantity, at_once.sell_quantity)
    assert (in_parts.buy_value, in_parts.sell_value) == (at_once.buy_value, at_once.sell_value)
    assert in_parts.charges == at_once.charges
    assert in_parts.fills == at_once.fills + len(parts) - 1
    # Each part rounds its removed cost at most once, by at most half a paisa, and an earlier error
    # only shrinks as the position does; so the parts are within len(parts)/2 of the exact share, the
    # whole fill within 1/2. That is within a paisa per split (len(parts) - 1) for any split.
    assert 2 * abs(in_parts.realized - at_once.realized) <= len(parts) + 1
    if start.quantity * whole.side.sign >= 0:  # nothing closed: no rounding at all
        assert (in_parts.realized, in_parts.cost) == (at_once.realized, at_once.cost)


@given(
    infy=st.lists(trades, max_size=8),
    tcs=st.lists(trades, max_size=8),
    rng=st.randoms(use_true_random=False),
)
def test_replay_when_fills_on_different_instruments_interleave_then_order_does_not_matter(
    infy: list[Trade], tcs: list[Trade], rng: random.Random
) -> None:
    infy_fills = [fill(trade, token=INFY, n=n) for n, trade in enumerate(infy)]
    tcs_fills = [fill(trade, token=TCS, n=n) for n, trade in enumerate(tcs)]
    tags = [INFY] * len(infy) + [TCS] * len(tcs)
    rng.shuffle(tags)
    queues = {INFY: iter(infy_fills), TCS: iter(tcs_fills)}
    interleaved = [next(queues[tag]) for tag in tags]  # each instrument's own fills keep their order

    assert replay(interleaved) == replay(infy_fills + tcs_fills)


def fills_of(keyed: list[tuple[Key, Trade]]) -> list[Fill]:
    return [
        fill(trade, strategy=strategy, token=token, n=n) for n, ((strategy, token), trade) in enumerate(keyed)
    ]


@given(keyed=keyed_trades)
def test_replay_for_any_fills_equals_applying_them_one_by_one(keyed: list[tuple[Key, Trade]]) -> None:
    positions, cash_delta = replay(fills_of(keyed))

    assert positions == {key: apply_all(t for k, t in keyed if k == key) for key, _ in keyed}
    assert cash_delta == sum(fill_cash_flow(**trade._asdict()) for _, trade in keyed)


@given(
    keyed=keyed_trades,
    last_prices=st.dictionaries(st.sampled_from([INFY, TCS]), st.integers(1, 1_000_000)),
    starting_cash=st.integers(0, 10**12),
)
def test_summarize_for_any_fills_equity_is_starting_cash_plus_net_pnl(
    keyed: list[tuple[Key, Trade]], last_prices: dict[int, int], starting_cash: int
) -> None:
    positions, cash_delta = replay(fills_of(keyed))

    summary = summarize(
        positions, starting_cash=starting_cash, cash=starting_cash + cash_delta, last_prices=last_prices
    )

    assert summary.equity == starting_cash + summary.realized - summary.charges + summary.unrealized
    assert summary.pnl == summary.realized - summary.charges + summary.unrealized


def test_amounts_name_every_field_with_its_value() -> None:
    position = Position(*range(1, len(Position.__slots__) + 1))
    assert position.amounts() == dataclasses.asdict(position)
    assert list(position.amounts()) == [f.name for f in dataclasses.fields(Position)]

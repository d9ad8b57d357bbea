from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

import pytest

from alphapanda.events import OrderType, Product, Side, Signal
from riskcheck.rules import (
    IST,
    RULES,
    Exposure,
    Limits,
    MisCutoff,
    Rule,
    check_allowed_instrument,
    check_allowed_product,
    check_entries_blocked,
    check_max_daily_loss,
    check_max_daily_trades,
    check_max_open_positions,
    check_max_order_value,
    check_max_position,
    check_max_quantity,
    check_mis_cutoff,
    check_price_deviation,
    evaluate,
)

INFY = 408065
LIMITS = Limits(
    max_quantity=100,
    max_order_value=Decimal("50000"),
    max_position=200,
    max_open_positions=3,
    max_daily_trades=10,
    max_price_deviation_pct=Decimal("5"),
    allowed_products=frozenset(),
    allowed_instruments=frozenset(),
    max_daily_loss=Decimal("5000"),
)
FLAT = Exposure(
    position=0,
    open_positions=0,
    trades_today=0,
    day_pnl=Decimal(0),
    last_price=Decimal(100),
    entries_blocked=None,
)


def signal(**overrides: Any) -> Signal:
    fields: dict[str, Any] = {
        "strategy": "momentum",
        "instrument_token": INFY,
        "symbol": "INFY",
        "exchange": "NSE",
        "side": Side.BUY,
        "quantity": 10,
        "reference_price": Decimal(100),
        "ts": 0,
    }
    return Signal(**(fields | overrides))


def limit_order(price: str, **overrides: Any) -> Signal:
    return signal(order_type=OrderType.LIMIT, price=Decimal(price), **overrides)


def exposure(**overrides: Any) -> Exposure:
    return replace(FLAT, **overrides)


def mis_cutoff(hh: int, mm: int, ss: int = 0, *, squared_off: bool = False, position: int = 0) -> MisCutoff:
    """Paper's 15:20 IST cut-off, for a signal decided on a tick at hh:mm:ss IST."""
    at = datetime(2026, 1, 5, hh, mm, ss, tzinfo=IST)
    return MisCutoff(at=time(15, 20), market_time=at, squared_off=squared_off, position=position)


# --- limits -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_quantity", -1), ("max_price_deviation_pct", Decimal("NaN")), ("max_daily_loss", Decimal(0))],
)
def test_limits_when_nonsensical_then_refused_at_construction(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        replace(LIMITS, **{field: value})


# --- allowed instrument -----------------------------------------------------------------------------


def test_allowed_instrument_when_set_is_empty_then_any_instrument_passes() -> None:
    assert check_allowed_instrument(signal(), limits=LIMITS, exposure=FLAT) is None


def test_allowed_instrument_when_listed_then_passes() -> None:
    limits = replace(LIMITS, allowed_instruments=frozenset({INFY}))
    assert check_allowed_instrument(signal(), limits=limits, exposure=FLAT) is None


def test_allowed_instrument_when_not_listed_then_rejects() -> None:
    limits = replace(LIMITS, allowed_instruments=frozenset({738561}))

    rejection = check_allowed_instrument(signal(), limits=limits, exposure=FLAT)

    assert rejection is not None
    assert rejection.rule is Rule.ALLOWED_INSTRUMENT
    assert "INFY" in rejection.reason
    assert str(INFY) in rejection.reason


# --- allowed product --------------------------------------------------------------------------------


def test_allowed_product_when_set_is_empty_then_any_product_passes() -> None:
    assert check_allowed_product(signal(product=Product.CNC), limits=LIMITS, exposure=FLAT) is None


def test_allowed_product_when_listed_then_passes() -> None:
    limits = replace(LIMITS, allowed_products=frozenset({"MIS"}))
    assert check_allowed_product(signal(product=Product.MIS), limits=limits, exposure=FLAT) is None


def test_allowed_product_when_not_listed_then_rejects() -> None:
    limits = replace(LIMITS, allowed_products=frozenset({"MIS", "NRML"}))

    rejection = check_allowed_product(signal(product=Product.CNC), limits=limits, exposure=FLAT)

    assert rejection is not None
    assert rejection.rule is Rule.ALLOWED_PRODUCT
    assert rejection.reason == "product CNC is not allowed (allowed: MIS, NRML)"


# --- max quantity -----------------------------------------------------------------------------------


def test_max_quantity_when_at_limit_then_passes() -> None:
    assert check_max_quantity(signal(quantity=100), limits=LIMITS, exposure=FLAT) is None


def test_max_quantity_when_one_over_limit_then_rejects() -> None:
    rejection = check_max_quantity(signal(quantity=101), limits=LIMITS, exposure=FLAT)

    assert rejection is not None
    assert rejection.rule is Rule.MAX_QUANTITY
    assert rejection.reason == "quantity 101 exceeds the limit of 100"


# --- max order value --------------------------------------------------------------------------------

# The price an order is valued at, for each kind of order.
PRICINGS = [
    pytest.param(lambda p: {"order_type": OrderType.LIMIT, "price": p}, id="limit-price"),
    pytest.param(lambda p: {"order_type": OrderType.SL_M, "trigger_price": p}, id="sl-m-trigger"),
    pytest.param(lambda p: {"reference_price": p}, id="market-reference-price"),
]


@pytest.mark.parametrize("pricing", PRICINGS)
def test_max_order_value_when_at_limit_then_passes(pricing: Callable[[Decimal], dict[str, Any]]) -> None:
    # 100 units at ₹500.00 is exactly the ₹50,000 limit.
    order = signal(quantity=100, **pricing(Decimal("500.00")))
    assert check_max_order_value(order, limits=LIMITS, exposure=FLAT) is None


@pytest.mark.parametrize("pricing", PRICINGS)
def test_max_order_value_when_one_paisa_a_unit_over_then_rejects(
    pricing: Callable[[Decimal], dict[str, Any]],
) -> None:
    # 100 units at ₹500.01 is ₹50,001.00, ₹1 over the limit.
    order = signal(quantity=100, **pricing(Decimal("500.01")))

    rejection = check_max_order_value(order, limits=LIMITS, exposure=FLAT)

    assert rejection is not None
    assert rejection.rule is Rule.MAX_ORDER_VALUE
    assert rejection.reason == "order value ₹50001.00 (100 × ₹500.01) exceeds the limit of ₹50000"


def test_max_order_value_when_sl_order_then_values_at_limit_price_not_trigger() -> None:
    # 100 × ₹400 = ₹40,000 passes; valued at the ₹600 trigger it would be ₹60,000.
    order = signal(order_type=OrderType.SL, price=Decimal(400), trigger_price=Decimal(600), quantity=100)
    assert check_max_order_value(order, limits=LIMITS, exposure=FLAT) is None


# --- price deviation --------------------------------------------------------------------------------


@pytest.mark.parametrize("price", ["105.00", "95.00"])
def test_price_deviation_when_at_limit_then_passes(price: str) -> None:
    # |105 - 100| / 100 = 5%, exactly the limit, either side of the last price.
    assert check_price_deviation(limit_order(price), limits=LIMITS, exposure=FLAT) is None


@pytest.mark.parametrize(("price", "shown"), [("105.05", "5.05"), ("94.95", "5.05")])
def test_price_deviation_when_one_tick_over_limit_then_rejects(price: str, shown: str) -> None:
    rejection = check_price_deviation(limit_order(price), limits=LIMITS, exposure=FLAT)

    assert rejection is not None
    assert rejection.rule is Rule.PRICE_DEVIATION
    assert rejection.reason == (f"price ₹{price} is {shown}% away from the last price ₹100 (limit 5%)")


def test_price_deviation_when_market_order_then_compares_reference_price_to_last_price() -> None:
    # The strategy saw ₹106 but the last tick says ₹100: 6%, over the 5% limit.
    rejection = check_price_deviation(signal(reference_price=Decimal(106)), limits=LIMITS, exposure=FLAT)

    assert rejection is not None
    assert "₹106" in rejection.reason
    assert "6.00%" in rejection.reason


def test_price_deviation_when_shown_percent_would_round_down_then_rounds_up() -> None:
    # ₹1050.01 against ₹1000 is 5.001%: shown as 5.00% it would read as within the limit.
    exposure_ = exposure(last_price=Decimal(1000))
    rejection = check_price_deviation(limit_order("1050.01"), limits=LIMITS, exposure=exposure_)

    assert rejection is not None
    assert "5.01%" in rejection.reason


def test_price_deviation_when_no_last_price_then_compares_to_reference_price() -> None:
    no_tick = exposure(last_price=None)
    assert check_price_deviation(limit_order("105.00"), limits=LIMITS, exposure=no_tick) is None

    rejection = check_price_deviation(limit_order("105.05"), limits=LIMITS, exposure=no_tick)

    assert rejection is not None
    assert "from the reference price ₹100" in rejection.reason


# --- max daily trades -------------------------------------------------------------------------------


def test_max_daily_trades_when_this_would_be_the_last_allowed_then_passes() -> None:
    assert check_max_daily_trades(signal(), limits=LIMITS, exposure=exposure(trades_today=9)) is None


def test_max_daily_trades_when_limit_already_reached_then_rejects() -> None:
    rejection = check_max_daily_trades(signal(), limits=LIMITS, exposure=exposure(trades_today=10))

    assert rejection is not None
    assert rejection.rule is Rule.MAX_DAILY_TRADES
    assert rejection.reason == (
        "10 trades today already reach the daily limit of 10; only orders that reduce a position are allowed"
    )


def test_max_daily_trades_when_limit_reached_and_order_reduces_then_passes() -> None:
    long = exposure(trades_today=10, position=25)
    assert check_max_daily_trades(signal(side=Side.SELL, quantity=25), limits=LIMITS, exposure=long) is None


# --- max daily loss ---------------------------------------------------------------------------------


def test_max_daily_loss_when_one_paisa_short_of_limit_then_passes() -> None:
    down = exposure(day_pnl=Decimal("-4999.99"))
    assert check_max_daily_loss(signal(), limits=LIMITS, exposure=down) is None


def test_max_daily_loss_when_limit_reached_then_rejects() -> None:
    rejection = check_max_daily_loss(signal(), limits=LIMITS, exposure=exposure(day_pnl=Decimal("-5000.00")))

    assert rejection is not None
    assert rejection.rule is Rule.MAX_DAILY_LOSS
    assert "-₹5000.00" in rejection.reason
    assert "₹5000" in rejection.reason


@pytest.mark.parametrize(
    ("position", "side", "quantity"),
    [(50, Side.SELL, 50), (50, Side.SELL, 1), (-50, Side.BUY, 50)],
    ids=["long-closed", "long-trimmed", "short-covered"],
)
def test_max_daily_loss_when_order_reduces_then_passes(position: int, side: Side, quantity: int) -> None:
    down = exposure(position=position, day_pnl=Decimal(-6000))
    assert check_max_daily_loss(signal(side=side, quantity=quantity), limits=LIMITS, exposure=down) is None


@pytest.mark.parametrize(
    ("position", "side", "quantity"),
    [(0, Side.SELL, 10), (50, Side.BUY, 10), (50, Side.SELL, 51)],
    ids=["opens", "adds", "flips"],
)
def test_max_daily_loss_when_order_does_not_reduce_then_rejects(
    position: int, side: Side, quantity: int
) -> None:
    down = exposure(position=position, day_pnl=Decimal(-6000))
    order = signal(side=side, quantity=quantity)
    assert check_max_daily_loss(order, limits=LIMITS, exposure=down) is not None


# --- max open positions -----------------------------------------------------------------------------


def test_max_open_positions_when_new_instrument_would_be_the_last_allowed_then_passes() -> None:
    assert check_max_open_positions(signal(), limits=LIMITS, exposure=exposure(open_positions=2)) is None


def test_max_open_positions_when_new_instrument_one_over_limit_then_rejects() -> None:
    rejection = check_max_open_positions(signal(), limits=LIMITS, exposure=exposure(open_positions=3))

    assert rejection is not None
    assert rejection.rule is Rule.MAX_OPEN_POSITIONS
    assert rejection.reason == "INFY would open a new position, and 3 are already open (limit 3)"


@pytest.mark.parametrize(("position", "side"), [(40, Side.BUY), (40, Side.SELL), (-40, Side.BUY)])
def test_max_open_positions_when_instrument_already_open_then_passes(position: int, side: Side) -> None:
    full = exposure(position=position, open_positions=3)
    assert check_max_open_positions(signal(side=side), limits=LIMITS, exposure=full) is None


# --- max position -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("position", "side"), [(150, Side.BUY), (-150, Side.SELL)])
def test_max_position_when_order_reaches_limit_then_passes(position: int, side: Side) -> None:
    order = signal(side=side, quantity=50)
    assert check_max_position(order, limits=LIMITS, exposure=exposure(position=position)) is None


@pytest.mark.parametrize(("position", "side", "after"), [(150, Side.BUY, 201), (-150, Side.SELL, -201)])
def test_max_position_when_one_over_limit_then_rejects(position: int, side: Side, after: int) -> None:
    order = signal(side=side, quantity=51)

    rejection = check_max_position(order, limits=LIMITS, exposure=exposure(position=position))

    assert rejection is not None
    assert rejection.rule is Rule.MAX_POSITION
    assert rejection.reason == (
        f"{side} 51 would take the INFY position from {position} to {after} units, beyond the limit of 200"
    )


def test_max_position_when_flip_overshoots_then_rejects() -> None:
    # Long 100, sell 301: short 201 is past the limit the other way, so this is not a reduction.
    order = signal(side=Side.SELL, quantity=301)
    assert check_max_position(order, limits=LIMITS, exposure=exposure(position=100)) is not None


@pytest.mark.parametrize(("position", "side"), [(300, Side.SELL), (-300, Side.BUY)])
def test_max_position_when_over_limit_and_order_reduces_then_passes(position: int, side: Side) -> None:
    # The limit was lowered below a held position: getting out, partly or fully, is still allowed.
    for quantity in (1, 300):
        order = signal(side=side, quantity=quantity)
        assert check_max_position(order, limits=LIMITS, exposure=exposure(position=position)) is None


# --- evaluate ---------------------------------------------------------------------------------------


def test_evaluate_when_every_rule_passes_then_returns_none() -> None:
    assert evaluate(signal(), limits=LIMITS, exposure=FLAT) is None


def test_evaluate_when_every_rule_fails_then_returns_the_first_in_order() -> None:
    strict = replace(
        LIMITS,
        max_position=50,
        allowed_products=frozenset({"CNC"}),
        allowed_instruments=frozenset({738561}),
    )
    worst = exposure(
        position=0,
        open_positions=3,
        trades_today=10,
        day_pnl=Decimal(-5000),
        entries_blocked="kill switch",
        mis_cutoff=mis_cutoff(15, 25),
    )
    order = limit_order("600", quantity=101)  # value ₹60,600, 500% off the last price, an MIS entry

    failed = [check(order, limits=strict, exposure=worst) for check in RULES]

    assert [rejection.rule for rejection in failed if rejection is not None] == [
        Rule.ENTRIES_BLOCKED,
        Rule.MIS_CUTOFF,
        Rule.ALLOWED_INSTRUMENT,
        Rule.ALLOWED_PRODUCT,
        Rule.MAX_QUANTITY,
        Rule.MAX_ORDER_VALUE,
        Rule.PRICE_DEVIATION,
        Rule.MAX_DAILY_TRADES,
        Rule.MAX_DAILY_LOSS,
        Rule.MAX_OPEN_POSITIONS,
        Rule.MAX_POSITION,
    ]
    assert evaluate(order, limits=strict, exposure=worst) == failed[0]


def test_evaluate_when_signal_breaks_only_a_later_rule_then_reports_it() -> None:
    rejection = evaluate(signal(quantity=60), limits=LIMITS, exposure=exposure(position=150))

    assert rejection is not None
    assert rejection.rule is Rule.MAX_POSITION


# --- entries blocked (kill switch, paused strategy) ------------------------------------------------


def test_entries_blocked_when_kill_switch_and_order_opens_then_rejects_with_the_cause() -> None:
    blocked = exposure(entries_blocked="kill switch engaged on paper: loss limit")
    rejection = check_entries_blocked(signal(), limits=LIMITS, exposure=blocked)
    assert rejection is not None and rejection.rule is Rule.ENTRIES_BLOCKED
    assert (
        rejection.reason
        == "kill switch engaged on paper: loss limit; only orders that reduce a position pass"
    )


def test_entries_blocked_when_order_reduces_then_passes() -> None:
    blocked = exposure(entries_blocked="kill switch engaged on paper", position=10)
    assert check_entries_blocked(signal(side=Side.SELL, quantity=10), limits=LIMITS, exposure=blocked) is None


def test_entries_blocked_when_nothing_blocks_then_passes() -> None:
    assert check_entries_blocked(signal(), limits=LIMITS, exposure=FLAT) is None


# --- paper's MIS cut-off -----------------------------------------------------------------------------


@pytest.mark.parametrize(("hh", "mm", "ss"), [(9, 15, 0), (15, 19, 59)])
def test_mis_cutoff_when_before_it_then_entries_pass(hh: int, mm: int, ss: int) -> None:
    assert (
        check_mis_cutoff(signal(), limits=LIMITS, exposure=exposure(mis_cutoff=mis_cutoff(hh, mm, ss)))
        is None
    )


@pytest.mark.parametrize(("hh", "mm", "ss"), [(15, 20, 0), (15, 29, 59), (23, 59, 59)])
def test_mis_cutoff_when_at_or_after_it_then_an_entry_is_rejected(hh: int, mm: int, ss: int) -> None:
    rejection = check_mis_cutoff(
        signal(), limits=LIMITS, exposure=exposure(mis_cutoff=mis_cutoff(hh, mm, ss))
    )

    assert rejection is not None and rejection.rule is Rule.MIS_CUTOFF
    assert rejection.reason == (
        f"MIS entries closed after 15:20 IST (signal at {hh:02}:{mm:02}:{ss:02} IST); "
        "only orders that reduce a position pass"
    )


def test_mis_cutoff_is_judged_on_the_ist_clock_whatever_the_time_zone_given() -> None:
    at = replace(mis_cutoff(0, 0), market_time=datetime(2026, 1, 5, 9, 50, tzinfo=UTC))  # 15:20 IST
    rejection = check_mis_cutoff(signal(), limits=LIMITS, exposure=exposure(mis_cutoff=at))
    assert rejection is not None and "signal at 15:20:00 IST" in rejection.reason


def test_mis_cutoff_when_a_new_day_begins_then_entries_pass_again() -> None:
    assert check_mis_cutoff(signal(), limits=LIMITS, exposure=exposure(mis_cutoff=mis_cutoff(0, 0))) is None


def test_mis_cutoff_when_the_days_square_off_already_ran_then_a_late_entry_is_rejected() -> None:
    late = mis_cutoff(15, 19, 58, squared_off=True)  # decided before the cut-off, validated after it
    rejection = check_mis_cutoff(signal(), limits=LIMITS, exposure=exposure(mis_cutoff=late))

    assert rejection is not None and rejection.rule is Rule.MIS_CUTOFF
    assert "(the day's MIS square-off has run)" in rejection.reason


@pytest.mark.parametrize(
    ("position", "side", "quantity"),
    [(10, Side.SELL, 10), (10, Side.SELL, 4), (-7, Side.BUY, 7)],
)
def test_mis_cutoff_when_order_reduces_the_strategys_position_then_passes(
    position: int, side: Side, quantity: int
) -> None:
    after = exposure(mis_cutoff=mis_cutoff(15, 25, position=position))
    assert check_mis_cutoff(signal(side=side, quantity=quantity), limits=LIMITS, exposure=after) is None


@pytest.mark.parametrize(
    ("position", "side", "quantity"),
    [(0, Side.BUY, 1), (0, Side.SELL, 1), (10, Side.BUY, 1), (10, Side.SELL, 11), (-7, Side.SELL, 1)],
)
def test_mis_cutoff_when_order_opens_increases_or_flips_then_rejects(
    position: int, side: Side, quantity: int
) -> None:
    after = exposure(mis_cutoff=mis_cutoff(15, 25, position=position))
    rejection = check_mis_cutoff(signal(side=side, quantity=quantity), limits=LIMITS, exposure=after)
    assert rejection is not None and rejection.rule is Rule.MIS_CUTOFF


def test_mis_cutoff_judges_the_strategys_own_position_not_the_brokers_net() -> None:
    # another strategy is short 10, so the broker is flat; this strategy's closing sell must still pass
    after = exposure(position=0, mis_cutoff=mis_cutoff(15, 25, position=10))
    assert check_mis_cutoff(signal(side=Side.SELL, quantity=10), limits=LIMITS, exposure=after) is None


@pytest.mark.parametrize("product", [Product.CNC, Product.NRML])
def test_mis_cutoff_when_delivery_or_carry_forward_then_not_affected(product: Product) -> None:
    after = exposure(mis_cutoff=mis_cutoff(15, 25))
    assert check_mis_cutoff(signal(product=product), limits=LIMITS, exposure=after) is None


def test_mis_cutoff_when_none_on_this_broker_then_passes() -> None:
    assert check_mis_cutoff(signal(), limits=LIMITS, exposure=FLAT) is None  # zerodha, or turned off


# --- daily loss after a circuit breaker release ------------------------------------------------------


def test_max_daily_loss_when_measured_since_a_release_then_says_so() -> None:
    rebased = exposure(day_pnl=Decimal(-5000), pnl_since_release=True)
    rejection = check_max_daily_loss(signal(), limits=LIMITS, exposure=rebased)
    assert rejection is not None
    assert rejection.reason.startswith("P&L since the circuit breaker release of -₹5000 has reached")

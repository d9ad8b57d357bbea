"""Ticks in, through real strategy runner, bridge and Celery worker processes, to the ledger and Redis.

The expected figures are computed here, independently, from the same ticks: the strategies (pure
modules) decide the signals; fill prices, positions, cash and P&L are worked out with plain Decimal
arithmetic; only the charge schedule is shared (it has its own tests against Zerodha's calculator).
"""

from __future__ import annotations

import io
from collections import defaultdict
from decimal import Decimal

import pytest
from django.core.management import call_command

from alphapanda import kafka
from alphapanda.events import Product, Side
from alphapanda.money import from_paise
from portfolio import read_model
from portfolio.models import AppliedFill
from portfolio.models import Position as PositionRow
from riskcheck.models import SignalDecision
from tests.support.market import ceil_to, floor_to, publish_ticks, tick_series
from tests.support.processes import wait_for
from trading import charges
from trading.ledger import trading_day
from trading.models import Fill, Order, Strategy
from trading.runner import StrategyRunner
from trading.selectors import strategy_specs

pytestmark = pytest.mark.integration
SLIPPAGE = Decimal("0.0005")  # PAPER_SLIPPAGE_BPS=5 in the workers' environment
START_CASH = Decimal("1000000")


def _configure_strategies(instruments) -> None:
    reliance, infy = instruments["RELIANCE"], instruments["INFY"]
    sma = Strategy.objects.create(
        name="sma-test",
        kind="sma_crossover",
        params={"fast": 3, "slow": 8, "lots": 2},
        brokers=["paper", "zerodha"],
    )
    sma.instruments.set([reliance.token, infy.token])
    rsi = Strategy.objects.create(
        name="rsi-test", kind="rsi", params={"period": 5, "oversold": 35, "overbought": 65}, brokers=["paper"]
    )
    rsi.instruments.set([reliance.token])


def _expected(ticks, instruments_by_token):
    """Signals from the pure strategies; then fills, positions and cash by hand."""
    runner = StrategyRunner(strategy_specs(), active_brokers=("paper",))
    fills = []
    last = {}
    for tick in ticks:
        last[tick.instrument_token] = tick.ltp
        for _, signal in runner.on_tick(tick):
            inst = instruments_by_token[signal.instrument_token]
            if signal.side is Side.BUY:
                price = ceil_to(tick.asks[0].price * (1 + SLIPPAGE), inst.tick_size)
            else:
                price = floor_to(tick.bids[0].price * (1 - SLIPPAGE), inst.tick_size)
            fee = charges.fill_charges(
                segment=charges.Segment.EQUITY,
                product=Product.MIS,
                exchange="NSE",
                side=signal.side,
                quantity=signal.quantity,
                price=price,
                on=trading_day(signal.ts),
            )
            fills.append((signal, price, fee.total))
    qty = defaultdict(int)
    avg = defaultdict(Decimal)
    realized = Decimal(0)
    cash = START_CASH
    total_charges = Decimal(0)
    for signal, price, fee in fills:
        key = (signal.strategy, signal.instrument_token)
        signed = signal.quantity * signal.side.sign
        cash -= signed * price + fee
        total_charges += fee
        if qty[key] == 0 or (qty[key] > 0) == (signed > 0):
            avg[key] = (avg[key] * abs(qty[key]) + price * abs(signed)) / (abs(qty[key]) + abs(signed))
            qty[key] += signed
            continue
        closing = min(abs(signed), abs(qty[key]))
        realized += (price - avg[key]) * closing * (1 if qty[key] > 0 else -1)
        qty[key] += signed
        if qty[key] != 0 and (qty[key] > 0) == (signed > 0):
            avg[key] = price  # flipped: the remainder opened at this price
    unrealized = sum(q * (last[k[1]] - avg[k]) for k, q in qty.items() if q)
    return {
        "fills": fills,
        "qty": {k: q for k, q in qty.items()},
        "realized": realized,
        "charges": total_charges,
        "cash": cash,
        "unrealized": unrealized,
        "equity": cash + sum(q * last[k[1]] for k, q in qty.items()),
        "last": last,
    }


def _assert_pool(threads: int) -> None:
    """The worker runs the pool WORKER_THREADS asks for (its remote-control stats say so)."""
    from alphapanda.celery import app

    stats = wait_for(lambda: app.control.inspect(timeout=2).stats(), timeout=30, what="the worker's stats")
    (pool,) = [s["pool"] for s in stats.values()]
    assert pool["max-concurrency"] == threads
    assert pool["implementation"] == f"celery.concurrency.{'thread' if threads > 1 else 'solo'}:TaskPool"


@pytest.mark.parametrize("threads", [1, 4], ids=["solo", "4-threads"])
def test_ticks_to_ledger_and_portfolio_equal_an_independent_computation(processes, instruments, threads):
    """The same figures whether the worker runs one task at a time or, with WORKER_THREADS, several:
    the threads then run different topics' and partitions' batches side by side."""
    _configure_strategies(instruments)
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115 (limits, account; strategies kept)
    Strategy.objects.exclude(name__in=["sma-test", "rsi-test"]).delete()
    by_token = {i.token: i for i in instruments.values()}
    ticks = tick_series([instruments["RELIANCE"], instruments["INFY"]], count=250, seed=7)
    expected = _expected(ticks, by_token)
    assert len(expected["fills"]) >= 20, "the series should make the strategies trade"

    processes.env["WORKER_THREADS"] = str(threads)
    processes.worker()
    processes.bridge()
    processes.strategies()
    publish_ticks(ticks)
    _assert_pool(threads)

    n_fills = len(expected["fills"])
    wait_for(
        lambda: AppliedFill.objects.filter(broker="paper").count() >= n_fills,
        timeout=90,
        what=f"{n_fills} fills",
    )
    wait_for(
        lambda: (
            read_model.snapshot("paper")["marks"] == {t: int(p * 100) for t, p in expected["last"].items()}
        ),
        timeout=30,
        what="marks at the last ticks",
    )
    processes.assert_alive()

    # The ledger: one decision, one order and one fill per signal, at the independently computed prices.
    assert SignalDecision.objects.filter(broker="paper").count() == n_fills
    assert not SignalDecision.objects.filter(outcome=SignalDecision.REJECTED).exists()
    assert Order.objects.filter(broker="paper", status="COMPLETE").count() == n_fills
    assert Fill.objects.filter(broker="paper").count() == n_fills
    assert AppliedFill.objects.count() == n_fills
    by_key = defaultdict(list)
    for signal, price, fee in expected["fills"]:
        by_key[(signal.strategy, signal.instrument_token)].append(
            (signal.side.value, signal.quantity, price, fee)
        )
    for key, want in by_key.items():
        got = [
            (f.side, f.quantity, f.price, f.charges)
            for f in Fill.objects.filter(strategy=key[0], instrument_token=key[1]).order_by(
                "order__ts_event", "id"
            )
        ]
        assert got == want, key

    positions = {
        (p.strategy, p.instrument_token): p.quantity for p in PositionRow.objects.filter(broker="paper")
    }
    assert {k: q for k, q in positions.items() if q} == {k: q for k, q in expected["qty"].items() if q}

    # The Redis read model equals the same computation, to the paisa.
    summary = read_model.snapshot("paper")["summary"]
    assert from_paise(summary.cash) == expected["cash"]
    assert from_paise(summary.charges) == expected["charges"]
    assert from_paise(summary.realized) == expected["realized"]
    assert from_paise(summary.unrealized) == expected["unrealized"].quantize(Decimal("0.01"))
    assert from_paise(summary.equity) == expected["equity"]

    # Rebuilding from the <broker>.orders.filled log gives the same figures.
    before = read_model.snapshot("paper")
    out = io.StringIO()
    call_command("rebuild_portfolio", broker="paper", stdout=out)
    assert f"from {n_fills} fills" in out.getvalue()
    assert "the rebuilt portfolio equals the live one" in out.getvalue()
    after = read_model.snapshot("paper")
    assert after["summary"] == before["summary"]
    assert after["positions"] == before["positions"]

    # Isolation: ACTIVE_BROKERS=paper created and touched nothing of zerodha's, though a strategy lists it.
    assert not [t for t in kafka.list_topics() if t.startswith("zerodha")]
    redis_keys = list(read_model.redis_conn.client().scan_iter("*"))
    assert not [k for k in redis_keys if "zerodha" in k], redis_keys
    assert not Order.objects.exclude(broker="paper").exists()
    assert not SignalDecision.objects.exclude(broker="paper").exists()

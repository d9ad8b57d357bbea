"""The pipeline bench's book: 20 strategies over 200 instruments, in the bench's own database only.

The shipped CSV has ~50 instruments, so the rest are synthetic clones of its tradable rows (new
tokens and symbols, same prices). Each strategy trades its own ten instruments with SMA(1) x SMA(2):
it reverses on every change of direction, about one signal in two ticks, so the feed's tick rate
sets the signal load. The first strategies also trade zerodha, on shipped instruments only (the
sandbox knows no others) and at a tenth of the signals, since Kite takes 10 orders/s per API key.
Risk limits are opened wide so the load is executed, not refused. Another 200 clones are watched
by strategies that can never trade them (Bollinger bands of k = 5 over 20 prices: a price inside its
own window of n is at most sqrt(n - 1) = 4.36 deviations from the mean), so a feed on them measures
how many ticks the strategies take in, every tick computed on and none signalled.
"""

from __future__ import annotations

from dataclasses import replace

from trading.instruments import Instrument, load_csv

STRATEGIES = 20
INSTRUMENTS = 200
PREFIX = "bench-s"
ZERODHA_STRATEGIES = 2  # a tenth of the book, on the first (shipped) instruments
WATCHED = 200  # more clones the watchers compute on and never trade: the tick steps' instruments
WATCHER_PREFIX = "bench-w"
WATCHER_PARAMS = {"window": 20, "k": "5", "lots": 1}  # k > sqrt(window - 1): the bands cannot be crossed
SYNTHETIC_TOKEN_BASE = 1_000_000_000  # above any shipped token
SIGNALS_PER_TICK = 0.5  # SMA(1) x SMA(2) on the random walk, before the first step measures it
WIDE_OPEN = {
    "max_quantity": 1_000_000,
    "max_order_value": 10**12,
    "max_position": 1_000_000,
    "max_open_positions": 1_000_000,
    "max_daily_trades": 2_000_000_000,
    "max_price_deviation_pct": 1000,
    "max_daily_loss": 10**12,
    "max_drawdown": 10**12,
}


def instruments() -> list[Instrument]:
    """The shipped tradable instruments first, then synthetic clones up to INSTRUMENTS, then WATCHED."""
    shipped = [
        i for i in load_csv() if i.instrument_type == "EQ" and i.lot_size == 1 and i.segment != "INDICES"
    ]
    return shipped + [
        _clone(shipped[n % len(shipped)], n) for n in range(INSTRUMENTS + WATCHED - len(shipped))
    ]


def traded_symbols() -> list[str]:
    return [i.symbol for i in instruments()[:INSTRUMENTS]]


def watched_symbols() -> list[str]:
    return [i.symbol for i in instruments()[INSTRUMENTS:]]


def _clone(source: Instrument, n: int) -> Instrument:
    return replace(
        source, token=SYNTHETIC_TOKEN_BASE + n, symbol=f"{source.symbol}-B{n}", name=f"bench {source.symbol}"
    )


def install() -> None:
    """Write the book (idempotent); the demo strategies are switched off so only the bench's trade."""
    from django.db.models import Q

    from alphapanda.brokers import KNOWN_BROKERS
    from portfolio.services import account_ensure
    from riskcheck.models import KillSwitch, RiskLimits
    from trading.models import Instrument as InstrumentRow
    from trading.models import Strategy
    from trading.setup import instruments_upsert

    book = instruments()
    instruments_upsert(book)
    rows = {r.token: r for r in InstrumentRow.objects.filter(token__in=[i.token for i in book])}
    Strategy.objects.exclude(Q(name__startswith=PREFIX) | Q(name__startswith=WATCHER_PREFIX)).update(
        active=False
    )
    per = INSTRUMENTS // STRATEGIES
    for s in range(STRATEGIES):
        brokers = ["paper", "zerodha"] if s < ZERODHA_STRATEGIES else ["paper"]
        _strategy(f"{PREFIX}{s:02d}", "sma_crossover", {"fast": 1, "slow": 2, "lots": 1}, brokers,
                  [rows[i.token] for i in book[s * per : (s + 1) * per]])  # fmt: skip
        watched = book[INSTRUMENTS + s * per : INSTRUMENTS + (s + 1) * per]
        _strategy(
            f"{WATCHER_PREFIX}{s:02d}",
            "bollinger",
            WATCHER_PARAMS,
            ["paper"],
            [rows[i.token] for i in watched],
        )
    for broker in KNOWN_BROKERS:
        RiskLimits.objects.update_or_create(broker=broker, defaults=WIDE_OPEN)
        KillSwitch.objects.get_or_create(broker=broker)
        account_ensure(broker=broker)


def _strategy(name: str, kind: str, params: dict, brokers: list[str], instruments: list) -> None:
    from trading.models import Strategy

    strategy, _ = Strategy.objects.update_or_create(
        name=name, defaults={"kind": kind, "params": params, "brokers": brokers, "active": True}
    )
    strategy.instruments.set(instruments)

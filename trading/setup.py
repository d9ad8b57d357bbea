"""Configuration writes: instruments from a dump, and the demo strategies a new user starts with."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from alphapanda.brokers import KNOWN_BROKERS
from trading.instruments import Instrument as DomainInstrument
from trading.models import Instrument, Strategy

DEMO_STRATEGIES = (
    ("sma-crossover", "sma_crossover", {"fast": 5, "slow": 20, "lots": 10}),
    ("bollinger-reversion", "bollinger", {"window": 20, "k": 2, "lots": 10}),
    ("rsi-swing", "rsi", {"period": 14, "oversold": 30, "overbought": 70, "lots": 10}),
)
DEMO_SYMBOLS = (
    "RELIANCE",
    "INFY",
    "TCS",
    "HDFCBANK",
    "ICICIBANK",
    "SBIN",
    "ITC",
    "AXISBANK",
    "LT",
    "BHARTIARTL",
)


_INSTRUMENT_FIELDS = ("exchange_token", "symbol", "name", "exchange", "segment", "instrument_type", "lot_size",
                      "tick_size", "expiry", "strike", "last_price")  # fmt: skip


def instruments_upsert(instruments: Iterable[DomainInstrument], *, batch: int = 5000) -> tuple[int, int]:
    """Insert or update by token in bulk (a full Kite dump is ~100k rows); returns (created, updated)."""
    rows = [
        Instrument(
            token=i.token,
            exchange_token=i.token >> 8,
            symbol=i.symbol,
            name=i.name,
            exchange=i.exchange,
            segment=i.segment,
            instrument_type=i.instrument_type,
            lot_size=i.lot_size,
            tick_size=i.tick_size,
            expiry=i.expiry,
            strike=i.strike,
            last_price=i.last_price,
        )
        for i in instruments
    ]
    existing = set(
        Instrument.objects.filter(token__in=[r.token for r in rows]).values_list("token", flat=True)
    )
    with transaction.atomic():
        for start in range(0, len(rows), batch):
            Instrument.objects.bulk_create(
                rows[start : start + batch],
                update_conflicts=True,
                unique_fields=["token"],
                update_fields=list(_INSTRUMENT_FIELDS),
            )
    return len(rows) - len(existing), len(existing)


def demo_strategies_ensure() -> list[str]:
    """The three demo strategies over ten liquid NSE names, on every broker; existing ones are kept."""
    instruments = list(Instrument.objects.filter(symbol__in=DEMO_SYMBOLS, exchange="NSE"))
    made = []
    for name, kind, params in DEMO_STRATEGIES:
        strategy, created = Strategy.objects.get_or_create(
            name=name, defaults={"kind": kind, "params": params, "brokers": list(KNOWN_BROKERS)}
        )
        if created:
            strategy.instruments.set(instruments)
            made.append(name)
    return made

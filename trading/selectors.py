"""Reads for the trading app: instruments (cached per process), open orders, strategy specs."""

from __future__ import annotations

import time
from collections.abc import Iterable
from decimal import Decimal

from alphapanda.events import OrderStatus
from trading.instruments import Instrument as DomainInstrument
from trading.models import Fill, Instrument, Order, Strategy
from trading.runner import StrategySpec

_CACHE_SECONDS = 60.0
_instruments: tuple[float, dict[int, DomainInstrument]] = (0.0, {})

OPEN_STATUSES = (OrderStatus.OPEN.value, OrderStatus.TRIGGER_PENDING.value)


def _plain(value: Decimal) -> Decimal:
    """0.0500 -> 0.05 (the column's scale is not the instrument's), without exponent notation."""
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal.as_tuple().exponent > 0 else normal


def to_domain(row: Instrument) -> DomainInstrument:
    return DomainInstrument(
        token=row.token,
        symbol=row.symbol,
        exchange=row.exchange,
        lot_size=row.lot_size,
        tick_size=_plain(row.tick_size),
        name=row.name,
        instrument_type=row.instrument_type,
        segment=row.segment,
        last_price=_plain(row.last_price),
        expiry=row.expiry,
        strike=_plain(row.strike),
    )


def clear_caches() -> None:
    global _instruments
    _instruments = (0.0, {})


def instrument_get(token: int) -> DomainInstrument | None:
    global _instruments
    loaded_at, by_token = _instruments
    age = time.monotonic() - loaded_at
    if age > _CACHE_SECONDS or (token not in by_token and age > 1.0):
        by_token = {row.token: to_domain(row) for row in Instrument.objects.all()}
        _instruments = (time.monotonic(), by_token)
    return by_token.get(token)


def open_orders(*, broker: str, tokens: Iterable[int]) -> list[Order]:
    return list(
        Order.objects.filter(
            broker=broker, status__in=OPEN_STATUSES, instrument_token__in=list(tokens)
        ).order_by("created_at", "id")
    )


def recent_fills(*, broker: str, limit: int = 5) -> list[Fill]:
    return list(Fill.objects.filter(broker=broker).order_by("-id")[:limit])


def strategy_specs() -> list[StrategySpec]:
    """Active strategies with their instruments and the brokers they are not paused on."""
    specs = []
    for row in Strategy.objects.filter(active=True).prefetch_related("instruments"):
        instruments = tuple(to_domain(i) for i in row.instruments.all())
        brokers = tuple(b for b in row.brokers if b not in row.paused_brokers)
        specs.append(StrategySpec(row.name, row.kind, dict(row.params), instruments, brokers))
    return specs

"""Reads for the trading app: instruments (cached per process), open orders, strategy specs."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import django_filters
from django.db import connection
from django.db.models import Q, QuerySet

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


# The tick step's two reads, every batch, in SQL: the ORM compiled each anew each time, 1-2 ms a
# batch of ticks of the worker's fixed cost, where running them takes 0.1-0.5 ms. The ids and tokens
# go as one array each, so the statement is the same whatever the batch holds.
_OPEN_ORDERS = (
    f"SELECT * FROM {Order._meta.db_table} WHERE broker = %s AND status = ANY(%s) "
    "AND instrument_token = ANY(%s) ORDER BY created_at, id"
)
_CAUSED = f"SELECT id FROM {Fill._meta.db_table} WHERE broker = %s AND source_event_id = ANY(%s)"


def open_orders(*, broker: str, tokens: Iterable[int]) -> list[Order]:
    """The broker's resting orders in these instruments, oldest first."""
    return list(Order.objects.raw(_OPEN_ORDERS, [broker, list(OPEN_STATUSES), list(tokens)]))


def fills_caused_by(*, broker: str, event_ids: Sequence[str]) -> list[Fill]:
    """The fills these events (signals, ticks) caused, in the order they were recorded, each with its
    order: what a redelivered batch emits again. Usually none, which one short query tells."""
    with connection.cursor() as cursor:
        cursor.execute(_CAUSED, [broker, list(event_ids)])
        keys = [key for (key,) in cursor.fetchall()]
    return list(Fill.objects.filter(pk__in=keys).select_related("order").order_by("id")) if keys else []


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


# -- API reads -------------------------------------------------------------------------------------
class OrderFilter(django_filters.FilterSet):
    strategy = django_filters.CharFilter()
    status = django_filters.CharFilter()
    symbol = django_filters.CharFilter(lookup_expr="iexact")
    side = django_filters.CharFilter()

    class Meta:
        model = Order
        fields = ("strategy", "status", "symbol", "side")


def order_list(*, brokers: Sequence[str], filters: Mapping[str, Any] | None = None) -> QuerySet[Order]:
    """Orders of these brokers, newest first."""
    orders = Order.objects.filter(broker__in=list(brokers)).order_by("-created_at", "-id")
    return OrderFilter(dict(filters or {}), queryset=orders).qs


def order_get(*, broker: str, order_id: str) -> Order | None:
    return Order.objects.filter(broker=broker, order_id=order_id).first()


class FillFilter(django_filters.FilterSet):
    strategy = django_filters.CharFilter()
    symbol = django_filters.CharFilter(lookup_expr="iexact")
    side = django_filters.CharFilter()

    class Meta:
        model = Fill
        fields = ("strategy", "symbol", "side")


def fill_list(*, brokers: Sequence[str], filters: Mapping[str, Any] | None = None) -> QuerySet[Fill]:
    """Fills of these brokers, newest first, with their order's id."""
    fills = (
        Fill.objects.filter(broker__in=list(brokers)).select_related("order").order_by("-filled_at", "-id")
    )
    return FillFilter(dict(filters or {}), queryset=fills).qs


@dataclass(frozen=True)
class StrategyView:
    """A strategy as one user sees it: only the brokers they may see are named."""

    name: str
    kind: str
    params: dict
    instruments: list[str]
    brokers: list[str]
    paused_brokers: list[str]
    active: bool
    updated_at: datetime


def _visible_strategies(brokers: Sequence[str]) -> QuerySet[Strategy]:
    """Strategies trading on at least one of these brokers."""
    if not brokers:
        return Strategy.objects.none()
    trades_on = Q()
    for broker in brokers:
        trades_on |= Q(brokers__contains=[broker])
    return Strategy.objects.filter(trades_on).prefetch_related("instruments").order_by("name")


def strategy_view(*, strategy: Strategy, brokers: Sequence[str]) -> StrategyView:
    return StrategyView(
        name=strategy.name,
        kind=strategy.kind,
        params=dict(strategy.params),
        instruments=sorted(i.symbol for i in strategy.instruments.all()),
        brokers=[b for b in brokers if b in strategy.brokers],
        paused_brokers=[b for b in brokers if b in strategy.paused_brokers],
        active=strategy.active,
        updated_at=strategy.updated_at,
    )


def strategy_get(*, name: str, brokers: Sequence[str]) -> Strategy | None:
    """The strategy, if it trades on one of these brokers (else, to this caller, it does not exist)."""
    return _visible_strategies(brokers).filter(name=name).first()


def strategy_list(*, brokers: Sequence[str], trading_on: Sequence[str] | None = None) -> list[StrategyView]:
    """Strategies trading on one of `trading_on` (default: any of `brokers`), naming only `brokers`."""
    selected = _visible_strategies(brokers if trading_on is None else trading_on)
    return [strategy_view(strategy=s, brokers=brokers) for s in selected]


def strategy_detail(*, name: str, brokers: Sequence[str]) -> StrategyView | None:
    strategy = strategy_get(name=name, brokers=brokers)
    return strategy_view(strategy=strategy, brokers=brokers) if strategy else None

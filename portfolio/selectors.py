"""Portfolio reads from the Redis read model, in rupees, for people and APIs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import django_filters
from django.db.models import QuerySet

from alphapanda.money import from_paise
from portfolio import read_model
from portfolio.models import PnlPoint, Position
from portfolio.positions import Position as DomainPosition


@dataclass(frozen=True)
class BrokerSummary:
    broker: str
    equity: Decimal
    cash: Decimal
    realized: Decimal
    unrealized: Decimal
    charges: Decimal
    pnl: Decimal
    open_positions: int
    signals: int
    orders: int
    fills: int
    rejections: int


def portfolio_summary(*, broker: str) -> BrokerSummary:
    snap = read_model.snapshot(broker)
    s, activity = snap["summary"], snap["activity"]
    return BrokerSummary(
        broker=broker,
        equity=from_paise(s.equity),
        cash=from_paise(s.cash),
        realized=from_paise(s.realized),
        unrealized=from_paise(s.unrealized),
        charges=from_paise(s.charges),
        pnl=from_paise(s.pnl),
        open_positions=s.open_positions,
        signals=activity.get("signals", 0),
        orders=activity.get("orders", 0),
        fills=activity.get("fills", 0),
        rejections=activity.get("rejections", 0),
    )


@dataclass(frozen=True)
class StrategyPnl:
    broker: str
    strategy: str
    realized: Decimal
    unrealized: Decimal
    charges: Decimal
    pnl: Decimal
    open_positions: int


def strategy_pnl_list(*, broker: str) -> list[StrategyPnl]:
    """Each strategy's marked-to-market P&L on one broker (cash is the account's, not a strategy's)."""
    out = []
    for name, s in read_model.strategy_summaries(read_model.snapshot(broker)).items():
        out.append(
            StrategyPnl(
                broker=broker,
                strategy=name,
                realized=from_paise(s.realized),
                unrealized=from_paise(s.unrealized),
                charges=from_paise(s.charges),
                pnl=from_paise(s.realized + s.unrealized - s.charges),
                open_positions=s.open_positions,
            )
        )
    return out


# -- API reads -------------------------------------------------------------------------------------
def portfolio_summary_list(*, brokers: Sequence[str]) -> list[BrokerSummary]:
    """One summary per broker, in the order given."""
    return [portfolio_summary(broker=broker) for broker in brokers]


class PositionFilter(django_filters.FilterSet):
    strategy = django_filters.CharFilter()
    symbol = django_filters.CharFilter(lookup_expr="iexact")
    open = django_filters.BooleanFilter(method="filter_open")

    class Meta:
        model = Position
        fields = ("strategy", "symbol", "open")

    def filter_open(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.exclude(quantity=0) if value else queryset.filter(quantity=0)


@dataclass(frozen=True)
class PositionView:
    """A ledger position in rupees, marked with the read model's last price (None when unmarked)."""

    broker: str
    strategy: str
    instrument_token: int
    symbol: str
    quantity: int
    average_price: Decimal
    realized: Decimal
    charges: Decimal
    last_price: Decimal | None
    unrealized: Decimal | None


def position_list(*, brokers: Sequence[str], filters: Mapping[str, Any] | None = None) -> list[PositionView]:
    """Positions of these brokers from the ledger (realized and charges), marked from the read model."""
    rows = Position.objects.filter(broker__in=list(brokers)).order_by("broker", "strategy", "symbol", "id")
    rows = list(PositionFilter(dict(filters or {}), queryset=rows).qs)
    marks = {broker: read_model.snapshot(broker)["marks"] for broker in sorted({row.broker for row in rows})}
    out = []
    for row in rows:
        domain = DomainPosition(quantity=row.quantity, cost=row.cost)
        mark = marks[row.broker].get(row.instrument_token)
        out.append(
            PositionView(
                broker=row.broker,
                strategy=row.strategy,
                instrument_token=row.instrument_token,
                symbol=row.symbol,
                quantity=row.quantity,
                average_price=domain.average_price,
                realized=from_paise(row.realized),
                charges=from_paise(row.charges),
                last_price=from_paise(mark) if mark is not None else None,
                unrealized=from_paise(domain.unrealized(mark)) if mark is not None else None,
            )
        )
    return out


@dataclass(frozen=True)
class PnlView:
    at: datetime
    equity: Decimal
    realized: Decimal
    unrealized: Decimal
    charges: Decimal


PNL_MAX_POINTS = 2000


def pnl_series(
    *, broker: str, strategy: str = "", since: datetime | None = None, max_points: int = PNL_MAX_POINTS
) -> list[PnlView]:
    """The broker's (strategy "") or one strategy's P&L curve, oldest first; a longer series is thinned
    evenly to `max_points`, keeping its first and last points."""
    points = PnlPoint.objects.filter(broker=broker, strategy=strategy)
    if since is not None:
        points = points.filter(at__gte=since)
    points = points.order_by("at", "id")
    ids = list(points.values_list("id", flat=True))
    if len(ids) > max_points:
        step = (len(ids) - 1) / (max_points - 1)
        keep = sorted({ids[round(i * step)] for i in range(max_points)})
        points = points.filter(id__in=keep)
    return [
        PnlView(
            at=p.at,
            equity=from_paise(p.equity),
            realized=from_paise(p.realized),
            unrealized=from_paise(p.unrealized),
            charges=from_paise(p.charges),
        )
        for p in points
    ]

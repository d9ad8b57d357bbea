"""Portfolio reads from the Redis read model, in rupees, for people and APIs."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from alphapanda.money import from_paise
from portfolio import read_model


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

"""Reads for the risk step: the broker's limits and its exposure, from the ledger and the read model."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import django_filters
from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import QuerySet

from alphapanda.models import BrokerGrant
from alphapanda.money import from_paise
from portfolio.models import Position
from portfolio.services import book_current
from riskcheck import breakers
from riskcheck.controls import kill_switch_reason, switch_message, switch_reasons
from riskcheck.models import KillSwitch, RiskLimits, SignalDecision, TradingDay
from riskcheck.rules import Exposure, Limits, MisCutoff
from trading.models import Strategy

IST = ZoneInfo("Asia/Kolkata")
_LIMITS_TTL = 5.0
_limits_cache: dict[str, tuple[float, Limits]] = {}


def clear_caches() -> None:
    _limits_cache.clear()


def limits_get(*, broker: str) -> Limits:
    """The broker's limits (created with defaults on first use), re-read every few seconds."""
    cached = _limits_cache.get(broker)
    if cached and time.monotonic() - cached[0] < _LIMITS_TTL:
        return cached[1]
    row, _ = RiskLimits.objects.get_or_create(broker=broker)
    limits = Limits(
        max_quantity=row.max_quantity,
        max_order_value=row.max_order_value,
        max_position=row.max_position,
        max_open_positions=row.max_open_positions,
        max_daily_trades=row.max_daily_trades,
        max_price_deviation_pct=row.max_price_deviation_pct,
        allowed_products=frozenset(row.allowed_products),
        allowed_instruments=frozenset(int(t) for t in row.allowed_instruments),
        max_daily_loss=row.max_daily_loss,
        max_drawdown=row.max_drawdown,
        square_off_on_trip=row.square_off_on_trip,
    )
    _limits_cache[broker] = (time.monotonic(), limits)
    return limits


# Read by every tick batch (the breakers): in SQL, as the ORM compiled `get_or_create`'s lookup anew
# each time, 0.6 ms of a small batch.
_TRADING_DAY = f"SELECT * FROM {TradingDay._meta.db_table} WHERE broker = %s AND day = %s"


def trading_day_get(*, broker: str, day, equity: int) -> TradingDay:
    """Today's row for the broker, opened at `equity` (paise) by whichever step sees the day first."""
    row = next(iter(TradingDay.objects.raw(_TRADING_DAY, [broker, day])), None)
    if row is None:
        row, _ = TradingDay.objects.get_or_create(broker=broker, day=day, defaults={"start_equity": equity})
    return row


@dataclass(frozen=True)
class EntryState:
    """What the risk step reads each batch besides the book: why entries are blocked by a kill switch
    (None: they are not), the strategies paused on the broker, and today's row."""

    switch: str | None
    paused: frozenset[str]
    day: TradingDay


def entry_state(*, broker: str, day: date, equity: int) -> EntryState:
    """The kill switches and the paused strategies, read with today's row in one query (three round
    trips a risk batch were a third of a small batch's time); the row is opened at `equity` (paise)
    when this is the day's first look."""
    sql, params = _entry_state_query(broker, day)
    row = next(iter(TradingDay.objects.raw(sql, params)), None)
    if row is None:
        trading_day_get(broker=broker, day=day, equity=equity)
        row = next(iter(TradingDay.objects.raw(sql, params)))
    switch = switch_message(broker, global_reason=row.global_switch, broker_reason=row.broker_switch)
    return EntryState(switch=switch, paused=frozenset(row.paused), day=row)


@functools.lru_cache(maxsize=16)
def _entry_state_query(broker: str, day: date) -> tuple[str, tuple]:
    """`entry_state`'s SQL, compiled once a broker and day: the ORM took 1.5 ms to compile its
    subqueries, against 0.3 ms to run them (the risk step's largest fixed cost a batch)."""
    query = TradingDay.objects.filter(broker=broker, day=day).annotate(
        **switch_reasons(broker),
        paused=ArraySubquery(Strategy.objects.filter(paused_brokers__contains=[broker]).values("name")),
    )
    return query.query.sql_with_params()


def entries_blocked(*, broker: str, strategy: str) -> str | None:
    """Why this strategy may not open risk on this broker now: the kill switch, or a pause."""
    return _blocked(kill_switch_reason(broker=broker), _paused(broker), broker, strategy)


def _paused(broker: str) -> frozenset[str]:
    return frozenset(
        Strategy.objects.filter(paused_brokers__contains=[broker]).values_list("name", flat=True)
    )


def _blocked(switch: str | None, paused: frozenset[str], broker: str, strategy: str) -> str | None:
    if switch:
        return switch
    return f"strategy {strategy} is paused on {broker}" if strategy in paused else None


def _mis_cutoff_applies(broker: str) -> bool:
    return broker == "paper" and settings.CONFIG.paper_mis_square_off is not None


def _positions(broker: str, keys: set[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """Each key's quantity from the ledger (absent: flat), in one query for the batch's keys."""
    if not keys:
        return {}
    rows = Position.objects.filter(
        broker=broker, strategy__in={s for s, _ in keys}, instrument_token__in={t for _, t in keys}
    ).values_list("strategy", "instrument_token", "quantity")
    return {(s, t): q for s, t, q in rows if (s, t) in keys}


class ExposureContext:
    """The account as the rules see it, read once for a batch of signals (two round trips in all, not
    per signal: the book from the read model, the rest in `entry_state`). Trades validated within the batch are counted as they are decided.

    Net quantities per instrument come from the read model's totals, which the portfolio writes
    under the account's lock with each batch of fills (versioned, so they never go back): the same
    read that gives the equity, whatever the number of positions. Reading every position row from
    the ledger instead cost 11% of a worker's time at 4,000 positions. Only the MIS cut-off needs
    one strategy's position, and only for the `keys` the batch holds."""

    def __init__(self, *, broker: str, now: datetime, keys: Iterable[tuple[str, int]] = ()) -> None:
        self.broker = broker
        book = book_current(broker=broker)
        self.marks, self.net, self.open_positions = book.marks, book.net, book.open_positions
        self.by_key = _positions(broker, set(keys)) if _mis_cutoff_applies(broker) else {}
        state = entry_state(broker=broker, day=now.astimezone(IST).date(), equity=book.equity)
        day = state.day
        self.day_id = day.pk
        self.trades_today = day.validated
        base = breakers.baseline(  # the daily loss breaker's base: a release re-opens entries too
            start_equity=day.start_equity, peak_equity=None, released_equity=day.released_equity
        )
        self.day_pnl = from_paise(book.equity - base.loss_base)
        self.released = base.released
        self.switch, self.paused = state.switch, state.paused
        self._squared_off: dict = {day.day: day.squared_off_at is not None}  # today's, read above

    def _squared_off_on(self, day) -> bool:
        if day not in self._squared_off:
            self._squared_off[day] = TradingDay.objects.filter(
                broker=self.broker, day=day, squared_off_at__isnull=False
            ).exists()
        return self._squared_off[day]

    def mis_cutoff(
        self, *, strategy: str, instrument_token: int, product: str, market_ts: int
    ) -> MisCutoff | None:
        """Paper's MIS cut-off for a signal decided on a tick at `market_ts` (ns), or None where it does
        not apply: zerodha (Kite enforces its own), PAPER_MIS_SQUARE_OFF=off, or a CNC/NRML signal.

        Judged on the market clock, as the square-off is, so a replay of a day's ticks decides alike.
        """
        if not _mis_cutoff_applies(self.broker) or product != "MIS":
            return None
        at = datetime.fromtimestamp(market_ts / 1e9, IST)
        return MisCutoff(at=settings.CONFIG.paper_mis_square_off, market_time=at,
                         squared_off=self._squared_off_on(at.date()),
                         position=self.by_key.get((strategy, instrument_token), 0))  # fmt: skip

    def exposure(
        self,
        *,
        strategy: str,
        instrument_token: int,
        product: str | None = None,
        market_ts: int | None = None,
    ) -> Exposure:
        """For one signal; paper's MIS cut-off is weighed for its `product` decided on a tick at
        `market_ts` (ns), and left out without them."""
        mark = self.marks.get(instrument_token)
        cutoff = None
        if market_ts is not None and product is not None:
            cutoff = self.mis_cutoff(strategy=strategy, instrument_token=instrument_token, product=product,
                                     market_ts=market_ts)  # fmt: skip
        return Exposure(
            position=self.net.get(instrument_token, 0),
            open_positions=self.open_positions,
            trades_today=self.trades_today,
            day_pnl=self.day_pnl,
            last_price=from_paise(mark) if mark is not None else None,
            entries_blocked=_blocked(self.switch, self.paused, self.broker, strategy),
            pnl_since_release=self.released,
            mis_cutoff=cutoff,
        )


# -- API reads -------------------------------------------------------------------------------------
class DecisionFilter(django_filters.FilterSet):
    strategy = django_filters.CharFilter()
    outcome = django_filters.CharFilter()
    rule = django_filters.CharFilter()

    class Meta:
        model = SignalDecision
        fields = ("strategy", "outcome", "rule")


def decision_list(
    *, brokers: Sequence[str], filters: Mapping[str, Any] | None = None
) -> QuerySet[SignalDecision]:
    """The risk step's decisions on these brokers, newest first."""
    decisions = SignalDecision.objects.filter(broker__in=list(brokers)).order_by("-decided_at", "-id")
    return DecisionFilter(dict(filters or {}), queryset=decisions).qs


def risk_limits_get(*, broker: str) -> RiskLimits:
    """The broker's stored limits, or (unsaved) the defaults the risk step would create on first use."""
    return RiskLimits.objects.filter(broker=broker).first() or RiskLimits(broker=broker)


def risk_limits_list(*, brokers: Sequence[str]) -> list[RiskLimits]:
    return [risk_limits_get(broker=broker) for broker in brokers]


def kill_switch_get(*, broker: str) -> KillSwitch:
    """The broker's kill switch; one never set is off (and unsaved)."""
    return KillSwitch.objects.filter(broker=broker).first() or KillSwitch(broker=broker)


@dataclass(frozen=True)
class KillSwitchState:
    engaged: bool
    reason: str


@dataclass(frozen=True)
class BrokerHealth:
    ok: bool
    detail: str


@dataclass(frozen=True)
class BrokerStatus:
    name: str
    label: str
    role: str  # admin | trader | viewer
    kill_switch: KillSwitchState
    health: BrokerHealth


BROKER_LABELS = {"paper": "paper (simulated)", "zerodha": "zerodha"}


def _health(broker: str) -> BrokerHealth:
    if broker == "zerodha":
        from trading.kite.session import paused_reason  # kiteconnect is only needed here

        reason = paused_reason()
        return BrokerHealth(ok=reason is None, detail=reason or "ok")
    return BrokerHealth(ok=True, detail="ok")


def broker_status_list(*, user, brokers: Sequence[str]) -> list[BrokerStatus]:
    """Each broker's label, this user's role on it, its kill switch and whether it can trade now."""
    grants = dict(
        BrokerGrant.objects.filter(user=user, broker__in=list(brokers)).values_list("broker", "role")
    )
    out = []
    for broker in brokers:
        switch = kill_switch_get(broker=broker)
        out.append(
            BrokerStatus(
                name=broker,
                label=BROKER_LABELS.get(broker, broker),
                role="admin" if user.is_staff else grants.get(broker, BrokerGrant.VIEWER),
                kill_switch=KillSwitchState(engaged=switch.engaged, reason=switch.reason),
                health=_health(broker),
            )
        )
    return out

"""Circuit breakers on every tick batch: track the day's peak equity, trip the broker's kill switch when
the day's loss or the drawdown from the peak reaches its limit, and optionally square off."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest

from alphapanda.audit import control_record
from portfolio import read_model
from riskcheck import breakers
from riskcheck.controls import kill_switch_set
from riskcheck.models import BreakerTrip, KillSwitch, RiskLimits, TradingDay
from riskcheck.selectors import IST
from trading.controls import positions_flatten

log = logging.getLogger("riskcheck.breakers")

_LIMITS_TTL = 5.0
_limits_cache: dict[str, tuple[float, tuple[Decimal, Decimal, bool]]] = {}


def clear_caches() -> None:
    _limits_cache.clear()


def _limits(broker: str) -> tuple[Decimal, Decimal, bool]:
    """(max daily loss, max drawdown, square off on trip), re-read every few seconds."""
    cached = _limits_cache.get(broker)
    if cached and time.monotonic() - cached[0] < _LIMITS_TTL:
        return cached[1]
    row, _ = RiskLimits.objects.get_or_create(broker=broker)
    limits = (row.max_daily_loss, row.max_drawdown, row.square_off_on_trip)
    _limits_cache[broker] = (time.monotonic(), limits)
    return limits


def breakers_check(*, broker: str, now: datetime, snap: dict | None = None) -> BreakerTrip | None:
    """Evaluate the broker's circuit breakers at its current equity; the trip, if one happened now.

    Cheap per batch: one read-model snapshot (pass one already read to share it), one TradingDay query
    (plus an update when the equity makes a new peak); the limits are cached.
    """
    equity = (snap or read_model.snapshot(broker))["summary"].equity
    day, _ = TradingDay.objects.get_or_create(
        broker=broker, day=now.astimezone(IST).date(), defaults={"start_equity": equity}
    )
    peak = max(day.peak_equity if day.peak_equity is not None else day.start_equity, day.start_equity)
    if equity > peak or day.peak_equity is None:
        TradingDay.objects.filter(pk=day.pk).update(
            peak_equity=Greatest(Coalesce(F("peak_equity"), Value(equity)), Value(equity))
        )
        peak = max(peak, equity)
    max_daily_loss, max_drawdown, square_off = _limits(broker)
    trip = breakers.evaluate(
        equity=equity,
        start_equity=day.start_equity,
        peak_equity=peak,
        max_daily_loss=max_daily_loss,
        max_drawdown=max_drawdown,
    )
    if trip is None:
        return None
    return _trip(broker=broker, trip=trip, equity=equity, now=now, square_off=square_off)


def _trip(
    *, broker: str, trip: breakers.Trip, equity: int, now: datetime, square_off: bool
) -> BreakerTrip | None:
    with transaction.atomic():
        switch = KillSwitch.objects.select_for_update().filter(broker=broker).first()
        if switch is not None and switch.engaged:
            return None  # already halted (by this breaker earlier, or by a person)
        cause = f"circuit breaker: {trip.cause}"
        kill_switch_set(broker=broker, engaged=True, reason=cause, user=None)
        record = BreakerTrip.objects.create(
            broker=broker, at=now, kind=trip.kind, cause=trip.cause, equity=equity
        )
        control_record(user=None, broker=broker, action="breaker_trip", target=trip.kind, detail=trip.cause)
    log.error(
        "ALERT circuit breaker %s tripped on %s: %s; kill switch engaged", trip.kind, broker, trip.cause
    )
    if square_off:
        try:
            sent = positions_flatten(broker=broker, user=None, reason=cause)
        except Exception:
            log.exception("ALERT circuit breaker on %s: square-off failed; flatten by hand", broker)
        else:
            log.error("ALERT circuit breaker on %s: %d closing orders sent", broker, sent)
    return record

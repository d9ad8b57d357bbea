"""Circuit breakers on every tick batch: track the day's peak equity, trip the broker's kill switch when
the day's loss or the drawdown from the peak reaches its limit, and optionally square off."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest

from alphapanda.audit import control_record
from portfolio import read_model
from riskcheck import breakers
from riskcheck.controls import kill_switch_set
from riskcheck.models import BreakerTrip, KillSwitch, TradingDay
from riskcheck.selectors import IST, limits_get, trading_day_get
from trading.controls import positions_flatten

log = logging.getLogger("riskcheck.breakers")


def breakers_check(*, broker: str, now: datetime, snap: dict | None = None) -> BreakerTrip | None:
    """Evaluate the broker's circuit breakers at its current equity; the trip, if one happened now.

    Cheap per batch: one read-model snapshot (pass one already read to share it), one TradingDay query
    (plus an update when the equity makes a new peak); the limits are cached.
    """
    equity = (snap or read_model.snapshot(broker))["summary"].equity
    day = trading_day_get(broker=broker, day=now.astimezone(IST).date(), equity=equity)
    peak = max(day.peak_equity if day.peak_equity is not None else day.start_equity, day.start_equity)
    if equity > peak or day.peak_equity is None:
        TradingDay.objects.filter(pk=day.pk).update(
            peak_equity=Greatest(Coalesce(F("peak_equity"), Value(equity)), Value(equity))
        )
        peak = max(peak, equity)
    limits = limits_get(broker=broker)
    trip = breakers.evaluate(
        equity=equity,
        start_equity=day.start_equity,
        peak_equity=peak,
        max_daily_loss=limits.max_daily_loss,
        max_drawdown=limits.max_drawdown,
    )
    if trip is None:
        return None
    return _trip(broker=broker, trip=trip, equity=equity, now=now, square_off=limits.square_off_on_trip)


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

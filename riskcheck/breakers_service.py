"""Circuit breakers on every tick batch: track the day's peak equity, trip the broker's kill switch when
the day's loss or the drawdown from the peak reaches its limit, and optionally square off. An admin's
release re-bases them at the equity then (see `riskcheck.controls.kill_switch_set`)."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest

from alphapanda.audit import control_record
from portfolio.services import book_current
from riskcheck import breakers
from riskcheck.controls import kill_switch_set
from riskcheck.models import BreakerTrip, KillSwitch, TradingDay
from riskcheck.rules import Limits
from riskcheck.selectors import IST, limits_get, trading_day_get
from trading.controls import positions_flatten

log = logging.getLogger("riskcheck.breakers")


def _evaluate(day: TradingDay, *, equity: int, peak: int, limits: Limits) -> breakers.Trip | None:
    return breakers.evaluate(
        equity=equity,
        start_equity=day.start_equity,
        peak_equity=peak,
        released_equity=day.released_equity,
        max_daily_loss=limits.max_daily_loss,
        max_drawdown=limits.max_drawdown,
    )


def breakers_check(*, broker: str, now: datetime, equity: int | None = None) -> BreakerTrip | None:
    """Evaluate the broker's circuit breakers at its current equity; the trip, if one happened now.

    Cheap per batch: the read model's equity (pass one already read to share it), one TradingDay query
    (plus an update when the equity makes a new peak); the limits are cached.
    """
    equity = book_current(broker=broker).equity if equity is None else equity
    day = trading_day_get(broker=broker, day=now.astimezone(IST).date(), equity=equity)
    base = breakers.baseline(
        start_equity=day.start_equity, peak_equity=day.peak_equity, released_equity=day.released_equity
    )
    if equity > base.peak or day.peak_equity is None:
        TradingDay.objects.filter(pk=day.pk).update(
            peak_equity=Greatest(Coalesce(F("peak_equity"), Value(equity)), Value(equity))
        )
    limits = limits_get(broker=broker)
    trip = _evaluate(day, equity=equity, peak=max(base.peak, equity), limits=limits)
    if trip is None:
        return None
    return _trip(broker=broker, day=day, equity=equity, now=now, limits=limits)


def _trip(*, broker: str, day: TradingDay, equity: int, now: datetime, limits: Limits) -> BreakerTrip | None:
    with transaction.atomic():
        switch = KillSwitch.objects.select_for_update().filter(broker=broker).first()
        if switch is not None and switch.engaged:
            return None  # already halted (by this breaker earlier, or by a person)
        # Judged again on the day as it stands under the switch's lock: a release that committed since
        # the read above re-based it, and must not be undone by a trip on the old base.
        day = TradingDay.objects.get(pk=day.pk)
        peak = equity if day.peak_equity is None else max(day.peak_equity, equity)
        trip = _evaluate(day, equity=equity, peak=peak, limits=limits)
        if trip is None:
            return None
        cause = f"circuit breaker: {trip.cause}"
        kill_switch_set(broker=broker, engaged=True, reason=cause, user=None)
        record = BreakerTrip.objects.create(
            broker=broker, at=now, kind=trip.kind, cause=trip.cause, equity=equity
        )
        control_record(user=None, broker=broker, action="breaker_trip", target=trip.kind, detail=trip.cause)
    log.error(
        "ALERT circuit breaker %s tripped on %s: %s; kill switch engaged", trip.kind, broker, trip.cause
    )
    if limits.square_off_on_trip:
        try:
            sent = positions_flatten(broker=broker, user=None, reason=cause)
        except Exception:
            log.exception("ALERT circuit breaker on %s: square-off failed; flatten by hand", broker)
        else:
            log.error("ALERT circuit breaker on %s: %d closing orders sent", broker, sent)
    return record

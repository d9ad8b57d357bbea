"""Paper's intraday (MIS) auto square-off, as Zerodha does it around 15:20 IST: once a day, at the
first tick past the cut-off, every open MIS position is closed at market."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings

from riskcheck.models import TradingDay
from riskcheck.selectors import trading_day_get
from trading.controls import positions_flatten

IST = ZoneInfo("Asia/Kolkata")


def mis_square_off(*, broker: str, latest_tick_ns: int, equity: int, now: datetime) -> int:
    """Close the broker's MIS positions once the market passes the cut-off; returns orders sent."""
    at = datetime.fromtimestamp(latest_tick_ns / 1e9, IST)
    cutoff = settings.CONFIG.paper_mis_square_off
    if cutoff is None or at.time() < cutoff:
        return 0
    day = trading_day_get(broker=broker, day=at.date(), equity=equity)
    if day.squared_off_at is not None:
        return 0
    # Claim the day: of several workers past the cut-off at once, exactly one updates the row.
    if not TradingDay.objects.filter(pk=day.pk, squared_off_at__isnull=True).update(squared_off_at=now):
        return 0
    reason = f"MIS auto square-off at {cutoff:%H:%M} IST"
    return positions_flatten(broker=broker, user=None, reason=reason, products={"MIS"})

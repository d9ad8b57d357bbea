"""Paper's intraday (MIS) auto square-off, as Zerodha does it around 15:20 IST: once a day, at the
first tick past the cut-off, every open MIS position is closed at market."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction

from portfolio import read_model
from riskcheck.models import TradingDay
from trading.controls import positions_flatten

IST = ZoneInfo("Asia/Kolkata")


def mis_square_off(*, broker: str, latest_tick_ns: int, now: datetime) -> int:
    """Close the broker's MIS positions once the market passes the cut-off; returns orders sent."""
    at = datetime.fromtimestamp(latest_tick_ns / 1e9, IST)
    cutoff = settings.CONFIG.paper_mis_square_off
    if cutoff is None or at.time() < cutoff:
        return 0
    with transaction.atomic():
        equity = read_model.snapshot(broker)["summary"].equity
        day, _ = TradingDay.objects.select_for_update().get_or_create(
            broker=broker, day=at.date(), defaults={"start_equity": equity}
        )
        if day.squared_off_at is not None:
            return 0
        day.squared_off_at = now
        day.save(update_fields=["squared_off_at"])
    reason = f"MIS auto square-off at {cutoff:%H:%M} IST"
    return positions_flatten(broker=broker, user=None, reason=reason, products={"MIS"})

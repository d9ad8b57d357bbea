"""When a Kite access token dies: 06:00 IST on the day after login (or the same day, before 06:00)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

IST = ZoneInfo("Asia/Kolkata")
EXPIRY = time(6, 0)


def token_expiry(login_time: datetime) -> datetime:
    local = login_time.astimezone(IST)
    today = datetime.combine(local.date(), EXPIRY, IST)
    return today if local < today else today + timedelta(days=1)

"""Kite's order limits (10/s, 400/min, a daily cap), shared by every worker through Redis.

Moving windows, so no burst at a window edge exceeds the limit. Waits for the per-second and
per-minute windows; the daily cap is not worth waiting for, so it raises.
"""

from __future__ import annotations

import logging
import time

from limits import RateLimitItemPerDay, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from alphapanda import metrics
from alphapanda.errors import AlphaPandaError

log = logging.getLogger(__name__)

# One below Kite's 10/s and 400/min: requests reach Kite a little after we count them, and that
# jitter must never tip one of Kite's windows over.
PER_SECOND = 9
PER_MINUTE = 390


class DailyCapReached(AlphaPandaError):
    """The day's order cap is used up."""


class OrderRateLimiter:
    def __init__(self, redis_url: str, *, broker: str, per_day: int) -> None:
        # Under the broker's prefix, like every key of a broker's: a run that starts a new ledger
        # (`redis_conn.brokers_clear`) starts the day's count again, where the library's own
        # `LIMITS:` prefix outlived it (the bench's runs of a day reached the sandbox's daily cap).
        self._limiter = MovingWindowRateLimiter(storage_from_string(redis_url, key_prefix=f"{broker}:limits"))
        self._ids = (broker, "orders")
        self._waiting = (RateLimitItemPerSecond(PER_SECOND), RateLimitItemPerMinute(PER_MINUTE))
        self._daily = RateLimitItemPerDay(per_day)
        self._broker = broker
        self._waits = metrics.KITE_WAITS.labels(broker)
        self._gauges = {w: metrics.KITE_HEADROOM.labels(broker, w) for w in ("second", "minute", "day")}

    def acquire(self, *, timeout: float = 120.0) -> None:
        """Block until one more order is within every limit; count it."""
        deadline = time.monotonic() + timeout
        while True:
            if not self._limiter.test(self._daily, *self._ids):
                raise DailyCapReached(f"the daily cap of {self._daily.amount} orders is reached")
            blocked = [item for item in self._waiting if not self._limiter.test(item, *self._ids)]
            if not blocked and all(self._limiter.hit(item, *self._ids) for item in self._waiting):
                self._limiter.hit(self._daily, *self._ids)
                self.report_headroom()
                return
            self._waits.inc()
            reset = max(self._limiter.get_window_stats(i, *self._ids).reset_time for i in self._waiting)
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no order capacity within {timeout:.0f}s")
            time.sleep(min(max(reset - time.time(), 0.005), 1.0))

    def report_headroom(self) -> dict[str, int] | None:
        """Set the headroom gauges (at most ~9 orders a second, so three reads each are cheap). The
        order is already counted: a failure to read the figures must not fail it."""
        try:
            room = self.headroom()
        except Exception as exc:
            log.debug("rate-limit headroom not read: %s", exc)
            return None
        for window, remaining in room.items():
            self._gauges[window].set(remaining)
        return room

    def headroom(self) -> dict[str, int]:
        """What is left in each window (for operators and metrics)."""
        items = {"second": self._waiting[0], "minute": self._waiting[1], "day": self._daily}
        return {
            name: self._limiter.get_window_stats(item, *self._ids).remaining for name, item in items.items()
        }

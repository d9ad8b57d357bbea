"""Per-broker risk limits and the decision taken on every signal (the risk step's ledger)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from trading.models import BROKER_CHOICES, MONEY


class RiskLimits(models.Model):
    broker = models.CharField(max_length=16, choices=BROKER_CHOICES, unique=True)
    max_quantity = models.PositiveIntegerField(default=1000)
    max_order_value = models.DecimalField(default=500000, **MONEY)
    max_position = models.PositiveIntegerField(default=2000, help_text="Net units per instrument")
    max_open_positions = models.PositiveIntegerField(default=50)
    max_daily_trades = models.PositiveIntegerField(default=5000)
    max_price_deviation_pct = models.DecimalField(default=5, max_digits=6, decimal_places=2)
    allowed_products = models.JSONField(default=list, blank=True, help_text='Empty = all, e.g. ["MIS"]')
    allowed_instruments = models.JSONField(default=list, blank=True, help_text="Tokens; empty = all")
    max_daily_loss = models.DecimalField(default=50000, **MONEY)
    max_drawdown = models.DecimalField(default=100000, help_text="Rupees from the day's peak equity", **MONEY)
    square_off_on_trip = models.BooleanField(default=False, help_text="Flatten when a circuit breaker trips")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "risk limits"

    def __str__(self) -> str:
        return f"{self.broker} limits"


class SignalDecision(models.Model):
    VALIDATED = "validated"
    REJECTED = "rejected"

    broker = models.CharField(max_length=16, choices=BROKER_CHOICES)
    signal_id = models.CharField(max_length=64)
    correlation_id = models.CharField(max_length=64)
    strategy = models.CharField(max_length=64)
    instrument_token = models.BigIntegerField()
    side = models.CharField(max_length=4)
    quantity = models.PositiveIntegerField()
    outcome = models.CharField(max_length=10, choices=[(VALIDATED, VALIDATED), (REJECTED, REJECTED)])
    rule = models.CharField(max_length=32, blank=True)
    reason = models.TextField(blank=True)
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["-decided_at"]
        constraints = [models.UniqueConstraint(fields=["broker", "signal_id"], name="decision_broker_signal")]
        indexes = [models.Index(fields=["broker", "decided_at"], name="decision_broker_day")]

    def __str__(self) -> str:
        return f"{self.broker}:{self.signal_id} {self.outcome}"


class TradingDay(models.Model):
    """The equity a broker started the trading day (IST) with: the base of its daily loss limit, until an
    admin releases a tripped circuit breaker, whose equity then becomes the base (and the peak)."""

    broker = models.CharField(max_length=16, choices=BROKER_CHOICES)
    day = models.DateField()
    start_equity = models.BigIntegerField(help_text="paise")
    peak_equity = models.BigIntegerField(
        null=True, blank=True, help_text="paise: the day's highest equity (since the last breaker release)"
    )
    released_equity = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="paise: the equity at the day's last circuit breaker release; the daily loss base since",
    )
    squared_off_at = models.DateTimeField(null=True, blank=True, help_text="paper's MIS auto square-off ran")
    validated = models.PositiveIntegerField(
        default=0,
        help_text="signals validated this day, counted as they are decided: what the daily trade limit "
        "reads (counting the day's decisions instead cost more with every trade)",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["broker", "day"], name="trading_day_broker_day")]

    def __str__(self) -> str:
        return f"{self.broker} {self.day}"


class KillSwitch(models.Model):
    """When engaged, the broker takes no new entries; orders that reduce a position still pass."""

    broker = models.CharField(max_length=16, choices=BROKER_CHOICES, unique=True)
    engaged = models.BooleanField(default=False)
    reason = models.TextField(blank=True)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.broker} kill switch {'ENGAGED' if self.engaged else 'off'}"


class GlobalKillSwitch(models.Model):
    """One row (pk 1): when engaged, no broker takes new entries; orders that reduce a position pass."""

    engaged = models.BooleanField(default=False)
    reason = models.TextField(blank=True)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"global kill switch {'ENGAGED' if self.engaged else 'off'}"


class BreakerTrip(models.Model):
    """A circuit breaker that tripped (and engaged the broker's kill switch); an admin releases it, which
    re-bases the day's breakers at the equity then."""

    broker = models.CharField(max_length=16, choices=BROKER_CHOICES)
    at = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=[("daily_loss", "daily loss"), ("drawdown", "drawdown")])
    cause = models.TextField()
    equity = models.BigIntegerField(help_text="paise")
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    released_equity = models.BigIntegerField(
        null=True, blank=True, help_text="paise: the equity at the release, the breakers' new base"
    )

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.broker} {self.kind} trip at {self.at:%Y-%m-%d %H:%M:%S}"

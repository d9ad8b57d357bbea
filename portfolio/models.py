"""The portfolio ledger: cash per broker, positions per (broker, strategy, instrument), applied fills.

Amounts are integer paise. `AppliedFill` is the idempotency key, written in the same transaction
as the position and cash it changes.
"""

from __future__ import annotations

from django.db import models

from trading.models import BROKER_CHOICES


class Account(models.Model):
    broker = models.CharField(max_length=16, choices=BROKER_CHOICES, unique=True)
    starting_cash = models.BigIntegerField(help_text="paise")
    cash = models.BigIntegerField(help_text="paise")
    version = models.BigIntegerField(default=0, help_text="bumped on every change; orders read-model writes")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.broker} account"


class Position(models.Model):
    broker = models.CharField(max_length=16, choices=BROKER_CHOICES)
    strategy = models.CharField(max_length=64)
    instrument_token = models.BigIntegerField()
    symbol = models.CharField(max_length=64)
    product = models.CharField(max_length=8, default="MIS", help_text="the product of its latest fill")
    quantity = models.BigIntegerField(default=0)
    cost = models.BigIntegerField(default=0, help_text="signed cost basis of the open quantity, paise")
    realized = models.BigIntegerField(default=0, help_text="paise, before charges")
    charges = models.BigIntegerField(default=0, help_text="paise")
    buy_quantity = models.BigIntegerField(default=0)
    sell_quantity = models.BigIntegerField(default=0)
    buy_value = models.BigIntegerField(default=0)
    sell_value = models.BigIntegerField(default=0)
    fills = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["broker", "strategy", "symbol"]
        constraints = [
            models.UniqueConstraint(
                fields=["broker", "strategy", "instrument_token"], name="position_broker_strategy_token"
            )
        ]

    def __str__(self) -> str:
        return f"{self.broker}:{self.strategy}:{self.symbol} {self.quantity}"


class AppliedFill(models.Model):
    broker = models.CharField(max_length=16, choices=BROKER_CHOICES)
    fill_id = models.CharField(max_length=64)
    strategy = models.CharField(max_length=64)
    instrument_token = models.BigIntegerField()
    applied_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["broker", "fill_id"], name="applied_broker_fill")]

    def __str__(self) -> str:
        return f"{self.broker}:{self.fill_id}"


class PnlPoint(models.Model):
    """A point of a broker's (strategy="") or a strategy's equity and P&L curve, in paise."""

    broker = models.CharField(max_length=16, choices=BROKER_CHOICES)
    strategy = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField()
    equity = models.BigIntegerField()
    realized = models.BigIntegerField()
    unrealized = models.BigIntegerField()
    charges = models.BigIntegerField()

    class Meta:
        ordering = ["at"]
        indexes = [models.Index(fields=["broker", "strategy", "at"], name="pnl_series")]

    def __str__(self) -> str:
        return f"{self.broker}:{self.strategy or '*'} @ {self.at:%H:%M:%S}"

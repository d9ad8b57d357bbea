"""Instruments and strategy configuration, and the order and fill ledger."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from alphapanda.brokers import KNOWN_BROKERS
from alphapanda.events import OrderStatus, OrderType, Product, Side

BROKER_CHOICES = [(b, b) for b in KNOWN_BROKERS]
MONEY = {"max_digits": 16, "decimal_places": 2}
PRICE = {"max_digits": 14, "decimal_places": 4}


def _choices(enum_type: type) -> list[tuple[str, str]]:
    return [(m.value, m.value) for m in enum_type]


class Instrument(models.Model):
    token = models.BigIntegerField(primary_key=True, help_text="Kite instrument_token")
    exchange_token = models.BigIntegerField(default=0)
    symbol = models.CharField(max_length=64)
    name = models.CharField(max_length=128, blank=True)
    exchange = models.CharField(max_length=8)
    segment = models.CharField(max_length=16)
    instrument_type = models.CharField(max_length=8, default="EQ")
    lot_size = models.PositiveIntegerField(default=1)
    tick_size = models.DecimalField(default="0.05", **PRICE)
    expiry = models.DateField(null=True, blank=True)
    strike = models.DecimalField(default=0, **PRICE)
    last_price = models.DecimalField(default=0, **PRICE)

    class Meta:
        ordering = ["exchange", "symbol"]
        constraints = [
            models.UniqueConstraint(fields=["exchange", "symbol"], name="instrument_exchange_symbol")
        ]

    def __str__(self) -> str:
        return f"{self.exchange}:{self.symbol}"


class Strategy(models.Model):
    name = models.SlugField(max_length=64, unique=True)
    kind = models.CharField(max_length=32, help_text="sma_crossover, bollinger or rsi")
    params = models.JSONField(default=dict, blank=True)
    instruments = models.ManyToManyField(Instrument, related_name="strategies")
    brokers = models.JSONField(default=list, help_text='Brokers it trades on, e.g. ["paper", "zerodha"]')
    paused_brokers = models.JSONField(default=list, blank=True, help_text="Brokers it is paused on")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "strategies"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from trading.strategies.registry import STRATEGY_KINDS

        if self.kind not in STRATEGY_KINDS:
            raise ValidationError(
                {"kind": f"unknown kind; choose one of {', '.join(sorted(STRATEGY_KINDS))}"}
            )
        if not isinstance(self.brokers, list) or not self.brokers:
            raise ValidationError({"brokers": "list at least one broker"})
        unknown = [b for b in self.brokers if b not in KNOWN_BROKERS]
        if unknown:
            raise ValidationError({"brokers": f"unknown broker(s): {', '.join(map(str, unknown))}"})


class Trade(models.Model):
    """What an order and a fill both carry: whose, on which instrument, which way, how much."""

    broker = models.CharField(max_length=16, choices=BROKER_CHOICES)
    correlation_id = models.CharField(max_length=64)
    strategy = models.CharField(max_length=64)
    instrument_token = models.BigIntegerField()
    symbol = models.CharField(max_length=64)
    exchange = models.CharField(max_length=8)
    side = models.CharField(max_length=4, choices=_choices(Side))
    quantity = models.PositiveIntegerField()
    product = models.CharField(max_length=8, choices=_choices(Product))
    ts_event = models.BigIntegerField(help_text="ns: event time of the tick behind it")

    class Meta:
        abstract = True


class Order(Trade):
    """One order per validated signal and broker; `signal_id` is the idempotency key."""

    order_id = models.CharField(max_length=64)
    signal_id = models.CharField(max_length=64)
    broker_order_id = models.CharField(max_length=64, blank=True, help_text="the broker's id (Kite order_id)")
    tag = models.CharField(max_length=20, blank=True, help_text="Kite order tag, derived from the order id")
    placement_attempts = models.PositiveSmallIntegerField(default=0, help_text="sends to the broker begun")
    filled_quantity = models.PositiveIntegerField(default=0)
    order_type = models.CharField(max_length=8, choices=_choices(OrderType))
    price = models.DecimalField(null=True, blank=True, **PRICE)
    trigger_price = models.DecimalField(null=True, blank=True, **PRICE)
    triggered = models.BooleanField(default=False)
    average_price = models.DecimalField(default=0, **PRICE)
    brokerage_paid = models.DecimalField(default=0, **MONEY)
    status = models.CharField(max_length=20, choices=_choices(OrderStatus))
    reason = models.TextField(blank=True)
    last_tick_ts = models.BigIntegerField(help_text="ns: newest tick this order was matched against")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta(Trade.Meta):
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["broker", "signal_id"], name="order_broker_signal"),
            models.UniqueConstraint(fields=["broker", "order_id"], name="order_broker_order_id"),
        ]
        indexes = [
            models.Index(fields=["broker", "status", "instrument_token"], name="order_open_by_token"),
            models.Index(fields=["broker", "broker_order_id"], name="order_by_broker_id"),
        ]

    def __str__(self) -> str:
        return f"{self.broker}:{self.order_id}"

    @property
    def remaining(self) -> int:
        return self.quantity - self.filled_quantity


class Fill(Trade):
    fill_id = models.CharField(max_length=64)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="fills")
    price = models.DecimalField(**PRICE)
    brokerage = models.DecimalField(**MONEY)
    stt = models.DecimalField(**MONEY)
    exchange_charges = models.DecimalField(**MONEY)
    sebi = models.DecimalField(**MONEY)
    stamp = models.DecimalField(**MONEY)
    gst = models.DecimalField(**MONEY)
    charges = models.DecimalField(**MONEY)
    source_event_id = models.CharField(max_length=64, help_text="the signal or tick that caused it")
    filled_at = models.DateTimeField()

    class Meta(Trade.Meta):
        ordering = ["-filled_at"]
        constraints = [models.UniqueConstraint(fields=["broker", "fill_id"], name="fill_broker_fill_id")]
        indexes = [models.Index(fields=["broker", "source_event_id"], name="fill_by_source")]

    def __str__(self) -> str:
        return f"{self.broker}:{self.fill_id}"


class KiteSession(models.Model):
    """The Kite Connect session: one row per login; the newest valid one is used.

    The access token is a credential: it is stored here, never logged, and shown nowhere.
    """

    user_id = models.CharField(max_length=32)
    user_name = models.CharField(max_length=128, blank=True)
    access_token = models.CharField(max_length=128)
    login_time = models.DateTimeField()
    expires_at = models.DateTimeField(help_text="06:00 IST after login, when Kite invalidates the token")
    invalidated_at = models.DateTimeField(null=True, blank=True, help_text="set when Kite refused the token")
    invalidated_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-login_time"]

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.login_time:%Y-%m-%d %H:%M}"

"""A trader's controls over a broker: pause and resume strategies there, flatten its positions."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from alphapanda import envelope, events, kafka, topics
from alphapanda.audit import control_record
from alphapanda.money import from_paise
from portfolio import read_model
from portfolio.models import Position
from trading.models import Strategy
from trading.selectors import instrument_get


def strategy_pause(*, strategy: Strategy, broker: str, user) -> Strategy:
    """No new entries from this strategy on this broker (the runner stops fanning out to it and the
    risk step refuses its opening orders at once); its open positions stay, and can be flattened."""
    with transaction.atomic():
        strategy = Strategy.objects.select_for_update().get(pk=strategy.pk)
        if broker not in strategy.paused_brokers:
            strategy.paused_brokers = [*strategy.paused_brokers, broker]
            strategy.save(update_fields=["paused_brokers", "updated_at"])
        control_record(user=user, broker=broker, action="strategy_pause", target=strategy.name)
    return strategy


def strategy_resume(*, strategy: Strategy, broker: str, user) -> Strategy:
    with transaction.atomic():
        strategy = Strategy.objects.select_for_update().get(pk=strategy.pk)
        strategy.paused_brokers = [b for b in strategy.paused_brokers if b != broker]
        strategy.save(update_fields=["paused_brokers", "updated_at"])
        control_record(user=user, broker=broker, action="strategy_resume", target=strategy.name)
    return strategy


def positions_flatten(*, broker: str, user, reason: str = "flatten", products: set[str] | None = None) -> int:
    """A MARKET order closing every open position of the broker (of `products`, if given), through risk
    (exits always pass). Returns how many closing signals were sent.
    """
    marks = read_model.snapshot(broker)["marks"]
    producer = kafka.producer()
    sent = 0
    positions = Position.objects.filter(broker=broker).exclude(quantity=0)
    if products is not None:
        positions = positions.filter(product__in=products)
    for position in positions:
        mark = marks.get(position.instrument_token)
        price = from_paise(mark) if mark is not None else _average(position)
        signal = events.Signal(
            strategy=position.strategy,
            instrument_token=position.instrument_token,
            symbol=position.symbol,
            exchange=_exchange(position.instrument_token),
            side=events.Side.SELL if position.quantity > 0 else events.Side.BUY,
            quantity=abs(position.quantity),
            product=events.Product(position.product),
            reference_price=price,
            reason=f"{reason} (by {user or 'the system'})",
            ts=envelope.now_ns(),
        )
        event_id = envelope.new_id()
        env = envelope.build(type=envelope.SIGNAL, payload=signal, broker=broker, correlation_id=event_id,
                             causation_id=None, ts_event=signal.ts, event_id=event_id)  # fmt: skip
        kafka.publish(producer, topics.broker_topic(broker, topics.SIGNALS_RAW),
                      topics.order_key(signal.strategy, signal.instrument_token), env)  # fmt: skip
        sent += 1
    kafka.flush(producer)
    control_record(user=user, broker=broker, action="flatten", detail=f"{sent} closing orders: {reason}")
    return sent


def _exchange(token: int) -> str:
    instrument = instrument_get(token)
    return instrument.exchange if instrument else "NSE"


def _average(position: Position) -> Decimal:
    return from_paise(abs(position.cost) // abs(position.quantity))

"""Building the messages the market feed and the strategy runner put on the bus."""

from __future__ import annotations

import time
from decimal import Decimal

from alphapanda import envelope, events, topics
from trading.instruments import Instrument


def origin_envelope(type_: str, payload: object, *, broker: str | None, ts_event: int) -> envelope.Envelope:
    """A message that starts a correlation chain: its id follows it to the fill."""
    event_id = envelope.new_id()
    return envelope.build(type=type_, payload=payload, broker=broker, correlation_id=event_id,
                          causation_id=None, ts_event=ts_event, event_id=event_id)  # fmt: skip


def tick_envelope(tick: events.Tick) -> envelope.Envelope:
    return origin_envelope(envelope.TICK, tick, broker=None, ts_event=tick.ts)


def market_signal(
    instrument: Instrument, *, strategy: str, side: events.Side, price: Decimal, depth: int, reason: str
) -> events.Signal:
    """A one-unit MARKET order into a one-tick book around `price`: what the chaos injector and the
    bench send where no strategy decided."""
    tick = instrument.tick_size
    return events.Signal(
        strategy=strategy,
        instrument_token=instrument.token,
        symbol=instrument.symbol,
        exchange=instrument.exchange,
        side=side,
        quantity=1,
        reference_price=price,
        bids=(events.Level(price - tick, depth, 4),),
        asks=(events.Level(price + tick, depth, 4),),
        reason=reason,
        ts=time.time_ns(),
    )


def signal_envelope(tick_env: envelope.Envelope, broker: str, signal: events.Signal) -> envelope.Envelope:
    """One copy per broker, with an id derived from the tick so a replayed tick is recognised."""
    return envelope.follow(
        tick_env,
        type=envelope.SIGNAL,
        payload=signal,
        purpose=f"signal/{signal.strategy}/{broker}",
        broker=broker,
    )


def signal_topic_key(broker: str, signal: events.Signal) -> tuple[str, bytes]:
    return (
        topics.broker_topic(broker, topics.SIGNALS_RAW),
        topics.order_key(signal.strategy, signal.instrument_token),
    )

"""Building the messages the market feed and the strategy runner put on the bus."""

from __future__ import annotations

from alphapanda import envelope, events, topics


def tick_envelope(tick: events.Tick) -> envelope.Envelope:
    """A tick starts a correlation chain: its id follows it to the fill."""
    event_id = envelope.new_id()
    return envelope.build(
        type=envelope.TICK,
        payload=tick,
        broker=None,
        correlation_id=event_id,
        causation_id=None,
        ts_event=tick.ts,
        event_id=event_id,
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

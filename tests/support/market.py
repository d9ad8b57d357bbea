"""Deterministic tick series for tests, and putting messages on the bus."""

from __future__ import annotations

import random
import time
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from alphapanda import envelope, kafka, topics
from alphapanda.events import Level, Tick
from trading.instruments import Instrument
from trading.publishing import tick_envelope


def tick_series(
    instruments: list[Instrument], *, count: int, seed: int, depth_qty: int = 100_000
) -> list[Tick]:
    """`count` ticks per instrument, interleaved, a seeded walk of whole ticks with a deep one-tick book."""
    rng = random.Random(seed)
    prices = {i.token: i.last_price for i in instruments}
    start = time.time_ns()
    ticks = []
    for n in range(count):
        for i in instruments:
            step = rng.choice((-3, -2, -1, -1, 0, 1, 1, 2, 3))
            prices[i.token] = max(i.tick_size, prices[i.token] + step * i.tick_size)
            ltp = prices[i.token]
            ticks.append(
                Tick(
                    instrument_token=i.token,
                    symbol=i.symbol,
                    exchange=i.exchange,
                    ltp=ltp,
                    volume=n * 10,
                    bids=(Level(ltp - i.tick_size, depth_qty, 5), Level(ltp - 2 * i.tick_size, depth_qty, 5)),
                    asks=(Level(ltp + i.tick_size, depth_qty, 5), Level(ltp + 2 * i.tick_size, depth_qty, 5)),
                    ts=start + len(ticks) * 1_000_000,
                )
            )
    return ticks


def publish_ticks(ticks: list[Tick]) -> list[envelope.Envelope]:
    producer = kafka.new_producer()
    envs = []
    for tick in ticks:
        env = tick_envelope(tick)
        kafka.publish(producer, topics.MARKET_TICKS, topics.tick_key(tick.instrument_token), env)
        envs.append(env)
    kafka.flush(producer)
    return envs


def publish_raw(messages: list[tuple[str, bytes | None, bytes]]) -> None:
    """(topic, key, value) in order, through one producer (a new idempotent producer costs ~0.5 s)."""
    producer = kafka.new_producer()
    for topic, key, value in messages:
        kafka.produce(producer, topic, key, value)
    kafka.flush(producer)


def ceil_to(price: Decimal, step: Decimal) -> Decimal:
    return (price / step).to_integral_value(ROUND_CEILING) * step


def floor_to(price: Decimal, step: Decimal) -> Decimal:
    return (price / step).to_integral_value(ROUND_FLOOR) * step

"""A seeded random walk over real instruments, so demos and tests get market-like ticks offline."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from decimal import Decimal

from alphapanda.events import Level, Tick
from trading.instruments import Instrument

DEPTH = 5
INDEX_SEGMENT = "INDICES"
FRAME_MS = 250.0  # the sim feed's frame length: fewer, larger produce batches (docs/performance.md)


class RandomWalkFeed:
    """Visits the instruments round robin, each walking in whole ticks from its `last_price`.

    Every draw comes from one `random.Random(seed)` and prices move by integer multiples of the tick
    in Decimal, so a seed always reproduces the same ticks value for value.
    """

    def __init__(self, instruments: Sequence[Instrument], *, seed: int, volatility_bps: float = 8.0) -> None:
        if not instruments:
            raise ValueError("a random-walk feed needs at least one instrument")
        if not volatility_bps >= 0:
            raise ValueError(f"volatility_bps must be >= 0, got {volatility_bps}")
        for instrument in instruments:
            if instrument.last_price <= 0 or instrument.tick_size <= 0:
                raise ValueError(
                    f"{instrument.symbol} needs a positive last_price and tick_size to walk from"
                )
        self._instruments = tuple(instruments)
        self._rng = random.Random(seed)
        self._sigma = volatility_bps / 10_000
        self._prices = [_on_tick_grid(i.last_price, i.tick_size) for i in self._instruments]
        self._volumes = [0] * len(self._instruments)
        self._turn = 0

    def next_tick(self, ts_ns: int) -> Tick:
        """The next instrument's tick, stamped `ts_ns` (the caller owns the clock)."""
        turn = self._turn
        self._turn = (turn + 1) % len(self._instruments)
        instrument = self._instruments[turn]
        tick_size = instrument.tick_size
        price = self._prices[turn]
        steps = round(self._rng.gauss(0.0, self._sigma) * float(price / tick_size))
        price = max(tick_size, price + steps * tick_size)
        self._prices[turn] = price
        bids: tuple[Level, ...] = ()
        asks: tuple[Level, ...] = ()
        if instrument.segment != INDEX_SEGMENT:  # an index has a value but no book and no trades
            lot = max(instrument.lot_size, 1)
            self._volumes[turn] += self._upto(50) * lot
            # The last trade either lifted the best ask or hit the best bid; either way bid < ask.
            hit_bid = self._rng.random() < 0.5 or price == tick_size
            best_bid = price if hit_bid else price - tick_size
            bids = self._levels(best_bid, -tick_size, lot)
            asks = self._levels(best_bid + tick_size, tick_size, lot)
        return Tick(
            instrument_token=instrument.token,
            symbol=instrument.symbol,
            exchange=instrument.exchange,
            ltp=price,
            volume=self._volumes[turn],
            bids=bids,
            asks=asks,
            ts=ts_ns,
        )

    def _levels(self, best: Decimal, step: Decimal, lot: int) -> tuple[Level, ...]:
        levels = []
        for depth in range(DEPTH):
            price = best + depth * step
            if price <= 0:
                break
            orders = self._upto(20)
            levels.append(Level(price, orders * self._upto(50) * lot, orders))
        return tuple(levels)

    def _upto(self, n: int) -> int:
        """1 to n, uniformly: 21 draws a tick, and `randint` took half the feed's time (bench at 20,000
        ticks/s)."""
        return 1 + int(self._rng.random() * n)


def frame_sizes(rate: float, frame_s: float) -> Iterator[int]:
    """How many ticks each frame carries so that `rate` ticks/s hold over any run of frames.

    Kite's websocket delivers ticks as frames of many instruments, not one at a time; the sim feed
    does the same, which also lets the producer send a frame as a few batches rather than one
    request per tick. The fraction a frame cannot carry moves to the next one.
    """
    if not rate > 0 or not frame_s > 0:
        raise ValueError(f"a paced feed needs a positive rate and frame length, got {rate}/s, {frame_s}s")
    owed = 0.0
    while True:
        owed += rate * frame_s
        size = int(owed)
        owed -= size
        yield size


def _on_tick_grid(price: Decimal, tick_size: Decimal) -> Decimal:
    return max(tick_size, (price / tick_size).to_integral_value() * tick_size)

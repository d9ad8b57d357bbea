"""The live market feed: KiteTicker in full mode over the instruments strategies need.

Tokens are spread over connections of at most 3,000 (Kite allows 3 per key). Ticks are handed
from the reactor thread to the caller through a queue; a reconnect is logged with the gap it left.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from kiteconnect import KiteTicker

from trading.instruments import Instrument
from trading.kite import ticker as kite_ticker

log = logging.getLogger("trading.feed")

TOKENS_PER_CONNECTION = 3000
MAX_CONNECTIONS = 3


class FeedError(RuntimeError):
    pass


def chunks(tokens: Sequence[int]) -> list[list[int]]:
    if len(tokens) > TOKENS_PER_CONNECTION * MAX_CONNECTIONS:
        raise FeedError(
            f"{len(tokens)} instruments exceed Kite's {MAX_CONNECTIONS} connections x {TOKENS_PER_CONNECTION}"
        )
    return [list(tokens[i : i + TOKENS_PER_CONNECTION]) for i in range(0, len(tokens), TOKENS_PER_CONNECTION)]


@dataclass
class Connection:
    number: int
    tokens: list[int]
    kws: KiteTicker
    last_tick: float = 0.0
    down_since: float | None = None
    gaps: list[float] = field(default_factory=list)


class KiteFeed:
    def __init__(self, instruments: Sequence[Instrument], *, access_token: str) -> None:
        self.instruments = {i.token: i for i in instruments}
        self.ticks: queue.Queue = queue.Queue()
        self.failed = False
        self.connections = [
            self._connection(n, tokens, access_token)
            for n, tokens in enumerate(chunks(sorted(self.instruments)), 1)
        ]

    def _connection(self, number: int, tokens: list[int], access_token: str) -> Connection:
        conn = Connection(number, tokens, kite_ticker.ticker(access_token))
        kws = conn.kws

        def on_connect(ws, response) -> None:
            ws.subscribe(conn.tokens)
            ws.set_mode(ws.MODE_FULL, conn.tokens)
            if conn.down_since is not None:
                gap = time.monotonic() - (conn.last_tick or conn.down_since)
                conn.gaps.append(gap)
                log.warning("feed connection %d back: a gap of %.1f s without ticks", number, gap)
                conn.down_since = None
            else:
                log.info("feed connection %d up: %d instruments in full mode", number, len(conn.tokens))

        def on_ticks(ws, ticks) -> None:
            conn.last_tick = time.monotonic()
            for tick in ticks:
                self.ticks.put(tick)

        def on_close(ws, code, reason) -> None:
            if conn.down_since is None:
                conn.down_since = time.monotonic()
                log.warning("feed connection %d closed (%s %s); reconnecting", number, code, reason)

        def on_reconnect(ws, attempts) -> None:
            log.info("feed connection %d: reconnect attempt %d", number, attempts)

        def on_noreconnect(ws) -> None:
            log.error("feed connection %d: gave up reconnecting", number)
            self.failed = True

        kws.on_connect, kws.on_ticks, kws.on_close = on_connect, on_ticks, on_close
        kws.on_reconnect, kws.on_noreconnect = on_reconnect, on_noreconnect
        return conn

    def start(self) -> None:
        for conn in self.connections:
            kite_ticker.start(conn.kws)

    def close(self) -> None:
        for conn in self.connections:
            kite_ticker.call(conn.kws.close)

"""ZerodhaTrader takes a rate-limit slot and sends in one step, one step at a time in a process: a
threaded worker's placements never overlap, so none reaches Kite a second later than its slot."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

from trading.traders.zerodha import OrderRequest, ZerodhaTrader


class _Kite:
    """A Kite client that records how many placements are under way at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = self.most = self.placed = 0

    def place_order(self, **params) -> str:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.05)
        with self.lock:
            self.running -= 1
            self.placed += 1
            return f"K{self.placed}"


class _Limiter:
    def acquire(self) -> None:
        pass


def _request(n: int) -> OrderRequest:
    return OrderRequest(order_id=f"order-{n}", exchange="NSE", tradingsymbol="INFY", side="BUY", quantity=1,
                        product="MIS", order_type="LIMIT", price=Decimal("1500"), trigger_price=None)  # fmt: skip


def test_threads_send_one_placement_at_a_time() -> None:
    kite = _Kite()
    placements = []

    def place(n: int) -> None:
        trader = ZerodhaTrader(kite, _Limiter(), algo_id="", market_protection=Decimal(0))
        placements.append(trader.place(_request(n)))

    threads = [threading.Thread(target=place, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert kite.most == 1
    assert sorted(p.broker_order_id for p in placements) == ["K1", "K2", "K3", "K4"]

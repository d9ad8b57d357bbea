"""The Zerodha trader: places orders through kiteconnect so that none is ever placed twice.

A timeout, a dropped connection or a 5xx is ambiguous: Kite may have placed the order. Every order
carries a tag derived from its id, so before any retry the order book is searched for that tag;
only an order that is certainly absent is sent again. A 429 is certain (Kite refused it) and is
retried after the limiter's wait; an input or order error is a rejection with Kite's reason.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import requests
from kiteconnect import KiteConnect, exceptions

from alphapanda.errors import AlphaPandaError
from alphapanda.events import OrderType
from trading.kite.ratelimit import OrderRateLimiter

log = logging.getLogger("trading.zerodha")

TAG_LENGTH = 20  # Kite rejects longer tags (KITE.md §4)
AMBIGUOUS = (
    requests.Timeout,
    requests.ConnectionError,
    exceptions.GeneralException,
    exceptions.DataException,
    exceptions.NetworkException,
)
REJECTED = (exceptions.InputException, exceptions.OrderException, exceptions.PermissionException)
# One rate-limit slot and its send at a time in a process (a worker's WORKER_THREADS share it). The
# limiter counts a placement when it takes the slot; a thread delayed between its slot and the send
# could reach Kite in the next second together with that second's placements, which Kite refuses
# with 429 (the sandbox did, four threads placing at 10 orders/s). Kite takes 10 a second anyway.
_SENDING = threading.Lock()


class PlacementUncertain(AlphaPandaError):
    """Kite may or may not hold the order and the order book could not say: retry later, by tag."""


def tag_for(order_id: str) -> str:
    """Deterministic, so the order can be found in Kite's book after an ambiguous failure."""
    return ("ap" + order_id)[:TAG_LENGTH]


@dataclass(frozen=True)
class OrderRequest:
    order_id: str
    exchange: str
    tradingsymbol: str
    side: str
    quantity: int
    product: str
    order_type: str
    price: Decimal | None
    trigger_price: Decimal | None

    @property
    def tag(self) -> str:
        return tag_for(self.order_id)


@dataclass(frozen=True)
class Placement:
    broker_order_id: str | None
    rejected_reason: str = ""


class ZerodhaTrader:
    def __init__(
        self,
        client: KiteConnect,
        limiter: OrderRateLimiter,
        *,
        algo_id: str,
        market_protection: Decimal,
        attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.limiter = limiter
        self.algo_id = algo_id
        self.market_protection = market_protection
        self.attempts = attempts
        self.sleep = sleep

    def params(self, order: OrderRequest) -> dict:
        params = {
            "variety": KiteConnect.VARIETY_REGULAR,
            "exchange": order.exchange,
            "tradingsymbol": order.tradingsymbol,
            "transaction_type": order.side,
            "quantity": order.quantity,
            "product": order.product,
            "order_type": order.order_type,
            "validity": KiteConnect.VALIDITY_DAY,
            "tag": order.tag,
            "price": order.price,
            "trigger_price": order.trigger_price,
        }
        if order.order_type in (OrderType.MARKET, OrderType.SL_M):
            params["market_protection"] = self.market_protection  # required by Kite for these
        if self.algo_id:
            params["algo_id"] = self.algo_id
        return params

    def find(self, tag: str) -> dict | None:
        """Kite's own record of the order with this tag, if it has one."""
        for order in self.client.orders():
            if order.get("tag") == tag or tag in (order.get("tags") or []):
                return order
        return None

    def place(self, order: OrderRequest, *, resume: bool = False) -> Placement:
        """Place once. `resume`: an earlier attempt's outcome is unknown, so look before placing."""
        params = self.params(order)
        for attempt in range(1, self.attempts + 1):
            if resume or attempt > 1:
                found = self._lookup(order.tag)
                if found is not None:
                    log.info(
                        "order %s found in Kite's book by tag %s: not placing again",
                        order.order_id,
                        order.tag,
                    )
                    return Placement(found["order_id"])
            with _SENDING:  # the rate-limit slot and the send together, one pair at a time
                self.limiter.acquire()
                try:
                    return Placement(str(self.client.place_order(**params)))
                except REJECTED as exc:
                    return Placement(None, rejected_reason=f"{type(exc).__name__}: {exc}")
                except exceptions.NetworkException as exc:
                    if exc.code != 429:
                        log.warning(
                            "order %s: ambiguous NetworkException (%s), will look it up", order.order_id, exc
                        )
                        resume = True
                    else:
                        log.warning("order %s: Kite rate limit (429), retrying", order.order_id)
                except AMBIGUOUS as exc:
                    log.warning(
                        "order %s: ambiguous %s (%s), will look it up",
                        order.order_id,
                        type(exc).__name__,
                        exc,
                    )
                    resume = True
            self.sleep(min(0.2 * 2**attempt, 2.0))
        found = self._lookup(order.tag)
        if found is not None:
            return Placement(found["order_id"])
        raise PlacementUncertain(
            f"order {order.order_id} (tag {order.tag}) not confirmed after {self.attempts} tries"
        )

    def _lookup(self, tag: str) -> dict | None:
        try:
            return self.find(tag)
        except AMBIGUOUS as exc:
            raise PlacementUncertain(f"cannot read Kite's order book to look for tag {tag}: {exc}") from exc

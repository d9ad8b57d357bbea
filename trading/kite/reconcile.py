"""Kite's orders, trades and positions against the ledger and the Redis portfolio.

Reports every difference; `repair` records Kite's trades the ledger misses, through the same
idempotent update path as live traffic, so the portfolio applies them like any other fill.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Sum
from django.utils import timezone
from kiteconnect import KiteConnect

from alphapanda.batches import Outgoing
from portfolio import read_model
from portfolio.models import Position
from trading import ledger
from trading.kite.orders import BROKER, order_update_apply
from trading.models import Order


@dataclass(frozen=True)
class Difference:
    kind: str  # order, fill, position
    key: str
    detail: str


def reconcile(client: KiteConnect, *, repair: bool = False) -> tuple[list[Difference], list[Outgoing]]:
    book = {str(o["order_id"]): o for o in client.orders()}
    trades_by_order: dict[str, list[dict]] = defaultdict(list)
    for trade in client.trades():
        trades_by_order[str(trade["order_id"])].append(trade)
    ours = {o.broker_order_id: o for o in Order.objects.filter(broker=BROKER).exclude(broker_order_id="")}
    diffs: list[Difference] = []
    repairs: list[Outgoing] = []
    for kite_id, data in book.items():
        order = ours.get(kite_id)
        if order is None:
            if str(data.get("tag") or "").startswith("ap"):
                diffs.append(Difference("order", kite_id, f"tag {data['tag']} at Kite but not in the ledger"))
            continue
        if data.get("status") != order.status:
            diffs.append(
                Difference("order", kite_id, f"status: Kite {data.get('status')}, ledger {order.status}")
            )
        diffs += _fills(order, trades_by_order.get(kite_id, []))
        if repair and any(d.kind == "fill" and d.key.startswith(kite_id) for d in diffs):
            repairs += order_update_apply(data=data, source="reconcile", now=timezone.now(),
                                          trades=trades_by_order.get(kite_id, []))  # fmt: skip
    for kite_id in set(ours) - set(book):
        diffs.append(Difference("order", kite_id, "in the ledger but not in Kite's order book today"))
    diffs += _positions(client)
    return diffs, repairs


def _fills(order: Order, trades: list[dict]) -> list[Difference]:
    recorded = {f.fill_id: f for f in order.fills.all()}
    expected = {ledger.fill_id(order, f"trade/{t['trade_id']}"): t for t in trades}
    out = [
        Difference(
            "fill",
            f"{order.broker_order_id}/{t['trade_id']}",
            f"Kite trade of {t['quantity']} @ {t['average_price']} missing from the ledger",
        )
        for fid, t in expected.items()
        if fid not in recorded
    ]
    out += [
        Difference(
            "fill",
            f"{order.broker_order_id}/{f.fill_id}",
            f"ledger fill of {f.quantity} @ {f.price} not at Kite",
        )
        for fid, f in recorded.items()
        if fid not in expected
    ]
    return out


def _positions(client: KiteConnect) -> list[Difference]:
    kite = defaultdict(int)
    for p in client.positions().get("net", []):
        kite[int(p["instrument_token"])] += int(p["quantity"])
    ledger_net = {
        r["instrument_token"]: r["q"]
        for r in Position.objects.filter(broker=BROKER).values("instrument_token").annotate(q=Sum("quantity"))
    }
    redis_net: dict[int, int] = defaultdict(int)
    for (_, token), position in read_model.snapshot(BROKER)["positions"].items():
        redis_net[token] += position.quantity
    out = []
    for token in sorted(set(kite) | set(ledger_net) | set(redis_net)):
        k, led, red = kite.get(token, 0), ledger_net.get(token, 0), redis_net.get(token, 0)
        if not k == led == red:
            out.append(
                Difference("position", str(token), f"net quantity: Kite {k}, ledger {led}, Redis {red}")
            )
    return out

"""ZerodhaTrader and the order-update path with the real kiteconnect client against the Kite sandbox:
place, partial fills, complete, reject, cancel, postbacks (good and forged), the ambiguous timeout,
a crash mid-placement, and a token expiry that pauses zerodha only."""

from __future__ import annotations

import json
import logging
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from alphapanda import envelope
from alphapanda.events import OrderType, Side
from alphapanda.log_reader import read_values
from tests.support import builders
from tests.support.kite import API_SECRET, login
from tests.support.processes import wait_for
from trading.kite import session as kite_session
from trading.kite.orders import order_place
from trading.kite.postbacks import postback_checksum
from trading.kite.watcher import OrderWatcher
from trading.models import Fill, KiteSession, Order
from trading.services import signal_execute

pytestmark = pytest.mark.integration


@pytest.fixture
def logged_in(sandbox):
    return login(sandbox)


def _execute(broker: str, **signal_fields) -> list:
    sig = builders.signal(**signal_fields)
    value = builders.encoded(envelope.SIGNAL_VALIDATED, sig, broker=broker)
    return signal_execute(
        broker=broker, message=envelope.decode(f"{broker}.signals.validated", value), now=timezone.now()
    )


def _sandbox_orders(sandbox, tag: str) -> list[dict]:
    return [o for o in sandbox.state()["orders"] if o.get("tag") == tag]


def _settle(order: Order, *, until) -> Order:
    watcher = OrderWatcher(poll_every_s=0)

    def settled():
        watcher.poll()
        order.refresh_from_db()
        return until(order)

    wait_for(settled, timeout=20, what=f"order {order.order_id} to settle")
    return order


def test_market_order_fills_in_parts_then_completes_with_one_fill_per_kite_trade(
    logged_in, sandbox, settings
):
    from dataclasses import replace

    settings.CONFIG = replace(settings.CONFIG, kite=replace(settings.CONFIG.kite, algo_id="ALGO7"))
    out = _execute("zerodha", quantity=600, strategy="z-big")
    order = Order.objects.get(broker="zerodha")
    assert order.broker_order_id and len(order.tag) <= 20
    (at_kite,) = _sandbox_orders(sandbox, order.tag)[:1]
    assert (at_kite["algo_id"], at_kite["market_protection"]) == ("ALGO7", -1), "passed through to Kite"
    assert [o.topic for o in out] == ["zerodha.orders.placed"]

    order = _settle(order, until=lambda o: o.status == "COMPLETE" and o.filled_quantity == o.quantity)
    trades = [t for t in sandbox.state()["trades"] if str(t["order_id"]) == order.broker_order_id]
    fills = list(Fill.objects.filter(order=order))
    assert len(trades) > 1, "a 600-share market order takes several levels: partial fills"
    assert sorted((f.quantity, f.price) for f in fills) == sorted(
        (int(t["quantity"]), Decimal(repr(t["average_price"]))) for t in trades
    )
    assert sum(f.brokerage for f in fills) <= Decimal("20.00"), "brokerage is capped per order"
    published = [envelope.decode_any(v).payload for v in read_values("zerodha.orders.filled")]
    assert sorted(p.fill_id for p in published) == sorted(f.fill_id for f in fills)

    OrderWatcher(poll_every_s=0).poll()  # the same updates again change nothing
    assert Fill.objects.filter(order=order).count() == len(fills)


def test_rejected_and_cancelled_orders_become_failures_with_kites_reason(logged_in, sandbox):
    sandbox.fail_next("POST /orders/*", "reject")
    _execute("zerodha", strategy="z-rejected")
    rejected = _settle(Order.objects.get(strategy="z-rejected"), until=lambda o: o.status == "REJECTED")
    assert "rejected by the Kite sandbox" in rejected.reason

    _execute("zerodha", strategy="z-cancel", order_type=OrderType.LIMIT, price=Decimal("1000.00"))
    resting = _settle(Order.objects.get(strategy="z-cancel"), until=lambda o: o.status == "OPEN")
    kite_session.client().cancel_order("regular", resting.broker_order_id)
    cancelled = _settle(resting, until=lambda o: o.status == "CANCELLED")
    failures = {envelope.decode_any(v).payload.order_id: envelope.decode_any(v).payload.reason
                for v in read_values("zerodha.orders.failed")}  # fmt: skip
    assert set(failures) == {rejected.order_id, cancelled.order_id}
    assert "rejected by the Kite sandbox" in failures[rejected.order_id]


def test_postback_with_a_good_checksum_is_applied_and_a_forged_one_refused(
    logged_in, sandbox, client, caplog
):
    _execute("zerodha", quantity=10, strategy="z-postback")
    order = Order.objects.get(strategy="z-postback")
    wait_for(lambda: any(o["status"] == "COMPLETE" for o in _sandbox_orders(sandbox, order.tag)), timeout=10,
             what="the sandbox to fill the order")  # fmt: skip
    data = dict(_sandbox_orders(sandbox, order.tag)[-1])
    forged = dict(data, checksum="0" * 64)
    with caplog.at_level(logging.WARNING, logger="trading.kite"):
        answer = client.post("/kite/postback", json.dumps(forged), content_type="application/json")
    assert answer.status_code == 403
    assert "forged postback rejected" in caplog.text and API_SECRET not in caplog.text
    order.refresh_from_db()
    assert order.filled_quantity == 0, "a forged postback changes nothing"

    data["checksum"] = postback_checksum(
        order_id=str(data["order_id"]), order_timestamp=str(data["order_timestamp"]), api_secret=API_SECRET
    )
    answer = client.post("/kite/postback", json.dumps(data), content_type="application/json")
    assert answer.status_code == 200, answer.content
    order.refresh_from_db()
    assert (order.status, order.filled_quantity) == ("COMPLETE", 10)


def test_ambiguous_timeout_places_exactly_one_order(logged_in, sandbox, settings):
    from dataclasses import replace

    settings.CONFIG = replace(settings.CONFIG, kite=replace(settings.CONFIG.kite, timeout_s=1.0))
    sandbox.fail_next("POST /orders/*", "timeout")
    _execute("zerodha", strategy="z-timeout")
    order = Order.objects.get(strategy="z-timeout")
    assert len(_sandbox_orders(sandbox, order.tag)) == 1, "Kite holds exactly one order for the tag"
    assert order.broker_order_id == str(_sandbox_orders(sandbox, order.tag)[0]["order_id"])


def test_a_crash_between_sending_and_recording_is_resolved_by_tag_without_a_second_order(logged_in, sandbox):
    _execute("zerodha", strategy="z-crash")
    order = Order.objects.get(strategy="z-crash")
    kite_id = order.broker_order_id
    # As if the worker died after Kite accepted the order but before the id was saved:
    Order.objects.filter(pk=order.pk).update(broker_order_id="", status="PENDING")
    order.refresh_from_db()
    order_place(order=order, now=timezone.now())
    assert order.broker_order_id == kite_id
    assert len(_sandbox_orders(sandbox, order.tag)) == 1


def test_token_expiry_pauses_zerodha_only_until_the_next_login(logged_in, sandbox):
    sandbox.expire_tokens()
    _execute("zerodha", strategy="z-expired")
    expired = Order.objects.get(strategy="z-expired")
    assert expired.status == "REJECTED" and expired.reason.startswith("zerodha paused")
    assert KiteSession.objects.get().invalidated_at is not None
    assert kite_session.paused_reason().startswith("Kite refused the access token")

    _execute("zerodha", strategy="z-while-paused")
    assert Order.objects.get(strategy="z-while-paused").reason.startswith("zerodha paused")
    assert len(sandbox.state()["orders"]) == 0, "nothing reached Kite while paused"

    _execute("paper", strategy="p-meanwhile")
    assert Order.objects.get(strategy="p-meanwhile").status == "COMPLETE", "paper trades on"

    login(sandbox)
    assert kite_session.paused_reason() is None
    _execute("zerodha", strategy="z-resumed", side=Side.SELL)
    assert Order.objects.get(strategy="z-resumed").broker_order_id
    assert Order.objects.filter(broker="zerodha").aggregate(q=Sum("quantity"))["q"] == 3

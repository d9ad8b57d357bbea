"""At-least-once delivery with idempotent tasks: duplicates change nothing, a killed bridge loses nothing."""

from __future__ import annotations

import signal as signals

import pytest
from django.db.models import Sum

from alphapanda import envelope
from alphapanda.events import Side
from portfolio.models import AppliedFill, Position
from riskcheck.models import SignalDecision
from tests.support import builders
from tests.support.market import publish_raw
from tests.support.processes import wait_for
from trading.models import Fill, Order

pytestmark = pytest.mark.integration


def test_duplicate_messages_change_nothing_the_second_time(processes, instruments):
    processes.worker()
    processes.bridge()
    raw = builders.encoded(envelope.SIGNAL, builders.signal(strategy="dup-raw"), broker="paper")
    validated = builders.encoded(
        envelope.SIGNAL_VALIDATED, builders.signal(strategy="dup-val", quantity=3), broker="paper"
    )
    fill = builders.encoded(
        envelope.ORDER_FILLED, builders.fill(fill_id="dup-fill", quantity=7), broker="paper"
    )
    batch = [("paper.signals.raw", b"a", raw), ("paper.signals.validated", b"b", validated)]
    batch += [("paper.orders.filled", b"c", fill)]
    publish_raw(batch + batch)  # every message twice
    publish_raw(batch)  # and a third time, in a later batch

    wait_for(lambda: Order.objects.filter(strategy="dup-raw").exists(), timeout=60, what="raw signal's order")
    wait_for(
        lambda: AppliedFill.objects.filter(strategy="dup-val").exists(), timeout=30, what="validated fill"
    )
    wait_for(lambda: AppliedFill.objects.filter(fill_id="dup-fill").exists(), timeout=30, what="direct fill")
    processes.stop()  # all work drained: nothing more can arrive
    assert SignalDecision.objects.filter(strategy="dup-raw").count() == 1
    assert Order.objects.filter(strategy__in=["dup-raw", "dup-val"]).count() == 2
    assert Fill.objects.filter(strategy="dup-val").aggregate(q=Sum("quantity"))["q"] == 3
    assert AppliedFill.objects.filter(fill_id="dup-fill").count() == 1
    assert Position.objects.get(strategy="manual").quantity == 7
    assert Position.objects.get(strategy="dup-val").quantity == 3


def test_bridge_killed_mid_stream_loses_and_doubles_nothing(processes, instruments):
    processes.worker()
    bridge = processes.bridge()
    n = 4000  # enough that, at bulk-write speed, the kill still lands mid-stream
    messages = []
    for i in range(n):
        side = Side.BUY if i % 3 else Side.SELL
        sig = builders.signal(strategy=f"kill-{i % 4}", side=side, quantity=1)
        messages.append(("paper.signals.validated", f"kill-{i % 4}".encode(), builders.encoded(
            envelope.SIGNAL_VALIDATED, sig, broker="paper"
        )))  # fmt: skip
    publish_raw(messages)
    wait_for(lambda: Order.objects.count() >= 20, timeout=60, what="the first orders")
    bridge.popen.send_signal(signals.SIGKILL)
    bridge.popen.wait()
    done_at_kill = Order.objects.count()
    processes.procs.remove(bridge)
    processes.bridge()  # same group: resumes from the committed offsets

    wait_for(lambda: AppliedFill.objects.count() >= n, timeout=90, what=f"{n} fills applied")
    processes.stop()
    assert done_at_kill < n, "the kill should land mid-stream"
    assert Order.objects.count() == n
    assert Fill.objects.count() == n
    assert AppliedFill.objects.count() == n
    buys = sum(1 for i in range(n) if i % 3)
    assert Position.objects.aggregate(q=Sum("quantity"))["q"] == buys - (n - buys)

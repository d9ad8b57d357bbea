"""ACTIVE_BROKERS=paper,zerodha end to end on real processes, zerodha against the Kite sandbox:
the same ticks drive both, each broker's topics, queues, Redis keys and ledger rows hold only its
own data, Kite's order limits hold across two worker processes, and zerodha's faults (server down,
token refused) leave paper trading on."""

from __future__ import annotations

import io
import time

import pytest
from django.core.management import call_command
from django.db.models import F

from alphapanda import envelope, kafka, topics
from alphapanda.events import Side
from alphapanda.log_reader import read_values
from portfolio.models import AppliedFill, Position
from riskcheck.models import SignalDecision
from tests.support import builders
from tests.support.kite import API_KEY, API_SECRET, env_for, login
from tests.support.market import publish_raw
from tests.support.processes import wait_for
from trading.kite_sandbox.server import KiteSandbox
from trading.models import Fill, Order, Strategy

pytestmark = pytest.mark.integration


@pytest.fixture
def kite_pipeline(sandbox, processes):
    """Processes that reach the sandbox, logged in; stopped before the sandbox is."""
    login(sandbox)
    processes.env.update(env_for(sandbox), BRIDGE_BATCH_TIMEOUT_S="5")
    yield sandbox
    processes.stop()


def _fills(broker: str) -> int:
    return AppliedFill.objects.filter(broker=broker).count()


def _assert_isolated() -> None:
    """Every message, Redis key and ledger row belongs to the broker its name says."""
    seen_ids: dict[str, str] = {}
    for topic in sorted(kafka.list_topics()):
        broker = topics.broker_of(topic)
        if broker is None or topic.startswith("__"):
            continue
        for value in read_values(topic):
            message = envelope.decode_any(value)
            assert message.envelope.broker == broker, (topic, message.envelope)
            assert seen_ids.setdefault(message.id, broker) == broker, f"event {message.id} on two brokers"
    from alphapanda import redis_conn

    for key in redis_conn.client().scan_iter("*"):
        if key.startswith(("paper:", "zerodha:")) or key in ("paper", "zerodha"):
            continue
        if key.startswith("LIMITS:LIMITER/"):
            assert key.startswith("LIMITS:LIMITER/zerodha/"), key  # Kite's order limits: zerodha's own
            continue
        # What is left is Celery's transport bookkeeping (bindings, unacked delivery tags): keys of
        # the transport, not of a broker; any that names a queue names exactly one.
        assert key.startswith("_kombu.") or key in ("unacked", "unacked_index"), key
        assert not ("paper" in key and "zerodha" in key), key
    for model in (Order, Fill, SignalDecision, Position, AppliedFill):
        assert set(model.objects.values_list("broker", flat=True)) <= {"paper", "zerodha"}
    assert not Fill.objects.exclude(broker=F("order__broker")).exists()
    zerodha_fill_ids = set(Fill.objects.filter(broker="zerodha").values_list("fill_id", flat=True))
    assert zerodha_fill_ids == set(
        AppliedFill.objects.filter(broker="zerodha").values_list("fill_id", flat=True)
    )
    assert not Order.objects.filter(broker="paper").exclude(broker_order_id="").exists(), (
        "paper never reaches Kite"
    )


def test_both_brokers_trade_the_same_ticks_in_isolation_and_zerodha_faults_leave_paper_on(
    processes, sandbox, kite_pipeline, instruments
):
    strategy = Strategy.objects.create(
        name="both", kind="sma_crossover", params={"fast": 2, "slow": 5}, brokers=["paper", "zerodha"]
    )
    strategy.instruments.set([instruments["RELIANCE"].token, instruments["INFY"].token])
    call_command("seed_demo", stdout=io.StringIO())
    Strategy.objects.exclude(name="both").delete()
    processes.worker("paper")
    processes.worker("zerodha")
    processes.bridge()
    processes.strategies()
    processes.manage("kite-orders", "run_kite_orders", "--poll-every", "1")
    processes.manage("feed", "run_feed", "--source", "sim", "--rate", "40", "--symbols", "RELIANCE,INFY")

    wait_for(
        lambda: _fills("paper") >= 6 and _fills("zerodha") >= 6, timeout=90, what="fills on both brokers"
    )
    processes.assert_alive()
    paper_signals = set(
        SignalDecision.objects.filter(broker="paper").values_list("correlation_id", flat=True)
    )
    zerodha_signals = set(
        SignalDecision.objects.filter(broker="zerodha").values_list("correlation_id", flat=True)
    )
    assert paper_signals & zerodha_signals, "the same ticks (correlation ids) drove both brokers"

    # Zerodha's server goes down: paper keeps trading.
    port = int(sandbox.url.rsplit(":", 1)[1])
    sandbox.stop()
    before = _fills("paper")
    wait_for(lambda: _fills("paper") >= before + 4, timeout=60, what="paper fills while Kite is down")

    # Kite comes back but refuses the old token (as after 06:00 IST): zerodha pauses, paper goes on.
    revived = KiteSandbox(api_key=API_KEY, api_secret=API_SECRET, port=port, seed=2)
    revived.start()
    try:
        wait_for(
            lambda: Order.objects.filter(broker="zerodha", reason__startswith="zerodha paused").exists(),
            timeout=60,
            what="zerodha to pause on the refused token",
        )
        before = _fills("paper")
        wait_for(
            lambda: _fills("paper") >= before + 4, timeout=60, what="paper fills while zerodha is paused"
        )
        processes.assert_alive()
        processes.stop()
        _assert_isolated()
    finally:
        revived.stop()


def test_kites_order_rate_limit_holds_across_two_worker_processes(
    processes, sandbox, kite_pipeline, instruments
):
    processes.worker("zerodha", name="worker-zerodha-1")
    processes.worker("zerodha", name="worker-zerodha-2")
    processes.bridge()
    n = 40
    messages = []
    for i in range(n):
        sig = builders.signal(strategy=f"rate-{i % 8}", side=Side.BUY if i % 2 else Side.SELL, quantity=1)
        key = f"rate-{i % 8}".encode()
        messages.append(
            (
                "zerodha.signals.validated",
                key,
                builders.encoded(envelope.SIGNAL_VALIDATED, sig, broker="zerodha"),
            )
        )
    started = time.monotonic()
    publish_raw(messages)
    wait_for(
        lambda: Order.objects.filter(broker="zerodha").exclude(broker_order_id="").count() == n,
        timeout=60,
        what=f"{n} zerodha orders placed",
    )
    took = time.monotonic() - started
    state = sandbox.state()
    assert state["rate_limited"] == 0, "Kite never had to refuse an order for rate"
    assert len(state["orders"]) == n, "each order placed once"
    assert took >= (n / 10) - 1, f"{n} orders in {took:.1f}s would break 10/s"

"""Observability on real processes: each one's Prometheus endpoint counts exactly what it did, the web
serves /metrics, JSON log lines carry the correlation id from tick to fill, and Flower sees a worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from alphapanda import envelope, infra
from portfolio.models import AppliedFill
from riskcheck.models import SignalDecision
from tests.support import builders
from tests.support.market import publish_raw, publish_ticks, tick_series
from tests.support.processes import Processes, wait_for
from trading.models import Order, Strategy

pytestmark = pytest.mark.integration

Samples = dict[tuple[str, frozenset], float]


def scrape(url: str) -> Samples:
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when the series does not exist (a counter never touched)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def answers(url: str) -> Samples | None:
    try:
        return scrape(url)
    except OSError:
        return None


def with_port(processes: Processes, start, **env: str) -> tuple[int, object]:
    """Start a process with its own METRICS_PORT (and any other variables), then restore the env."""
    port = infra.free_port()
    saved = dict(processes.env)
    processes.env.update(METRICS_PORT=str(port), **env)
    try:
        proc = start()
    finally:
        processes.env.clear()
        processes.env.update(saved)
    wait_for(lambda: answers(f"http://127.0.0.1:{port}/metrics"), timeout=60, what=f"metrics on :{port}")
    return port, proc


def test_worker_and_bridge_count_messages_dead_letters_rejections_orders_and_latency(processes, instruments):
    worker_port, _ = with_port(processes, processes.worker)
    bridge_port, _ = with_port(processes, processes.bridge)
    n = 5
    signals = [builders.signal(strategy="metrics-ok", quantity=1) for _ in range(n)]
    messages = [
        ("paper.signals.raw", b"ok", builders.encoded(envelope.SIGNAL, s, broker="paper")) for s in signals
    ]
    too_big = builders.signal(strategy="metrics-big", quantity=5000)  # above the default max_quantity
    unknown = builders.signal(strategy="metrics-unknown", token=999_999, symbol="NOSUCH")
    messages += [
        ("paper.signals.raw", b"big", builders.encoded(envelope.SIGNAL, too_big, broker="paper")),
        ("paper.signals.raw", b"unknown", builders.encoded(envelope.SIGNAL, unknown, broker="paper")),
        ("paper.signals.raw", b"bad", b'{"id": "x", "type":'),  # malformed: the bridge dead-letters it
    ]
    publish_raw(messages)

    worker_url, bridge_url = (
        f"http://127.0.0.1:{worker_port}/metrics",
        f"http://127.0.0.1:{bridge_port}/metrics",
    )
    wait_for(lambda: AppliedFill.objects.filter(strategy="metrics-ok").count() == n, timeout=60, what="fills")
    w = wait_for(
        lambda: (s := scrape(worker_url)) and value(s, "alphapanda_fills_total", broker="paper") == n and s,
        timeout=30,
        what="the worker's fill counter",
    )
    raw, validated = "paper.signals.raw", "paper.signals.validated"
    # riskcheck: every record the bridge dispatched (not the malformed one), one refused by a rule,
    # one dead-lettered (unknown instrument), the rest validated.
    assert value(w, "alphapanda_messages_in_total", broker="paper", stage="riskcheck", topic=raw) == n + 2
    assert value(w, "alphapanda_messages_out_total", broker="paper", stage="riskcheck", topic=validated) == n
    assert value(w, "alphapanda_rejected_total", broker="paper", stage="riskcheck") == 1
    assert value(w, "alphapanda_dead_letters_total", broker="paper", stage="riskcheck") == 1
    assert value(w, "alphapanda_dead_letters_total", broker="paper", stage="bridge") == 0
    assert value(w, "alphapanda_stage_latency_seconds_count", broker="paper", stage="riskcheck") == n + 2
    assert value(w, "alphapanda_event_age_seconds_count", broker="paper", stage="riskcheck") == n + 2
    assert value(w, "alphapanda_stage_latency_seconds_sum", broker="paper", stage="riskcheck") > 0
    assert value(w, "alphapanda_batch_size_sum", broker="paper", stage="riskcheck") == n + 2
    assert value(w, "alphapanda_batch_duration_seconds_count", broker="paper", stage="riskcheck") >= 1
    # trading and portfolio: n orders placed and filled, n fills applied.
    assert value(w, "alphapanda_messages_in_total", broker="paper", stage="trading", topic=validated) == n
    assert value(w, "alphapanda_orders_total", broker="paper") == n
    assert (
        value(
            w, "alphapanda_messages_in_total", broker="paper", stage="portfolio", topic="paper.orders.filled"
        )
        == n
    )
    assert value(w, "alphapanda_stage_latency_seconds_count", broker="paper", stage="portfolio") == n

    b = wait_for(
        lambda: (
            (s := scrape(bridge_url))
            and value(s, "alphapanda_bridge_committed_total", topic="paper.orders.filled") == n
            and value(s, "alphapanda_bridge_in_flight_batches") == 0
            and s
        ),
        timeout=30,
        what="the bridge to commit every fill",
    )
    assert value(b, "alphapanda_messages_in_total", broker="paper", stage="bridge", topic=raw) == n + 3
    assert value(b, "alphapanda_messages_out_total", broker="paper", stage="bridge", topic=raw) == n + 2
    assert value(b, "alphapanda_dead_letters_total", broker="paper", stage="bridge") == 1
    assert value(b, "alphapanda_stage_latency_seconds_count", broker="paper", stage="bridge") == 3 * n + 2
    assert value(b, "alphapanda_bridge_committed_total", topic=raw) == n + 3
    assert value(b, "alphapanda_bridge_buffered", topic=raw) == 0
    lag = {labels: v for (name, labels), v in b.items() if name == "alphapanda_consumer_lag"}
    assert all(dict(labels)["consumer"] == "bridge" and v >= 0 for labels, v in lag.items()), lag


def test_web_serves_metrics_without_login(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    assert "# TYPE alphapanda_messages_in_total counter" in body
    assert "# TYPE alphapanda_stage_latency_seconds histogram" in body


def _json_lines(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out


def test_json_logs_carry_one_correlation_id_from_tick_to_fill(processes, instruments):
    reliance = instruments["RELIANCE"]
    sma = Strategy.objects.create(
        name="sma-logs", kind="sma_crossover", params={"fast": 3, "slow": 8, "lots": 1}, brokers=["paper"]
    )
    sma.instruments.set([reliance.token])
    debug_json = {"LOG_FORMAT": "json", "LOG_LEVEL": "debug"}
    processes.env.update(debug_json)
    worker = processes.start(
        "worker-paper",
        sys.executable, "-m", "celery", "-A", "alphapanda", "worker", "-Q", "paper",
        "--hostname", f"logs-{os.getpid()}@%h", "--loglevel=DEBUG", "--without-heartbeat",
        "--without-gossip", "--without-mingle",
    )  # fmt: skip
    strategies = processes.strategies()
    processes.env.update(LOG_FORMAT="console", LOG_LEVEL="info")
    processes.bridge()
    publish_ticks(tick_series([reliance], count=60, seed=7))

    order = wait_for(lambda: Order.objects.filter(strategy="sma-logs").first(), timeout=60, what="an order")
    wait_for(lambda: AppliedFill.objects.filter(strategy="sma-logs").exists(), timeout=30, what="its fill")
    cid = order.correlation_id
    stages = wait_for(
        lambda: (
            {
                line.get("stage")
                for line in _json_lines(worker.output())
                if line.get("correlation_id") == cid and line.get("broker") == "paper"
            }
            >= {"riskcheck", "trading", "portfolio"}
            or None
        ),
        timeout=20,
        what="worker log lines for the tick's chain",
    )
    assert stages
    tick_lines = [
        line
        for line in _json_lines(strategies.output())
        if line.get("correlation_id") == cid and line.get("stage") == "strategies"
    ]
    assert tick_lines and tick_lines[0]["event_id"] == cid  # a tick's id starts its chain
    assert "sma-logs" in tick_lines[0]["event"]
    risk_lines = [
        line
        for line in _json_lines(worker.output())
        if line.get("correlation_id") == cid and line.get("stage") == "riskcheck"
    ]
    decision = SignalDecision.objects.get(strategy="sma-logs", correlation_id=cid)
    assert risk_lines[0]["event_id"] == decision.signal_id
    assert risk_lines[0]["level"] == "debug"


def test_flower_lists_a_running_worker(processes, instruments):
    """A worker with heartbeats and gossip (the test workers run without them, which hides them from
    Flower's event-driven views; its inspect-based /api/workers still finds them)."""
    hostname = f"flower-{os.getpid()}"
    processes.start(
        "worker-flower",
        sys.executable, "-m", "celery", "-A", "alphapanda", "worker", "-Q", "paper",
        "--hostname", f"{hostname}@%h", "--loglevel=WARNING",
    )  # fmt: skip
    quiet = processes.worker(name="quiet")
    port = infra.free_port()
    env = dict(processes.env, FLOWER_UNAUTHENTICATED_API="true")
    log = processes.out_dir / "flower.log"
    with log.open("w") as out:
        flower = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "alphapanda",
                "flower",
                f"--port={port}",
                "--address=127.0.0.1",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        api = f"http://127.0.0.1:{port}/api/workers?refresh=1"

        def workers() -> dict | None:
            try:
                with urllib.request.urlopen(api, timeout=10) as response:
                    listed = json.load(response)
            except OSError:
                return None
            names = set(listed)
            return listed if any(n.startswith(hostname) for n in names) and len(names) >= 2 else None

        listed = wait_for(workers, timeout=60, interval=1, what="Flower to list the workers")
        mine = next(v for k, v in listed.items() if k.startswith(hostname))
        assert {q["name"] for q in mine["active_queues"]} == {"paper"}
        assert "riskcheck.tasks.validate_signals" in mine["registered"]
        assert any(k.startswith("quiet-") for k in listed), "inspect finds a worker without heartbeats too"
        online = wait_for(
            lambda: (
                {
                    dict(labels)["worker"]
                    for (name, labels), v in (answers(f"http://127.0.0.1:{port}/metrics") or {}).items()
                    if name == "flower_worker_online" and v == 1
                }
                or None
            ),
            timeout=30,
            interval=1,
            what="Flower's worker_online metric",
        )
        assert any(w.startswith(hostname) for w in online)
        assert not any(w.startswith("quiet-") for w in online), "no heartbeats: not online in Flower's events"
        assert quiet.popen.poll() is None
    finally:
        flower.terminate()
        try:
            flower.wait(10)
        except subprocess.TimeoutExpired:
            flower.kill()
            flower.wait()

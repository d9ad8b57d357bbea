"""The metric helpers, the log redaction, METRICS_PORT, and the deploy files that refer to metric names."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import structlog
import yaml
from prometheus_client import REGISTRY

from alphapanda import config, metrics
from alphapanda.config import ConfigError
from alphapanda.log_redact import MASK, redact_secrets, redact_text

ROOT = Path(__file__).resolve().parents[3]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# -- pure helpers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("high", "position", "expected"),
    [(10, 4, 6), (10, 10, 0), (10, 12, 0), (-1001, 4, None), (10, -1001, None), (0, 0, 0)],
)
def test_lag_when_ends_known_or_not(high: int, position: int, expected: int | None) -> None:
    assert metrics.lag(high, position) == expected


def test_seconds_since_when_clock_behind_then_zero() -> None:
    assert metrics.seconds_since(1_000_000_000, 3_500_000_000) == 2.5
    assert metrics.seconds_since(5_000_000_000, 3_000_000_000) == 0.0


def test_broker_label_when_market_data_then_shared() -> None:
    assert metrics.broker_label("market.ticks") == "shared"
    assert metrics.broker_label("paper.signals.raw") == "paper"


def test_count_outputs_counts_messages_orders_fills_and_rejections() -> None:
    before = {
        "out": sample("alphapanda_messages_out_total", broker="unit", stage="s1", topic="unit.orders.placed"),
        "orders": sample("alphapanda_orders_total", broker="unit"),
        "fills": sample("alphapanda_fills_total", broker="unit"),
        "rejected": sample("alphapanda_rejected_total", broker="unit", stage="s1"),
    }
    metrics.count_outputs(
        "s1",
        {
            "unit.orders.placed": 3,
            "unit.orders.filled": 2,
            "unit.signals.rejected": 4,
            "unit.orders.failed": 1,
        },
    )
    assert (
        sample("alphapanda_messages_out_total", broker="unit", stage="s1", topic="unit.orders.placed")
        == before["out"] + 3
    )
    assert sample("alphapanda_orders_total", broker="unit") == before["orders"] + 3
    assert sample("alphapanda_fills_total", broker="unit") == before["fills"] + 2
    assert sample("alphapanda_rejected_total", broker="unit", stage="s1") == before["rejected"] + 5


def test_stage_observe_records_both_clocks_in_seconds() -> None:
    stage = metrics.stage("unit", "observe")
    stage.observe(ts_produce=1_000_000_000, ts_event=0, now_ns=1_004_000_000)
    labels = {"broker": "unit", "stage": "observe"}
    assert REGISTRY.get_sample_value("alphapanda_stage_latency_seconds_count", labels) == 1
    assert REGISTRY.get_sample_value("alphapanda_stage_latency_seconds_sum", labels) == pytest.approx(0.004)
    assert REGISTRY.get_sample_value("alphapanda_event_age_seconds_sum", labels) == pytest.approx(1.004)
    le_5ms = REGISTRY.get_sample_value("alphapanda_stage_latency_seconds_bucket", {**labels, "le": "0.005"})
    le_25 = REGISTRY.get_sample_value("alphapanda_stage_latency_seconds_bucket", {**labels, "le": "0.0025"})
    assert (le_5ms, le_25) == (1, 0)


def test_latency_buckets_span_a_millisecond_to_ten_seconds() -> None:
    assert metrics.LATENCY_BUCKETS[0] == 0.001 and metrics.LATENCY_BUCKETS[-1] == 10.0
    assert list(metrics.LATENCY_BUCKETS) == sorted(metrics.LATENCY_BUCKETS)


def test_dead_lettered_labels_broker_from_topic() -> None:
    before = sample("alphapanda_dead_letters_total", broker="shared", stage="unit-dlq")
    metrics.dead_lettered("market.ticks", "unit-dlq")
    metrics.dead_lettered("market.ticks", "unit-dlq")
    assert sample("alphapanda_dead_letters_total", broker="shared", stage="unit-dlq") == before + 2


def test_update_consumer_lag_sets_known_partitions_only() -> None:
    tp = SimpleNamespace
    positions = [tp(topic="unit.a", partition=0, offset=7), tp(topic="unit.a", partition=1, offset=-1001)]
    watermarks = {("unit.a", 0): (0, 10), ("unit.a", 1): (0, 5)}
    consumer = SimpleNamespace(
        assignment=lambda: ["assigned"],
        position=lambda assigned: positions,
        get_watermark_offsets=lambda p, cached: watermarks[(p.topic, p.partition)],
    )
    metrics.update_consumer_lag("unit", consumer)
    assert sample("alphapanda_consumer_lag", consumer="unit", topic="unit.a", partition="0") == 3
    assert (
        REGISTRY.get_sample_value(
            "alphapanda_consumer_lag", {"consumer": "unit", "topic": "unit.a", "partition": "1"}
        )
        is None
    )


def test_update_consumer_lag_when_consumer_fails_then_nothing_raised() -> None:
    def broken(assigned):
        raise RuntimeError("mid-rebalance")

    metrics.update_consumer_lag("unit-broken", SimpleNamespace(assignment=list, position=broken))


def test_set_buffered_sums_partitions_and_zeroes_idle_topics() -> None:
    metrics.set_buffered(["unit.x", "unit.y"], [("unit.x", 3), ("unit.x", 4)])
    assert sample("alphapanda_bridge_buffered", topic="unit.x") == 7
    assert REGISTRY.get_sample_value("alphapanda_bridge_buffered", {"topic": "unit.y"}) == 0


def test_serve_when_port_zero_then_off() -> None:
    assert metrics.serve(0, "127.0.0.1", "unit") is None


def test_every_name_is_prefixed_and_labels_bounded() -> None:
    allowed = {"broker", "stage", "topic", "partition", "consumer", "window"}
    for family in metrics.FAMILIES:
        assert family._name.startswith("alphapanda_")
        assert set(family._labelnames) <= allowed, family._name


# -- configuration ---------------------------------------------------------------------------------


def test_metrics_port_default_off_and_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("METRICS_PORT", raising=False)
    monkeypatch.delenv("METRICS_ADDR", raising=False)
    cfg = config.load()
    assert (cfg.metrics_port, cfg.metrics_addr) == (0, "127.0.0.1")
    monkeypatch.setenv("METRICS_PORT", "9100")
    monkeypatch.setenv("METRICS_ADDR", "0.0.0.0")
    assert (config.load().metrics_port, config.load().metrics_addr) == (9100, "0.0.0.0")
    for bad in ("-1", "70000", "abc"):
        monkeypatch.setenv("METRICS_PORT", bad)
        with pytest.raises(ConfigError, match="METRICS_PORT"):
            config.load()


# -- logs ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgres://alpha:s3cret@db:5432/x", f"postgres://alpha:{MASK}@db:5432/x"),
        ("login ok access_token=abc123 user=AB1234", f"login ok access_token={MASK} user=AB1234"),
        ('{"api_secret": "zzz", "n": 1}', f'{{"api_secret": "{MASK}", "n": 1}}'),
        ("Authorization: token key:tok", f"Authorization: token {MASK}"),
        (
            "tick instrument_token=738561 at redis://h:6379/0",
            "tick instrument_token=738561 at redis://h:6379/0",
        ),
    ],
)
def test_redact_text(text: str, expected: str) -> None:
    assert redact_text(text) == expected


def test_redact_secrets_processor_masks_message_and_credential_keys() -> None:
    out = redact_secrets(None, "info", {"event": "password=hunter2", "access_token": "t", "broker": "paper"})
    assert out == {"event": f"password={MASK}", "access_token": MASK, "broker": "paper"}


def test_json_log_line_carries_bound_context_and_redacts() -> None:
    """The settings' JSON formatter on a stdlib logger, with the context run_batch binds."""
    from django.conf import settings

    spec = dict(settings.LOGGING["formatters"]["json"])
    formatter = spec.pop("()")(**spec)
    record = logging.LogRecord(
        "unit", logging.WARNING, __file__, 1, "dsn %s", ("postgres://u:pw@h/db",), None
    )
    structlog.contextvars.bind_contextvars(
        correlation_id="c1", event_id="e1", broker="paper", stage="riskcheck"
    )
    try:
        line = json.loads(formatter.format(record))
    finally:
        structlog.contextvars.clear_contextvars()
    assert line["correlation_id"] == "c1" and line["event_id"] == "e1"
    assert (line["broker"], line["stage"], line["level"]) == ("paper", "riskcheck", "warning")
    assert line["event"] == f"dsn postgres://u:{MASK}@h/db"


# -- deploy files ----------------------------------------------------------------------------------


def test_grafana_dashboard_queries_only_known_metrics() -> None:
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/alphapanda.json").read_text())
    known = metrics.series_names()
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = {name for expr in exprs for name in re.findall(r"\balphapanda_[a-z_]+", expr)}
    assert used and used <= known, used - known
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for topic in ("throughput", "p50", "p99", "dead letters", "rejections", "lag", "rate-limit"):
        assert topic in titles
    assert {"alphapanda_consumer_lag", "alphapanda_kite_ratelimit_remaining"} <= used
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_prometheus_scrapes_web_and_each_process_metrics_port() -> None:
    prom = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    targets = {
        (name, sd["port"])
        for job in prom["scrape_configs"]
        for sd in job["dns_sd_configs"]
        for name in sd["names"]
    }
    port = int(services["bridge"]["environment"]["METRICS_PORT"])
    assert ("web", 8000) in targets
    for service in ("bridge", "strategies", "feed", "worker-paper", "worker-zerodha", "kite-orders"):
        assert (service, port) in targets and service in services
    assert services["bridge"]["environment"]["METRICS_ADDR"] == "0.0.0.0"
    assert (
        "./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro"
        in services["prometheus"]["volumes"]
    )
    grafana_mounts = " ".join(services["grafana"]["volumes"])
    assert (
        "./deploy/grafana/dashboards" in grafana_mounts and "./deploy/grafana/provisioning" in grafana_mounts
    )
    provider = yaml.safe_load((ROOT / "deploy/grafana/provisioning/dashboards/alphapanda.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    source = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    assert source["datasources"][0]["url"] == "http://prometheus:9090"
    assert source["datasources"][0]["uid"] == "prometheus"

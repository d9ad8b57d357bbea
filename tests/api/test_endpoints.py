"""What each endpoint returns (shapes, and figures equal to the ledger and read model, decimals as
strings), its filters and pages, its 400s, and what the controls do."""

from __future__ import annotations

import itertools
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from confluent_kafka import TopicPartition

from alphapanda import envelope, infra, kafka, topics
from alphapanda.models import ControlAction
from portfolio.models import PnlPoint
from riskcheck.models import KillSwitch, RiskLimits
from riskcheck.selectors import entries_blocked, limits_get
from tests.api.conftest import INFY, RELIANCE, T0, ZED_TOKEN, _position
from trading.models import Strategy
from trading.selectors import strategy_specs

API = "/api/v1/"


def get(client, path, **params):
    response = client.get(API + path, params)
    assert response.status_code == 200, response.content[:500]
    return response.json()


def results(client, path, **params):
    return get(client, path, **params)["results"]


# -- brokers ---------------------------------------------------------------------------------------
def test_brokers_show_label_role_kill_switch_and_health(clients, ledger):
    admin = results(clients["admin"], "brokers/")
    trader = results(clients["trader_paper"], "brokers/")
    viewer = get(clients["viewer_zerodha"], "brokers/zerodha/")

    assert admin == [
        {
            "name": "paper",
            "label": "paper (simulated)",
            "role": "admin",
            "kill_switch": {"engaged": False, "reason": ""},
            "health": {"ok": True, "detail": "ok"},
        },
        {
            "name": "zerodha",
            "label": "zerodha",
            "role": "admin",
            "kill_switch": {"engaged": True, "reason": "ZSECRET halt"},
            "health": {"ok": False, "detail": "no Kite session: log in with `manage.py kite_login`"},
        },
    ]
    assert [(b["name"], b["role"]) for b in trader] == [("paper", "trader")]
    assert viewer["role"] == "viewer"


def test_only_active_brokers_exist(clients, ledger, settings):
    settings.ACTIVE_BROKERS = ("paper",)

    assert [b["name"] for b in results(clients["admin"], "brokers/")] == ["paper"]
    assert clients["admin"].get(API + "brokers/zerodha/").status_code == 404
    assert clients["admin"].get(API + "orders/", {"broker": "zerodha"}).status_code == 404
    assert [o["broker"] for o in results(clients["admin"], "orders/")] == ["paper", "paper"]


def test_an_unknown_broker_filter_is_a_400_field_error(clients, ledger):
    response = clients["admin"].get(API + "orders/", {"broker": "robinhood"})

    assert response.status_code == 400
    assert response.json() == {"broker": ['"robinhood" is not a valid choice.']}


@pytest.mark.parametrize("method", ["get", "post", "patch", "delete"])
@pytest.mark.parametrize("path", ["no-such-thing/", "strategies/not.a.slug/pause/", "orders/paper/"])
def test_unknown_api_paths_are_json_404s(clients, method, path):
    response = getattr(clients["admin"], method)(API + path)

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


# -- portfolios ------------------------------------------------------------------------------------
PAPER_PORTFOLIO = {
    "broker": "paper",
    "equity": "999950.00",  # cash 985,850.00 + 10 RELIANCE at 1,410.00 (INFY is flat)
    "cash": "985850.00",
    "realized": "73.45",
    "unrealized": "99.50",  # 10 × 1,410.00 − 14,000.50
    "charges": "30.17",
    "pnl": "-50.00",
    "open_positions": 1,
    "signals": 2,
    "orders": 2,
    "fills": 1,
    "rejections": 1,
}


def test_portfolios_are_the_read_model_figures_in_rupee_strings(clients, ledger):
    listed = get(clients["viewer_paper"], "portfolios/")
    detail = get(clients["viewer_paper"], "portfolios/paper/")

    assert listed == {"count": 1, "next": None, "previous": None, "results": [PAPER_PORTFOLIO]}
    assert detail == PAPER_PORTFOLIO
    assert [p["broker"] for p in results(clients["admin"], "portfolios/")] == ["paper", "zerodha"]
    assert results(clients["admin"], "portfolios/", broker="zerodha")[0]["unrealized"] == "0.00"


def test_portfolio_strategies_are_each_strategys_pnl(clients, ledger):
    assert results(clients["viewer_paper"], "portfolios/paper/strategies/") == [
        {
            "strategy": "rsi-paper",
            "realized": "-50.00",
            "unrealized": "0.00",
            "charges": "9.00",
            "pnl": "-59.00",
            "open_positions": 0,
        },
        {
            "strategy": "sma-both",
            "realized": "123.45",
            "unrealized": "99.50",
            "charges": "21.17",
            "pnl": "201.78",
            "open_positions": 1,
        },
    ]


# -- positions -------------------------------------------------------------------------------------
def test_positions_come_from_the_ledger_marked_from_the_read_model(clients, ledger):
    positions = results(clients["admin"], "positions/")

    assert positions == [
        {
            "broker": "paper",
            "strategy": "rsi-paper",
            "instrument_token": INFY,
            "symbol": "INFY",
            "quantity": 0,
            "average_price": "0.0000",
            "realized": "-50.00",
            "charges": "9.00",
            "last_price": None,  # never marked
            "unrealized": None,
        },
        {
            "broker": "paper",
            "strategy": "sma-both",
            "instrument_token": RELIANCE,
            "symbol": "RELIANCE",
            "quantity": 10,
            "average_price": "1400.0500",
            "realized": "123.45",
            "charges": "21.17",
            "last_price": "1410.00",
            "unrealized": "99.50",
        },
        {
            "broker": "zerodha",
            "strategy": "zed-only",
            "instrument_token": ZED_TOKEN,
            "symbol": "ZEDSYM",
            "quantity": 3,
            "average_price": "98765.4300",
            "realized": "98765432.10",
            "charges": "98765.43",
            "last_price": "98765.43",
            "unrealized": "0.00",
        },
    ]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"open": "true"}, ["RELIANCE", "ZEDSYM"]),
        ({"open": "false"}, ["INFY"]),
        ({"strategy": "sma-both"}, ["RELIANCE"]),
        ({"symbol": "reliance"}, ["RELIANCE"]),
        ({"broker": "zerodha"}, ["ZEDSYM"]),
        ({"broker": "paper", "open": "true"}, ["RELIANCE"]),
        ({"strategy": "nobody"}, []),
        ({"open": ""}, ["INFY", "RELIANCE", "ZEDSYM"]),  # blank: no filter
    ],
)
def test_position_filters(clients, ledger, params, expected):
    assert [p["symbol"] for p in results(clients["admin"], "positions/", **params)] == expected


# -- orders and fills ------------------------------------------------------------------------------
def test_orders_newest_first_with_every_field(clients, ledger):
    orders = results(clients["admin"], "orders/")

    assert [o["order_id"] for o in orders] == ["Z-ORD-SECRET", "P-ORD-2", "P-ORD-1"]
    assert orders[2] == {
        "broker": "paper",
        "order_id": "P-ORD-1",
        "broker_order_id": "",
        "tag": "",
        "signal_id": "sig-P-ORD-1",
        "correlation_id": "corr-P-ORD-1",
        "strategy": "sma-both",
        "instrument_token": RELIANCE,
        "symbol": "RELIANCE",
        "exchange": "NSE",
        "side": "BUY",
        "quantity": 10,
        "filled_quantity": 10,
        "product": "MIS",
        "order_type": "MARKET",
        "price": None,
        "trigger_price": None,
        "average_price": "1400.0500",
        "brokerage_paid": "0.00",
        "status": "COMPLETE",
        "reason": "",
        "created_at": "2026-01-05T09:30:00+05:30",
        "updated_at": "2026-01-05T09:30:00+05:30",
    }
    assert orders[0]["broker_order_id"] == "250101000777"
    assert orders[0]["tag"] == "ZTAG777"
    assert orders[1]["price"] == "1500.1000"
    assert orders[1]["reason"] == "insufficient funds"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "REJECTED"}, ["P-ORD-2"]),
        ({"side": "SELL"}, ["P-ORD-2"]),
        ({"symbol": "infy"}, ["P-ORD-2"]),
        ({"strategy": "zed-only"}, ["Z-ORD-SECRET"]),
        ({"broker": "paper", "side": "BUY"}, ["P-ORD-1"]),
        ({"status": "OPEN"}, []),
    ],
)
def test_order_filters(clients, ledger, params, expected):
    assert [o["order_id"] for o in results(clients["admin"], "orders/", **params)] == expected


def test_order_detail(clients, ledger):
    order = get(clients["viewer_paper"], "orders/paper/P-ORD-2/")

    assert order["order_id"] == "P-ORD-2"
    assert order["status"] == "REJECTED"
    assert clients["viewer_paper"].get(API + "orders/paper/NOPE/").status_code == 404
    assert clients["viewer_paper"].get(API + "orders/paper/Z-ORD-SECRET/").status_code == 404


def test_fills_carry_their_charges(clients, ledger):
    fills = results(clients["viewer_paper"], "fills/")

    assert fills == [
        {
            "broker": "paper",
            "fill_id": "P-FILL-1",
            "order_id": "P-ORD-1",
            "correlation_id": "corr-P-ORD-1",
            "strategy": "sma-both",
            "instrument_token": RELIANCE,
            "symbol": "RELIANCE",
            "exchange": "NSE",
            "side": "BUY",
            "quantity": 10,
            "product": "MIS",
            "price": "1400.0500",
            "charges": {
                "brokerage": "8.40",
                "stt": "3.50",
                "exchange": "0.43",
                "sebi": "0.01",
                "stamp": "0.42",
                "gst": "1.59",
                "total": "14.35",
            },
            "filled_at": "2026-01-05T09:30:00+05:30",
        }
    ]
    assert results(clients["admin"], "fills/", side="SELL") == []
    assert [f["fill_id"] for f in results(clients["admin"], "fills/", symbol="zedsym")] == ["Z-FILL-SECRET"]
    assert [f["fill_id"] for f in results(clients["admin"], "fills/", strategy="sma-both")] == ["P-FILL-1"]


# -- signals ---------------------------------------------------------------------------------------
def test_signals_are_the_risk_decisions_with_rule_and_reason(clients, ledger):
    rejected = results(clients["viewer_paper"], "signals/", outcome="rejected")

    assert rejected == [
        {
            "broker": "paper",
            "signal_id": "P-SIG-2",
            "correlation_id": "corr-P-SIG-2",
            "strategy": "sma-both",
            "instrument_token": RELIANCE,
            "side": "SELL",
            "quantity": 500,
            "outcome": "rejected",
            "rule": "max_quantity",
            "reason": "quantity 500 > 100",
            "decided_at": "2026-01-05T09:31:00+05:30",
        }
    ]
    validated = results(clients["viewer_paper"], "signals/", outcome="validated")
    assert [(s["signal_id"], s["rule"], s["reason"]) for s in validated] == [("P-SIG-1", "", "")]
    assert [s["signal_id"] for s in results(clients["admin"], "signals/", rule="zed_rule")] == [
        "Z-SIG-SECRET"
    ]
    assert [s["signal_id"] for s in results(clients["admin"], "signals/")] == [
        "Z-SIG-SECRET",
        "P-SIG-2",
        "P-SIG-1",
    ]


# -- pagination ------------------------------------------------------------------------------------
def test_lists_are_limit_offset_pages(clients, ledger):
    first = get(clients["admin"], "orders/", limit=2)
    second = clients["admin"].get(first["next"]).json()

    assert first["count"] == 3
    assert [o["order_id"] for o in first["results"]] == ["Z-ORD-SECRET", "P-ORD-2"]
    assert first["previous"] is None
    assert "limit=2" in first["next"] and "offset=2" in first["next"]
    assert [o["order_id"] for o in second["results"]] == ["P-ORD-1"]
    assert second["next"] is None
    assert get(clients["admin"], "orders/", limit=1, offset=5)["results"] == []
    assert len(results(clients["admin"], "orders/", limit=100_000)) == 3  # capped at max_limit, not an error


# -- strategies ------------------------------------------------------------------------------------
def test_strategies_list_what_trades_on_a_visible_broker(clients, ledger):
    admin = results(clients["admin"], "strategies/")
    zerodha_viewer = results(clients["viewer_zerodha"], "strategies/")

    assert [s["name"] for s in admin] == ["rsi-paper", "sma-both", "zed-only"]
    sma = admin[1]
    assert {k: v for k, v in sma.items() if k != "updated_at"} == {
        "name": "sma-both",
        "kind": "sma_crossover",
        "params": {"fast": 5, "slow": 20},
        "instruments": ["INFY", "RELIANCE"],
        "brokers": ["paper", "zerodha"],
        "paused_brokers": ["zerodha"],
        "active": True,
    }
    assert [s["name"] for s in zerodha_viewer] == ["sma-both", "zed-only"]
    on_paper = results(clients["admin"], "strategies/", broker="paper")
    assert [(s["name"], s["brokers"]) for s in on_paper] == [
        ("rsi-paper", ["paper"]),
        ("sma-both", ["paper", "zerodha"]),  # the filter picks strategies; it hides no broker you may see
    ]
    assert get(clients["admin"], "strategies/zed-only/")["instruments"] == ["ZEDSYM"]
    assert clients["admin"].get(API + "strategies/no-such/").status_code == 404


def test_pause_and_resume_change_paused_brokers_and_are_audited(clients, users, ledger):
    paused = clients["trader_paper"].post(
        API + "strategies/sma-both/pause/", {"broker": "paper"}, format="json"
    )

    assert paused.status_code == 200
    assert paused.json()["paused_brokers"] == ["paper"]
    assert Strategy.objects.get(name="sma-both").paused_brokers == ["zerodha", "paper"]
    assert next(s for s in strategy_specs() if s.name == "sma-both").brokers == ()
    assert entries_blocked(broker="paper", strategy="sma-both") == "strategy sma-both is paused on paper"
    action = ControlAction.objects.get(action="strategy_pause")
    assert (action.user, action.broker, action.target) == (users["trader_paper"], "paper", "sma-both")

    resumed = clients["trader_paper"].post(
        API + "strategies/sma-both/resume/", {"broker": "paper"}, format="json"
    )

    assert resumed.status_code == 200
    assert resumed.json()["paused_brokers"] == []
    assert Strategy.objects.get(name="sma-both").paused_brokers == ["zerodha"]
    assert entries_blocked(broker="paper", strategy="sma-both") is None
    assert (
        ControlAction.objects.filter(action="strategy_resume", broker="paper", target="sma-both").count() == 1
    )


def test_pause_on_a_broker_the_strategy_does_not_trade_is_a_400(clients, ledger):
    response = clients["admin"].post(API + "strategies/zed-only/pause/", {"broker": "paper"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"broker": ["zed-only does not trade on paper."]}
    assert not ControlAction.objects.exists()


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"broker": ["This field is required."]}),
        ({"broker": "robinhood"}, {"broker": ['"robinhood" is not a valid choice.']}),
        ({"broker": ["paper"]}, {"broker": ["\"['paper']\" is not a valid choice."]}),
    ],
)
def test_pause_input_errors(clients, ledger, body, errors):
    response = clients["admin"].post(API + "strategies/sma-both/pause/", body, format="json")

    assert response.status_code == 400
    assert response.json() == errors


def test_a_viewer_may_not_pause(clients, ledger):
    response = clients["viewer_paper"].post(
        API + "strategies/sma-both/pause/", {"broker": "paper"}, format="json"
    )

    assert response.status_code == 403
    assert Strategy.objects.get(name="sma-both").paused_brokers == ["zerodha"]


# -- kill switch -----------------------------------------------------------------------------------
def test_kill_switch_blocks_entries_and_is_audited(clients, users, ledger):
    engaged = clients["trader_paper"].post(
        API + "brokers/paper/kill-switch/", {"engaged": True, "reason": "fat finger"}, format="json"
    )

    assert engaged.status_code == 200
    assert {k: v for k, v in engaged.json().items() if k != "changed_at"} == {
        "broker": "paper",
        "engaged": True,
        "reason": "fat finger",
    }
    assert KillSwitch.objects.get(broker="paper").engaged
    assert entries_blocked(broker="paper", strategy="rsi-paper") == "kill switch engaged on paper: fat finger"
    assert get(clients["viewer_paper"], "brokers/paper/")["kill_switch"] == {
        "engaged": True,
        "reason": "fat finger",
    }
    action = ControlAction.objects.get(action="kill_switch_on")
    assert (action.user, action.broker, action.detail) == (users["trader_paper"], "paper", "fat finger")

    released = clients["trader_paper"].post(
        API + "brokers/paper/kill-switch/", {"engaged": False}, format="json"
    )

    assert released.json()["engaged"] is False
    assert entries_blocked(broker="paper", strategy="rsi-paper") is None
    assert ControlAction.objects.filter(action="kill_switch_off", broker="paper").count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "engaged"), ({"engaged": "maybe"}, "engaged"), ({"engaged": True, "reason": "x" * 501}, "reason")],
)
def test_kill_switch_input_errors(clients, ledger, body, field):
    response = clients["admin"].post(API + "brokers/paper/kill-switch/", body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not KillSwitch.objects.filter(broker="paper").exists()


def test_a_malformed_body_is_a_400_and_a_form_body_a_415(clients, ledger):
    malformed = clients["admin"].post(
        API + "brokers/paper/kill-switch/", data="{not json", content_type="application/json"
    )
    form = clients["admin"].post(API + "brokers/paper/kill-switch/", {"engaged": "true"})

    assert malformed.status_code == 400
    assert "JSON parse error" in malformed.json()["detail"]
    assert form.status_code == 415


# -- risk limits -----------------------------------------------------------------------------------
def test_risk_limits_read_and_defaults(clients, ledger):
    paper = get(clients["viewer_paper"], "risk-limits/paper/")

    assert {k: v for k, v in paper.items() if k != "updated_at"} == {
        "broker": "paper",
        "max_quantity": 100,
        "max_order_value": "500000.00",
        "max_position": 2000,
        "max_open_positions": 50,
        "max_daily_trades": 5000,
        "max_price_deviation_pct": "5.00",
        "allowed_products": [],
        "allowed_instruments": [],
        "max_daily_loss": "50000.00",
    }
    RiskLimits.objects.filter(broker="paper").delete()
    defaults = get(clients["viewer_paper"], "risk-limits/paper/")
    assert defaults["max_quantity"] == 1000
    assert defaults["updated_at"] is None
    assert not RiskLimits.objects.filter(broker="paper").exists()  # a read writes nothing
    assert [r["broker"] for r in results(clients["admin"], "risk-limits/")] == ["paper", "zerodha"]


def test_an_admin_changes_risk_limits_and_the_risk_step_uses_them(clients, users, ledger):
    response = clients["admin"].patch(
        API + "risk-limits/paper/",
        {"max_quantity": 25, "max_order_value": "123456.78", "allowed_products": ["MIS", "CNC", "MIS"],
         "allowed_instruments": [RELIANCE, INFY]},
        format="json",
    )  # fmt: skip

    assert response.status_code == 200
    body = response.json()
    assert body["max_quantity"] == 25
    assert body["max_order_value"] == "123456.78"
    assert body["allowed_products"] == ["CNC", "MIS"]
    assert body["allowed_instruments"] == [INFY, RELIANCE]
    assert body["max_position"] == 2000  # untouched
    limits = limits_get(broker="paper")
    assert (limits.max_quantity, limits.max_order_value) == (25, Decimal("123456.78"))
    action = ControlAction.objects.get(action="risk_limits_update")
    assert (action.user, action.broker) == (users["admin"], "paper")
    assert "max_quantity=25" in action.detail


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"max_quantity": -1}, "max_quantity"),
        ({"max_quantity": 0}, "max_quantity"),
        ({"max_quantity": 10**12}, "max_quantity"),
        ({"max_order_value": "-5"}, "max_order_value"),
        ({"max_order_value": "1e30"}, "max_order_value"),
        ({"max_order_value": "12.345"}, "max_order_value"),
        ({"max_price_deviation_pct": "250"}, "max_price_deviation_pct"),
        ({"max_daily_loss": "0"}, "max_daily_loss"),
        ({"max_open_positions": "lots"}, "max_open_positions"),
        ({"allowed_products": ["XYZ"]}, "allowed_products"),
        ({"allowed_products": "MIS"}, "allowed_products"),
        ({"allowed_instruments": [-3]}, "allowed_instruments"),
        ({"allowed_instruments": [123456789]}, "allowed_instruments"),
    ],
)
def test_risk_limit_changes_are_validated(clients, ledger, body, field):
    response = clients["admin"].patch(API + "risk-limits/paper/", body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert RiskLimits.objects.get(broker="paper").max_quantity == 100
    assert not ControlAction.objects.exists()


def test_only_an_admin_changes_risk_limits(clients, ledger):
    response = clients["trader_paper"].patch(API + "risk-limits/paper/", {"max_quantity": 1}, format="json")

    assert response.status_code == 403
    assert RiskLimits.objects.get(broker="paper").max_quantity == 100


# -- pnl -------------------------------------------------------------------------------------------
def test_pnl_is_the_curve_oldest_first(clients, ledger):
    points = get(clients["viewer_paper"], "pnl/", broker="paper")

    assert points == [
        {"at": "2026-01-05T09:30:00+05:30", "equity": "1000000.00", "realized": "0.00", "unrealized": "0.00",
         "charges": "0.00"},
        {"at": "2026-01-05T09:31:00+05:30", "equity": "1000001.00", "realized": "0.10", "unrealized": "0.90",
         "charges": "0.05"},
        {"at": "2026-01-05T09:32:00+05:30", "equity": "1000002.00", "realized": "0.20", "unrealized": "1.80",
         "charges": "0.10"},
    ]  # fmt: skip
    since = get(clients["viewer_paper"], "pnl/", broker="paper", since="2026-01-05T04:01:00Z")
    assert [p["at"] for p in since] == ["2026-01-05T09:31:00+05:30", "2026-01-05T09:32:00+05:30"]
    strategy = get(clients["viewer_paper"], "pnl/", broker="paper", strategy="sma-both")
    assert strategy == [{"at": "2026-01-05T09:30:00+05:30", "equity": "0.00", "realized": "123.45",
                         "unrealized": "99.50", "charges": "21.17"}]  # fmt: skip


def test_a_long_pnl_curve_is_thinned_evenly_to_2000_points(clients, users):
    PnlPoint.objects.bulk_create(
        PnlPoint(
            broker="paper", at=T0 + timedelta(seconds=5 * i), equity=i, realized=0, unrealized=0, charges=0
        )
        for i in range(5001)
    )

    points = get(clients["admin"], "pnl/", broker="paper")

    assert len(points) == 2000
    assert points[0]["equity"] == "0.00"
    assert points[-1]["equity"] == "50.00"  # the last point, 5000 paise
    ats = [p["at"] for p in points]
    assert ats == sorted(ats) and len(set(ats)) == 2000
    gaps = {(Decimal(b["equity"]) - Decimal(a["equity"])) * 100 for a, b in itertools.pairwise(points)}
    assert gaps <= {2, 3}  # evenly: 5000 steps over 1999 gaps


@pytest.mark.parametrize(
    ("params", "field"),
    [({}, "broker"), ({"broker": "paper", "since": "yesterday"}, "since"), ({"broker": "nasdaq"}, "broker")],
)
def test_pnl_input_errors(clients, ledger, params, field):
    response = clients["admin"].get(API + "pnl/", params)

    assert response.status_code == 400
    assert list(response.json()) == [field]


# -- flatten ---------------------------------------------------------------------------------------


def _read(topic: str, count: int, timeout: float = 20.0) -> list[envelope.Message]:
    consumer = kafka.consumer(f"api-test-{time.time_ns()}")
    consumer.subscribe([topic])
    messages, deadline = [], time.monotonic() + timeout
    try:
        while len(messages) < count and time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is not None and not msg.error():
                messages.append(envelope.decode(topic, msg.value()))
    finally:
        consumer.close()
    return messages


def _message_count(topic: str) -> int:
    consumer = kafka.consumer(f"api-test-{time.time_ns()}")
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions
        )
    finally:
        consumer.close()


def test_flatten_publishes_a_closing_signal_per_open_position(clients, users, ledger, tansu):
    _position("paper", "rsi-paper", 2953217, "TCS", quantity=-4, cost=-1_200_000, fills=1)  # short, unmarked

    response = clients["trader_paper"].post(
        API + "brokers/paper/flatten/", {"reason": "end of day"}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {"signals_sent": 2}
    signals = sorted(
        (m.payload for m in _read(topics.broker_topic("paper", topics.SIGNALS_RAW), 2)),
        key=lambda s: s.symbol,
    )
    assert [(s.symbol, s.side.value, s.quantity, s.reference_price) for s in signals] == [
        ("RELIANCE", "SELL", 10, Decimal("1410.00")),  # at its mark
        ("TCS", "BUY", 4, Decimal("3000.00")),  # unmarked: at its average price
    ]
    assert all(s.reason == "end of day (by trader_paper)" for s in signals)
    assert _message_count(topics.broker_topic("zerodha", topics.SIGNALS_RAW)) == 0
    action = ControlAction.objects.get(action="flatten")
    assert (action.user, action.broker, action.detail) == (
        users["trader_paper"],
        "paper",
        "2 closing orders: end of day",
    )


def test_flatten_when_kafka_is_down_is_a_503(clients, ledger, settings, monkeypatch):
    settings.KAFKA_BOOTSTRAP = f"127.0.0.1:{infra.free_port()}"  # nothing listens there
    flush = kafka.flush
    monkeypatch.setattr(kafka, "flush", lambda producer, timeout=30.0: flush(producer, timeout=0.5))

    response = clients["admin"].post(API + "brokers/paper/flatten/", {}, format="json")

    assert response.status_code == 503
    assert response.json() == {"detail": "Kafka did not acknowledge the closing orders; try again."}

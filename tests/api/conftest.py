"""API fixtures: both brokers active, the five kinds of user, JWT clients, and a ledger seeded on both
brokers with distinctive zerodha values (the isolation tests look for them in every response)."""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from alphapanda import infra, kafka
from alphapanda.models import BrokerGrant
from portfolio import read_model
from portfolio.models import Account, PnlPoint
from portfolio.models import Position as PositionRow
from portfolio.services import read_model_refresh
from riskcheck import selectors as risk_selectors
from riskcheck.models import KillSwitch, RiskLimits, SignalDecision
from trading import selectors as trading_selectors
from trading.models import Fill, Instrument, Order, Strategy

BROKERS = ("paper", "zerodha")
ROLES = ("admin", "trader_paper", "viewer_paper", "viewer_zerodha", "no_grants", "anonymous")
T0 = datetime(2026, 1, 5, 4, 0, tzinfo=UTC)  # 09:30 IST, no microseconds: no chance digits in a body

RELIANCE, INFY = 738561, 408065
ZED_TOKEN = 424242421  # an instrument only zerodha holds

# What only zerodha's rows carry: none of it may reach a paper-only user, by any route.
ZERODHA_MARKERS = (
    "zerodha",
    "Z-ORD-SECRET",
    "250101000777",
    "ZTAG777",
    "Z-FILL-SECRET",
    "Z-SIG-SECRET",
    "zed-only",
    "ZEDSYM",
    str(ZED_TOKEN),
    "98765.43",
    "9876543210",
    "ZSECRET",
)


@pytest.fixture(autouse=True)
def redis_client(clean_redis):
    """A clean Redis database (read model, login throttle counters) for every test."""
    return clean_redis


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """Hashing is not under test here; the production hasher costs a quarter second a user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def both_brokers(settings):
    settings.ACTIVE_BROKERS = BROKERS
    settings.CONFIG = dataclasses.replace(
        settings.CONFIG,
        active_brokers=BROKERS,
        kite=dataclasses.replace(settings.CONFIG.kite, api_key="k", api_secret="s"),
    )
    trading_selectors.clear_caches()
    risk_selectors.clear_caches()
    yield
    trading_selectors.clear_caches()
    risk_selectors.clear_caches()


def make_users() -> dict:
    User = get_user_model()
    users = {
        "admin": User.objects.create_user("admin", password="pw-admin", is_staff=True),
        "trader_paper": User.objects.create_user("trader_paper", password="pw-trader"),
        "viewer_paper": User.objects.create_user("viewer_paper", password="pw-viewer"),
        "viewer_zerodha": User.objects.create_user("viewer_zerodha", password="pw-viewer-z"),
        "no_grants": User.objects.create_user("no_grants", password="pw-none"),
        "anonymous": None,
    }
    BrokerGrant.objects.create(user=users["trader_paper"], broker="paper", role=BrokerGrant.TRADER)
    BrokerGrant.objects.create(user=users["viewer_paper"], broker="paper", role=BrokerGrant.VIEWER)
    BrokerGrant.objects.create(user=users["viewer_zerodha"], broker="zerodha", role=BrokerGrant.VIEWER)
    return users


@pytest.fixture
def users(db):
    return make_users()


def jwt_client(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def clients(users) -> dict[str, APIClient]:
    return {role: jwt_client(user) for role, user in users.items()}


# -- the ledger, on both brokers -------------------------------------------------------------------
def _order(broker: str, order_id: str, **kw) -> Order:
    fields = {
        "broker": broker,
        "order_id": order_id,
        "signal_id": f"sig-{order_id}",
        "correlation_id": f"corr-{order_id}",
        "strategy": "sma-both",
        "instrument_token": RELIANCE,
        "symbol": "RELIANCE",
        "exchange": "NSE",
        "side": "BUY",
        "quantity": 10,
        "filled_quantity": 10,
        "product": "MIS",
        "order_type": "MARKET",
        "average_price": Decimal("1400.05"),
        "status": "COMPLETE",
        "last_tick_ts": 1,
        "ts_event": 1,
        "created_at": T0,
        "updated_at": T0,
    }
    return Order.objects.create(**(fields | kw))


def _fill(order: Order, fill_id: str, **kw) -> Fill:
    fields = {
        "broker": order.broker,
        "fill_id": fill_id,
        "order": order,
        "correlation_id": order.correlation_id,
        "strategy": order.strategy,
        "instrument_token": order.instrument_token,
        "symbol": order.symbol,
        "exchange": order.exchange,
        "side": order.side,
        "quantity": order.quantity,
        "product": order.product,
        "ts_event": 1,
        "price": order.average_price,
        "brokerage": Decimal("8.40"),
        "stt": Decimal("3.50"),
        "exchange_charges": Decimal("0.43"),
        "sebi": Decimal("0.01"),
        "stamp": Decimal("0.42"),
        "gst": Decimal("1.59"),
        "charges": Decimal("14.35"),
        "source_event_id": f"src-{fill_id}",
        "filled_at": order.created_at,
    }
    return Fill.objects.create(**(fields | kw))


def _decision(broker: str, signal_id: str, outcome: str, **kw) -> SignalDecision:
    fields = {
        "broker": broker,
        "signal_id": signal_id,
        "correlation_id": f"corr-{signal_id}",
        "strategy": "sma-both",
        "instrument_token": RELIANCE,
        "side": "BUY",
        "quantity": 10,
        "outcome": outcome,
        "decided_at": T0,
    }
    return SignalDecision.objects.create(**(fields | kw))


def _position(broker: str, strategy: str, token: int, symbol: str, **amounts) -> PositionRow:
    row = PositionRow.objects.create(broker=broker, strategy=strategy, instrument_token=token, symbol=symbol,
                                     **amounts)  # fmt: skip
    return row


def seed_ledger() -> dict:
    """Orders, fills, decisions, positions, P&L points, limits, a kill switch and the read model on both
    brokers. Paper's figures are plain; zerodha's carry the ZERODHA_MARKERS."""
    reliance = Instrument.objects.create(token=RELIANCE, symbol="RELIANCE", exchange="NSE", segment="NSE",
                                         tick_size=Decimal("0.05"))  # fmt: skip
    infy = Instrument.objects.create(token=INFY, symbol="INFY", exchange="NSE", segment="NSE")
    zed = Instrument.objects.create(token=ZED_TOKEN, symbol="ZEDSYM", exchange="NSE", segment="NSE")
    both = Strategy.objects.create(name="sma-both", kind="sma_crossover", params={"fast": 5, "slow": 20},
                                   brokers=["paper", "zerodha"], paused_brokers=["zerodha"])  # fmt: skip
    both.instruments.set([reliance, infy])
    Strategy.objects.create(name="rsi-paper", kind="rsi", params={"period": 14}, brokers=["paper"])
    zed_only = Strategy.objects.create(
        name="zed-only", kind="bollinger", params={"ZSECRET": 1}, brokers=["zerodha"]
    )
    zed_only.instruments.set([zed])

    # paper: one complete buy, one rejected sell; a long RELIANCE (marked) and a closed INFY (unmarked)
    p1 = _order("paper", "P-ORD-1", created_at=T0, updated_at=T0)
    p2 = _order("paper", "P-ORD-2", side="SELL", quantity=5, filled_quantity=0, status="REJECTED",
                reason="insufficient funds", instrument_token=INFY, symbol="INFY", order_type="LIMIT",
                price=Decimal("1500.10"), average_price=Decimal("0"), created_at=T0 + timedelta(minutes=1),
                updated_at=T0 + timedelta(minutes=1))  # fmt: skip
    _fill(p1, "P-FILL-1")
    _decision("paper", "P-SIG-1", SignalDecision.VALIDATED)
    _decision("paper", "P-SIG-2", SignalDecision.REJECTED, rule="max_quantity", reason="quantity 500 > 100",
              side="SELL", quantity=500, decided_at=T0 + timedelta(minutes=1))  # fmt: skip
    _position("paper", "sma-both", RELIANCE, "RELIANCE", quantity=10, cost=1_400_050, realized=12_345,
              charges=2_117, buy_quantity=10, buy_value=1_400_050, fills=1)  # fmt: skip
    _position("paper", "rsi-paper", INFY, "INFY", quantity=0, cost=0, realized=-5_000, charges=900,
              buy_quantity=5, sell_quantity=5, fills=2)  # fmt: skip
    Account.objects.create(broker="paper", starting_cash=100_000_000, cash=98_585_000, version=3)
    read_model_refresh(broker="paper")
    read_model.marks_set("paper", {RELIANCE: Decimal("1410.00")})
    read_model.activity_set("paper", signals=2, orders=2, fills=1, rejections=1)
    for minute in range(3):
        PnlPoint.objects.create(broker="paper", strategy="", at=T0 + timedelta(minutes=minute),
                                equity=100_000_000 + minute * 100, realized=minute * 10, unrealized=minute * 90,
                                charges=minute * 5)  # fmt: skip
    PnlPoint.objects.create(broker="paper", strategy="sma-both", at=T0, equity=0, realized=12_345,
                            unrealized=9_950, charges=2_117)  # fmt: skip
    RiskLimits.objects.create(broker="paper", max_quantity=100)

    # zerodha: every value distinctive
    z1 = _order("zerodha", "Z-ORD-SECRET", broker_order_id="250101000777", tag="ZTAG777", strategy="zed-only",
                instrument_token=ZED_TOKEN, symbol="ZEDSYM", quantity=3, filled_quantity=3,
                average_price=Decimal("98765.43"), reason="ZSECRET placed",
                created_at=T0 + timedelta(minutes=2), updated_at=T0 + timedelta(minutes=2))  # fmt: skip
    _fill(
        z1,
        "Z-FILL-SECRET",
        price=Decimal("98765.43"),
        brokerage=Decimal("98765.43"),
        charges=Decimal("98765.43"),
    )
    _decision("zerodha", "Z-SIG-SECRET", SignalDecision.REJECTED, strategy="zed-only", instrument_token=ZED_TOKEN,
              rule="zed_rule", reason="ZSECRET too big", decided_at=T0 + timedelta(minutes=2))  # fmt: skip
    _position("zerodha", "zed-only", ZED_TOKEN, "ZEDSYM", quantity=3, cost=29_629_629, realized=9_876_543_210,
              charges=9_876_543, buy_quantity=3, buy_value=29_629_629, fills=1)  # fmt: skip
    Account.objects.create(broker="zerodha", starting_cash=987_654_321_000, cash=987_654_321_000, version=1)
    read_model_refresh(broker="zerodha")
    read_model.marks_set("zerodha", {ZED_TOKEN: Decimal("98765.43")})
    read_model.activity_set("zerodha", signals=98765, orders=98765, fills=98765, rejections=98765)
    PnlPoint.objects.create(broker="zerodha", strategy="", at=T0, equity=987_654_321_000, realized=9_876_543_210,
                            unrealized=9_876_543_210, charges=9_876_543_210)  # fmt: skip
    PnlPoint.objects.create(broker="zerodha", strategy="sma-both", at=T0, equity=9_876_543_210,
                            realized=9_876_543_210, unrealized=0, charges=0)  # fmt: skip
    RiskLimits.objects.create(
        broker="zerodha", max_order_value=Decimal("98765.43"), allowed_instruments=[ZED_TOKEN]
    )
    KillSwitch.objects.create(broker="zerodha", engaged=True, reason="ZSECRET halt")
    return {"orders": {"paper": [p1, p2], "zerodha": [z1]}}


@pytest.fixture
def ledger(db):
    return seed_ledger()


@pytest.fixture
def tansu(tmp_path, settings):
    """A Tansu of the test's own with the active brokers' topics; the producer closed before it stops."""
    service = infra.start_tansu(tmp_path)
    settings.KAFKA_BOOTSTRAP = service.url
    call_command("create_topics", stdout=io.StringIO())
    yield service.url
    kafka.close_producer(timeout=1)
    service.stop()

"""Circuit breakers, the breaker's kill switch and who may release it, and the global kill switch."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal

import msgspec
import pytest
from django.utils import timezone

from alphapanda import envelope, events, topics
from alphapanda.models import ControlAction
from portfolio import read_model
from riskcheck import selectors as risk_selectors
from riskcheck.breakers_service import breakers_check
from riskcheck.controls import global_kill_switch_set, kill_switch_reason
from riskcheck.models import BreakerTrip, KillSwitch, RiskLimits, SignalDecision, TradingDay
from riskcheck.services import signal_validate
from tests.api.conftest import RELIANCE, ZED_TOKEN
from tests.api.test_endpoints import _read
from tests.support import builders
from trading.services import ticks_process

API = "/api/v1/"
NOW = datetime(2026, 1, 5, 5, 0, tzinfo=UTC)  # 10:30 IST


@pytest.fixture(autouse=True)
def fresh_limits():
    risk_selectors.clear_caches()
    yield
    risk_selectors.clear_caches()


def _equity(broker: str = "paper") -> int:
    return read_model.snapshot(broker)["summary"].equity


def _trip_paper(*, square_off: bool = False, now: datetime = NOW) -> BreakerTrip | None:
    """Paper's day starts at its seeded equity; RELIANCE (10 long) then falls ₹510: a ₹5,100 loss."""
    RiskLimits.objects.filter(broker="paper").update(
        max_daily_loss=Decimal("5000"), square_off_on_trip=square_off
    )
    assert breakers_check(broker="paper", now=now) is None
    read_model.marks_set("paper", {RELIANCE: Decimal("900.00")})
    return breakers_check(broker="paper", now=now)


def _validate(
    broker: str, side: events.Side, quantity: int, *, token: int = RELIANCE, price: str = "900.00", now=NOW
):
    signal = builders.signal(strategy="sma-both", token=token, side=side, quantity=quantity,
                             reference_price=Decimal(price))  # fmt: skip
    env = builders.envelope_for(envelope.SIGNAL, signal, broker=broker)
    signal_validate(broker=broker, message=envelope.Message(envelope=env, payload=signal), now=now)
    return SignalDecision.objects.get(broker=broker, signal_id=env.id)


def test_a_trip_engages_the_kill_switch_records_it_and_alerts(ledger, caplog):
    start = _equity()
    with caplog.at_level(logging.ERROR, logger="riskcheck.breakers"):
        trip = _trip_paper()

    assert trip is not None
    assert (trip.broker, trip.kind, trip.equity, trip.released_at) == (
        "paper",
        "daily_loss",
        start - 510_000,
        None,
    )
    assert "day loss of ₹5100.00" in trip.cause and "daily loss limit of ₹5000.00" in trip.cause
    switch = KillSwitch.objects.get(broker="paper")
    assert switch.engaged and switch.reason == f"circuit breaker: {trip.cause}"
    action = ControlAction.objects.get(action="breaker_trip")
    assert (action.user, action.broker, action.target, action.detail) == (
        None,
        "paper",
        "daily_loss",
        trip.cause,
    )
    assert ControlAction.objects.filter(action="kill_switch_on", broker="paper", user=None).count() == 1
    assert any(
        r.message.startswith("ALERT circuit breaker daily_loss tripped on paper") for r in caplog.records
    )


def test_the_tick_batch_that_makes_the_loss_trips_the_breaker_on_its_own_marks(ledger):
    RiskLimits.objects.filter(broker="paper").update(max_daily_loss=Decimal("5000"))
    assert breakers_check(broker="paper", now=NOW) is None  # the day opens at the seeded equity
    tick = msgspec.structs.replace(builders.tick(ltp="900.00"), ts=int(NOW.timestamp() * 1e9))
    message = envelope.Message(builders.envelope_for(envelope.TICK, tick, broker=None), tick)

    ticks_process(broker="paper", messages=[message], now=NOW)

    assert read_model.book("paper").marks[RELIANCE] == 90_000
    assert BreakerTrip.objects.get(broker="paper").equity == _equity()


def test_a_tripped_broker_refuses_entries_and_passes_exits(ledger):
    _trip_paper()

    entry = _validate("paper", events.Side.BUY, 1)
    exit_ = _validate("paper", events.Side.SELL, 10)

    assert (entry.outcome, entry.rule) == (SignalDecision.REJECTED, "entries_blocked")
    assert "circuit breaker: day loss of ₹5100.00" in entry.reason
    assert exit_.outcome == SignalDecision.VALIDATED


def test_a_second_check_does_not_trip_twice(ledger):
    assert _trip_paper() is not None

    assert breakers_check(broker="paper", now=NOW) is None
    assert BreakerTrip.objects.count() == 1
    assert ControlAction.objects.filter(action="breaker_trip").count() == 1


def test_the_peak_is_tracked_and_drawdown_trips_from_it(ledger):
    RiskLimits.objects.filter(broker="paper").update(max_drawdown=Decimal("3000"))
    start = _equity()
    breakers_check(broker="paper", now=NOW)
    read_model.marks_set("paper", {RELIANCE: Decimal("1710.00")})  # up ₹3,000
    assert breakers_check(broker="paper", now=NOW) is None
    assert TradingDay.objects.get(broker="paper").peak_equity == start + 300_000

    read_model.marks_set("paper", {RELIANCE: Decimal("1410.00")})  # back to the start: ₹3,000 off the peak
    trip = breakers_check(broker="paper", now=NOW)

    assert trip is not None and trip.kind == "drawdown"
    assert TradingDay.objects.get(broker="paper").peak_equity == start + 300_000


def test_only_an_admin_releases_a_tripped_kill_switch(clients, users, ledger):
    trip = _trip_paper()
    url = API + "brokers/paper/kill-switch/"

    refused = clients["trader_paper"].post(url, {"engaged": False, "reason": "looks fine"}, format="json")
    engaged = clients["trader_paper"].post(url, {"engaged": True, "reason": "still halted"}, format="json")

    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "A circuit breaker tripped on paper; only an admin may release its kill switch."
    }
    assert engaged.status_code == 200  # engaging stays a trader's control
    trip.refresh_from_db()
    assert trip.released_at is None

    released = clients["admin"].post(url, {"engaged": False, "reason": "reviewed"}, format="json")

    assert released.status_code == 200 and released.json()["engaged"] is False
    trip.refresh_from_db()
    assert trip.released_at is not None and trip.released_by == users["admin"]
    action = ControlAction.objects.filter(action="kill_switch_off").get()
    assert (action.user, action.detail) == (
        users["admin"],
        f"reviewed (released 1 circuit breaker trip; breakers re-based at equity ₹{Decimal(trip.equity) / 100:.2f})",
    )
    # with the trip released, the kill switch is an ordinary trader's control again
    clients["trader_paper"].post(url, {"engaged": True, "reason": "x"}, format="json")
    assert clients["trader_paper"].post(url, {"engaged": False}, format="json").status_code == 200


def _release(clients) -> None:
    response = clients["admin"].post(
        API + "brokers/paper/kill-switch/", {"engaged": False, "reason": "reviewed"}, format="json"
    )
    assert response.status_code == 200 and response.json()["engaged"] is False


def test_a_release_rebases_the_daily_loss_so_only_a_fresh_loss_trips_again(clients, users, ledger):
    now = timezone.now()  # a release re-bases the day it happens on: today
    trip = _trip_paper(now=now)
    released_at = _equity()  # ₹5,100 down on the day, past the ₹5,000 limit
    _release(clients)

    trip.refresh_from_db()
    assert (trip.released_by, trip.released_equity) == (users["admin"], released_at)
    day = TradingDay.objects.get(broker="paper")
    assert (day.released_equity, day.peak_equity) == (released_at, released_at)

    # the next tick at the same equity: no trip, and entries pass the daily loss rule again
    assert breakers_check(broker="paper", now=now) is None
    assert not KillSwitch.objects.get(broker="paper").engaged
    entry = _validate("paper", events.Side.BUY, 1, now=now)
    assert entry.outcome == SignalDecision.VALIDATED, entry.reason

    read_model.marks_set("paper", {RELIANCE: Decimal("400.05")})  # ₹4,999.50 more: short of a fresh ₹5,000
    assert breakers_check(broker="paper", now=now) is None

    read_model.marks_set("paper", {RELIANCE: Decimal("400.00")})  # a fresh ₹5,000 loss since the release
    again = breakers_check(broker="paper", now=now)

    assert again is not None and again.kind == "daily_loss" and again.released_at is None
    assert again.cause.startswith("loss of ₹5000.00 since the breaker release")
    assert KillSwitch.objects.get(broker="paper").engaged
    assert BreakerTrip.objects.count() == 2
    rejected = _validate("paper", events.Side.BUY, 1, price="400.00", now=now)
    assert (rejected.outcome, rejected.rule) == (SignalDecision.REJECTED, "entries_blocked")


def test_a_release_rebases_the_drawdown_peak(clients, ledger):
    now = timezone.now()
    RiskLimits.objects.filter(broker="paper").update(max_drawdown=Decimal("3000"))
    start = _equity()
    breakers_check(broker="paper", now=now)
    read_model.marks_set("paper", {RELIANCE: Decimal("1710.00")})  # a peak ₹3,000 up
    breakers_check(broker="paper", now=now)
    read_model.marks_set("paper", {RELIANCE: Decimal("1410.00")})  # ₹3,000 off it
    assert breakers_check(broker="paper", now=now).kind == "drawdown"

    _release(clients)

    assert TradingDay.objects.get(broker="paper").peak_equity == start  # the old peak is forgotten
    assert breakers_check(broker="paper", now=now) is None
    read_model.marks_set("paper", {RELIANCE: Decimal("1510.00")})  # a new peak ₹1,000 over the release
    assert breakers_check(broker="paper", now=now) is None
    read_model.marks_set("paper", {RELIANCE: Decimal("1210.05")})  # ₹2,999.50 off the new peak
    assert breakers_check(broker="paper", now=now) is None
    read_model.marks_set("paper", {RELIANCE: Decimal("1210.00")})  # ₹3,000 off it
    again = breakers_check(broker="paper", now=now)

    assert again is not None and again.kind == "drawdown"
    assert "from the peak since the breaker release of" in again.cause


def test_a_kill_switch_released_without_a_breaker_trip_rebases_nothing(clients, ledger):
    now = timezone.now()
    url = API + "brokers/paper/kill-switch/"
    breakers_check(broker="paper", now=now)
    clients["trader_paper"].post(url, {"engaged": True, "reason": "lunch"}, format="json")
    assert clients["trader_paper"].post(url, {"engaged": False}, format="json").status_code == 200

    assert TradingDay.objects.get(broker="paper").released_equity is None
    assert ControlAction.objects.get(action="kill_switch_off").detail == ""


def test_the_global_kill_switch_blocks_entries_on_every_broker(users, ledger):
    KillSwitch.objects.filter(broker="zerodha").update(engaged=False)
    global_kill_switch_set(engaged=True, reason="exchange outage", user=users["admin"])

    paper = _validate("paper", events.Side.BUY, 1, price="1410.00")
    zerodha = _validate("zerodha", events.Side.BUY, 1, token=ZED_TOKEN, price="98765.40")
    paper_exit = _validate("paper", events.Side.SELL, 10, price="1410.00")

    for decision in (paper, zerodha):
        assert (decision.outcome, decision.rule) == (SignalDecision.REJECTED, "entries_blocked")
        assert decision.reason.startswith("global kill switch engaged: exchange outage")
    assert paper_exit.outcome == SignalDecision.VALIDATED
    actions = ControlAction.objects.filter(action="global_kill_switch_on")
    assert sorted(actions.values_list("broker", flat=True)) == ["paper", "zerodha"]
    assert {a.user for a in actions} == {users["admin"]}

    global_kill_switch_set(engaged=False, reason="over", user=users["admin"])
    assert _validate("paper", events.Side.BUY, 1, price="1410.00").outcome == SignalDecision.VALIDATED


@pytest.mark.parametrize(
    ("role", "status"), [("trader_paper", 403), ("viewer_paper", 403), ("anonymous", 401)]
)
def test_the_global_kill_switch_api_is_for_admins_only(clients, ledger, role, status):
    assert clients[role].get(API + "kill-switch/").status_code == status
    assert clients[role].post(API + "kill-switch/", {"engaged": True}, format="json").status_code == status
    assert not ControlAction.objects.exists()


def test_an_admin_engages_and_releases_the_global_kill_switch(clients, users, ledger):
    assert clients["admin"].get(API + "kill-switch/").json() == {
        "engaged": False,
        "reason": "",
        "changed_at": None,
    }

    response = clients["admin"].post(API + "kill-switch/", {"engaged": True, "reason": "halt"}, format="json")

    assert response.status_code == 200
    body = clients["admin"].get(API + "kill-switch/").json()
    assert (body["engaged"], body["reason"]) == (True, "halt") and body["changed_at"]
    assert ControlAction.objects.filter(action="global_kill_switch_on", user=users["admin"]).count() == 2
    assert (
        clients["admin"].post(API + "kill-switch/", {"engaged": False}, format="json").json()["engaged"]
        is False
    )
    assert ControlAction.objects.filter(action="global_kill_switch_off").count() == 2


def test_square_off_on_trip_publishes_closing_signals(ledger, tansu):
    trip = _trip_paper(square_off=True)

    signals = [m.payload for m in _read(topics.broker_topic("paper", topics.SIGNALS_RAW), 1)]
    assert [(s.symbol, s.side.value, s.quantity, s.reference_price) for s in signals] == [
        ("RELIANCE", "SELL", 10, Decimal("900.00"))
    ]
    assert signals[0].reason.startswith(f"circuit breaker: {trip.cause}")
    assert ControlAction.objects.get(action="flatten").detail.startswith("1 closing orders: circuit breaker")


def test_kill_switch_reason_names_the_global_switch_first_then_the_brokers(users, ledger):
    KillSwitch.objects.update_or_create(broker="paper", defaults={"engaged": True, "reason": "fat finger"})
    global_kill_switch_set(engaged=True, reason="exchange outage", user=users["admin"])
    assert kill_switch_reason(broker="paper") == "global kill switch engaged: exchange outage"

    global_kill_switch_set(engaged=False, reason="over", user=users["admin"])
    assert kill_switch_reason(broker="paper") == "kill switch engaged on paper: fat finger"

    KillSwitch.objects.filter(broker="paper").update(engaged=False, reason="")
    assert kill_switch_reason(broker="paper") is None

"""Paper's MIS cut-off at the risk step: after PAPER_MIS_SQUARE_OFF (IST, by the signal's tick) new MIS
entries are refused; exits, CNC/NRML and zerodha are not affected."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from alphapanda import envelope, events
from riskcheck.models import KillSwitch, SignalDecision, TradingDay
from riskcheck.services import signal_validate
from tests.api.conftest import RELIANCE, ZED_TOKEN
from tests.support import builders

IST = ZoneInfo("Asia/Kolkata")
NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # 15:30 IST: when the risk step runs (wall clock)


@pytest.fixture(autouse=True)
def cutoff(settings):
    settings.CONFIG = replace(settings.CONFIG, paper_mis_square_off=time(15, 20))


def _at(hh: int, mm: int, ss: int = 0) -> int:
    """The ns timestamp of a tick at hh:mm:ss IST on NOW's day."""
    return int(datetime(2026, 1, 5, hh, mm, ss, tzinfo=IST).timestamp()) * 10**9


def _validate(broker: str, side: events.Side, quantity: int, *, at: int, product=events.Product.MIS,
              token: int = RELIANCE, price: str = "1410.00", strategy: str = "sma-both") -> SignalDecision:  # fmt: skip
    signal = builders.signal(strategy=strategy, token=token, side=side, quantity=quantity, product=product,
                             reference_price=Decimal(price), ts=at)  # fmt: skip
    env = builders.envelope_for(envelope.SIGNAL, signal, broker=broker)
    signal_validate(broker=broker, message=envelope.Message(envelope=env, payload=signal), now=NOW)
    return SignalDecision.objects.get(broker=broker, signal_id=env.id)


def test_after_the_cut_off_mis_entries_are_refused_and_exits_cnc_and_zerodha_pass(ledger):
    # paper: sma-both holds 10 RELIANCE (MIS); zerodha's seeded kill switch would hide the rule there
    KillSwitch.objects.filter(broker="zerodha").update(engaged=False)

    before = _validate("paper", events.Side.BUY, 1, at=_at(15, 19, 59))
    entry = _validate("paper", events.Side.BUY, 1, at=_at(15, 20))
    new_short = _validate("paper", events.Side.SELL, 11, at=_at(15, 25))  # past flat: opens a short
    other = _validate("paper", events.Side.BUY, 1, at=_at(15, 25), strategy="rsi-paper")  # flat there
    exit_ = _validate("paper", events.Side.SELL, 10, at=_at(15, 25))
    cnc = _validate("paper", events.Side.BUY, 1, at=_at(15, 25), product=events.Product.CNC)
    zerodha = _validate("zerodha", events.Side.BUY, 1, at=_at(15, 25), token=ZED_TOKEN, price="98765.40",
                        strategy="zed-only")  # fmt: skip

    assert before.outcome == SignalDecision.VALIDATED, before.reason
    for refused in (entry, new_short, other):
        assert (refused.outcome, refused.rule) == (SignalDecision.REJECTED, "mis_cutoff")
    assert entry.reason == (
        "MIS entries closed after 15:20 IST (signal at 15:20:00 IST); only orders that reduce a position pass"
    )
    for passed in (exit_, cnc, zerodha):
        assert passed.outcome == SignalDecision.VALIDATED, passed.reason


def test_once_the_days_square_off_ran_a_late_mis_entry_from_before_the_cut_off_is_refused(ledger):
    TradingDay.objects.create(broker="paper", day=NOW.astimezone(IST).date(), start_equity=100_000_000,
                              squared_off_at=NOW)  # fmt: skip

    late = _validate("paper", events.Side.BUY, 1, at=_at(15, 19, 59))

    assert (late.outcome, late.rule) == (SignalDecision.REJECTED, "mis_cutoff")
    assert "(the day's MIS square-off has run)" in late.reason


def test_turned_off_the_cut_off_refuses_nothing(ledger, settings):
    settings.CONFIG = replace(settings.CONFIG, paper_mis_square_off=None)

    assert _validate("paper", events.Side.BUY, 1, at=_at(15, 25)).outcome == SignalDecision.VALIDATED

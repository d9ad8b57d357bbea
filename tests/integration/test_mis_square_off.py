"""Paper's MIS auto square-off: at the first tick past 15:20 IST, once a day, MIS positions close; the
risk step passes those closing orders and refuses new MIS entries after the cut-off."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time
from zoneinfo import ZoneInfo

import msgspec
import pytest
from django.utils import timezone

from alphapanda import envelope, events, topics
from alphapanda.log_reader import read_values
from portfolio.models import Position
from riskcheck.models import SignalDecision, TradingDay
from riskcheck.services import signal_validate
from tests.support import builders
from trading.services import ticks_process

pytestmark = pytest.mark.integration
IST = ZoneInfo("Asia/Kolkata")


def _ts_at(hh: int, mm: int) -> int:
    today = datetime.now(IST).date()
    return int(datetime.combine(today, time(hh, mm), IST).timestamp()) * 10**9


def _tick_at(hh: int, mm: int):
    ts = _ts_at(hh, mm)
    tick = msgspec.structs.replace(builders.tick(), ts=ts)
    value = builders.encoded(envelope.TICK, tick, broker=None)
    return envelope.decode(topics.MARKET_TICKS, value)


def test_mis_positions_close_once_after_the_cut_off_and_delivery_positions_stay(
    settings, instruments, redis_client, kafka_topics
):
    settings.CONFIG = replace(settings.CONFIG, paper_mis_square_off=time(15, 20))
    Position.objects.create(broker="paper", strategy="intraday", instrument_token=738561, symbol="RELIANCE",
                            product="MIS", quantity=7, cost=7 * 140000)  # fmt: skip
    Position.objects.create(broker="paper", strategy="swing", instrument_token=408065, symbol="INFY",
                            product="CNC", quantity=3, cost=3 * 150000)  # fmt: skip

    ticks_process(broker="paper", messages=[_tick_at(15, 19)], now=timezone.now())
    assert not list(read_values("paper.signals.raw")), "before the cut-off nothing happens"

    ticks_process(broker="paper", messages=[_tick_at(15, 21)], now=timezone.now())
    ticks_process(broker="paper", messages=[_tick_at(15, 25)], now=timezone.now())
    closing = [envelope.decode("paper.signals.raw", v).payload for v in read_values("paper.signals.raw")]
    assert [(s.strategy, s.side.value, s.quantity, s.product.value) for s in closing] == [
        ("intraday", "SELL", 7, "MIS")
    ], "the MIS position only, and only once"
    assert "MIS auto square-off at 15:20 IST" in closing[0].reason
    assert TradingDay.objects.get(broker="paper").squared_off_at is not None

    # the risk step: the square-off's closing order passes; a new MIS entry after the cut-off does not
    closed = envelope.decode("paper.signals.raw", next(iter(read_values("paper.signals.raw"))))
    signal_validate(broker="paper", message=closed, now=timezone.now())
    assert SignalDecision.objects.get(signal_id=closed.id).outcome == SignalDecision.VALIDATED
    for strategy, product, expected in (("intraday", "MIS", "mis_cutoff"), ("swing", "CNC", "")):
        signal = builders.signal(strategy=strategy, product=events.Product(product), ts=_ts_at(15, 25))
        env = builders.envelope_for(envelope.SIGNAL, signal, broker="paper")
        signal_validate(
            broker="paper", message=envelope.Message(envelope=env, payload=signal), now=timezone.now()
        )
        assert SignalDecision.objects.get(signal_id=env.id).rule == expected

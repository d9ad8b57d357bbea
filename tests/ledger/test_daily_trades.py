"""The daily trade limit reads a counter kept with the decisions, not a count of the day's decisions:
it must count each validated signal once, redeliveries included, and start again each day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alphapanda import envelope, events
from riskcheck.models import RiskLimits, SignalDecision, TradingDay
from riskcheck.services import _decisions_record, signals_validate
from tests.support.builders import envelope_for, signal
from trading.instruments import load_csv
from trading.setup import instruments_upsert

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_redis")]
NOW = datetime(2026, 1, 5, 5, 0, tzinfo=UTC)  # 10:30 IST
RELIANCE = next(i for i in load_csv() if i.symbol == "RELIANCE")


@pytest.fixture(autouse=True)
def _limits() -> None:
    instruments_upsert(load_csv())
    RiskLimits.objects.update_or_create(
        broker="paper", defaults={"max_daily_trades": 3, "max_open_positions": 1000, "max_position": 10**6}
    )


def _batch(count: int, prefix: str) -> list[envelope.Message]:
    out = []
    for n in range(count):
        payload = signal(
            strategy=f"{prefix}{n}", product=events.Product.CNC, reference_price=RELIANCE.last_price
        )
        out.append(envelope.Message(envelope_for(envelope.SIGNAL, payload, broker="paper"), payload))
    return out


def _outcomes(messages: list[envelope.Message]) -> list[str]:
    by_id = dict(
        SignalDecision.objects.filter(signal_id__in=[m.id for m in messages]).values_list(
            "signal_id", "outcome"
        )
    )
    return [by_id[m.id] for m in messages]


def test_the_limit_holds_across_batches_and_a_redelivery_counts_nothing_twice() -> None:
    first, second = _batch(2, "a"), _batch(3, "b")
    signals_validate(broker="paper", messages=first, now=NOW)
    signals_validate(broker="paper", messages=first, now=NOW + timedelta(seconds=1))  # redelivered
    signals_validate(broker="paper", messages=second, now=NOW + timedelta(seconds=2))

    assert _outcomes(first) == ["validated", "validated"]
    assert _outcomes(second) == ["validated", "rejected", "rejected"]
    assert TradingDay.objects.get(broker="paper", day=NOW.date()).validated == 3
    reason = SignalDecision.objects.get(signal_id=second[1].id).reason
    assert "3 trades today already reach the daily limit of 3" in reason


def test_a_new_day_starts_its_own_count() -> None:
    signals_validate(broker="paper", messages=_batch(3, "a"), now=NOW)
    tomorrow = _batch(1, "b")
    signals_validate(broker="paper", messages=tomorrow, now=NOW + timedelta(days=1))

    assert _outcomes(tomorrow) == ["validated"]
    assert dict(TradingDay.objects.filter(broker="paper").values_list("day", "validated")) == {
        NOW.date(): 3,
        NOW.date() + timedelta(days=1): 1,
    }


def test_a_decision_a_concurrent_redelivery_recorded_first_stands_and_is_not_counted_again() -> None:
    raced, fresh = _batch(2, "a")
    # The other delivery decided `raced` after this batch looked for earlier decisions.
    signals_validate(broker="paper", messages=[raced], now=NOW)
    rows = [_decision(raced, "rejected"), _decision(fresh, "validated")]
    day = TradingDay.objects.get(broker="paper", day=NOW.date())

    recorded = _decisions_record(rows, day_id=day.pk)

    assert recorded == {fresh.id}
    assert _outcomes([raced, fresh]) == ["validated", "validated"]  # the first decision stands
    assert TradingDay.objects.get(pk=day.pk).validated == 2


def test_a_batch_of_rejections_leaves_the_count_alone() -> None:
    signals_validate(broker="paper", messages=_batch(1, "a"), now=NOW)
    day = TradingDay.objects.get(broker="paper", day=NOW.date())

    assert _decisions_record([_decision(m, "rejected") for m in _batch(2, "b")], day_id=day.pk) == {
        m for m in SignalDecision.objects.filter(outcome="rejected").values_list("signal_id", flat=True)
    }
    assert TradingDay.objects.get(pk=day.pk).validated == 1


def _decision(message: envelope.Message, outcome: str) -> SignalDecision:
    s = message.payload
    return SignalDecision(broker="paper", signal_id=message.id, correlation_id=message.id, strategy=s.strategy,
                          instrument_token=s.instrument_token, side=s.side.value, quantity=s.quantity,
                          outcome=outcome, rule="", reason="", decided_at=NOW)  # fmt: skip

"""What the risk step reads each batch besides the book, in one query: the kill switches (the global
one named first), the strategies paused on the broker, and today's row (opened on the day's first look)."""

from __future__ import annotations

from datetime import date

import pytest

from riskcheck.controls import global_kill_switch_set, kill_switch_set
from riskcheck.models import TradingDay
from riskcheck.selectors import entry_state
from trading.models import Strategy

pytestmark = pytest.mark.django_db
DAY = date(2026, 1, 5)


def _strategy(name: str, paused: list[str]) -> None:
    Strategy.objects.create(name=name, kind="rsi", brokers=["paper", "zerodha"], paused_brokers=paused)


def test_the_first_look_opens_the_day_and_later_ones_are_one_query(django_assert_num_queries) -> None:
    state = entry_state(broker="paper", day=DAY, equity=123_45)

    assert (state.switch, state.paused) == (None, frozenset())
    assert (state.day.start_equity, state.day.validated) == (123_45, 0)
    TradingDay.objects.filter(pk=state.day.pk).update(validated=7)
    with django_assert_num_queries(1):
        again = entry_state(broker="paper", day=DAY, equity=999)
    assert (again.day.pk, again.day.start_equity, again.day.validated) == (state.day.pk, 123_45, 7)


def test_switches_and_pauses_of_this_broker_only_and_the_global_switch_first() -> None:
    _strategy("calm", paused=[])
    _strategy("paused-here", paused=["paper"])
    _strategy("paused-there", paused=["zerodha"])
    kill_switch_set(broker="zerodha", engaged=True, reason="not this one", user=None)

    state = entry_state(broker="paper", day=DAY, equity=0)
    assert (state.switch, state.paused) == (None, frozenset({"paused-here"}))

    kill_switch_set(broker="paper", engaged=True, reason="", user=None)
    assert (
        entry_state(broker="paper", day=DAY, equity=0).switch
        == "kill switch engaged on paper: no reason given"
    )

    global_kill_switch_set(engaged=True, reason="exchange outage", user=None)
    assert (
        entry_state(broker="paper", day=DAY, equity=0).switch == "global kill switch engaged: exchange outage"
    )

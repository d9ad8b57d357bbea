"""What each bench run measures: the tick steps run on their own, after the modes, on a broker of
their own, so the soak's log does not set the tick ceiling; every run's memory and lag are drawn."""

from __future__ import annotations

import pytest

from bench import pipeline
from bench.__main__ import _parse, _plans, _tick_plan
from trading.feeds.sim import FRAME_MS


def test_plans_when_tick_steps_asked_then_no_mode_runs_them() -> None:
    args = _parse(["--steps", "10,20", "--tick-steps", "2500,5000", "--soak-minutes", "3"])
    plans = _plans(args)
    assert [plan.tick_steps for plan in plans.values()] == [(), ()]
    assert plans[("paper",)].soak_s == 180
    ticks = _tick_plan(args)
    assert ticks is not None
    assert (ticks.steps, ticks.tick_steps, ticks.soak_s) == ((), (2500.0, 5000.0), 0)


def test_plans_when_frame_length_asked_then_every_run_feeds_it() -> None:
    args = _parse(["--frame-ms", "50", "--tick-steps", "2500"])
    assert {plan.frame_ms for plan in [*_plans(args).values(), _tick_plan(args)]} == {50.0}
    assert {plan.frame_ms for plan in _plans(_parse([])).values()} == {FRAME_MS}


def test_parse_when_frame_length_not_positive_then_refused(capsys) -> None:
    with pytest.raises(SystemExit):
        _parse(["--frame-ms", "0"])
    assert "--frame-ms must be positive" in capsys.readouterr().err


def test_tick_plan_when_none_asked_then_no_run() -> None:
    assert _tick_plan(_parse(["--tick-steps", "0"])) is None
    assert _tick_plan(_parse(["--quick"])) is None


def test_runs_of_when_tick_steps_ran_then_listed_after_the_modes() -> None:
    results = {"pipeline": {"paper": {"n": 1}, "paper,zerodha": {"n": 2}}}
    assert list(pipeline.runs_of(results)) == ["paper", "paper,zerodha"]
    results["ticks"] = {"n": 3}
    assert pipeline.runs_of(results) == {
        "paper": {"n": 1},
        "paper,zerodha": {"n": 2},
        pipeline.TICK_RUN: {"n": 3},
    }

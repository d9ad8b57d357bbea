from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from alphapanda.delivery import Effect, LogEntry, stage_report


def entry(offset: int, effect_id: str | None, key: str | None = "s:1", partition: int = 0) -> LogEntry:
    return LogEntry(partition, offset, effect_id, key)


def report(log, effects, dead=()):
    return stage_report(stage="riskcheck", topic="paper.signals.raw", log=log, effects=effects, dead=dead)


def test_stage_report_when_every_message_has_one_effect_in_order_then_ok() -> None:
    log = [entry(0, "a"), entry(1, "b"), entry(2, "a")]  # "a" redelivered
    r = report(log, [Effect("a", "s:1"), Effect("b", "s:1")])
    assert r.ok
    assert (r.messages, r.redelivered, r.invalid, r.effects) == (3, 1, 0, 2)


def test_stage_report_when_message_has_no_effect_and_no_dead_letter_then_lost() -> None:
    r = report([entry(0, "a"), entry(1, "b"), entry(2, None)], [Effect("a", "s:1")], dead=[(0, 2)])
    assert r.lost == ("b",)
    assert r.invalid == 1 and r.dead_lettered == 1
    assert not r.ok


def test_stage_report_when_valid_message_was_dead_lettered_by_a_worker_then_not_lost() -> None:
    r = report([entry(0, "a"), entry(1, "b")], [Effect("a", "s:1")], dead=[(0, 1)])
    assert r.ok


def test_stage_report_when_effect_made_twice_then_duplicated() -> None:
    r = report([entry(0, "a")], [Effect("a", "s:1"), Effect("a", "s:1")])
    assert r.duplicated == ("a",)
    assert not r.ok


def test_stage_report_when_one_keys_effects_swap_then_that_key_is_out_of_order() -> None:
    log = [entry(0, "a", "s:1"), entry(1, "x", "s:2"), entry(2, "b", "s:1")]
    r = report(log, [Effect("b", "s:1"), Effect("x", "s:2"), Effect("a", "s:1")])
    assert r.out_of_order == ("s:1",)


def test_stage_report_when_effect_has_no_message_then_unexpected() -> None:
    r = report([entry(0, "a")], [Effect("a", "s:1"), Effect("ghost", "s:1")])
    assert r.unexpected == ("ghost",)


@given(st.lists(st.tuples(st.sampled_from(["k1", "k2", "k3"]), st.integers(0, 30)), max_size=40))
def test_stage_report_for_any_log_applied_in_order_with_redeliveries_then_ok(msgs) -> None:
    log = [entry(n, f"{key}-{i}", key) for n, (key, i) in enumerate(msgs)]
    first: dict[str, str] = {}
    for e in log:
        first.setdefault(e.effect_id, e.key)
    effects = [Effect(i, k) for i, k in first.items()]
    r = report(log, effects)
    assert r.ok
    assert r.redelivered == len(log) - len(first)

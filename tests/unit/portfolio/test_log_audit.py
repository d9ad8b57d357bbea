from __future__ import annotations

from alphapanda.events import Side
from portfolio.log_audit import audit
from portfolio.positions import replay
from tests.unit.portfolio.test_positions import Trade, fill

START = 100_000_00


def fills():
    return [fill(Trade(Side.BUY, 10, 100_00, 5), n=1), fill(Trade(Side.SELL, 4, 101_00, 3), n=2)]


def test_audit_when_ledger_and_read_model_equal_the_replay_then_ok() -> None:
    positions, delta = replay(fills())
    cash = START + delta
    a = audit(fills() + fills()[:1], starting_cash=START, ledger=positions, ledger_cash=cash,
              read_model=positions, read_model_cash=cash)  # fmt: skip
    assert a.ok and a.fills == 2, "a redelivered fill counts once"


def test_audit_when_a_fill_was_applied_twice_then_ledger_position_and_cash_differ() -> None:
    doubled, delta = replay([*fills(), fill(Trade(Side.BUY, 10, 100_00, 5), n=3)])
    right, right_delta = replay(fills())
    a = audit(fills(), starting_cash=START, ledger=doubled, ledger_cash=START + delta,
              read_model=right, read_model_cash=START + right_delta)  # fmt: skip
    assert a.ledger_mismatches == (("momentum", 408065),)
    assert not a.read_model_mismatches
    assert not a.ok


def test_audit_when_read_model_lost_a_position_then_that_key_differs() -> None:
    positions, delta = replay(fills())
    a = audit(fills(), starting_cash=START, ledger=positions, ledger_cash=START + delta, read_model={},
              read_model_cash=START + delta)  # fmt: skip
    assert a.read_model_mismatches == (("momentum", 408065),)

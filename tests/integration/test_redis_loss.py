"""Redis restarted empty under a running pipeline: the read model rebuilds itself from the ledger."""

from __future__ import annotations

import pytest

from portfolio import read_model
from portfolio.models import AppliedFill
from tests.support.processes import wait_for
from trading.models import Strategy

pytestmark = pytest.mark.integration


def test_read_model_heals_from_the_ledger_after_redis_loses_everything(processes, instruments, redis_client):
    strategy = Strategy.objects.create(
        name="heal", kind="sma_crossover", params={"fast": 2, "slow": 5}, brokers=["paper"]
    )
    strategy.instruments.set([instruments["RELIANCE"].token, instruments["INFY"].token])
    processes.worker()
    processes.bridge()
    processes.strategies()
    processes.manage("feed", "run_feed", "--source", "sim", "--rate", "50", "--symbols", "RELIANCE,INFY")
    wait_for(lambda: AppliedFill.objects.count() >= 6, timeout=60, what="the first fills")

    # Keep only Celery's queues: everything the read model held is gone, as after a restart without persistence.
    removed = sum(redis_client.delete(key) for key in list(redis_client.scan_iter("paper:*")))
    assert removed >= 3, "positions, marks, account (and more) were there and are gone"

    def healed():
        snap = read_model.snapshot("paper")
        return read_model.has_account("paper") and len(snap["positions"]) == len(
            {(f.strategy, f.instrument_token) for f in AppliedFill.objects.all()}
        )

    wait_for(healed, timeout=30, what="the read model to be whole again")
    processes.stop()
    from portfolio.models import Account, Position

    snap = read_model.snapshot("paper")
    assert snap["summary"].cash == Account.objects.get(broker="paper").cash
    ledger = {(p.strategy, p.instrument_token): p.quantity for p in Position.objects.filter(broker="paper")}
    assert {k: p.quantity for k, p in snap["positions"].items()} == ledger

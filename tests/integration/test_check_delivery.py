"""check_delivery on a real run: clean after the pipeline drained; a lost, doubled or reordered
effect, or a ledger or Redis figure off by a paisa, makes it fail and name what differs."""

from __future__ import annotations

import contextlib
import io
from dataclasses import replace

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F

from alphapanda import envelope
from alphapanda.events import Side
from portfolio import read_model
from portfolio.models import Account, AppliedFill
from riskcheck.models import SignalDecision
from tests.support import builders
from tests.support.market import publish_raw
from tests.support.processes import wait_for

pytestmark = pytest.mark.integration


def _check() -> str:
    out = io.StringIO()
    call_command("check_delivery", stdout=out)
    return out.getvalue()


def _fails(match: str) -> None:
    out = io.StringIO()
    with pytest.raises(CommandError, match="does not match"):
        call_command("check_delivery", stdout=out)
    assert match in out.getvalue(), out.getvalue()


def test_check_delivery_passes_on_a_drained_run_and_names_each_kind_of_damage(processes, instruments):
    processes.worker()
    processes.bridge()
    messages = []
    for i in range(12):
        sig = builders.signal(strategy=f"chk-{i % 2}", side=Side.BUY if i % 3 else Side.SELL)
        messages.append(("paper.signals.raw", f"chk-{i % 2}".encode(),
                         builders.encoded(envelope.SIGNAL, sig, broker="paper")))  # fmt: skip
    messages.append(("paper.signals.raw", b"x", b"{broken"))
    publish_raw(messages)
    wait_for(lambda: AppliedFill.objects.count() >= 10, timeout=60, what="fills applied")
    wait_for(lambda: "nothing lost" in _safe_check(), timeout=30, what="the pipeline to drain")
    processes.stop()
    text = _check()
    assert "paper    riskcheck" in text and "1 x bridge: malformed envelope" in text

    # Damage accumulates; each check must name the newest kind.
    snap = read_model.snapshot("paper")
    (strategy, token), position = next(iter(snap["positions"].items()))
    damaged = replace(position, quantity=position.quantity + 1, fills=position.fills + 1)
    read_model.ledger_mirror("paper", [(strategy, token, "RELIANCE", damaged)])
    _fails(f"Redis positions differ: {strategy}:{token}")

    Account.objects.filter(broker="paper").update(cash=F("cash") + 1)  # one paisa
    _fails("DIFFERS from the fills log")

    applied = AppliedFill.objects.order_by("pk").first()
    AppliedFill.objects.filter(pk=applied.pk).update(fill_id="ghost")
    _fails(f"lost: {applied.fill_id}")
    _fails("unexpected: ghost")

    decision = SignalDecision.objects.order_by("pk").first()
    SignalDecision.objects.filter(pk=decision.pk).delete()
    decision.pk = None
    decision.save()  # the same decision, now made after the later ones of its key
    _fails(f"out_of_order: {decision.strategy}:{decision.instrument_token}")


def _safe_check() -> str:
    with contextlib.suppress(CommandError):
        return _check()
    return ""

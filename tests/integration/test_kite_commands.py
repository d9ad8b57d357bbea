"""The Zerodha commands an operator runs, against the Kite sandbox: login (command and redirect),
instruments sync, the live feed through KiteTicker (with a dropped connection), and reconcile."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from alphapanda import envelope, topics
from alphapanda.log_reader import read_all, read_values
from portfolio.services import fill_apply
from tests.support import builders
from tests.support.kite import API_SECRET, env_for, login, request_token
from tests.support.processes import wait_for
from trading.models import Instrument, KiteSession, Order
from trading.services import signal_execute

pytestmark = pytest.mark.integration


def test_kite_login_by_command_and_by_redirect_stores_the_session_and_never_prints_secrets(
    sandbox, client, monkeypatch
):
    out = io.StringIO()
    call_command("kite_login", request_token=request_token(sandbox), stdout=out)
    session = KiteSession.objects.get()
    assert "logged in as SB0001" in out.getvalue()
    assert session.access_token not in out.getvalue() and API_SECRET not in out.getvalue()

    monkeypatch.setattr("sys.stdin", io.StringIO(request_token(sandbox) + "\n"))
    prompt = io.StringIO()
    call_command("kite_login", stdout=prompt)
    assert "/connect/login?api_key=test-key" in prompt.getvalue()

    answer = client.get("/kite/login", {"request_token": request_token(sandbox), "status": "success"})
    assert answer.status_code == 200 and b"Logged in to Kite as SB0001" in answer.content
    assert KiteSession.objects.count() == 3

    with pytest.raises(CommandError, match="Kite refused the login"):
        call_command("kite_login", request_token="not-a-token", stdout=io.StringIO())


def test_sync_instruments_loads_kites_dump(sandbox):
    login(sandbox)
    Instrument.objects.all().delete()
    out = io.StringIO()
    call_command("sync_instruments", stdout=out)
    assert "50 instruments created, 0 updated" in out.getvalue()
    reliance = Instrument.objects.get(symbol="RELIANCE")
    assert (reliance.token, reliance.lot_size, str(reliance.tick_size)) == (738561, 1, "0.0500")


def test_live_feed_publishes_full_depth_ticks_and_reports_the_gap_after_a_dropped_connection(
    sandbox, processes
):
    login(sandbox)
    processes.env.update(env_for(sandbox))
    feed = processes.manage(
        "feed", "run_feed", "--source", "kite", "--symbols", "RELIANCE,INFY", "--count", "80"
    )

    def ticks():
        return [envelope.decode(topics.MARKET_TICKS, v).payload for v in read_values(topics.MARKET_TICKS)]

    wait_for(lambda: len(ticks()) >= 20, timeout=30, what="the first live ticks")
    assert sandbox.drop_websockets() >= 1
    assert feed.popen.wait(60) == 0, feed.output()
    received = ticks()
    assert len(received) == 80
    assert {t.symbol for t in received} == {"RELIANCE", "INFY"}
    full = [t for t in received if len(t.bids) == 5 and len(t.asks) == 5]
    # Between `subscribe` and `mode full` on each (re)connection Kite streams in its default quote mode.
    assert len(received) - len(full) <= 2 * 2 * 2, "all but the first ticks of each connection are full"
    assert all(t.bids[0].price < t.asks[0].price for t in full)
    assert "a gap of" in feed.output()


def _place_zerodha(strategy: str, quantity: int) -> Order:
    sig = builders.signal(strategy=strategy, quantity=quantity)
    value = builders.encoded(envelope.SIGNAL_VALIDATED, sig, broker="zerodha")
    signal_execute(
        broker="zerodha", message=envelope.decode("zerodha.signals.validated", value), now=timezone.now()
    )
    return Order.objects.get(strategy=strategy)


def _apply_published_fills() -> None:
    """What the portfolio task does with zerodha.orders.filled, in-process."""
    for message in read_all("zerodha.orders.filled"):
        fill_apply(broker="zerodha", message=message)


def test_reconcile_reports_a_missed_update_and_repair_heals_ledger_and_portfolio(sandbox):
    login(sandbox)
    order = _place_zerodha("recon", quantity=40)
    wait_for(lambda: any(o["status"] == "COMPLETE" and o["tag"] == order.tag for o in sandbox.state()["orders"]),
             timeout=10, what="Kite to complete the order")  # fmt: skip

    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("reconcile", broker="zerodha", stdout=out)
    assert exit_.value.code == 1
    report = out.getvalue()
    assert "missing from the ledger" in report and "status: Kite COMPLETE, ledger PENDING" in report
    assert "net quantity: Kite 40, ledger 0, Redis 0" in report

    repaired = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("reconcile", broker="zerodha", repair=True, stdout=repaired)
    assert "repaired:" in repaired.getvalue()
    _apply_published_fills()

    clean = io.StringIO()
    call_command("reconcile", broker="zerodha", stdout=clean)
    assert "no differences" in clean.getvalue()
    order.refresh_from_db()
    assert (order.status, order.filled_quantity) == ("COMPLETE", 40)

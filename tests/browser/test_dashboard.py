"""The trader's dashboard in a real browser, on a real pipeline.

Worker, bridge, strategy runner and the simulated feed run as processes; the web app runs in
pytest-django's live server. A trader with a grant on paper signs in through the login page and
watches the page fill itself from the API, and keep updating without a reload.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from alphapanda.models import BrokerGrant
from riskcheck.models import RiskLimits
from trading.models import Fill, Strategy

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery staple"


def _configure(instruments) -> None:
    """Two strategies on paper, the demo's limits, account and kill switch, and a quantity limit of 3
    units so the risk step rejects sma-fast's 4-unit reversals (the page lists the rejections) while
    its 2-unit entries and rsi-fast keep trading."""
    symbols = ["RELIANCE", "INFY", "TCS", "HDFCBANK"]
    sma = Strategy.objects.create(
        name="sma-fast", kind="sma_crossover", params={"fast": 3, "slow": 8, "lots": 2}, brokers=["paper"]
    )
    sma.instruments.set([instruments[s].token for s in symbols])
    rsi = Strategy.objects.create(
        name="rsi-fast", kind="rsi", params={"period": 5, "oversold": 40, "overbought": 60}, brokers=["paper"]
    )
    rsi.instruments.set([instruments[s].token for s in symbols[:2]])
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115 (limits, account, kill switch)
    Strategy.objects.exclude(name__in=["sma-fast", "rsi-fast"]).delete()
    RiskLimits.objects.filter(broker="paper").update(max_quantity=3)


def _wait(page: Page, expression: str, *, what: str, timeout_s: float, arg=None):
    """Wait in the page for `expression` (a JS function) to return a truthy value; on timeout fail
    with what the page's error banner said."""
    try:
        return page.wait_for_function(expression, arg=arg, timeout=timeout_s * 1000, polling=100).json_value()
    except PlaywrightError as exc:
        banner = page.locator("#error-banner")
        said = banner.inner_text() if banner.is_visible() else "(no error banner)"
        raise AssertionError(
            f"timed out after {timeout_s:.0f}s waiting for {what}; page says: {said}"
        ) from exc


def test_trader_signs_in_and_watches_the_paper_pipeline_live(
    processes, instruments, live_server, out_dir, chromium
):
    _configure(instruments)
    user = get_user_model().objects.create_user("asha", password=PASSWORD, first_name="Asha", last_name="Rao")
    BrokerGrant.objects.create(user=user, broker="paper", role=BrokerGrant.TRADER)

    processes.worker()
    processes.bridge()
    processes.strategies()
    processes.manage("feed", "run_feed", "--source", "sim", "--rate", "100")

    browser = chromium.launch()  # from here on, no ORM in this thread until chromium.close()
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="en-IN")
    page_errors: list[str] = []
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))
    screenshot = out_dir / "dashboard.png"
    try:
        # Sign in through the login page; the dashboard is where it lands.
        page.goto(live_server.url + "/")
        assert page.url.startswith(live_server.url + "/accounts/login/"), page.url
        page.fill("#id_username", "asha")
        page.fill("#id_password", PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert page.url == live_server.url + "/", page.url
        assert page.locator("#user-name").inner_text() == "Asha Rao"

        # Only paper, clearly marked as simulated money.
        assert page.locator("section[data-broker]").count() == 1
        assert page.locator('section[data-broker="paper"] .marker').inner_text() == "PAPER (simulated)"
        page.evaluate("() => { window.__loadMarker = 'still-the-same-page'; }")
        load_id = page.evaluate("() => window.alphaPanda.loadId")

        # The pipeline's figures arrive: an equity curve with points, fills in the table, a summary.
        _wait(
            page,
            "() => Number(document.querySelector('canvas#equity-paper').dataset.points) > 0",
            what="the equity chart to have points",
            timeout_s=40,
        )
        _wait(
            page,
            "() => document.querySelectorAll('#fills-paper tbody tr[data-fill-id]').length > 0",
            what="fills in the table",
            timeout_s=20,
        )
        equity_points = page.evaluate(
            "() => Number(document.querySelector('canvas#equity-paper').dataset.points)"
        )
        first_id = page.locator("#fills-paper tbody tr[data-fill-id]").first.get_attribute("data-fill-id")
        seen = page.locator("#fills-paper tbody tr[data-fill-id]").evaluate_all(
            "rows => rows.map(r => r.dataset.fillId)"
        )
        equity = page.locator('#figures-paper [data-field="equity"]').inner_text()
        assert equity.startswith("₹"), equity

        # A newer fill shows up at the top, highlighted, while the page stays the same page.
        _wait(
            page,
            """seen => {
                const row = document.querySelector('#fills-paper tbody tr[data-fill-id]');
                return row && !seen.includes(row.dataset.fillId) && row.classList.contains('fresh');
            }""",
            arg=seen,
            what="a newer fill row, highlighted",
            timeout_s=20,
        )
        newest_id = page.locator("#fills-paper tbody tr[data-fill-id]").first.get_attribute("data-fill-id")
        assert newest_id != first_id
        assert page.evaluate("() => window.__loadMarker") == "still-the-same-page", "the page was reloaded"
        assert page.evaluate("() => window.alphaPanda.loadId") == load_id, "the page was reloaded"
        assert page.evaluate("() => Number(document.body.dataset.polls)") >= 2
        assert page.locator("#error-banner").is_hidden(), page.locator("#error-banner").inner_text()
        assert page.locator("#updated").inner_text().startswith("updated ")
        # The charts grow in place too (a P&L point every 5 s), the per-strategy one included.
        _wait(
            page,
            "n => Number(document.querySelector('canvas#equity-paper').dataset.points) > n",
            arg=equity_points,
            what="a new point on the equity chart",
            timeout_s=15,
        )
        _wait(
            page,
            "() => Number(document.querySelector('canvas#strategy-pnl-paper').dataset.points) > 0",
            what="the per-strategy P&L chart to have points",
            timeout_s=15,
        )
        assert page.evaluate("() => window.__loadMarker") == "still-the-same-page", "the page was reloaded"
        assert page_errors == [], page_errors
    finally:
        page.screenshot(path=str(screenshot), full_page=True)
        chromium.close()

    processes.assert_alive()
    # What the page showed is the ledger's.
    assert Fill.objects.filter(broker="paper", fill_id__in=[first_id, newest_id]).count() == 2

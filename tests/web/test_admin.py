"""The admin as a desk uses it: every model's list with its filters and search, and the control
actions (pause strategies, kill switch), which go through the services and are audited."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from alphapanda.models import BrokerGrant, ControlAction
from riskcheck.models import KillSwitch
from trading.models import Instrument, Strategy

pytestmark = pytest.mark.django_db

MODELS = [
    ("auth", "user"),
    ("alphapanda", "brokergrant"),
    ("alphapanda", "controlaction"),
    ("trading", "instrument"),
    ("trading", "strategy"),
    ("trading", "order"),
    ("trading", "fill"),
    ("trading", "kitesession"),
    ("riskcheck", "risklimits"),
    ("riskcheck", "signaldecision"),
    ("riskcheck", "killswitch"),
    ("riskcheck", "tradingday"),
    ("portfolio", "account"),
    ("portfolio", "position"),
    ("portfolio", "appliedfill"),
    ("portfolio", "pnlpoint"),
]


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("desk", "desk@example.com", "pw-desk-123")
    client.force_login(user)
    return client


@pytest.mark.parametrize(("app", "model"), MODELS)
def test_every_model_has_a_changelist_that_renders_with_search(admin_client, app, model):
    url = reverse(f"admin:{app}_{model}_changelist")
    assert admin_client.get(url).status_code == 200
    assert admin_client.get(url, {"q": "x"}).status_code == 200


def test_user_admin_edits_broker_grants_inline(admin_client):
    user = get_user_model().objects.create_user("viewer1", password="pw")
    BrokerGrant.objects.create(user=user, broker="paper", role="viewer")
    page = admin_client.get(reverse("admin:auth_user_change", args=[user.pk]))
    assert page.status_code == 200 and b"broker_grants-0-broker" in page.content
    listing = admin_client.get(reverse("admin:auth_user_changelist"))
    assert b"paper (viewer)" in listing.content


def test_pause_action_pauses_on_active_brokers_and_is_audited(admin_client):
    strategy = Strategy.objects.create(
        name="s1", kind="sma_crossover", params={}, brokers=["paper", "zerodha"]
    )
    strategy.instruments.set(Instrument.objects.none())
    url = reverse("admin:trading_strategy_changelist")
    admin_client.post(url, {"action": "pause", "_selected_action": [strategy.pk]})
    strategy.refresh_from_db()
    assert strategy.paused_brokers == ["paper"], "only active brokers (ACTIVE_BROKERS=paper in tests)"
    assert ControlAction.objects.filter(action="strategy_pause", target="s1", user__username="desk").exists()
    admin_client.post(url, {"action": "resume", "_selected_action": [strategy.pk]})
    strategy.refresh_from_db()
    assert strategy.paused_brokers == []


def test_kill_switch_actions_engage_and_release_with_an_audit_trail(admin_client):
    switch = KillSwitch.objects.create(broker="paper")
    url = reverse("admin:riskcheck_killswitch_changelist")
    admin_client.post(url, {"action": "engage", "_selected_action": [switch.pk]})
    switch.refresh_from_db()
    assert switch.engaged and "desk" in switch.reason
    admin_client.post(url, {"action": "release", "_selected_action": [switch.pk]})
    switch.refresh_from_db()
    assert not switch.engaged
    assert list(
        ControlAction.objects.filter(broker="paper").order_by("at").values_list("action", flat=True)
    ) == [
        "kill_switch_on",
        "kill_switch_off",
    ]


def test_kite_session_admin_never_shows_the_access_token(admin_client):
    from django.utils import timezone

    from trading.models import KiteSession

    session = KiteSession.objects.create(
        user_id="AB1234",
        access_token="very-secret-token",
        login_time=timezone.now(),
        expires_at=timezone.now(),
    )
    page = admin_client.get(reverse("admin:trading_kitesession_change", args=[session.pk]))
    assert page.status_code == 200 and b"very-secret-token" not in page.content

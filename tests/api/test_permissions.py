"""Who gets what: every endpoint × role × broker, and no broker's figures reach a user who may not see it.

A broker a user may not see is a 404 (never a 403, never data); a viewer using a trader control on a
broker they can see is a 403; anonymous is a 401; the schema and its docs are public.
"""

from __future__ import annotations

import json

import pytest

from alphapanda.models import ControlAction
from riskcheck.models import KillSwitch, RiskLimits
from tests.api.conftest import BROKERS, ROLES, T0, ZERODHA_MARKERS, _order, jwt_client, make_users
from trading.models import Strategy

API = "/api/v1/"

VISIBLE = {
    "admin": {"paper", "zerodha"},
    "trader_paper": {"paper"},
    "viewer_paper": {"paper"},
    "viewer_zerodha": {"zerodha"},
    "no_grants": set(),
    "anonymous": set(),
}
TRADES = {"admin": {"paper", "zerodha"}, "trader_paper": {"paper"}}
ORDER_ID = {"paper": "P-1", "zerodha": "Z-1"}

LISTS = (
    "brokers/",
    "portfolios/",
    "positions/",
    "orders/",
    "fills/",
    "signals/",
    "strategies/",
    "risk-limits/",
)

# (method, path, body, rule): rule says who may: "public", "signed-in", "sees", "trades", "admin",
# "sees-a-broker" (a strategy on both brokers), "bad-input" (signed-in users get a 400).
PER_BROKER = [
    ("get", "brokers/{b}/", None, "sees"),
    ("post", "brokers/{b}/kill-switch/", {"engaged": False, "reason": "matrix"}, "trades"),
    ("post", "brokers/{b}/flatten/", {"reason": "matrix"}, "trades"),
    ("get", "portfolios/{b}/", None, "sees"),
    ("get", "portfolios/{b}/strategies/", None, "sees"),
    ("get", "orders/{b}/{order}/", None, "sees"),
    ("get", "risk-limits/{b}/", None, "sees"),
    ("patch", "risk-limits/{b}/", {"max_quantity": 50}, "admin"),
    ("get", "pnl/?broker={b}", None, "sees"),
    ("post", "strategies/sma-both/pause/", {"broker": "{b}"}, "trades"),
    ("post", "strategies/sma-both/resume/", {"broker": "{b}"}, "trades"),
    *[("get", f"{path}?broker={{b}}", None, "sees") for path in LISTS],
]
BROKERLESS = [
    *[("get", path, None, "signed-in") for path in LISTS],
    ("get", "strategies/sma-both/", None, "sees-a-broker"),
    ("get", "pnl/", None, "bad-input"),
    ("get", "schema/", None, "public"),
    ("get", "docs/", None, "public"),
    ("get", "redoc/", None, "public"),
]


def expected_status(rule: str, role: str, broker: str | None) -> int:
    if rule == "public":
        return 200
    if role == "anonymous":
        return 401
    if rule == "signed-in":
        return 200
    if rule == "bad-input":
        return 400
    if rule == "sees-a-broker":
        return 200 if VISIBLE[role] else 404
    if broker not in VISIBLE[role]:
        return 404
    if rule == "trades":
        return 200 if broker in TRADES.get(role, ()) else 403
    if rule == "admin":
        return 200 if role == "admin" else 403
    return 200


def _fill_in(value, broker: str | None):
    if isinstance(value, dict):
        return {k: _fill_in(v, broker) for k, v in value.items()}
    if isinstance(value, str) and broker:
        return value.format(b=broker, order=ORDER_ID[broker])
    return value


CASES = [
    pytest.param(method, path, body, rule, role, broker, id=f"{method.upper()} {path} {role} {broker}")
    for method, path, body, rule in PER_BROKER
    for role in ROLES
    for broker in BROKERS
] + [
    pytest.param(method, path, body, rule, role, None, id=f"{method.upper()} {path} {role}")
    for method, path, body, rule in BROKERLESS
    for role in ROLES
]


@pytest.fixture
def matrix_world(db):
    users = make_users()
    strategy = Strategy.objects.create(name="sma-both", kind="sma_crossover", brokers=list(BROKERS))
    for broker in BROKERS:
        _order(broker, ORDER_ID[broker], created_at=T0, updated_at=T0)
    return users, strategy


@pytest.mark.parametrize(("method", "path", "body", "rule", "role", "broker"), CASES)
def test_status_matrix(matrix_world, method, path, body, rule, role, broker):
    users, _ = matrix_world
    client = jwt_client(users[role])
    url = API + _fill_in(path, broker)
    response = (
        getattr(client, method)(url, _fill_in(body, broker), format="json") if body else client.get(url)
    )

    assert response.status_code == expected_status(rule, role, broker), response.content[:300]
    if response.status_code == 404:
        assert response.json() == {"detail": "Not found."}


# -- isolation: no route, filter, detail or page shows a broker's figures to a user who may not see it --
PAPER_MARKERS = (
    "paper",
    "P-ORD-1",
    "P-ORD-2",
    "P-FILL-1",
    "P-SIG-1",
    "P-SIG-2",
    "rsi-paper",
    "1400.05",
    "insufficient",
)


def probe_requests(other: str) -> list[tuple[str, str, dict | None]]:
    """Every read a user could try to reach `other`'s figures, plus the writes aimed at it."""
    gets = []
    for path in LISTS:
        gets += [path, f"{path}?broker={other}", f"{path}?broker=paper", f"{path}?broker=zerodha&limit=1"]
        gets += [f"{path}?limit=1&offset={offset}" for offset in range(6)]
        gets += [f"{path}?limit=500", f"{path}?limit=1&offset=1&broker=paper", f"{path}?broker=robinhood"]
    gets += [
        "orders/?strategy=zed-only",
        "orders/?symbol=zedsym",
        "orders/?status=COMPLETE",
        "orders/?side=BUY&limit=1&offset=1",
        "orders/?strategy=sma-both&broker=zerodha",
        "fills/?strategy=zed-only",
        "fills/?symbol=ZEDSYM&side=BUY",
        "signals/?outcome=rejected",
        "signals/?rule=zed_rule",
        "signals/?strategy=zed-only&outcome=rejected",
        "positions/?open=true",
        "positions/?open=false",
        "positions/?strategy=zed-only",
        "positions/?symbol=ZEDSYM&open=true",
        f"brokers/{other}/",
        f"portfolios/{other}/",
        f"portfolios/{other}/strategies/",
        "portfolios/paper/strategies/",
        "portfolios/zerodha/strategies/?limit=1",
        "orders/zerodha/Z-ORD-SECRET/",
        "orders/paper/Z-ORD-SECRET/",
        "orders/zerodha/P-ORD-1/",
        "orders/paper/P-ORD-1/",
        "strategies/zed-only/",
        "strategies/sma-both/",
        "strategies/rsi-paper/",
        f"risk-limits/{other}/",
        f"pnl/?broker={other}",
        "pnl/?broker=paper&strategy=sma-both",
        "pnl/?broker=zerodha&strategy=sma-both",
        "pnl/?broker=paper&strategy=zed-only",
        f"pnl/?broker={other}&since=2026-01-01T00:00:00Z",
    ]
    requests = [("get", path, None) for path in gets]
    requests += [
        ("post", f"brokers/{other}/kill-switch/", {"engaged": False, "reason": "peek"}),
        ("post", f"brokers/{other}/flatten/", {"reason": "peek"}),
        ("post", "strategies/sma-both/pause/", {"broker": other}),
        ("post", "strategies/sma-both/resume/", {"broker": other}),
        ("post", "strategies/zed-only/pause/", {"broker": "paper"}),
        ("post", "strategies/rsi-paper/resume/", {"broker": "zerodha"}),
        ("patch", f"risk-limits/{other}/", {"max_quantity": 5}),
    ]
    return requests


def _bodies(client, requests) -> list[tuple[str, int, str]]:
    out = []
    for method, path, body in requests:
        if body is None:
            response = getattr(client, method)(API + path)
        else:
            response = getattr(client, method)(API + path, body, format="json")
        assert response.status_code < 500, (path, response.content[:300])
        out.append((f"{method.upper()} {path}", response.status_code, response.content.decode()))
    return out


@pytest.mark.parametrize(
    ("role", "other", "markers"),
    [
        ("viewer_paper", "zerodha", ZERODHA_MARKERS),
        ("trader_paper", "zerodha", ZERODHA_MARKERS),
        ("viewer_zerodha", "paper", PAPER_MARKERS),
    ],
)
def test_a_broker_you_may_not_see_shows_nothing_by_any_route(users, ledger, role, other, markers):
    zerodha_switch = KillSwitch.objects.get(broker="zerodha")
    limits_before = {b: RiskLimits.objects.get(broker=b).max_quantity for b in BROKERS}

    responses = _bodies(jwt_client(users[role]), probe_requests(other))

    leaks = [
        (request, marker)
        for request, _, body in responses
        for marker in markers
        if marker.lower() in body.lower()
    ]
    assert not leaks, leaks[:10]
    statuses = {request: code for request, code, _ in responses}
    assert statuses[f"GET brokers/{other}/"] == 404
    assert statuses[f"GET orders/?broker={other}"] == 404
    assert statuses[f"POST brokers/{other}/kill-switch/"] == 404
    assert statuses[f"PATCH risk-limits/{other}/"] == 404
    # and nothing of the other broker's changed
    assert KillSwitch.objects.get(broker="zerodha").engaged == zerodha_switch.engaged
    assert {b: RiskLimits.objects.get(broker=b).max_quantity for b in BROKERS} == limits_before
    assert Strategy.objects.get(name="sma-both").paused_brokers == ["zerodha"]
    assert not ControlAction.objects.filter(broker=other).exists()


def test_an_admin_reaches_every_marker_so_the_isolation_test_is_not_vacuous(users, ledger):
    reads = [r for r in probe_requests("zerodha") if r[0] == "get"]
    seen = "\n".join(body for _, _, body in _bodies(jwt_client(users["admin"]), reads)).lower()

    assert [m for m in ZERODHA_MARKERS if m.lower() not in seen] == []
    assert [m for m in PAPER_MARKERS if m.lower() not in seen] == []


def test_a_user_without_grants_sees_empty_lists(clients, ledger):
    for path in LISTS:
        body = clients["no_grants"].get(API + path).json()
        assert body == {"count": 0, "next": None, "previous": None, "results": []}, path
    assert clients["no_grants"].get(API + "strategies/sma-both/").status_code == 404


def test_a_viewer_sees_only_the_brokers_it_may_see_of_a_shared_strategy(clients, ledger):
    body = clients["viewer_paper"].get(API + "strategies/sma-both/").json()

    assert body["brokers"] == ["paper"]
    assert body["paused_brokers"] == []
    assert "zerodha" not in json.dumps(body)

"""The trader's dashboard: one page per user; the figures come from the REST API, fetched by the page."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from alphapanda.access import visible_brokers

KITE_PRODUCTION_ROOT = "https://api.kite.trade"
POLL_S = 2  # the page fetches the API this often


def _marker(broker: str) -> tuple[str, str]:
    """The label that says what a broker's money is, and its CSS tone."""
    if broker == "paper":
        return "PAPER (simulated)", "sim"
    if broker == "zerodha":
        if settings.CONFIG.kite.root.rstrip("/") != KITE_PRODUCTION_ROOT:
            return "ZERODHA (Kite sandbox)", "sandbox"
        return "ZERODHA (real money)", "real"
    return broker.upper(), "sim"


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    brokers = [
        {"name": b, "label": label, "tone": tone}
        for b in visible_brokers(user)
        for label, tone in [_marker(b)]
    ]
    return render(
        request,
        "alphapanda/dashboard.html",
        {
            "brokers": brokers,
            "user_name": user.get_full_name() or user.get_username(),
            "time_zone": settings.TIME_ZONE,
            "poll_s": POLL_S,
            "poll_ms": POLL_S * 1000,
        },
    )

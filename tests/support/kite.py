"""The Kite sandbox for tests: started in-process, the settings pointed at it, and a real login."""

from __future__ import annotations

from dataclasses import replace

from trading.kite import session as kite_session
from trading.kite_sandbox.login import request_token_via_redirect
from trading.kite_sandbox.server import KiteSandbox
from trading.models import KiteSession

API_KEY = "test-key"
API_SECRET = "test-secret"


def start_sandbox(settings, *, timeout_s: float = 2.0, postback_url: str | None = None) -> KiteSandbox:
    sandbox = KiteSandbox(
        api_key=API_KEY, api_secret=API_SECRET, seed=1, postback_url=postback_url,
        redirect_url="http://127.0.0.1:9/kite/login",
    )  # fmt: skip
    sandbox.start()
    kite = replace(
        settings.CONFIG.kite,
        api_key=API_KEY,
        api_secret=API_SECRET,
        root=sandbox.url,
        ws_root=sandbox.ws_url,
        login_url=sandbox.url + "/connect/login",
        timeout_s=timeout_s,
    )
    settings.CONFIG = replace(settings.CONFIG, kite=kite, active_brokers=("paper", "zerodha"))
    settings.ACTIVE_BROKERS = ("paper", "zerodha")
    return sandbox


def env_for(sandbox: KiteSandbox, *, timeout_s: float = 2.0) -> dict[str, str]:
    """What child processes need to reach the same sandbox."""
    return {
        "ACTIVE_BROKERS": "paper,zerodha",
        "KITE_API_KEY": API_KEY,
        "KITE_API_SECRET": API_SECRET,
        "KITE_ROOT": sandbox.url,
        "KITE_WS_ROOT": sandbox.ws_url,
        "KITE_LOGIN_URL": sandbox.url + "/connect/login",
        "KITE_TIMEOUT_S": str(timeout_s),
    }


def request_token(sandbox: KiteSandbox) -> str:
    return request_token_via_redirect(kite_session.login_url())


def login(sandbox: KiteSandbox) -> KiteSession:
    return kite_session.session_create(request_token=request_token(sandbox))

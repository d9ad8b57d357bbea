"""The Kite session: log in, keep the token, notice when Kite refuses it, and build clients.

A refused or expired token pauses zerodha (no new orders) until the next login; paper is untouched.
The api_secret and access tokens are never logged.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kiteconnect import KiteConnect

from alphapanda.errors import AlphaPandaError
from alphapanda.money import round_paise, to_paise
from portfolio.models import Account
from portfolio.services import account_ensure
from trading.kite.expiry import IST, token_expiry
from trading.models import KiteSession

log = logging.getLogger("trading.kite")


class NoSession(AlphaPandaError):
    """Zerodha cannot trade: no valid Kite session."""


def _client(access_token: str | None = None) -> KiteConnect:
    kite = settings.CONFIG.kite
    client = KiteConnect(kite.api_key, access_token=access_token, root=kite.root, timeout=kite.timeout_s)
    client._default_login_uri = kite.login_url  # login_url() ignores root (KITE.md §1)
    return client


def login_url() -> str:
    return _client().login_url()


def session_create(*, request_token: str) -> KiteSession:
    """Exchange a request token for a session (checksum signed with the secret) and store it."""
    data = _client().generate_session(request_token, api_secret=settings.CONFIG.kite.api_secret)
    login_time = data.get("login_time") or timezone.now()
    if isinstance(login_time, str):
        login_time = datetime.fromisoformat(login_time)
    if timezone.is_naive(login_time):
        login_time = timezone.make_aware(login_time)
    session = KiteSession.objects.create(
        user_id=data["user_id"],
        user_name=data.get("user_name", ""),
        access_token=data["access_token"],
        login_time=login_time,
        expires_at=token_expiry(login_time),
    )
    _account_open(data["access_token"])
    log.warning(
        "kite login: %s (%s); zerodha trading resumes; token valid until %s IST",
        session.user_id,
        session.user_name,
        session.expires_at.astimezone(IST).strftime("%Y-%m-%d %H:%M"),
    )
    return session


def _account_open(access_token: str) -> None:
    """The zerodha account's figures start from the equity margin Kite shows at the first login."""
    if Account.objects.filter(broker="zerodha").exists():
        return
    net = _client(access_token).margins("equity").get("net", 0)
    account_ensure(broker="zerodha", starting_cash=to_paise(round_paise(Decimal(repr(net)))))


def session_current(*, now: datetime | None = None) -> KiteSession | None:
    now = now or timezone.now()
    return KiteSession.objects.filter(invalidated_at__isnull=True, expires_at__gt=now).first()


def paused_reason(*, now: datetime | None = None) -> str | None:
    """Why zerodha may not place orders now, or None when it may."""
    if session_current(now=now) is not None:
        return None
    last = KiteSession.objects.first()
    if last is None:
        return "no Kite session: log in with `manage.py kite_login`"
    if last.invalidated_at:
        return f"Kite refused the access token ({last.invalidated_reason}); log in again with `manage.py kite_login`"
    return "the Kite access token expired at 06:00 IST; log in again with `manage.py kite_login`"


def session_invalidate(*, reason: str) -> None:
    """Kite refused the token (TokenException): pause zerodha with a loud alert, until the next login."""
    with transaction.atomic():
        count = KiteSession.objects.filter(invalidated_at__isnull=True).update(
            invalidated_at=timezone.now(), invalidated_reason=reason
        )
    if count:
        log.error("ALERT zerodha paused: Kite refused the access token (%s); paper trading continues; "
                  "run `manage.py kite_login` to resume", reason)  # fmt: skip


def client() -> KiteConnect:
    """A client on the current session; a refused token (HTTP 403 TokenException) pauses zerodha."""
    session = session_current()
    if session is None:
        raise NoSession(paused_reason() or "no Kite session")
    kite = _client(session.access_token)
    kite.set_session_expiry_hook(lambda: session_invalidate(reason="TokenException from Kite"))
    return kite

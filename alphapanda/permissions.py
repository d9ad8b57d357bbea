"""DRF permission helpers: a broker the user may not see does not exist for them (404, never 403, never
data); one they may see but not act on is a 403. The rules themselves live in `alphapanda.access`."""

from __future__ import annotations

from rest_framework.exceptions import NotFound, PermissionDenied

from alphapanda.access import User, can_trade, is_admin, visible_brokers


def broker_visible(*, user: User, broker: str) -> str:
    """The broker, if this user may see it; otherwise 404 (an inactive or unknown broker is the same)."""
    if broker not in visible_brokers(user):
        raise NotFound()
    return broker


def brokers_in_scope(*, user: User, broker: str | None = None) -> tuple[str, ...]:
    """The brokers a list covers: every one the user may see, or the one a `broker` filter names (404 if
    they may not see it, as for a detail route)."""
    if broker:
        return (broker_visible(user=user, broker=broker),)
    return visible_brokers(user)


def broker_trader(*, user: User, broker: str) -> str:
    """Trader controls (kill switch, pause, resume, flatten): 404 if invisible, 403 for a viewer."""
    broker_visible(user=user, broker=broker)
    if not can_trade(user, broker):
        raise PermissionDenied(f"You are not a trader on {broker}.")
    return broker


def broker_admin(*, user: User, broker: str) -> str:
    """Admin-only changes to a broker (risk limits): 404 if invisible, 403 for anyone but an admin."""
    broker_visible(user=user, broker=broker)
    if not is_admin(user):
        raise PermissionDenied("Only an admin may change this.")
    return broker

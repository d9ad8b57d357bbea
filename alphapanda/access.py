"""Who may see and act on which broker. Staff are admins; everyone else needs a grant per broker."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from alphapanda.models import BrokerGrant

User = AbstractBaseUser | AnonymousUser


def visible_brokers(user: User) -> tuple[str, ...]:
    """The active brokers this user may see, in deployment order."""
    if not user.is_authenticated:
        return ()
    if user.is_staff:
        return settings.ACTIVE_BROKERS
    granted = set(BrokerGrant.objects.filter(user=user).values_list("broker", flat=True))
    return tuple(b for b in settings.ACTIVE_BROKERS if b in granted)


def can_trade(user: User, broker: str) -> bool:
    """Pause and resume strategies, flatten positions, use the kill switch on this broker."""
    if not user.is_authenticated or broker not in settings.ACTIVE_BROKERS:
        return False
    if user.is_staff:
        return True
    return BrokerGrant.objects.filter(user=user, broker=broker, role=BrokerGrant.TRADER).exists()


def is_admin(user: User) -> bool:
    return bool(user.is_authenticated and user.is_staff)

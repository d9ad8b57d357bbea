"""People: the demo login `make run` prints."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model

from alphapanda.models import BrokerGrant

DEMO_USERNAME = "demo"


def demo_user_ensure() -> tuple[str, str]:
    """A staff user trading every active broker, with a fresh random password each run."""
    password = secrets.token_urlsafe(9)
    user, _ = get_user_model().objects.get_or_create(username=DEMO_USERNAME, defaults={"is_staff": True})
    user.is_staff = True
    user.set_password(password)
    user.save()
    for broker in settings.ACTIVE_BROKERS:
        BrokerGrant.objects.update_or_create(user=user, broker=broker, defaults={"role": BrokerGrant.TRADER})
    return DEMO_USERNAME, password

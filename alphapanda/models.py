"""Who may see and act on which broker, and the audit trail of what they did."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from alphapanda.brokers import KNOWN_BROKERS

BROKER_CHOICES = [(b, b) for b in KNOWN_BROKERS]


class BrokerGrant(models.Model):
    """A user's access to one broker. Staff users are admins: every broker, everything."""

    VIEWER = "viewer"  # reads the broker's figures
    TRADER = "trader"  # also pauses and resumes strategies, flattens positions, uses the kill switch
    ROLES = [(VIEWER, "viewer"), (TRADER, "trader")]

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="broker_grants")
    broker = models.CharField(max_length=16, choices=BROKER_CHOICES)
    role = models.CharField(max_length=8, choices=ROLES, default=VIEWER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "broker"], name="grant_user_broker")]
        ordering = ["user__username", "broker"]

    def __str__(self) -> str:
        return f"{self.user} {self.role} on {self.broker}"


class ControlAction(models.Model):
    """Every control a person used: pause, resume, flatten, kill switch. Append-only."""

    at = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    broker = models.CharField(max_length=16, choices=BROKER_CHOICES)
    action = models.CharField(max_length=32)
    target = models.CharField(max_length=128, blank=True)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.user} {self.action} {self.broker} {self.target}"

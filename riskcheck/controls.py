"""The per-broker kill switch: blocks new entries at the risk step; exits still pass."""

from __future__ import annotations

from django.db import transaction

from alphapanda.audit import control_record
from riskcheck.models import KillSwitch


def kill_switch_set(*, broker: str, engaged: bool, reason: str, user) -> KillSwitch:
    with transaction.atomic():
        switch, _ = KillSwitch.objects.select_for_update().get_or_create(broker=broker)
        switch.engaged, switch.reason = engaged, reason
        switch.save()
        control_record(user=user, broker=broker, action="kill_switch_on" if engaged else "kill_switch_off",
                       detail=reason)  # fmt: skip
    return switch


def kill_switch_reason(*, broker: str) -> str | None:
    switch = KillSwitch.objects.filter(broker=broker, engaged=True).first()
    return f"kill switch engaged on {broker}: {switch.reason or 'no reason given'}" if switch else None

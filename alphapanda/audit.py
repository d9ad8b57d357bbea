"""Recording who used a control, and why."""

from __future__ import annotations

import logging

from alphapanda.models import ControlAction

log = logging.getLogger("alphapanda.audit")


def control_record(*, user, broker: str, action: str, target: str = "", detail: str = "") -> ControlAction:
    entry = ControlAction.objects.create(
        user=user if user is not None and user.is_authenticated else None,
        broker=broker,
        action=action,
        target=target,
        detail=detail,
    )
    log.warning("control: %s %s on %s %s %s", entry.user or "system", action, broker, target, detail)
    return entry

"""The per-broker and global kill switches: they block new entries at the risk step; exits still pass."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Subquery, Value
from django.utils import timezone

from alphapanda.audit import control_record
from alphapanda.money import from_paise
from portfolio.services import book_current
from riskcheck import breakers
from riskcheck.models import BreakerTrip, GlobalKillSwitch, KillSwitch, TradingDay

IST = ZoneInfo("Asia/Kolkata")


def _equity_now(broker: str) -> int:
    """The broker's equity as the breakers see it (paise), the read model healed first if Redis lost it."""
    return book_current(broker=broker).equity


def kill_switch_set(*, broker: str, engaged: bool, reason: str, user) -> KillSwitch:
    """Engage or release; a release also releases the broker's unreleased circuit breaker trips (the
    caller checks that this user may: see `breaker_trip_unreleased`) and re-bases the day's breakers at
    the equity now, so they trip again only on a fresh loss from here rather than on the next tick."""
    with transaction.atomic():
        switch, _ = KillSwitch.objects.select_for_update().get_or_create(broker=broker)
        switch.engaged, switch.reason = engaged, reason
        switch.save()
        detail = reason
        trips = BreakerTrip.objects.filter(broker=broker, released_at__isnull=True)
        if not engaged and trips.exists():  # the switch's lock keeps a breaker from tripping meanwhile
            now, equity = timezone.now(), _equity_now(broker)
            released_by = user if user is not None and user.is_authenticated else None
            released = trips.update(released_at=now, released_by=released_by, released_equity=equity)
            _rebase(broker=broker, equity=equity, now=now)
            detail = (
                f"{reason} (released {released} circuit breaker trip{'s' if released > 1 else ''}; "
                f"breakers re-based at equity ₹{from_paise(equity)})"
            )
        control_record(user=user, broker=broker, action="kill_switch_on" if engaged else "kill_switch_off",
                       detail=detail)  # fmt: skip
    return switch


def _rebase(*, broker: str, equity: int, now: datetime) -> None:
    """Today's loss base and peak become the equity at the release (the day opened at it if new)."""
    base = breakers.rebase(equity=equity)
    values = {"released_equity": base.loss_base, "peak_equity": base.peak}
    TradingDay.objects.update_or_create(
        broker=broker,
        day=now.astimezone(IST).date(),
        defaults=values,
        create_defaults={"start_equity": equity, **values},
    )


def breaker_trip_unreleased(*, broker: str) -> bool:
    """A circuit breaker tripped on this broker and no admin has released it yet."""
    return BreakerTrip.objects.filter(broker=broker, released_at__isnull=True).exists()


def global_kill_switch_get() -> GlobalKillSwitch:
    """The global kill switch; one never set is off (and unsaved)."""
    return GlobalKillSwitch.objects.filter(pk=1).first() or GlobalKillSwitch(pk=1)


def global_kill_switch_set(*, engaged: bool, reason: str, user) -> GlobalKillSwitch:
    """Engage or release every broker at once; audited once per active broker."""
    with transaction.atomic():
        switch, _ = GlobalKillSwitch.objects.select_for_update().get_or_create(pk=1)
        switch.engaged, switch.reason = engaged, reason
        switch.save()
        action = "global_kill_switch_on" if engaged else "global_kill_switch_off"
        for broker in settings.ACTIVE_BROKERS:
            control_record(user=user, broker=broker, action=action, detail=reason)
    return switch


def kill_switch_reason(*, broker: str) -> str | None:
    """Why entries are blocked on this broker by a kill switch (the global one first), if they are."""
    # One round trip for both (the risk step asks every batch): scope 0 is the global switch.
    engaged = sorted(
        GlobalKillSwitch.objects.filter(pk=1, engaged=True)
        .annotate(scope=Value(0))
        .values_list("scope", "reason")
        .union(
            KillSwitch.objects.filter(broker=broker, engaged=True)
            .annotate(scope=Value(1))
            .values_list("scope", "reason"),
            all=True,
        )
    )
    reasons = dict(engaged)
    return switch_message(broker, global_reason=reasons.get(0), broker_reason=reasons.get(1))


def switch_reasons(broker: str) -> dict[str, Subquery]:
    """The global and the broker's kill switch reasons (NULL where off), to annotate another query
    with: the risk step reads them with the day's row (`riskcheck.selectors.entry_state`)."""
    return {
        "global_switch": Subquery(GlobalKillSwitch.objects.filter(pk=1, engaged=True).values("reason")),
        "broker_switch": Subquery(KillSwitch.objects.filter(broker=broker, engaged=True).values("reason")),
    }


def switch_message(broker: str, *, global_reason: str | None, broker_reason: str | None) -> str | None:
    """Why a kill switch blocks entries (the global one named first), from the reasons of the engaged
    ones (None: off)."""
    if global_reason is not None:
        return f"global kill switch engaged: {global_reason or 'no reason given'}"
    if broker_reason is not None:
        return f"kill switch engaged on {broker}: {broker_reason or 'no reason given'}"
    return None

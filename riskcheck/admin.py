from django.contrib import admin

from riskcheck.controls import kill_switch_set
from riskcheck.models import BreakerTrip, GlobalKillSwitch, KillSwitch, RiskLimits, SignalDecision, TradingDay


@admin.register(RiskLimits)
class RiskLimitsAdmin(admin.ModelAdmin):
    list_display = (
        "broker", "max_quantity", "max_order_value", "max_position", "max_open_positions",
        "max_daily_trades", "max_price_deviation_pct", "max_daily_loss", "max_drawdown", "square_off_on_trip",
        "updated_at",
    )  # fmt: skip


@admin.register(SignalDecision)
class SignalDecisionAdmin(admin.ModelAdmin):
    list_display = (
        "broker",
        "signal_id",
        "strategy",
        "instrument_token",
        "side",
        "quantity",
        "outcome",
        "rule",
    )
    list_filter = ("broker", "outcome", "rule", "strategy")
    search_fields = ("signal_id", "correlation_id", "reason")
    date_hierarchy = "decided_at"


@admin.register(KillSwitch)
class KillSwitchAdmin(admin.ModelAdmin):
    list_display = ("broker", "engaged", "reason", "changed_at")
    readonly_fields = ("broker", "engaged", "reason", "changed_at")
    actions = ("engage", "release")

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Engage the kill switch (no new entries)")
    def engage(self, request, queryset) -> None:
        for switch in queryset:
            kill_switch_set(broker=switch.broker, engaged=True, reason=f"admin action by {request.user}",
                            user=request.user)  # fmt: skip

    @admin.action(description="Release the kill switch")
    def release(self, request, queryset) -> None:
        for switch in queryset:
            kill_switch_set(broker=switch.broker, engaged=False, reason=f"admin action by {request.user}",
                            user=request.user)  # fmt: skip


@admin.register(TradingDay)
class TradingDayAdmin(admin.ModelAdmin):
    list_display = ("broker", "day", "start_equity", "peak_equity", "released_equity", "squared_off_at")
    list_filter = ("broker",)


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(BreakerTrip)
class BreakerTripAdmin(_ReadOnly):
    """Released through the broker's kill switch (by an admin), so the release is audited; a release
    re-bases the day's breakers at the equity then (`released_equity`)."""

    list_display = (
        "broker",
        "at",
        "kind",
        "equity",
        "cause",
        "released_at",
        "released_by",
        "released_equity",
    )
    list_filter = ("broker", "kind")
    search_fields = ("cause",)
    date_hierarchy = "at"


@admin.register(GlobalKillSwitch)
class GlobalKillSwitchAdmin(_ReadOnly):
    """Set through the API (`/api/v1/kill-switch/`), so every change is audited."""

    list_display = ("engaged", "reason", "changed_at")

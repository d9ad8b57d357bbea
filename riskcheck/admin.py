from django.contrib import admin

from riskcheck.models import RiskLimits, SignalDecision


@admin.register(RiskLimits)
class RiskLimitsAdmin(admin.ModelAdmin):
    list_display = (
        "broker", "max_quantity", "max_order_value", "max_position", "max_open_positions",
        "max_daily_trades", "max_price_deviation_pct", "max_daily_loss", "updated_at",
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

from django.conf import settings
from django.contrib import admin

from trading.controls import strategy_pause, strategy_resume
from trading.models import Fill, Instrument, KiteSession, Order, Strategy


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = ("symbol", "exchange", "segment", "token", "lot_size", "tick_size", "instrument_type")
    list_filter = ("exchange", "segment", "instrument_type")
    search_fields = ("symbol", "name", "token")


@admin.register(Strategy)
class StrategyAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "active", "brokers", "paused_brokers", "updated_at")
    list_filter = ("kind", "active")
    search_fields = ("name",)
    filter_horizontal = ("instruments",)
    actions = ("pause", "resume")

    @admin.action(description="Pause the selected strategies on every active broker")
    def pause(self, request, queryset) -> None:
        for strategy in queryset:
            for broker in set(strategy.brokers) & set(settings.ACTIVE_BROKERS):
                strategy_pause(strategy=strategy, broker=broker, user=request.user)
        self.message_user(request, f"paused {queryset.count()} strategies (audited)")

    @admin.action(description="Resume the selected strategies on every active broker")
    def resume(self, request, queryset) -> None:
        for strategy in queryset:
            for broker in set(strategy.paused_brokers):
                strategy_resume(strategy=strategy, broker=broker, user=request.user)
        self.message_user(request, f"resumed {queryset.count()} strategies (audited)")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = (
        "broker", "order_id", "strategy", "symbol", "side", "quantity", "filled_quantity",
        "order_type", "product", "status", "average_price", "created_at",
    )  # fmt: skip
    list_filter = ("broker", "status", "order_type", "product", "side", "strategy")
    search_fields = ("order_id", "signal_id", "symbol", "correlation_id")
    date_hierarchy = "created_at"


@admin.register(Fill)
class FillAdmin(admin.ModelAdmin):
    list_display = (
        "broker",
        "fill_id",
        "strategy",
        "symbol",
        "side",
        "quantity",
        "price",
        "charges",
        "filled_at",
    )
    list_filter = ("broker", "side", "product", "strategy")
    search_fields = ("fill_id", "symbol", "correlation_id", "order__order_id")
    date_hierarchy = "filled_at"


@admin.register(KiteSession)
class KiteSessionAdmin(admin.ModelAdmin):
    """Sessions without their tokens: a credential is never shown."""

    list_display = (
        "user_id",
        "user_name",
        "login_time",
        "expires_at",
        "invalidated_at",
        "invalidated_reason",
    )
    exclude = ("access_token",)
    readonly_fields = (
        "user_id",
        "user_name",
        "login_time",
        "expires_at",
        "invalidated_at",
        "invalidated_reason",
    )

    def has_add_permission(self, request) -> bool:
        return False

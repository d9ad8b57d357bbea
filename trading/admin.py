from django.contrib import admin

from trading.models import Fill, Instrument, Order, Strategy


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = ("symbol", "exchange", "segment", "token", "lot_size", "tick_size", "instrument_type")
    list_filter = ("exchange", "segment", "instrument_type")
    search_fields = ("symbol", "name", "token")


@admin.register(Strategy)
class StrategyAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "active", "brokers", "updated_at")
    list_filter = ("kind", "active")
    search_fields = ("name",)
    filter_horizontal = ("instruments",)
    actions = ("pause", "resume")

    @admin.action(description="Pause the selected strategies")
    def pause(self, request, queryset) -> None:
        queryset.update(active=False)

    @admin.action(description="Resume the selected strategies")
    def resume(self, request, queryset) -> None:
        queryset.update(active=True)


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

from django.contrib import admin

from portfolio.models import Account, AppliedFill, PnlPoint, Position


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("broker", "starting_cash", "cash", "version", "updated_at")


@admin.register(Position)
class PositionAdmin(admin.ModelAdmin):
    list_display = ("broker", "strategy", "symbol", "quantity", "cost", "realized", "charges", "fills")
    list_filter = ("broker", "strategy")
    search_fields = ("symbol", "strategy")


@admin.register(AppliedFill)
class AppliedFillAdmin(admin.ModelAdmin):
    list_display = ("broker", "fill_id", "strategy", "instrument_token", "applied_at")
    list_filter = ("broker",)
    search_fields = ("fill_id",)


@admin.register(PnlPoint)
class PnlPointAdmin(admin.ModelAdmin):
    list_display = ("broker", "strategy", "at", "equity", "realized", "unrealized", "charges")
    list_filter = ("broker", "strategy")
    date_hierarchy = "at"

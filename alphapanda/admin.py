from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from alphapanda.models import BrokerGrant, ControlAction

User = get_user_model()


class BrokerGrantInline(admin.TabularInline):
    model = BrokerGrant
    extra = 1


admin.site.unregister(User)


@admin.register(User)
class AlphaPandaUserAdmin(UserAdmin):
    inlines = (BrokerGrantInline,)
    list_display = ("username", "email", "is_staff", "is_active", "brokers", "last_login")

    @admin.display(description="brokers")
    def brokers(self, user) -> str:
        return ", ".join(f"{g.broker} ({g.role})" for g in user.broker_grants.all()) or "-"


@admin.register(BrokerGrant)
class BrokerGrantAdmin(admin.ModelAdmin):
    list_display = ("user", "broker", "role")
    list_filter = ("broker", "role")
    search_fields = ("user__username",)


@admin.register(ControlAction)
class ControlActionAdmin(admin.ModelAdmin):
    """The audit trail: read-only."""

    list_display = ("at", "user", "broker", "action", "target", "detail")
    list_filter = ("broker", "action")
    search_fields = ("user__username", "target", "detail")
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

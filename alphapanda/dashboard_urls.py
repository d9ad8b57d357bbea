"""The dashboard and session login."""

urlpatterns: list = []

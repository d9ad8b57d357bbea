"""Liveness and readiness for load balancers and operators."""

from django.urls import path

from alphapanda import health_views

urlpatterns = [
    path("healthz", health_views.healthz, name="healthz"),
    path("readyz", health_views.readyz, name="readyz"),
]

"""Liveness and readiness for load balancers and operators; Prometheus metrics for scrapers."""

from django.urls import path

from alphapanda import health_views

urlpatterns = [
    path("healthz", health_views.healthz, name="healthz"),
    path("readyz", health_views.readyz, name="readyz"),
    path("metrics", health_views.metrics, name="metrics"),
]

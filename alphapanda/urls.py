from django.contrib import admin
from django.urls import include, path

from trading import views as trading_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("alphapanda.api_urls")),
    path("kite/postback", trading_views.kite_postback, name="kite-postback"),
    path("kite/login", trading_views.kite_login_redirect, name="kite-login"),
    path("", include("alphapanda.health_urls")),
    path("", include("alphapanda.dashboard_urls")),
]

from django.contrib import admin
from django.urls import path

from trading import views as trading_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("kite/postback", trading_views.kite_postback, name="kite-postback"),
    path("kite/login", trading_views.kite_login_redirect, name="kite-login"),
]

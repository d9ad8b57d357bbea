"""The dashboard and session login."""

from django.contrib.auth import views as auth_views
from django.urls import path

from alphapanda import dashboard_views

urlpatterns = [
    path("", dashboard_views.dashboard, name="dashboard"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            template_name="registration/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
]

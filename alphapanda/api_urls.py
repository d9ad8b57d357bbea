"""The REST API under /api/v1/ (schema at schema/, Swagger UI at docs/, Redoc at redoc/)."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from alphapanda import apis as core
from portfolio import apis as portfolio
from riskcheck import apis as risk
from trading import apis as trading

urlpatterns = [
    path("auth/token/", core.TokenObtainApi.as_view(), name="api-token"),
    path("auth/token/refresh/", core.TokenRefreshApi.as_view(), name="api-token-refresh"),
    path("auth/logout/", core.LogoutApi.as_view(), name="api-logout"),
    path("brokers/", core.BrokerListApi.as_view(), name="api-broker-list"),
    path("brokers/<str:broker>/", core.BrokerDetailApi.as_view(), name="api-broker-detail"),
    path("brokers/<str:broker>/kill-switch/", risk.KillSwitchApi.as_view(), name="api-kill-switch"),
    path("kill-switch/", risk.GlobalKillSwitchApi.as_view(), name="api-global-kill-switch"),
    path("brokers/<str:broker>/flatten/", trading.FlattenApi.as_view(), name="api-flatten"),
    path("portfolios/", portfolio.PortfolioListApi.as_view(), name="api-portfolio-list"),
    path("portfolios/<str:broker>/", portfolio.PortfolioDetailApi.as_view(), name="api-portfolio-detail"),
    path(
        "portfolios/<str:broker>/strategies/",
        portfolio.PortfolioStrategyListApi.as_view(),
        name="api-portfolio-strategies",
    ),
    path("positions/", portfolio.PositionListApi.as_view(), name="api-position-list"),
    path("pnl/", portfolio.PnlSeriesApi.as_view(), name="api-pnl"),
    path("orders/", trading.OrderListApi.as_view(), name="api-order-list"),
    path("orders/<str:broker>/<str:order_id>/", trading.OrderDetailApi.as_view(), name="api-order-detail"),
    path("fills/", trading.FillListApi.as_view(), name="api-fill-list"),
    path("signals/", risk.SignalListApi.as_view(), name="api-signal-list"),
    path("strategies/", trading.StrategyListApi.as_view(), name="api-strategy-list"),
    path("strategies/<slug:name>/", trading.StrategyDetailApi.as_view(), name="api-strategy-detail"),
    path("strategies/<slug:name>/pause/", trading.StrategyPauseApi.as_view(), name="api-strategy-pause"),
    path("strategies/<slug:name>/resume/", trading.StrategyResumeApi.as_view(), name="api-strategy-resume"),
    path("risk-limits/", risk.RiskLimitsListApi.as_view(), name="api-risk-limits-list"),
    path("risk-limits/<str:broker>/", risk.RiskLimitsDetailApi.as_view(), name="api-risk-limits-detail"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    # Anything else under /api/v1/ is a JSON 404 like every other API error (paths without a trailing
    # slash still get CommonMiddleware's redirect first).
    re_path(r"^(?:.*/)?$", core.not_found),
]

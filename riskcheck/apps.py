from django.apps import AppConfig


class RiskcheckConfig(AppConfig):
    name = "riskcheck"
    default_auto_field = "django.db.models.BigAutoField"

from django.conf import settings
from django.core.management.base import BaseCommand

from portfolio.services import account_ensure
from riskcheck.models import KillSwitch, RiskLimits
from trading.instruments import load_csv
from trading.setup import demo_strategies_ensure, instruments_upsert

# Tight enough that the demo shows the risk step at work (rejections), loose enough to trade, and
# with a daily trade cap that a demo left running for hours does not reach.
DEMO_LIMITS = {"max_open_positions": 8, "max_position": 20, "max_daily_trades": 1_000_000}


class Command(BaseCommand):
    help = "Load the shipped instruments and create demo strategies, risk limits and accounts (idempotent)."

    def handle(self, *args, **options) -> None:
        created, updated = instruments_upsert(load_csv())
        made = demo_strategies_ensure()
        for broker in settings.ACTIVE_BROKERS:
            RiskLimits.objects.get_or_create(broker=broker, defaults=DEMO_LIMITS)
            KillSwitch.objects.get_or_create(broker=broker)
            account_ensure(broker=broker)
        self.stdout.write(
            self.style.SUCCESS(
                f"instruments: {created} created, {updated} updated; "
                f"strategies created: {', '.join(made) or 'none (already there)'}; "
                f"limits and accounts for: {', '.join(settings.ACTIVE_BROKERS)}"
            )
        )

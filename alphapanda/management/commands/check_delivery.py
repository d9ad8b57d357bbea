from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from alphapanda.brokers import KNOWN_BROKERS
from alphapanda.delivery_report import delivery_report
from alphapanda.delivery_table import render


class Command(BaseCommand):
    help = (
        "Check each stage's effects against its input log (lost, duplicated, out of order) and the "
        "ledger and Redis portfolio against the fills log. Run it when the pipeline is quiet; exits 1 "
        "on any difference."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--broker", choices=KNOWN_BROKERS, action="append", help="default: all active")

    def handle(self, *args, broker: list[str] | None, **options) -> None:
        brokers = broker or list(settings.ACTIVE_BROKERS)
        inactive = [b for b in brokers if b not in settings.ACTIVE_BROKERS]
        if inactive:
            raise CommandError(f"not in ACTIVE_BROKERS ({','.join(settings.ACTIVE_BROKERS)}): {inactive}")
        reports = [delivery_report(broker=b) for b in brokers]
        self.stdout.write(render(reports))
        if not all(r.ok for r in reports):
            raise CommandError("the ledger does not match the log (see above)")
        self.stdout.write(
            self.style.SUCCESS("every stage matches its log: nothing lost, doubled or reordered")
        )

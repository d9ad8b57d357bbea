import sys

from django.core.management.base import BaseCommand, CommandError
from kiteconnect import exceptions

from trading.kite import session as kite_session
from trading.kite.publish import publish
from trading.kite.reconcile import reconcile


class Command(BaseCommand):
    help = "Compare Kite's orders, trades and positions with the ledger and Redis; exit 1 on differences."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--broker", required=True, choices=["zerodha"])
        parser.add_argument("--repair", action="store_true", help="record Kite's trades the ledger misses")

    def handle(self, *args, broker: str, repair: bool, **options) -> None:
        try:
            diffs, repairs = reconcile(kite_session.client(), repair=repair)
        except kite_session.NoSession as exc:
            raise CommandError(exc.message) from exc
        except exceptions.KiteException as exc:
            raise CommandError(f"Kite refused a request: {exc}") from exc
        for d in diffs:
            self.stdout.write(f"{d.kind.upper():<9} {d.key:<28} {d.detail}")
        if repair:
            publish(repairs)
            self.stdout.write(f"repaired: {len(repairs)} events recorded and published from Kite's trades")
        if not diffs:
            self.stdout.write(self.style.SUCCESS("no differences: Kite, the ledger and Redis agree"))
            return
        self.stdout.write(self.style.WARNING(f"{len(diffs)} differences"))
        sys.exit(1)

from django.core.management.base import BaseCommand, CommandError
from kiteconnect import exceptions

from trading.kite import session as kite_session
from trading.kite.instruments import from_kite
from trading.setup import instruments_upsert


class Command(BaseCommand):
    help = "Load Kite's instruments dump (all exchanges, or --exchange NSE ...) into the database."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--exchange", action="append", help="NSE, BSE, NFO, ... (repeatable; default all)"
        )

    def handle(self, *args, exchange: list[str] | None, **options) -> None:
        try:
            client = kite_session.client()
            rows = (
                [r for ex in exchange for r in client.instruments(ex)] if exchange else client.instruments()
            )
        except kite_session.NoSession as exc:
            raise CommandError(exc.message) from exc
        except exceptions.KiteException as exc:
            raise CommandError(f"Kite refused the instruments request: {exc}") from exc
        self.stdout.write(f"{len(rows)} instruments received; writing ...")
        created, updated = instruments_upsert(from_kite(rows))
        self.stdout.write(self.style.SUCCESS(f"{created} instruments created, {updated} updated"))

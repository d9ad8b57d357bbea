from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from trading.instruments import SHIPPED_INSTRUMENTS, load_csv
from trading.setup import instruments_upsert


class Command(BaseCommand):
    help = "Load instruments from a Kite-format instruments CSV (default: the shipped NSE file)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--file", type=Path, default=SHIPPED_INSTRUMENTS)

    def handle(self, *args, file: Path, **options) -> None:
        if not file.exists():
            raise CommandError(f"no such file: {file}")
        try:
            instruments = load_csv(file)
        except (KeyError, ValueError) as exc:
            raise CommandError(f"{file}: not a Kite instruments CSV ({exc})") from exc
        created, updated = instruments_upsert(instruments)
        self.stdout.write(self.style.SUCCESS(f"{created} instruments created, {updated} updated from {file}"))

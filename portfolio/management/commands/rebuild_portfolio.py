from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from alphapanda import topics
from alphapanda.brokers import KNOWN_BROKERS
from alphapanda.log_reader import read_all
from alphapanda.money import from_paise
from portfolio import read_model
from portfolio.services import rebuild


class Command(BaseCommand):
    help = "Rebuild a broker's positions, cash and Redis read model from its <broker>.orders.filled log."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--broker", required=True, choices=KNOWN_BROKERS)

    def handle(self, *args, broker: str, **options) -> None:
        if broker not in settings.ACTIVE_BROKERS:
            raise CommandError(
                f"broker {broker} is not in ACTIVE_BROKERS ({','.join(settings.ACTIVE_BROKERS)})"
            )
        before = read_model.snapshot(broker)["summary"]
        topic = topics.broker_topic(broker, topics.ORDERS_FILLED)
        fills, positions = rebuild(broker=broker, fills=(m.payload for m in read_all(topic)))
        after = read_model.snapshot(broker)["summary"]
        self.stdout.write(f"rebuilt {broker} from {fills} fills in {topic}: {positions} positions")
        for name in ("cash", "realized", "unrealized", "charges", "equity", "open_positions"):
            old, new = getattr(before, name), getattr(after, name)
            show = (lambda v: v) if name == "open_positions" else from_paise
            mark = "" if old == new else "   <- differs from before the rebuild"
            self.stdout.write(f"  {name:<15} {show(new)!s:>18}{mark}")
        if before == after:
            self.stdout.write(self.style.SUCCESS("the rebuilt portfolio equals the live one"))
        else:
            self.stdout.write(self.style.WARNING("the live portfolio differed; it now matches the fills log"))

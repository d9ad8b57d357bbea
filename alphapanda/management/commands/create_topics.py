from django.conf import settings
from django.core.management.base import BaseCommand

from alphapanda import kafka, topics


class Command(BaseCommand):
    help = "Create every topic (and its DLQ) the active brokers use. Safe to run again."

    def handle(self, *args, **options) -> None:
        created, existing = kafka.create_topics(topics.all_topics(settings.ACTIVE_BROKERS))
        for name in created:
            self.stdout.write(f"created {name}")
        self.stdout.write(
            self.style.SUCCESS(f"{len(created)} topics created, {len(existing)} already present")
        )

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from registry.feed import feed_prune


class Command(BaseCommand):
    help = (
        "Delete change-feed entries committed more than --days ago (default 400). "
        "Clients behind that point get cursor_expired and must take a new export."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=400)

    def handle(self, *args, days, **options):
        if days < 1:
            raise CommandError("--days must be at least 1")
        deleted = feed_prune(before=timezone.now() - timedelta(days=days))
        self.stdout.write(f"{deleted} changes older than {days} days deleted")

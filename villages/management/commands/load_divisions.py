from django.core.management.base import BaseCommand

from villages.reference import load_reference_divisions


class Command(BaseCommand):
    help = "Load the reference division tree (湖南省, 山东省 to county level); idempotent."

    def handle(self, *args, **options):
        counts = load_reference_divisions()
        self.stdout.write(
            f"divisions: {counts['created']} created, {counts['renamed']} renamed, {counts['total']} in all"
        )

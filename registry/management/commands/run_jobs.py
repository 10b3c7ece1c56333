import time

from django.core.management.base import BaseCommand

from registry.jobs import run_queued_jobs


class Command(BaseCommand):
    help = (
        "Run queued background jobs (imports, exports, checks) and clear the files of jobs past "
        "REGISTRY_JOB_OUTPUT_DAYS; with --loop, keep polling."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep running, polling every few seconds.")
        parser.add_argument("--interval", type=float, default=3.0)

    def handle(self, *args, loop=False, interval=3.0, **options):
        # The apps register their runners when Django starts (households, quality).
        while True:
            ran = run_queued_jobs()
            if ran:
                self.stdout.write(f"ran {ran} job(s)")
            if not loop:
                return
            time.sleep(interval)

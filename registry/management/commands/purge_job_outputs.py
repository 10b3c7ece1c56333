from django.core.management.base import BaseCommand

from registry.jobs import job_purge_outputs


class Command(BaseCommand):
    help = (
        "Clear the files (exports, reports) of background jobs that ended more than "
        "REGISTRY_JOB_OUTPUT_DAYS days ago. Run daily when jobs run in the web process."
    )

    def handle(self, *args, **options):
        cleared = job_purge_outputs()
        self.stdout.write(f"cleared {cleared} job file(s)")

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from households.imports import household_import
from registry.errors import ApplicationError
from registry.models import User


class Command(BaseCommand):
    help = "Import household applications from an XLSX or CSV file, all or nothing (see the template)."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--user", help="Import as this user (jurisdiction and audit); default: the system.")
        parser.add_argument("--dry-run", action="store_true", help="Check the file and report; write nothing.")

    def handle(self, *args, path, user=None, dry_run=False, **options):
        actor = User.objects.get(username=user) if user else None
        data = Path(path).read_bytes()

        def progress(done, total=None, message="", force=False):
            if force or (total and done == total):
                self.stderr.write(f"{message} {done}/{total or '?'}")

        try:
            report = household_import(actor=actor, data=data, filename=path, dry_run=dry_run, progress=progress)
        except ApplicationError as error:
            for line in error.fields.get("rows", []):
                self.stderr.write(line)
            raise CommandError(str(error)) from error
        verb = "would import" if dry_run else "imported"
        self.stdout.write(f"{verb} {report.households} households, {report.members} members")

from django.core.management.base import BaseCommand

from registry.demo import DEMO_USERS, load_demo


class Command(BaseCommand):
    help = "Load the demo data from the seed documents (idempotent) and list the demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--password", help="Password of every demo user (default: REGISTRY_DEMO_PASSWORD).")
        parser.add_argument("--quiet", action="store_true", help="Do not list the demo logins.")

    def handle(self, *args, password=None, quiet=False, **options):
        from django.conf import settings

        counts = load_demo(password=password)
        self.stdout.write(f"demo data loaded: {counts['users_created']} users created")
        if quiet:
            return
        self.stdout.write("demo logins (password: %s):" % (password or settings.REGISTRY_DEMO_PASSWORD))
        for username, role, _code, name in DEMO_USERS:
            self.stdout.write(f"  {username:<22} {role.label}  {name}")

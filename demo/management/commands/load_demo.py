from django.core.management.base import BaseCommand

from demo.loader import DEMO_USERS, load_demo


class Command(BaseCommand):
    help = "Load the demo data from the seed documents (idempotent) and list the demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--password", help="Password of every demo user (default: REGISTRY_DEMO_PASSWORD).")
        parser.add_argument("--quiet", action="store_true", help="Do not list the demo logins.")
        parser.add_argument(
            "--no-households",
            action="store_true",
            help="Leave out the demo registry (households, exits, measures, assessments, plans).",
        )

    def handle(self, *args, password=None, quiet=False, no_households=False, **options):
        from django.conf import settings

        counts = load_demo(password=password, households=not no_households)
        self.stdout.write(f"demo data loaded: {counts['users_created']} users created")
        if not no_households:
            self.stdout.write(
                "demo registry: {households} households ({persons} persons), {exit_cases} exit cases, "
                "{assessments} assessments, {measures} help measures, {plans} plans created".format(**counts)
            )
        if quiet:
            return
        self.stdout.write("demo logins (password: %s):" % (password or settings.REGISTRY_DEMO_PASSWORD))
        for username, role, _code, name in DEMO_USERS:
            self.stdout.write(f"  {username:<22} {role.label}  {name}")

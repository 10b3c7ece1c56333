from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from registry.errors import ApplicationError
from registry.roles import Role
from registry.tokens import api_client_create, api_token_create
from villages.models import Division


class Command(BaseCommand):
    help = (
        "Issue an API token for a machine client bound to a division and print it once. "
        "The client account is created on first use. Read-only and masked unless --write / --pii."
    )

    def add_arguments(self, parser):
        parser.add_argument("--client", required=True, help="Name of the client system (its account's username).")
        parser.add_argument("--division", required=True, help="12-digit code of the token's jurisdiction.")
        parser.add_argument("--pii", action="store_true", help="Unmask ID and phone numbers (logged on each use).")
        parser.add_argument("--write", action="store_true", help="Allow writes, within what --role may do.")
        parser.add_argument(
            "--role",
            default=Role.API_CLIENT,
            choices=[r for r in Role.values if r != Role.ADMIN],
            help="Role of a new client account (default: api_client, which reads only).",
        )
        parser.add_argument("--name", help="Label of the token (default: the client name).")
        parser.add_argument("--expires-days", type=int, help="Days until the token expires (default: never).")

    def handle(self, *args, client, division, pii, write, role, name, expires_days, **options):
        found = Division.objects.filter(code=division).first()
        if found is None:
            raise CommandError(f"no division with code {division!r}")
        if expires_days is not None and expires_days <= 0:
            raise CommandError("--expires-days must be a positive number of days")
        expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
        try:
            user = api_client_create(actor=None, name=client, division=found, role=role)
            token, key = api_token_create(
                actor=None,
                user=user,
                name=name or client,
                division=found,
                can_write=write,
                can_see_pii=pii,
                expires_at=expires_at,
            )
        except ApplicationError as error:
            raise CommandError(str(error.message)) from error
        scope = ", ".join(filter(None, ["read", "write" if write else "", "pii" if pii else ""]))
        self.stderr.write(f"token {token.prefix} for {user.username} on {found.code} {found.name} ({scope})")
        self.stderr.write("store it now: it is shown only this once")
        self.stdout.write(key)

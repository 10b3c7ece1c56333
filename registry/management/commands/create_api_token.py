from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from registry.errors import ApplicationError
from registry.models import division_model
from registry.roles import Role
from registry.tokens import api_client_create, api_token_create

#: Lengths of a division code's prefixes: province, prefecture, county (GB/T 2260), township, village.
PREFIX_LENGTHS = (2, 4, 6, 9, 12)


def division_for(code: str):
    """Return the division of a 12-digit code, or of a shorter prefix padded with zeros (430000 → 430000000000).

    A prefix names one division only: the one whose code it starts, zeros after it.
    """
    code = code.strip()
    if not (code.isdigit() and len(code) in PREFIX_LENGTHS):
        raise CommandError(
            f"{code!r} is not a division code: give the 12-digit statistical division code (e.g. 431129000000), "
            "or its 2-, 4-, 6- or 9-digit prefix (e.g. 431129)"
        )
    found = division_model().objects.filter(code=code.ljust(12, "0")).first()
    if found is None:
        padded = "" if len(code) == 12 else f" (read as {code.ljust(12, '0')})"
        raise CommandError(f"no division with code {code!r}{padded}: give the 12-digit code of an existing division")
    return found


class Command(BaseCommand):
    help = (
        "Issue an API token for a machine client bound to a division and print it once. "
        "The client account is created on first use. Read-only and masked unless --write / --pii."
    )

    def add_arguments(self, parser):
        parser.add_argument("--client", required=True, help="Name of the client system (its account's username).")
        parser.add_argument(
            "--division",
            required=True,
            help="Code of the token's jurisdiction: 12 digits, or a 2-, 4-, 6- or 9-digit prefix (430000, 431129).",
        )
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
        found = division_for(division)
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

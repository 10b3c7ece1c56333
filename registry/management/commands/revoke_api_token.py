from django.core.management.base import BaseCommand, CommandError

from registry.errors import ApplicationError
from registry.models import ApiToken
from registry.tokens import api_token_revoke


class Command(BaseCommand):
    help = "Revoke an API token, named by its prefix (the part before the dot)."

    def add_arguments(self, parser):
        parser.add_argument("prefix")

    def handle(self, *args, prefix, **options):
        token = ApiToken.objects.filter(prefix=prefix.partition(".")[0]).first()
        if token is None:
            raise CommandError(f"no token with prefix {prefix!r}")
        try:
            api_token_revoke(actor=None, token=token)
        except ApplicationError as error:
            raise CommandError(str(error.message)) from error
        self.stdout.write(f"revoked {token}")

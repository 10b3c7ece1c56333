from django.core.management.base import BaseCommand

from registry.audit_chain import verify_chain


class Command(BaseCommand):
    help = (
        "Recompute the audit log's hash chain and name the first row that was changed, deleted "
        "or inserted behind the application's back. Exits 1 when the chain is broken."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default", help="Database alias (default: default).")

    def handle(self, *args, database, **options):
        verdict = verify_chain(database)
        if verdict.intact:
            self.stdout.write(f"audit chain intact: {verdict.rows} rows, head at position {verdict.head_position}")
            return
        found = verdict.first_break
        where = f"row id={found.entry_id}" if found.entry_id is not None else "end of chain"
        self.stderr.write(f"audit chain BROKEN at {where} (position {found.position}): {found.reason}")
        raise SystemExit(1)

"""``manage.py run_quality_checks [--division CODE]``: the nightly (or on-demand) data-quality run."""

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from quality.choices import FindingStatus
from quality.services import findings_in, quality_run
from villages.models import Division


class Command(BaseCommand):
    help = "Run the data-quality rules over a division (or the whole registry) and print the counts per rule."

    def add_arguments(self, parser):
        parser.add_argument("--division", help="12-digit division code; the whole registry when left out")

    def handle(self, *args, division=None, **options):
        target = None
        if division:
            target = Division.objects.filter(pk=division).first()
            if target is None:
                raise CommandError(f"no division {division}")
        run = quality_run(actor=None, division=target)
        rows = (
            findings_in(target.prefix if target else "")
            .filter(status=FindingStatus.OPEN)
            .order_by()
            .values("rule")
            .annotate(n=Count("pk"))
        )
        still_open = {row["rule"]: row["n"] for row in rows}
        self.stdout.write(f"{'rule':32} {'found':>6} {'opened':>6} {'reopened':>8} {'fixed':>6} {'open':>6}")
        for code, c in run.counts.items():
            self.stdout.write(
                f"{code:32} {c['found']:6} {c['opened']:6} {c['reopened']:8} {c['fixed']:6} {still_open.get(code, 0):6}"
            )
        total = sum(c["found"] for c in run.counts.values())
        self.stdout.write(f"run {run.pk} over {run.scope_code or 'the whole registry'}: {total} defects found")

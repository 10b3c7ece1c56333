"""``manage.py evaluate_eligibility --division CODE --year Y``: judge a division's households by the exit rules."""

from django.core.management.base import BaseCommand, CommandError

from assessments.selectors import eligibility_summary, eligibility_sweep
from villages.models import Division


class Command(BaseCommand):
    help = (
        "Judge every household of a division with an assessment for the year by the exit rules "
        "(一收入两不愁三保障) and print how many pass, fail (per rule) or cannot be judged."
    )

    def add_arguments(self, parser):
        parser.add_argument("--division", required=True, help="12-digit division code (a county, township, village)")
        parser.add_argument("--year", required=True, type=int)
        parser.add_argument("--failing", action="store_true", help="also list each failing household and its rules")

    def handle(self, *args, division, year, failing=False, **options):
        target = Division.objects.filter(pk=division).first()
        if target is None:
            raise CommandError(f"no division {division}")
        rows = eligibility_sweep(division=target, year=year)
        if failing:
            rows = self._listing(rows)
        summary = eligibility_summary(rows, division=target, year=year)
        self.stdout.write(
            f"{target.code} {target.name} {year}: assessed {summary.assessed}, passed {summary.passed}, "
            f"failed {summary.failed}, unjudged {summary.unjudged}"
        )
        for rule, count in sorted(summary.failures_by_rule.items(), key=lambda item: -item[1]):
            self.stdout.write(f"  {rule:12} {count:8}")

    def _listing(self, rows):
        for row in rows:
            if row.passed is False:
                self.stdout.write(f"{row.registry_number} {row.status} {','.join(row.failed_rules)}")
            yield row

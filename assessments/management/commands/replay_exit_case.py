from django.core.management.base import BaseCommand, CommandError

from assessments.eligibility import evaluate
from assessments.models import ExitCase


class Command(BaseCommand):
    help = "Re-evaluate a stored exit case from its snapshot and report any difference from the stored result."

    def add_arguments(self, parser):
        parser.add_argument("case_id", type=int)

    def handle(self, *args, case_id, **options):
        case = ExitCase.objects.filter(pk=case_id).first()
        if case is None:
            raise CommandError(f"exit case {case_id} does not exist")
        replayed = [r.as_dict() for r in evaluate(case.snapshot, case.rule_set_version)]
        stored = {r["rule"]: r for r in case.rule_results}
        differences = []
        for result in replayed:
            before = stored.pop(result["rule"], None)
            if before is None:
                differences.append(f"{result['rule']}: not in the stored result")
            elif (before["passed"], before["values"]) != (result["passed"], result["values"]):
                differences.append(
                    f"{result['rule']}: stored passed={before['passed']} values={before['values']}, "
                    f"replayed passed={result['passed']} values={result['values']}"
                )
        differences += [f"{rule}: stored but not in rule set {case.rule_set_version}" for rule in stored]
        self.stdout.write(
            f"exit case {case.pk} ({case.household.registry_number}, {case.year}), rule set {case.rule_set_version}"
        )
        for result in replayed:
            mark = "PASS" if result["passed"] else "FAIL"
            self.stdout.write(f"  {mark} {result['label']}: {result['explanation']}")
        if differences:
            for line in differences:
                self.stderr.write(f"DIFFERENCE {line}")
            raise CommandError(f"{len(differences)} difference(s) between the stored decision and its replay")
        self.stdout.write("replay matches the stored decision")

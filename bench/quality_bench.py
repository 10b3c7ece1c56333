"""The data-quality run over the province and the eligibility sweep of its largest county.

``measure()`` runs inside a set-up Django whose database holds a generated registry
(``manage.py generate_registry``). Figures:

- ``quality.run_s``: one full run of every rule over the whole registry through
  :func:`quality.services.quality_run` (the nightly run's path: the rules' queries, the
  reconciliation of findings, the run's record); target 60 s. The raw bound is a plain
  sequential scan of the member and household tables (``count(*)`` with index scans
  off), measured in the same run. The run writes its run and findings to the database.
- ``quality.rule.<code>_s``: each rule's share of that run (its query and reconciliation);
  for the rule judged in Python, which overlaps the others, the wait for it, and
  ``quality.rule.<code>.alone_s`` its time on its own.
- ``eligibility.county_s`` and ``eligibility.households_per_s``: every household of the
  county with the most households judged by the exit rules for the latest assessed year
  (:func:`assessments.selectors.eligibility_sweep`); target 15 s. The raw bound reads the
  same rows, chunk by chunk, without building snapshots or judging them
  (:func:`assessments.eligibility.snapshot_sources`).
"""

from __future__ import annotations

import time
from itertools import pairwise

from django.db import connection, transaction
from django.db.models import Count, Max
from django.utils import timezone

from bench.figures import Figure, timed

RUN_TARGET_S = 60.0
COUNTY_TARGET_S = 15.0


def _raw_scan() -> float:
    """Return the seconds of a sequential scan of the member and household tables."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_indexonlyscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        start = time.perf_counter()
        cursor.execute("SELECT count(*) FROM households_member")
        cursor.execute("SELECT count(*) FROM households_household")
        return time.perf_counter() - start


def measure_quality_run() -> list[Figure]:
    from quality.models import Finding
    from quality.rules import RULES, Context
    from quality.services import quality_run

    findings_before = Finding.objects.count()
    raw = _raw_scan()
    marks: list[tuple[float, str]] = []
    by_title = {str(rule.title): code for code, rule in RULES.items()}

    def progress(done, total, title="", **kwargs):  # called as each rule starts, and once at the end
        marks.append((time.perf_counter(), by_title.get(title, "")))

    elapsed, run = timed(quality_run, actor=None, progress=progress)
    codes = list(run.counts)
    figures = [
        Figure(
            "quality.run_s", round(elapsed, 2), "s", raw=round(raw, 3),
            raw_label="seq scan count(*) households_member + households_household",
            target=RUN_TARGET_S,
            note=f"{len(codes)} rules, {sum(c['found'] for c in run.counts.values())} defects found, "
            f"{findings_before} findings before the run",
        )
    ]  # fmt: skip
    for (start, code), (end, _next) in pairwise(marks):
        if code:
            figures.append(
                Figure(f"quality.rule.{code}_s", round(end - start, 3), "s", note=f"{run.counts[code]['found']} found")
            )
    # The rules that walk households overlap the others in a run, so their share of it is
    # only the wait for them: time them once more on their own.
    context = Context(prefix="", today=timezone.localdate())
    for code, rule in RULES.items():
        if rule.walks:
            alone, found = timed(lambda rule=rule: sum(1 for _hit in rule.find(context)))
            figures.append(Figure(f"quality.rule.{code}.alone_s", round(alone, 2), "s", note=f"{found} found"))
    return figures


def largest_county() -> tuple[str, int]:
    """Return the county code with the most households and the latest year assessed there."""
    from assessments.models import Assessment
    from households.models import Household

    county = (
        Household.objects.order_by().values("county_code").annotate(n=Count("pk")).order_by("-n").first()["county_code"]
    )
    year = Assessment.objects.filter(county_code=county).aggregate(year=Max("year"))["year"]
    return county, year


def measure_county_sweep() -> list[Figure]:
    from assessments.eligibility import snapshot_sources
    from assessments.models import Assessment
    from assessments.selectors import eligibility_summary, eligibility_sweep
    from villages.models import Division

    code, year = largest_county()
    county = Division.objects.get(pk=code.ljust(12, "0"))
    queryset = Assessment.objects.filter(year=year, county_code=code)
    raw, _ = timed(lambda: sum(len(chunk) for chunk, _m, _e in snapshot_sources(queryset)))
    elapsed, summary = timed(
        lambda: eligibility_summary(eligibility_sweep(division=county, year=year), division=county, year=year)
    )
    note = f"{county.code} {year}: {summary.assessed} households, {summary.passed} pass, {summary.failed} fail"
    return [
        Figure(
            "eligibility.county_s", round(elapsed, 2), "s", raw=round(raw, 2),
            raw_label="read the same assessment, member and event rows (no snapshot, no rules)",
            target=COUNTY_TARGET_S, note=note,
        ),
        Figure(
            "eligibility.households_per_s", round(summary.assessed / elapsed), "households/s",
            raw=round(summary.assessed / raw) if raw else None, raw_label="rows read per s",
            target=round(summary.assessed / COUNTY_TARGET_S), higher_is_better=True,
        ),
    ]  # fmt: skip


def measure(**kwargs) -> list[Figure]:
    """Return the figures of the county sweep and of one full quality run (in that order)."""
    return measure_county_sweep() + measure_quality_run()


if __name__ == "__main__":  # python -m bench.quality_bench, with DATABASE_URL set
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")
    django.setup()
    for figure in measure():
        print(f"{figure.name:48} {figure.value:>10} {figure.unit:14} raw {figure.raw} {figure.verdict} {figure.note}")

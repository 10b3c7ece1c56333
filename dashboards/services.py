"""Writes of the dashboards app: asking for a standard report (统计报表)."""

from __future__ import annotations

from django.db import transaction

from dashboards import reports
from dashboards.jobs import JOB_KIND
from households.models import Household
from households.privacy import pii_export_record
from registry.jobs import UNMASKED, job_create
from registry.models import Job
from registry.scoping import scope_queryset
from villages.models import Division


@transaction.atomic
def report_request(*, actor, division: Division, report_code: str, year: int, unmask: bool, reason: str = "") -> Job:
    """Queue report ``report_code`` of ``division`` (already fetched in ``actor``'s scope) as a job.

    Full ID and phone numbers are asked for only where the report holds them; the
    disclosure is then checked (``VIEW_PII``, a reason) and logged before the job exists,
    and a refusal queues nothing.
    """
    from dashboards.selectors import area_q

    chosen = reports.REPORTS[report_code]
    unmask = unmask and chosen.personal
    if unmask:
        pii_export_record(
            actor=actor,
            households=scope_queryset(Household.objects.filter(area_q(division)), actor),
            filters={"report": chosen.code, "within": division.code, "year": year},
            reason=reason,
        )
    return job_create(
        actor=actor,
        kind=JOB_KIND,
        params={"report": chosen.code, "division": division.code, "year": year, UNMASKED: unmask},
        file_name=reports.file_name(chosen.code, division, year),
    )

"""Report generation as a background job (kind ``report``): progress, and a file to come back for."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from registry.jobs import UNMASKED, job_store_output, runner
from villages.selectors import division_get_for_user

JOB_KIND = "report"


@runner(JOB_KIND, label=_("统计报表"), template="dashboards/_report_job.html")
def run_report(job, progress) -> dict:
    """Build the report the job's creator asked for, within the creator's jurisdiction today."""
    from dashboards.reports import REPORTS, XLSX, build_report, file_name, may_report

    params = job.params
    division = division_get_for_user(user=job.created_by, code=params["division"])
    code, year = params["report"], int(params["year"])
    if not may_report(division, code):
        raise ValueError(f"report {code} is not made at the {division.level} level")
    data = build_report(
        user=job.created_by,
        report_code=code,
        division=division,
        year=year,
        unmask=bool(params.get(UNMASKED)),
        progress=progress,
    )
    name = file_name(code, division, year)
    job_store_output(job, data=data, file_name=name, content_type=XLSX)
    return {
        "report": str(REPORTS[code].title),
        "division": division.code,
        "division_name": division.name,
        "year": year,
        "unmasked": bool(params.get(UNMASKED)),
    }

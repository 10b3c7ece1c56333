"""The background job that runs the checks for a division from the page, with progress."""

from django.utils.translation import gettext_lazy as _

from quality.services import quality_run
from registry.jobs import runner
from villages.models import Division

JOB_KIND = "quality_run"


@runner(JOB_KIND, label=_("数据质量核查"), page="quality:job")
def run_quality_job(job, progress) -> dict:
    """Run every rule over the job's division as the person who asked; return the run's counts."""
    division = Division.objects.get(pk=job.params["division"])
    run = quality_run(actor=job.created_by, division=division, progress=progress)
    return {"run": run.pk, "division": division.code, "counts": run.counts}

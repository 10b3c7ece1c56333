"""Pages of background jobs (后台任务): 我的任务, one job's progress and result, its file."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _

from registry.jobs import job_get_for_user, job_kind, job_list_for_user, job_output_download_record, job_url
from registry.models import Job

PAGE_SIZE = 20
OUTPUT_EXPIRED = _("该文件已过保存期限并已删除，请重新发起。")


@login_required
def job_list(request):
    """List the jobs the user started, of every kind, newest first (我的任务)."""
    page = Paginator(job_list_for_user(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"job": job, "kind": job_kind(job.kind), "url": job_url(job)} for job in page]
    context = {
        "page": page,
        "rows": rows,
        "any_unfinished": any(not row["job"].finished for row in rows),
        "output_days": settings.REGISTRY_JOB_OUTPUT_DAYS,
    }
    return render(request, "jobs/list.html", context)


@login_required
def job_detail(request, job_id):
    """Show any job: its progress (refreshing itself while it runs), message, error, result and file."""
    job = job_get_for_user(user=request.user, job_id=job_id)
    kind = job_kind(job.kind)
    own_page = reverse(kind.page, kwargs={"job_id": job.pk}) if kind.page else ""
    return render(request, "jobs/detail.html", {"job": job, "kind": kind, "own_page": own_page})


@login_required
def job_download(request, job_id):
    """Send the job's file to its creator (or a superuser), never cached; a file with full numbers is audited."""
    job = job_get_for_user(user=request.user, job_id=job_id)
    if job.status != Job.Status.SUCCEEDED or not job.output_name:
        raise Http404
    data = None if job.output_expired else job.output
    if data is None:
        messages.info(request, OUTPUT_EXPIRED)
        return redirect("jobs:detail", job_id=job.pk)
    job_output_download_record(actor=request.user, job=job)
    response = HttpResponse(bytes(data), content_type=job.output_type or "application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=job.output_name)
    add_never_cache_headers(response)
    return response

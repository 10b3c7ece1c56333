"""Pages for bulk import (with a dry run and progress) and export of households."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from households import exports
from households.imports import IMPORT_ROLES, template_rows
from households.privacy import PII_NOT_ALLOWED, loggable_filters, mask_id, may_reveal, pii_export_record
from households.selectors import household_list
from households.views import list_filters
from registry.errors import ApplicationError
from registry.jobs import job_create, job_get_for_user, job_list_for_user, job_url
from registry.tabular import write_csv
from registry.views import forbidden

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
XLSX = exports.XLSX
IMPORT_JOB = "household_import"
EXPORT_XLSX_IS_A_JOB = _("Excel 文件在后台生成：请点击列表上方的“导出 Excel”按钮。")


class ImportForm(forms.Form):
    file = forms.FileField(label=_("文件（XLSX 或 CSV）"))
    dry_run = forms.BooleanField(label=_("只检查，不导入（试导入）"), required=False, initial=True)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".xlsx")):
            raise forms.ValidationError(_("请上传 .xlsx 或 .csv 文件。"))
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("文件不能超过 50 MB。"))
        return upload


def _may_import(user) -> bool:
    return user.is_superuser or user.role in IMPORT_ROLES


@login_required
def import_start(request):
    """Upload a file: a dry run reports every bad row; the real import is all or nothing."""
    if not _may_import(request.user):
        return forbidden(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        dry_run = form.cleaned_data["dry_run"]
        job = job_create(
            actor=request.user,
            kind=IMPORT_JOB,
            params={"dry_run": dry_run, "keep_payload": dry_run},
            payload=upload.read(),
            file_name=upload.name,
        )
        return redirect("household_transfer:job", job_id=job.pk)
    jobs = job_list_for_user(user=request.user, kind=IMPORT_JOB)[:10]
    return render(request, "households/import.html", {"form": form, "jobs": jobs})


@login_required
def job_detail(request, job_id):
    """Show a job's progress (refreshing itself while it runs) and its result."""
    job = job_get_for_user(user=request.user, job_id=job_id)
    if job.kind != IMPORT_JOB:
        return redirect(job_url(job))
    errors = (job.result or {}).get("error", {}).get("fields", {}).get("rows", []) if job.result else []
    return render(request, "households/job.html", {"job": job, "row_errors": errors})


@login_required
@require_POST
def import_confirm(request, job_id):
    """Run the real import of a file whose dry run passed."""
    job = job_get_for_user(user=request.user, job_id=job_id)
    if not (job.status == job.Status.SUCCEEDED and job.params.get("dry_run") and job.payload):
        messages.error(request, _("只能对试导入成功的文件正式导入。"))
        return redirect("household_transfer:job", job_id=job.pk)
    real = job_create(
        actor=request.user,
        kind=IMPORT_JOB,
        params={"dry_run": False},
        payload=bytes(job.payload),
        file_name=job.file_name,
    )
    return redirect("household_transfer:job", job_id=real.pk)


@login_required
def import_template(request, fmt):
    """Download the import template with its header and an example row."""
    header, example = template_rows()
    if fmt == "csv":
        response = HttpResponse("".join(write_csv(header, [example])), content_type="text/csv; charset=utf-8")
    else:
        from io import BytesIO

        from openpyxl import Workbook

        book = Workbook()
        book.active.title = "贫困户导入"
        book.active.append(header)
        book.active.append(example)
        buffer = BytesIO()
        book.save(buffer)
        response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="household-import-template.{fmt}"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def export(request, fmt):
    """Export the filtered household list the user may see, one row per member.

    The CSV is streamed in this response; the XLSX is written by a background job
    (``household_export``) this POST starts, and the browser is sent to the job's page to
    follow its progress and download the file. IDs and phones are masked on a GET and on a
    POST marked ``masked``. Any other POST asks for them in full: only a role with
    ``VIEW_PII`` may, with a reason, and the export is logged (filters, household count,
    scope, reason) before the file is written or the job created.
    """
    filters, id_number = list_filters(request)
    if fmt == "xlsx" and request.method == "GET":
        # Starting a job is a POST (a link, prefetched or followed from elsewhere, starts nothing).
        messages.info(request, EXPORT_XLSX_IS_A_JOB)
        query = request.GET.urlencode()
        return redirect(f"{reverse('households:list')}?{query}" if query else reverse("households:list"))
    unmask = request.method == "POST" and not request.POST.get("masked")
    if unmask:
        if not may_reveal(request.user):
            return forbidden(request, PII_NOT_ALLOWED)
        households = household_list(user=request.user, filters=filters, id_number=id_number)
        logged = dict(loggable_filters(filters), **({"id_number": mask_id(id_number)} if id_number else {}))
        try:
            pii_export_record(
                actor=request.user, households=households, filters=logged, reason=request.POST.get("reason", "")
            )
        except ApplicationError as error:
            messages.error(request, str(error))
            return redirect(f"{reverse('households:list')}?{request.GET.urlencode()}#export-full")
    if fmt == "xlsx":
        job = exports.export_job_create(actor=request.user, filters=filters, id_number=id_number, unmask=unmask)
        return redirect("jobs:detail", job_id=job.pk)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    options = {"user": request.user, "filters": filters, "id_number": id_number, "unmask": unmask}
    response = StreamingHttpResponse(exports.export_csv(**options), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="households-{stamp}.csv"'
    add_never_cache_headers(response)
    return response

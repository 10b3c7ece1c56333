"""Export of the (filtered, scoped) household list as CSV or XLSX (导出), one row per member.

The columns are those of the import template plus the registry number and status, so an
export can be read back by people and by the import. Every cell is neutralised against
spreadsheet formula injection; ID numbers and phones are masked unless the caller asks
for them in full (``unmask``: the view has checked the role and logged the export with
its reason). Rows are streamed from the database in chunks: memory stays flat however large the
jurisdiction.

The CSV is streamed in the request. The XLSX is built by a background job
(``household_export``, :func:`export_job_create`) that shows its progress (rows written of
all) and keeps the workbook as the job's file: the job runs as the person who asked, whose
scope and filters it applies again through the same selectors.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator

from django.core.exceptions import FieldDoesNotExist
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from households.choices import MemberStatus
from households.imports import COLUMNS
from households.models import Household, Member
from households.privacy import PII_NOT_ALLOWED, mask_id, may_reveal
from households.selectors import household_list
from registry.errors import PERMISSION_DENIED, ApplicationError
from registry.jobs import UNMASKED, job_create, job_store_output, runner
from registry.models import Job
from registry.tabular import safe_cell, write_csv

EXTRA_HEADER = ["户编号", "户状态", "识别环节", "成员状态"]
EXPORT_JOB = "household_export"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_WRITING = _("正在生成 Excel 文件")


def export_header() -> list[str]:
    return [*EXTRA_HEADER, *[c.header for c in COLUMNS]]


def _display(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


def _choices(name: str) -> dict | None:
    """Return the value → label map of the model field behind a template column, if any."""
    for model in (Member, Household):
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        return dict(field.choices) if field.choices else None
    return None


def export_members(
    *, user, filters: dict, id_number: str | None = None, household_ids: list[int] | None = None
) -> QuerySet:
    """Return the members exported: those of the households the user may see and has filtered.

    ``household_ids`` narrows to those households (a search by ID number, resolved when the
    export was asked for); the scope and filters still apply.
    """
    households = household_list(user=user, filters=filters, id_number=id_number)
    if household_ids is not None:
        households = households.filter(pk__in=household_ids)
    return (
        Member.objects.filter(household__in=households.order_by().values("pk"))
        .exclude(status__in=[MemberStatus.MARRIED_OUT, MemberStatus.MOVED_OUT, MemberStatus.REMOVED])
        .select_related("household", "household__group")
        .order_by("household__registry_number", "id")
    )


def export_rows(
    *,
    user,
    filters: dict,
    id_number: str | None = None,
    household_ids: list[int] | None = None,
    unmask: bool = False,
) -> Iterator[list[str]]:
    """Yield one row per member of the households the user may see and has filtered."""
    members = export_members(user=user, filters=filters, id_number=id_number, household_ids=household_ids)
    return member_rows(members, unmask=unmask)


def member_rows(members: QuerySet, *, unmask: bool = False) -> Iterator[list[str]]:
    """Yield the export row of each of ``members`` (from :func:`export_members`), in chunks."""
    labels = {c.key: _choices(c.key) for c in COLUMNS}
    for member in members.iterator(chunk_size=2000):
        household = member.household
        row = [
            household.registry_number,
            household.get_status_display(),
            household.get_step_display(),
            member.get_status_display(),
        ]
        for column in COLUMNS:
            if column.key == "key":
                value = household.registry_number
            elif column.key == "village":
                value = household.village_id
            elif column.key == "group":
                value = household.group.number if household.group else ""
            elif column.key == "other_causes":
                choices = labels["main_cause"]
                value = [str(choices.get(c, c)) for c in household.other_causes]
            elif column.household:
                value = getattr(household, column.key)
            else:
                value = getattr(member, column.key)
            if column.key in ("id_number", "phone") and not unmask:
                value = mask_id(value) if value else value
            choices = labels.get(column.key)
            if choices and not isinstance(value, list):
                value = choices.get(value, value)
            row.append(_display(value))
        yield row


def export_csv(**options) -> Iterator[str]:
    """Yield the export as CSV text (UTF-8 with BOM, which Excel reads); ``options`` as :func:`export_rows`."""
    return write_csv(export_header(), export_rows(**options))


def export_xlsx(rows: Iterable[list[str]]) -> bytes:
    """Return ``rows`` (from :func:`export_rows`) under the export's header as an XLSX workbook.

    The workbook is written in streaming mode: only the finished file is held in memory.
    """
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("贫困户")
    sheet.append(export_header())
    for row in rows:
        sheet.append([safe_cell(v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# The XLSX export as a background job --------------------------------------------------------------


def export_job_create(*, actor, filters: dict, id_number: str | None = None, unmask: bool = False) -> Job:
    """Queue the XLSX export of the households ``actor`` may see and has filtered; return the job.

    An unmasked export (``unmask``) must have been checked and logged by the caller
    (:func:`households.privacy.pii_export_record`) before. A search by ID number is kept
    as the households it found, so the number itself is not stored with the job.
    """
    params = {
        "filters": {key: _values(filters, key) for key in filters},
        UNMASKED: unmask,
    }
    if id_number:
        params["households"] = list(household_list(user=actor, id_number=id_number).values_list("pk", flat=True))
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    name = gettext("贫困户名单（完整号码）") if unmask else gettext("贫困户名单")
    return job_create(actor=actor, kind=EXPORT_JOB, params=params, file_name=f"{name}-{stamp}.xlsx")


def _values(filters, key: str) -> list[str]:
    return [str(v) for v in (filters.getlist(key) if hasattr(filters, "getlist") else [filters[key]])]


def _job_filters(params: dict) -> QueryDict:
    filters = QueryDict(mutable=True)
    for key, values in params.get("filters", {}).items():
        filters.setlist(key, values)
    return filters


@runner(EXPORT_JOB, label=_("导出"), template="households/_export_job.html")
def run_export_job(job, progress) -> dict:
    """Write the XLSX export as the job's creator, reporting rows written; keep it as the job's file.

    The creator's scope, and for full numbers their role, are checked again as the job runs.
    """
    user = job.created_by
    unmask = bool(job.params.get(UNMASKED))
    if user is None or not user.is_active:
        raise ApplicationError(PERMISSION_DENIED, code="permission_denied", status=403)
    if unmask and not may_reveal(user):
        raise ApplicationError(PII_NOT_ALLOWED, code="permission_denied", status=403)
    members = export_members(user=user, filters=_job_filters(job.params), household_ids=job.params.get("households"))
    total = members.count()
    progress(0, total, message=str(EXPORT_WRITING), force=True)

    def counted(rows: Iterator[list[str]]) -> Iterator[list[str]]:
        for done, row in enumerate(rows, 1):
            yield row
            progress(done, max(total, done))

    data = export_xlsx(counted(member_rows(members, unmask=unmask)))
    if progress.done != total:  # the households changed while the file was written
        progress(progress.done, progress.done, force=True)
    job_store_output(job, data=data, file_name=job.file_name, content_type=XLSX)
    return {"rows": progress.done, UNMASKED: unmask}

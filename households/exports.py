"""Export of the (filtered, scoped) household list as CSV or XLSX (导出), one row per member.

The columns are those of the import template plus the registry number and status, so an
export can be read back by people and by the import. Every cell is neutralised against
spreadsheet formula injection; ID numbers and phones are masked unless the caller asks
for them in full (``unmask``: the view has checked the role and logged the export with
its reason). Rows are streamed from the database in chunks: memory stays flat however large the
jurisdiction.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from django.core.exceptions import FieldDoesNotExist

from households.choices import MemberStatus
from households.imports import COLUMNS
from households.models import Household, Member
from households.privacy import mask_id
from households.selectors import household_list
from registry.tabular import safe_cell, write_csv

EXTRA_HEADER = ["户编号", "户状态", "识别环节", "成员状态"]


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


def export_rows(*, user, filters: dict, id_number: str | None = None, unmask: bool = False) -> Iterator[list[str]]:
    """Yield one row per member of the households the user may see and has filtered."""
    households = household_list(user=user, filters=filters, id_number=id_number).order_by().values("pk")
    members = (
        Member.objects.filter(household__in=households)
        .exclude(status__in=[MemberStatus.MARRIED_OUT, MemberStatus.MOVED_OUT, MemberStatus.REMOVED])
        .select_related("household", "household__group")
        .order_by("household__registry_number", "id")
    )
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


def export_xlsx(**options) -> bytes:
    """Return the export as an XLSX workbook (written in streaming mode)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("贫困户")
    sheet.append(export_header())
    for row in export_rows(**options):
        sheet.append([safe_cell(v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()

"""Import of department cross-check lists (部门比对名单), matched by ID number.

A list is a CSV or XLSX file with the columns ``id_number`` (身份证号) and ``category``
(类别) and optionally ``note`` (说明). The import is all-or-nothing: any bad row refuses
the whole file, naming every bad row, and writes nothing.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from households import errors
from households.choices import CrossCheckCategory
from households.models import CrossCheckEntry, CrossCheckImport
from registry.audit import audit_record
from registry.errors import ApplicationError
from registry.idnumber import parse_id_number
from registry.roles import Capability, user_has_capability
from registry.scoping import user_scope
from registry.tabular import read_rows

HEADER_ALIASES = {
    "id_number": "id_number",
    "身份证号": "id_number",
    "公民身份号码": "id_number",
    "category": "category",
    "类别": "category",
    "note": "note",
    "说明": "note",
    "备注": "note",
}
CATEGORY_BY_NAME = {
    **{value: value for value in CrossCheckCategory.values},
    **{str(label): value for value, label in CrossCheckCategory.choices},
}


def parse_crosscheck_file(data: bytes, filename: str) -> list[dict]:
    """Return the rows of a cross-check list, or refuse with every bad row named."""
    header, rows = read_rows(data, filename)
    columns = [HEADER_ALIASES.get(h.strip().lower(), HEADER_ALIASES.get(h.strip())) for h in header]
    if "id_number" not in columns or "category" not in columns:
        raise ApplicationError(errors.CROSSCHECK_BAD_HEADER, code="invalid_file")
    entries, problems = [], []
    for number, row in enumerate(rows, start=2):
        values = {col: row[i] if i < len(row) else "" for i, col in enumerate(columns) if col}
        try:
            id_number = parse_id_number(values["id_number"]).number
        except ValidationError as error:
            problems.append(
                str(errors.CROSSCHECK_ROW % {"row": number, "column": "身份证号", "reason": error.messages[0]})
            )
            continue
        category = CATEGORY_BY_NAME.get(values["category"])
        if category is None:
            reason = errors.CROSSCHECK_BAD_CATEGORY % {
                "value": values["category"],
                "choices": "、".join(str(label) for _v, label in CrossCheckCategory.choices),
            }
            problems.append(str(errors.CROSSCHECK_ROW % {"row": number, "column": "类别", "reason": reason}))
            continue
        entries.append({"id_number": id_number, "category": category, "note": values.get("note", "")[:200]})
    if problems:
        raise ApplicationError(problems[0], code="invalid_file", fields={"rows": problems})
    if not entries:
        raise ApplicationError(errors.CROSSCHECK_EMPTY, code="invalid_file")
    return entries


@transaction.atomic
def crosscheck_import(*, actor, data: bytes, filename: str, source: str) -> CrossCheckImport:
    """Import one department list for the actor's jurisdiction, all or nothing."""
    from registry.errors import PERMISSION_DENIED

    if actor is not None and not user_has_capability(actor, Capability.MANAGE_CROSSCHECK):
        raise ApplicationError(PERMISSION_DENIED, code="permission_denied", status=403)
    entries = parse_crosscheck_file(data, filename)
    scope = user_scope(actor) if actor is not None else None
    scope_code = "" if scope is None or scope.unrestricted else scope.prefixes[0].ljust(12, "0")
    batch = CrossCheckImport.objects.create(
        source=source, file_name=filename[:200], scope_code=scope_code, imported_by=actor, row_count=len(entries)
    )
    CrossCheckEntry.objects.bulk_create(
        [CrossCheckEntry(batch=batch, scope_code=scope_code, **entry) for entry in entries], batch_size=2000
    )
    audit_record(
        actor=actor,
        action="crosscheck.import",
        instance=batch,
        scope_code=scope_code,
        after={"source": source, "file_name": batch.file_name, "rows": len(entries)},
    )
    return batch

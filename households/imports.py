"""Bulk import of household applications from XLSX or CSV (批量导入).

One row per member; rows with the same 户号 (a key local to the file) form one household,
whose household columns are read from its head's row. The file is checked completely
first: a dry run reports every bad row (row, column, reason) and writes nothing; the real
import writes everything in one transaction or nothing at all. Imported households start
as applications (申请) and go through the identification procedure like any other.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from households import errors
from households.choices import (
    Attribute,
    Cause,
    Education,
    Ethnicity,
    HouseholdStatus,
    HousingGrade,
    HousingStructure,
    IdentificationStandard,
    IdentificationStep,
    LabourAbility,
    MigrantWork,
    Relationship,
    Sex,
    StudentStatus,
)
from households.exclusions import PersonRef, run_exclusion_checks
from households.idnumber import parse_id_number
from households.models import Household, Member, StatusChange
from registry.audit import client_address_var
from registry.errors import PERMISSION_DENIED, ApplicationError
from registry.jobs import runner
from registry.models import AuditEntry
from registry.roles import Capability, roles_with, user_has_capability
from registry.scoping import user_scope
from villages.choices import DivisionLevel
from villages.models import Division, VillagerGroup

IMPORT_ROLES = roles_with(Capability.ENTER_HOUSEHOLDS)
MISSING = _("必填")
NOT_A_CHOICE = _("“%(value)s”不是有效选项，可选：%(choices)s")
NOT_A_NUMBER = _("“%(value)s”不是有效数字")
NOT_A_BOOL = _("“%(value)s”应为“是”或“否”")
VILLAGE_UNKNOWN = _("村代码 %(value)s 不存在或不是村级区划")
VILLAGE_OUT_OF_SCOPE = _("村代码 %(value)s 不在您的管辖范围内")
GROUP_UNKNOWN = _("该村没有第 %(value)s 村民小组")
HOUSEHOLD_INCONSISTENT = _("同一户号的成员必须属于同一个村")
DUPLICATE_IN_FILE = _("与第 %(row)d 行的身份证号重复")
FILE_HAS_ERRORS = _("文件有 %(count)d 处错误，未导入任何数据。")
FILE_EMPTY = _("文件中没有数据行。")
HEADER_MISSING = _("缺少必需的列：%(columns)s")


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    parse: Callable[[str], object]
    required: bool = False
    household: bool = False  # a household field, read from the head's row
    example: str = ""


def _choice(choices) -> Callable[[str], str]:
    by_text = {}
    for value, label in choices.choices:
        by_text[str(value).lower()] = value
        by_text[str(label)] = value
    options = "、".join(str(label) for _v, label in choices.choices)

    def parse(text: str) -> str:
        value = by_text.get(text.lower()) or by_text.get(text)
        if value is None:
            raise ValueError(str(NOT_A_CHOICE % {"value": text, "choices": options}))
        return value

    return parse


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation as error:
        raise ValueError(str(NOT_A_NUMBER % {"value": text})) from error


def _int(text: str) -> int:
    try:
        return int(Decimal(text))
    except (InvalidOperation, ValueError) as error:
        raise ValueError(str(NOT_A_NUMBER % {"value": text})) from error


def _bool(text: str) -> bool:
    if text in ("是", "1", "true", "True", "TRUE", "Y", "y"):
        return True
    if text in ("否", "0", "false", "False", "FALSE", "N", "n"):
        return False
    raise ValueError(str(NOT_A_BOOL % {"value": text}))


def _causes(text: str) -> list[str]:
    parse = _choice(Cause)
    return [parse(part.strip()) for part in text.replace("，", ",").replace("、", ",").split(",") if part.strip()]


def _text(text: str) -> str:
    return text


COLUMNS: list[Column] = [
    Column("key", "户号", _text, required=True, example="1"),
    Column("village", "村代码", _text, required=True, household=True, example="431129203201"),
    Column("group", "村民小组", _int, household=True, example="1"),
    Column("identification_standard", "识别标准", _choice(IdentificationStandard), household=True, example="国家标准"),
    Column("attribute", "贫困户属性", _choice(Attribute), required=True, household=True, example="一般贫困户"),
    Column("main_cause", "主要致贫原因", _choice(Cause), required=True, household=True, example="因病"),
    Column("other_causes", "其他致贫原因", _causes, household=True, example="缺技术"),
    Column("housing_area", "住房面积", _decimal, household=True, example="80"),
    Column("housing_structure", "住房结构", _choice(HousingStructure), household=True, example="砖混"),
    Column("housing_grade", "住房安全等级", _choice(HousingGrade), household=True, example="B"),
    Column("housing_renovated", "危房已改造", _bool, household=True, example="否"),
    Column("drinking_water_safe", "饮水安全", _bool, household=True, example="是"),
    Column("electricity", "通生活用电", _bool, household=True, example="是"),
    Column("road_distance_km", "距村主干路公里", _decimal, household=True, example="1.5"),
    Column("cultivated_land_mu", "耕地面积", _decimal, household=True, example="2"),
    Column("forest_land_mu", "林地面积", _decimal, household=True, example="5"),
    Column("relocated", "易地扶贫搬迁", _bool, household=True, example="否"),
    Column("phone", "联系电话", _text, household=True, example="13800000000"),
    Column("name", "姓名", _text, required=True, example="盘某某"),
    Column("id_number", "身份证号", _text, required=True, example="11010519491231002X"),
    Column("sex", "性别", _choice(Sex), example="女"),
    Column("ethnicity", "民族", _choice(Ethnicity), example="瑶族"),
    Column("relationship", "与户主关系", _choice(Relationship), required=True, example="户主"),
    Column("education", "文化程度", _choice(Education), example="小学"),
    Column("student_status", "在校生状况", _choice(StudentStatus), example="非在校生"),
    Column("chronic_disease", "长期慢性病", _bool, example="否"),
    Column("serious_illness", "患有大病", _bool, example="是"),
    Column("disabled", "残疾", _bool, example="否"),
    Column("disability_certificate", "残疾证号", _text),
    Column("labour_ability", "劳动技能", _choice(LabourAbility), example="弱劳动力或半劳动力"),
    Column("migrant_work", "务工状况", _choice(MigrantWork), example="未外出务工"),
    Column("migrant_months", "务工时间月", _int, example="0"),
    Column("basic_medical_insurance", "基本医疗保险", _bool, example="是"),
    Column("serious_illness_insurance", "大病保险", _bool, example="是"),
    Column("pension_insurance", "养老保险", _bool, example="否"),
    Column("dibao_recipient", "享受低保", _bool, example="否"),
    Column("tekun_recipient", "享受特困供养", _bool, example="否"),
]
COLUMN_BY_HEADER = {c.header: c for c in COLUMNS} | {c.key: c for c in COLUMNS}


@dataclass
class RowError:
    row: int
    column: str
    reason: str

    def __str__(self):
        return str(errors.CROSSCHECK_ROW % {"row": self.row, "column": self.column, "reason": self.reason})


@dataclass
class ParsedHousehold:
    key: str
    first_row: int
    head_row: int | None = None
    has_errors: bool = False  # a row failed to parse: structural checks would only echo it
    village: Division | None = None
    fields: dict = field(default_factory=dict)
    members: list[tuple[int, dict]] = field(default_factory=list)


@dataclass
class ImportReport:
    households: int = 0
    members: int = 0
    errors: list[RowError] = field(default_factory=list)
    registry_numbers: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "households": self.households,
            "members": self.members,
            "errors": [{"row": e.row, "column": e.column, "reason": e.reason} for e in self.errors],
            "registry_numbers": self.registry_numbers[:50],
        }


def template_rows() -> tuple[list[str], list[str]]:
    """Return the header and an example row of the import template."""
    return [c.header for c in COLUMNS], [c.example for c in COLUMNS]


def parse_household_file(
    *, actor, data: bytes, filename: str, progress=None
) -> tuple[list[ParsedHousehold], ImportReport]:
    """Read and check a whole file; return the households found and every error."""
    from registry.tabular import read_rows

    report = ImportReport()
    header, rows = read_rows(data, filename)
    columns = [COLUMN_BY_HEADER.get(h.strip()) for h in header]
    missing = [c.header for c in COLUMNS if c.required and c not in columns]
    if missing:
        raise ApplicationError(HEADER_MISSING % {"columns": "、".join(missing)}, code="invalid_file")
    households: dict[str, ParsedHousehold] = {}
    seen_ids: dict[str, int] = {}
    rows = list(rows)
    if not rows:
        raise ApplicationError(FILE_EMPTY, code="invalid_file")
    for offset, row in enumerate(rows):
        number = offset + 2
        values, ok = {}, True
        for i, column in enumerate(columns):
            if column is None:
                continue
            text = row[i].strip() if i < len(row) else ""
            if not text:
                if column.required and not column.household:
                    report.errors.append(RowError(number, column.header, str(MISSING)))
                    ok = False
                continue
            try:
                values[column.key] = column.parse(text)
            except ValueError as error:
                report.errors.append(RowError(number, column.header, str(error)))
                ok = False
        if "id_number" in values:
            try:
                parsed = parse_id_number(values["id_number"])
            except ValidationError as error:
                report.errors.append(RowError(number, "身份证号", error.messages[0]))
                ok = False
            else:
                values["id_number"] = parsed.number
                if values.get("sex") and values["sex"] != parsed.sex:
                    reason = errors.ID_SEX_MISMATCH % {"id_sex": Sex(parsed.sex).label, "sex": Sex(values["sex"]).label}
                    report.errors.append(RowError(number, "性别", str(reason)))
                    ok = False
                values.setdefault("sex", parsed.sex)
                values["birth_date"] = parsed.birth_date
                if parsed.number in seen_ids:
                    report.errors.append(
                        RowError(number, "身份证号", str(DUPLICATE_IN_FILE % {"row": seen_ids[parsed.number]}))
                    )
                seen_ids.setdefault(parsed.number, number)
        if "migrant_months" in values and not 0 <= values["migrant_months"] <= 12:
            report.errors.append(RowError(number, "务工时间月", "应在 0 到 12 之间"))
            ok = False
        if "key" not in values:
            continue
        household = households.setdefault(values["key"], ParsedHousehold(key=values["key"], first_row=number))
        if not ok:
            household.has_errors = True
            continue
        if household.fields.get("village") not in (None, values.get("village")):
            report.errors.append(RowError(number, "村代码", str(HOUSEHOLD_INCONSISTENT)))
            continue
        member = {c.key: values[c.key] for c in COLUMNS if not c.household and c.key in values and c.key != "key"}
        member["birth_date"] = values.get("birth_date")
        household.members.append((number, member))
        if values.get("relationship") == Relationship.HEAD:
            household.head_row = number
            household.fields.update({c.key: values[c.key] for c in COLUMNS if c.household and c.key in values})
        elif not household.fields and "village" in values:
            household.fields["village"] = values["village"]
        if progress:
            progress(offset + 1, len(rows), "正在检查文件")
    _check_households(actor, households, report)
    return list(households.values()), report


def _check_households(actor, households: dict[str, ParsedHousehold], report: ImportReport) -> None:
    """Check what needs the database, set-based: villages, groups, heads, duplicates, exclusions."""
    codes = {h.fields.get("village") for h in households.values()}
    villages = {
        d.code: d for d in Division.objects.filter(code__in=[c for c in codes if c], level=DivisionLevel.VILLAGE)
    }
    scope = user_scope(actor) if actor is not None else None
    groups = set(VillagerGroup.objects.filter(village_id__in=list(villages)).values_list("village_id", "number"))
    for household in households.values():
        if household.has_errors:
            continue
        heads = [row for row, m in household.members if m.get("relationship") == Relationship.HEAD]
        if len(heads) != 1:
            report.errors.append(RowError(household.first_row, "与户主关系", str(errors.HEAD_EXACTLY_ONE)))
            continue
        for column in COLUMNS:
            if column.required and column.household and column.key not in household.fields:
                report.errors.append(RowError(household.head_row, column.header, str(MISSING)))
        code = household.fields.get("village")
        village = villages.get(code)
        if village is None:
            report.errors.append(RowError(household.first_row, "村代码", str(VILLAGE_UNKNOWN % {"value": code})))
            continue
        if scope is not None and not scope.covers(code):
            report.errors.append(RowError(household.first_row, "村代码", str(VILLAGE_OUT_OF_SCOPE % {"value": code})))
            continue
        household.village = village
        group = household.fields.get("group")
        if group is not None and (code, group) not in groups:
            report.errors.append(RowError(household.first_row, "村民小组", str(GROUP_UNKNOWN % {"value": group})))
        causes = household.fields.get("other_causes") or []
        if len(causes) > 2 or household.fields.get("main_cause") in causes or len(set(causes)) != len(causes):
            report.errors.append(RowError(household.first_row, "其他致贫原因", str(errors.OTHER_CAUSES_INVALID)))
    row_of = {m["id_number"]: row for h in households.values() for row, m in h.members}
    names = {m["id_number"]: m.get("name", "") for h in households.values() for _r, m in h.members}
    ids = list(row_of)
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        taken = Member.objects.filter(id_number__in=chunk, current=True).values_list(
            "id_number", "name", "household__registry_number"
        )
        for id_number, name, registry_number in taken:
            reason = errors.ID_ALREADY_REGISTERED % {"name": name, "household": registry_number}
            report.errors.append(RowError(row_of[id_number], "身份证号", str(reason)))
        for hit in run_exclusion_checks([PersonRef(name=names.get(i, ""), id_number=i) for i in chunk]):
            report.errors.append(RowError(row_of[hit.id_number], "身份证号", hit.explanation))
    report.errors.sort(key=lambda e: (e.row, e.column))


@transaction.atomic
def household_import(*, actor, data: bytes, filename: str, dry_run: bool, progress=None) -> ImportReport:
    """Check a file and, unless ``dry_run``, write all its households as applications, or none."""
    if actor is not None and not user_has_capability(actor, Capability.ENTER_HOUSEHOLDS):
        raise ApplicationError(PERMISSION_DENIED, code="permission_denied", status=403)
    households, report = parse_household_file(actor=actor, data=data, filename=filename, progress=progress)
    report.households = len(households)
    report.members = sum(len(h.members) for h in households)
    if report.errors:
        raise ApplicationError(
            FILE_HAS_ERRORS % {"count": len(report.errors)},
            code="invalid_file",
            fields={"rows": [str(e) for e in report.errors]},
        )
    if dry_run:
        return report
    _write(actor, households, report, progress)
    return report


def _write(actor, households: list[ParsedHousehold], report: ImportReport, progress) -> None:
    """Insert households, members, status history and audit rows in bulk."""
    from django.contrib.contenttypes.models import ContentType

    today = date.today()
    by_village: dict[str, list[ParsedHousehold]] = defaultdict(list)
    for household in households:
        by_village[household.village.code].append(household)
    rows = []
    for code in sorted(by_village):
        Division.objects.select_for_update().filter(pk=code).first()
        last = (
            Household.objects.filter(registry_number__startswith=code)
            .order_by("-registry_number")
            .values_list("registry_number", flat=True)
            .first()
        )
        sequence = int(last[12:]) if last else 0
        groups = {g.number: g for g in VillagerGroup.objects.filter(village_id=code)}
        for household in by_village[code]:
            sequence += 1
            fields = {k: v for k, v in household.fields.items() if k not in ("village", "group")}
            rows.append(
                Household(
                    registry_number=f"{code}{sequence:04d}",
                    county_code=code[:6],
                    village=household.village,
                    group=groups.get(household.fields.get("group")),
                    status=HouseholdStatus.APPLIED,
                    step=IdentificationStep.APPLICATION,
                    status_date=today,
                    **fields,
                )
            )
    created = Household.objects.bulk_create(rows, batch_size=2000)
    by_key = dict(zip([h.key for code in sorted(by_village) for h in by_village[code]], created, strict=True))
    members = []
    for household in households:
        record = by_key[household.key]
        for _row, data in household.members:
            members.append(Member(household=record, county_code=record.county_code, **data))
    done = 0
    for start in range(0, len(members), 5000):
        Member.objects.bulk_create(members[start : start + 5000])
        done += len(members[start : start + 5000])
        if progress:
            progress(done, len(members), "正在写入", force=True)
    StatusChange.objects.bulk_create(
        [
            StatusChange(
                household=h,
                county_code=h.county_code,
                action="apply",
                from_status=HouseholdStatus.APPLIED,
                to_status=HouseholdStatus.APPLIED,
                from_step=IdentificationStep.APPLICATION,
                to_step=IdentificationStep.APPLICATION,
                actor=actor,
                reason="批量导入",
                effective_date=today,
            )
            for h in created
        ],
        batch_size=5000,
    )
    content_type = ContentType.objects.get_for_model(Household)
    counts = defaultdict(int)
    for m in members:
        counts[m.household_id] += 1
    AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                actor=actor,
                actor_username=actor.get_username() if actor else "system",
                client_address=client_address_var.get(),
                content_type=content_type,
                object_id=str(h.pk),
                object_repr=h.registry_number,
                scope_code=h.village_id,
                action="household.import",
                after={"registry_number": h.registry_number, "members": counts[h.pk], "status": h.status},
            )
            for h in created
        ],
        batch_size=5000,
    )
    report.registry_numbers = [h.registry_number for h in created]


@runner("household_import", label=_("导入"), page="household_transfer:job")
def run_household_import(job, progress) -> dict:
    """Run an import job: the file is in the job's payload, options in its params."""
    report = household_import(
        actor=job.created_by,
        data=bytes(job.payload),
        filename=job.file_name,
        dry_run=job.params.get("dry_run", True),
        progress=progress,
    )
    return report.as_dict()

"""Bulk import of household applications from XLSX or CSV (批量导入).

One row per member; rows with the same 户号 (a key local to the file) form one household,
whose household columns are read from its head's row. The file is checked completely
first: a dry run reports every bad row (row, column, reason) and writes nothing; the real
import writes everything in one transaction or nothing at all. Imported households start
as applications (申请) and go through the identification procedure like any other.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import connection, transaction
from django.utils import timezone
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
from households.exclusions import PersonRef, load_people, run_exclusion_checks_many
from households.models import Household, Member, StatusChange
from registry.audit import audit_records
from registry.errors import PERMISSION_DENIED, ApplicationError
from registry.idnumber import parse_id_numbers
from registry.jobs import runner
from registry.pgcopy import copy_model
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
IMPORT_REASON = "批量导入"


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


_cause = _choice(Cause)


def _causes(text: str) -> list[str]:
    return [_cause(part.strip()) for part in text.replace("，", ",").replace("、", ",").split(",") if part.strip()]


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
    heads: int = 0
    has_errors: bool = False  # a row failed to parse: structural checks would only echo it
    village: Division | None = None
    fields: dict = field(default_factory=dict)
    rows: list[int] = field(default_factory=list)  # offsets of its members' rows in the file


@dataclass
class ParsedFile:
    """The file column by column: per column key, one value per row.

    Parsed values, ``None`` where empty or bad; text columns keep the text, ``""`` where empty.
    """

    rows: int
    values: dict[str, list]
    households: list[ParsedHousehold]


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


def _parse_column(column: Column, texts: list[str], bad: list[bool], report: ImportReport) -> list:
    """Return the parsed cells of one column (``None`` where empty or bad), recording errors.

    The parsers are pure, so each distinct text is parsed once, however many rows hold it.
    """
    if column.parse is _text:
        return texts  # "" where empty
    parsed, failed = {}, {}
    for text in set(texts):
        if text:
            try:
                parsed[text] = column.parse(text)
            except ValueError as error:
                failed[text] = str(error)
    if failed:
        for offset, text in enumerate(texts):
            if text in failed:
                report.errors.append(RowError(offset + 2, column.header, failed[text]))
                bad[offset] = True
    return list(map(parsed.get, texts))


def parse_household_file(*, actor, data: bytes, filename: str, progress=None) -> tuple[ParsedFile, ImportReport]:
    """Read and check a whole file; return it parsed, with its households, and every error."""
    from registry.tabular import read_columns

    report = ImportReport()
    header, cells, count = read_columns(data, filename)
    columns = [COLUMN_BY_HEADER.get(h.strip()) for h in header]
    missing = [c.header for c in COLUMNS if c.required and c not in columns]
    if missing:
        raise ApplicationError(HEADER_MISSING % {"columns": "、".join(missing)}, code="invalid_file")
    if not count:
        raise ApplicationError(FILE_EMPTY, code="invalid_file")
    bad = [False] * count  # rows with an error that keeps them out of their household
    values: dict[str, list] = {}
    for index, column in enumerate(columns):
        if column is None:
            continue
        texts = cells[index]
        if column.required and not column.household and "" in texts:
            for offset, text in enumerate(texts):
                if not text:
                    report.errors.append(RowError(offset + 2, column.header, str(MISSING)))
                    bad[offset] = True
        if column.key == "id_number":
            values["id_number"] = list(texts)
            continue
        values[column.key] = _parse_column(column, texts, bad, report)
    _check_people(values, count, bad, report)
    households = _group_households(values, count, bad, report, progress)
    _check_households(actor, households, values, report)
    return ParsedFile(rows=count, values=values, households=households), report


def _check_people(values: dict[str, list], count: int, bad: list[bool], report: ImportReport) -> None:
    """Check ID numbers (and the sex and birth date they hold), duplicates and months of work."""
    numbers, births = [None] * count, [None] * count
    sexes = values.get("sex") or [None] * count
    seen: dict[str, int] = {}
    texts = values["id_number"]
    for offset, parsed in enumerate(parse_id_numbers([text or "" for text in texts])):
        if not texts[offset]:
            continue  # reported as missing
        row = offset + 2
        if isinstance(parsed, str):
            report.errors.append(RowError(row, "身份证号", parsed))
            bad[offset] = True
            continue
        number, birth, sex = parsed
        numbers[offset], births[offset] = number, birth
        given = sexes[offset]
        if given and given != sex:
            reason = errors.ID_SEX_MISMATCH % {"id_sex": Sex(sex).label, "sex": Sex(given).label}
            report.errors.append(RowError(row, "性别", str(reason)))
            bad[offset] = True
        sexes[offset] = given or sex
        first = seen.setdefault(number, row)
        if first != row:
            report.errors.append(RowError(row, "身份证号", str(DUPLICATE_IN_FILE % {"row": first})))
    values.update(id_number=numbers, sex=sexes, birth_date=births)
    for offset, months in enumerate(values.get("migrant_months") or ()):
        if months is not None and not 0 <= months <= 12:
            report.errors.append(RowError(offset + 2, "务工时间月", "应在 0 到 12 之间"))
            bad[offset] = True


HOUSEHOLD_KEYS = [c.key for c in COLUMNS if c.household]
MEMBER_KEYS = [c.key for c in COLUMNS if not c.household and c.key != "key"] + ["birth_date"]


def _group_households(values, count: int, bad: list[bool], report: ImportReport, progress) -> list[ParsedHousehold]:
    """Gather rows into households by 户号; a household's columns come from its head's row."""
    households: dict[str, ParsedHousehold] = {}
    keys, villages = values["key"], values.get("village") or [None] * count
    relationships = values["relationship"]
    household_columns = [(key, values[key]) for key in HOUSEHOLD_KEYS if key in values]
    for offset in range(count):
        if progress and ((offset + 1) % 1000 == 0 or offset + 1 == count):
            progress(offset + 1, count, "正在检查文件")
        key = keys[offset]
        if not key:
            continue
        household = households.get(key)
        if household is None:
            household = households[key] = ParsedHousehold(key=key, first_row=offset + 2)
        if bad[offset]:
            household.has_errors = True
            continue
        village = villages[offset] or None
        if household.fields.get("village") not in (None, village):
            report.errors.append(RowError(offset + 2, "村代码", str(HOUSEHOLD_INCONSISTENT)))
            continue
        household.rows.append(offset)
        if relationships[offset] == Relationship.HEAD:
            household.heads += 1
            household.head_row = offset + 2
            household.fields.update({k: c[offset] for k, c in household_columns if c[offset] not in (None, "")})
        elif not household.fields and village is not None:
            household.fields["village"] = village
    return list(households.values())


def _check_households(actor, households: list[ParsedHousehold], values: dict[str, list], report) -> None:
    """Check what needs the database, set-based: villages, groups, heads, people registered or excluded."""
    codes = {h.fields.get("village") for h in households}
    villages = {
        d.code: d for d in Division.objects.filter(code__in=[c for c in codes if c], level=DivisionLevel.VILLAGE)
    }
    scope = user_scope(actor) if actor is not None else None
    groups = set(VillagerGroup.objects.filter(village_id__in=list(villages)).values_list("village_id", "number"))
    for household in households:
        if household.has_errors:
            continue
        if household.heads != 1:
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
    numbers, names = values["id_number"], values["name"]
    row_of: dict[str, int] = {}
    people: dict[str, str] = {}
    for household in households:
        for offset in household.rows:
            row_of[numbers[offset]] = offset + 2
            people[numbers[offset]] = names[offset] or ""
    _check_people_in_registry(row_of, people, report)
    report.errors.sort(key=lambda e: (e.row, e.column))


def _check_people_in_registry(row_of: dict[str, int], people: dict[str, str], report: ImportReport) -> None:
    """Refuse people already in a household, or hit by an exclusion rule: one query per check, for all."""
    if not people:
        return
    loaded = load_people(PersonRef(name=name, id_number=number) for number, name in people.items())
    with connection.cursor() as cursor:
        cursor.execute(
            # One probe of the current members' ID index per person (OFFSET 0 keeps it a probe):
            # cheaper than reading every member of a province to join them.
            """SELECT m.id_number, m.name, h.registry_number
                  FROM exclusion_people p
                 CROSS JOIN LATERAL (
                        SELECT m.id, m.id_number, m.name, m.household_id FROM households_member m
                         WHERE m.id_number = p.id_number AND m.current OFFSET 0) m
                  JOIN households_household h ON h.id = m.household_id
                 ORDER BY m.id"""
        )
        for id_number, name, registry_number in cursor.fetchall():
            reason = errors.ID_ALREADY_REGISTERED % {"name": name, "household": registry_number}
            report.errors.append(RowError(row_of[id_number], "身份证号", str(reason)))
    for hit in run_exclusion_checks_many([], loaded=loaded):
        report.errors.append(RowError(row_of[hit.id_number], "身份证号", hit.explanation))


@transaction.atomic
def household_import(*, actor, data: bytes, filename: str, dry_run: bool, progress=None) -> ImportReport:
    """Check a file and, unless ``dry_run``, write all its households as applications, or none."""
    if actor is not None and not user_has_capability(actor, Capability.ENTER_HOUSEHOLDS):
        raise ApplicationError(PERMISSION_DENIED, code="permission_denied", status=403)
    with _collector_paused():
        parsed, report = parse_household_file(actor=actor, data=data, filename=filename, progress=progress)
        report.households = len(parsed.households)
        report.members = sum(len(h.rows) for h in parsed.households)
        if report.errors:
            raise ApplicationError(
                FILE_HAS_ERRORS % {"count": len(report.errors)},
                code="invalid_file",
                fields={"rows": [str(e) for e in report.errors]},
            )
        if dry_run:
            return report
        _write(actor, parsed, report, progress, filename=filename)
    return report


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector: a file makes millions of cells and tuples, none of them
    in a cycle, and each full collection would walk them all again (seconds per import)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# Writing ------------------------------------------------------------------------------------

#: The last registry number of each village (by the number's prefix, as households are numbered).
LAST_NUMBERS = """
SELECT v.code, (SELECT h.registry_number FROM households_household h
                 WHERE h.registry_number >= v.code AND h.registry_number <= v.code || '999999999999'
                   AND h.registry_number LIKE v.code || '%%'
                 ORDER BY h.registry_number DESC LIMIT 1)
  FROM unnest(%s::varchar[]) AS v(code)
"""


def _write(actor, parsed: ParsedFile, report: ImportReport, progress, *, filename: str = "") -> None:
    """Write households, members and status history with COPY, and one audit entry per village.

    Every village receiving households is locked first (as a single application locks
    its village), so registry numbers follow each village's last one without gaps.
    """

    now, today = timezone.now(), date.today()
    by_village: dict[str, list[ParsedHousehold]] = defaultdict(list)
    for household in parsed.households:
        by_village[household.village.code].append(household)
    codes = sorted(by_village)
    with connection.cursor() as cursor:
        cursor.execute("SELECT code FROM villages_division WHERE code = ANY(%s) ORDER BY code FOR UPDATE", [codes])
        cursor.execute(LAST_NUMBERS, [codes])
        last = dict(cursor.fetchall())
        cursor.execute("SELECT village_id, number, id FROM villages_villagergroup WHERE village_id = ANY(%s)", [codes])
        groups = {(village, number): pk for village, number, pk in cursor.fetchall()}
    ids = _reserve_ids(Household, len(parsed.households))

    ordered: list[ParsedHousehold] = []
    numbers: list[str] = []
    ranges: dict[str, tuple[str, str]] = {}
    for code in codes:
        sequence = int(last[code][12:]) if last.get(code) else 0
        first = f"{code}{sequence + 1:04d}"
        for household in by_village[code]:
            sequence += 1
            ordered.append(household)
            numbers.append(f"{code}{sequence:04d}")
        ranges[code] = (first, numbers[-1])
    id_of = {id(h): pk for h, pk in zip(ordered, ids, strict=True)}
    fields = [h.fields for h in ordered]
    household_values = {
        "id": ids,
        "registry_number": numbers,
        "county_code": [h.village.code[:6] for h in ordered],
        "village_id": [h.village.code for h in ordered],
        "group_id": [groups.get((f["village"], f.get("group"))) for f in fields],
        "status": [HouseholdStatus.APPLIED] * len(ordered),
        "step": [IdentificationStep.APPLICATION] * len(ordered),
        "status_date": [today] * len(ordered),
    }
    for key in HOUSEHOLD_KEYS:
        if key not in ("village", "group"):
            household_values[key] = [f.get(key) for f in fields]
    copy_model(Household, household_values, len(ordered), now=now)

    # Members, in the file's household order, each household's in the file's row order.
    member_rows = [offset for household in parsed.households for offset in household.rows]
    owner = [id_of[id(household)] for household in parsed.households for _offset in household.rows]
    county = [household.village.code[:6] for household in parsed.households for _offset in household.rows]
    columns = {key: parsed.values[key] for key in MEMBER_KEYS if key in parsed.values}
    if progress:
        progress(0, len(member_rows), "正在写入", force=True)
    # Ids in that order; rows sent in ID-number order, so the two ID-number indexes (the
    # largest) take the new entries in key order instead of at random places.
    member_ids = _reserve_ids(Member, len(member_rows))
    id_numbers = parsed.values["id_number"]
    sent = sorted(range(len(member_rows)), key=lambda i: id_numbers[member_rows[i]])
    rows = list(map(member_rows.__getitem__, sent))
    member_values = {key: list(map(column.__getitem__, rows)) for key, column in columns.items()}
    member_values["id"] = list(map(member_ids.__getitem__, sent))
    member_values["household_id"] = list(map(owner.__getitem__, sent))
    member_values["county_code"] = list(map(county.__getitem__, sent))
    copy_model(Member, member_values, len(member_rows), now=now)
    count = len(ordered)
    copy_model(
        StatusChange,
        {
            "household_id": ids,
            "county_code": household_values["county_code"],
            "action": ["apply"] * count,
            "from_status": [HouseholdStatus.APPLIED] * count,
            "to_status": [HouseholdStatus.APPLIED] * count,
            "from_step": [IdentificationStep.APPLICATION] * count,
            "to_step": [IdentificationStep.APPLICATION] * count,
            "actor_id": [actor.pk if actor is not None else None] * count,
            "reason": [IMPORT_REASON] * count,
            "effective_date": [today] * count,
        },
        count,
        now=now,
    )
    _audit(actor, by_village, ranges, filename)
    report.registry_numbers = numbers
    if progress:
        progress(len(member_rows), len(member_rows), "正在写入", force=True)


def _reserve_ids(model, count: int) -> list[int]:
    """Take ``count`` ids from the sequence of ``model``'s table, in order."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _audit(actor, by_village, ranges, filename: str) -> None:
    """Record the import: one entry per village, naming the file and the registry numbers it gave.

    Each village's households are numbered consecutively, so the first and last number
    name them all; each household's own history holds the import too, as its first
    status change (``apply``, ``批量导入``, by the same actor).
    """
    audit_records(
        actor=actor,
        action="household.import",
        entries=[
            (
                households[0].village,
                code,
                {
                    "file": filename[-200:],
                    "households": len(households),
                    "members": sum(len(h.rows) for h in households),
                    "registry_numbers": {"first": ranges[code][0], "last": ranges[code][1]},
                    "status": HouseholdStatus.APPLIED,
                },
            )
            for code, households in sorted(by_village.items())
        ],
    )


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

"""Bulk import: every encoding, dry run, all-or-nothing, progress through a job, the command."""

import io
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import Workbook

from households.imports import COLUMNS, FILE_HAS_ERRORS, household_import, template_rows
from households.models import Household, Member, StatusChange
from registry.errors import PERMISSION_DENIED, ApplicationError
from registry.jobs import job_create, job_run
from registry.models import AuditEntry, Job
from tests.conftest import JOB_DATABASES
from tests.factories import make_id_number

LIAN = "431129203201"
HEADER = [
    "户号",
    "村代码",
    "村民小组",
    "贫困户属性",
    "主要致贫原因",
    "其他致贫原因",
    "姓名",
    "身份证号",
    "与户主关系",
    "民族",
]


def rows_for(households: int = 2, persons: int = 3, village: str = LIAN) -> list[list[str]]:
    rows = []
    for h in range(1, households + 1):
        for p in range(persons):
            head = p == 0
            rows.append(
                [
                    str(h),
                    village,
                    "1",
                    "低保贫困户" if head else "",
                    "因病" if head else "",
                    "缺技术、缺资金" if head else "",
                    f"户{h}成员{p}",
                    make_id_number(birth="19700101" if head else f"20{p:02d}0301", area=village[:6]),
                    "户主" if head else "子",
                    "瑶族",
                ]
            )
    return rows


def csv_file(rows, header=HEADER, encoding="utf-8") -> bytes:
    return "\n".join(",".join(r) for r in [header, *rows]).encode(encoding)


def xlsx_file(rows, header=HEADER) -> bytes:
    book = Workbook()
    for row in [header, *rows]:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def counts():
    return (Household.objects.count(), Member.objects.count(), StatusChange.objects.count(), AuditEntry.objects.count())


@pytest.fixture(autouse=True)
def groups(divisions):
    assert divisions[LIAN].villager_groups.filter(number=1).exists()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_every_encoding_imports_as_applications(users, encoding):
    before = counts()
    report = household_import(
        actor=users["team_lian"], data=csv_file(rows_for(), encoding=encoding), filename="a.csv", dry_run=False
    )
    assert (report.households, report.members) == (2, 6)
    assert counts() == (before[0] + 2, before[1] + 6, before[2] + 2, before[3] + 2)
    household = Household.objects.get(registry_number=report.registry_numbers[0])
    assert (household.status, household.attribute, household.main_cause) == ("applied", "dibao", "illness")
    assert household.other_causes == ["lack_skills", "lack_capital"]
    assert household.group.number == 1 and household.county_code == "431129"
    head = household.members.get(relationship="head")
    assert (head.ethnicity, head.birth_date, head.sex) == ("13", date(1970, 1, 1), "1")
    assert AuditEntry.objects.latest("id").action == "household.import"


def test_xlsx_imports(users):
    report = household_import(actor=users["team_lian"], data=xlsx_file(rows_for(1)), filename="a.xlsx", dry_run=False)
    assert report.households == 1


def test_dry_run_checks_and_writes_nothing(users):
    before = counts()
    report = household_import(actor=users["team_lian"], data=csv_file(rows_for()), filename="a.csv", dry_run=True)
    assert (report.households, report.members) == (2, 6)
    assert counts() == before


def test_bad_file_reports_every_bad_row_and_writes_nothing(users):
    rows = rows_for(3)
    rows[1][7] = "123"  # household 1, bad ID
    rows[3][3] = "富裕户"  # household 2 head, bad attribute
    rows[6][8] = "子"  # household 3 has no head
    rows[7][7] = rows[2][7]  # a duplicate ID within the file
    before = counts()
    with pytest.raises(ApplicationError) as info:
        household_import(actor=users["team_lian"], data=csv_file(rows), filename="bad.csv", dry_run=False)
    assert str(info.value) == str(FILE_HAS_ERRORS % {"count": 4})
    lines = info.value.fields["rows"]
    assert lines[0].startswith("第 3 行 身份证号")
    assert lines[1].startswith("第 5 行 贫困户属性") and "一般贫困户" in lines[1]
    assert any(line.startswith("第 8 行 与户主关系") for line in lines)
    assert any(line.startswith("第 9 行 身份证号") and "重复" in line for line in lines)
    assert counts() == before


def test_people_already_registered_and_out_of_scope_villages_are_refused(users):
    rows = rows_for(1)
    household_import(actor=users["team_lian"], data=csv_file(rows), filename="a.csv", dry_run=False)
    with pytest.raises(ApplicationError) as info:
        household_import(actor=users["team_lian"], data=csv_file(rows), filename="a.csv", dry_run=True)
    assert len(info.value.fields["rows"]) == 3 and "已在贫困户" in info.value.fields["rows"][0]
    with pytest.raises(ApplicationError) as info:
        household_import(
            actor=users["team_lian"], data=csv_file(rows_for(1, village="430523104201")), filename="a.csv", dry_run=True
        )
    assert "不在您的管辖范围内" in info.value.fields["rows"][0]


def test_missing_columns_and_roles(users):
    with pytest.raises(ApplicationError) as info:
        household_import(
            actor=users["team_lian"], data=csv_file([], header=["户号", "姓名"]), filename="a.csv", dry_run=True
        )
    assert "身份证号" in str(info.value)
    with pytest.raises(ApplicationError) as info:
        household_import(actor=users["auditor_hunan"], data=csv_file(rows_for(1)), filename="a.csv", dry_run=True)
    assert str(info.value) == str(PERMISSION_DENIED)


def test_template_has_every_column_with_an_example_that_parses():
    header, example = template_rows()
    assert header == [c.header for c in COLUMNS] and len(example) == len(header)


@pytest.mark.django_db(databases=JOB_DATABASES)
def test_import_as_a_job_reports_progress_and_result(users, settings):
    settings.REGISTRY_JOBS_IN_THREAD = False
    job = job_create(
        actor=users["team_lian"],
        kind="household_import",
        params={"dry_run": False},
        payload=csv_file(rows_for(2)),
        file_name="a.csv",
    )
    assert job.status == Job.Status.QUEUED and job.scope_code == LIAN
    job = job_run(job.pk)
    assert job.status == Job.Status.SUCCEEDED
    assert (job.result["households"], job.result["members"], job.done, job.total) == (2, 6, 6, 6)
    assert job.payload is None


@pytest.mark.django_db(databases=JOB_DATABASES)
def test_failed_job_keeps_the_row_errors(users, settings):
    settings.REGISTRY_JOBS_IN_THREAD = False
    rows = rows_for(1)
    rows[0][7] = "bad"
    job = job_create(
        actor=users["team_lian"],
        kind="household_import",
        params={"dry_run": True},
        payload=csv_file(rows),
        file_name="a.csv",
    )
    job = job_run(job.pk)
    assert job.status == Job.Status.FAILED
    assert job.result["error"]["fields"]["rows"][0].startswith("第 2 行 身份证号")


def test_management_command(users, tmp_path):
    path = tmp_path / "households.csv"
    path.write_bytes(csv_file(rows_for(2)))
    before = counts()
    call_command("import_households", str(path), "--user", "team_lian", "--dry-run")
    assert counts() == before
    call_command("import_households", str(path), "--user", "team_lian")
    assert counts()[0] == before[0] + 2
    with pytest.raises(CommandError):
        call_command("import_households", str(path), "--user", "team_lian")

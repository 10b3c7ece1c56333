"""Bulk import: every encoding, dry run, all-or-nothing, progress through a job, the command."""

import io
from datetime import date

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import Workbook

from households import imports
from households.imports import COLUMNS, FILE_HAS_ERRORS, household_import, template_rows
from households.models import Household, Member, StatusChange
from registry.errors import PERMISSION_DENIED, ApplicationError
from registry.jobs import job_create, job_run
from registry.models import AuditEntry, Job
from registry.tabular import read_columns, read_rows
from tests.conftest import JOB_DATABASES
from tests.factories import make_id_number
from villages.models import Division

LIAN = "431129203201"
SHETIAN = "430523104201"
LONGXI = "431027204201"
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
    assert counts() == (before[0] + 2, before[1] + 6, before[2] + 2, before[3] + 1)
    household = Household.objects.get(registry_number=report.registry_numbers[0])
    assert (household.status, household.attribute, household.main_cause) == ("applied", "dibao", "illness")
    assert household.other_causes == ["lack_skills", "lack_capital"]
    assert household.group.number == 1 and household.county_code == "431129"
    head = household.members.get(relationship="head")
    assert (head.ethnicity, head.birth_date, head.sex) == ("13", date(1970, 1, 1), "1")
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.object_id, entry.scope_code, entry.actor) == (
        "household.import",
        LIAN,
        LIAN,
        users["team_lian"],
    )
    assert entry.after["registry_numbers"] == {"first": report.registry_numbers[0], "last": report.registry_numbers[1]}


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


def rows_in(villages: list[str], per_village: int) -> list[list[str]]:
    """Rows of ``per_village`` households of 3 in each village (group 1 only where the village has one)."""
    rows = []
    for index, village in enumerate(villages):
        for row in rows_for(per_village, village=village):
            row[0] = f"{index}-{row[0]}"
            row[2] = "1" if village == LIAN else ""
            rows.append(row)
    return rows


def test_one_audit_entry_per_village_names_its_households_each_of_which_shows_the_import(users):
    before = AuditEntry.objects.count()
    report = household_import(
        actor=None, data=csv_file(rows_in([LIAN, SHETIAN], 3)), filename="乡镇/名单.csv", dry_run=False
    )
    assert AuditEntry.objects.count() == before + 2
    content_type = ContentType.objects.get_for_model(Division)
    for village in (LIAN, SHETIAN):
        entry = AuditEntry.objects.get(action="household.import", object_id=village)
        numbers = sorted(Household.objects.filter(village_id=village).values_list("registry_number", flat=True))
        assert numbers == sorted(n for n in report.registry_numbers if n.startswith(village))
        assert (entry.content_type, entry.scope_code, entry.actor_username) == (content_type, village, "system")
        assert entry.after == {
            "file": "乡镇/名单.csv",
            "households": 3,
            "members": 9,
            "registry_numbers": {"first": numbers[0], "last": numbers[-1]},
            "status": "applied",
        }
    for household in Household.objects.filter(registry_number__in=report.registry_numbers):
        [change] = household.status_changes.all()
        assert (change.action, change.reason, change.to_status, change.actor) == ("apply", "批量导入", "applied", None)


def test_registry_numbers_follow_each_villages_last_one(users):
    first = household_import(actor=None, data=csv_file(rows_in([LIAN], 2)), filename="a.csv", dry_run=False)
    second = household_import(actor=None, data=csv_file(rows_for(2, persons=1)), filename="b.csv", dry_run=False)
    assert [int(n[12:]) for n in first.registry_numbers + second.registry_numbers] == [
        int(first.registry_numbers[0][12:]) + i for i in range(4)
    ]


def test_queries_do_not_grow_with_households_or_villages(users):
    def queries(rows) -> int:
        with CaptureQueriesContext(connection) as captured:
            household_import(actor=None, data=csv_file(rows), filename="a.csv", dry_run=False)
        return len(captured)

    small = queries(rows_for(1))
    assert queries(rows_in([LIAN, SHETIAN, LONGXI], 10)) == small


def test_a_failure_while_writing_leaves_nothing(users, monkeypatch):
    written = []

    def failing_copy(model, values, count, **kwargs):
        if model is StatusChange:
            raise RuntimeError("disk full")
        written.append(model)
        return copy_model(model, values, count, **kwargs)

    copy_model = imports.copy_model
    monkeypatch.setattr(imports, "copy_model", failing_copy)
    before = counts()
    with pytest.raises(RuntimeError):
        household_import(actor=users["team_lian"], data=csv_file(rows_for(3)), filename="a.csv", dry_run=False)
    assert written == [Household, Member]
    assert counts() == before


def test_names_with_quotes_tabs_and_backslashes_arrive_intact(users):
    rows = rows_for(1, persons=3)
    names = ['盘"小"妹', "李\\四", "王\t五"]
    for row, name, birth in zip(rows, names, ["20100101", "19600101", "19500101"], strict=True):
        row[6] = '"' + name.replace('"', '""') + '"'
        row[7] = make_id_number(birth=birth)  # ID numbers in the reverse of the file's order
    report = household_import(actor=users["team_lian"], data=csv_file(rows), filename="a.csv", dry_run=False)
    household = Household.objects.get(registry_number=report.registry_numbers[0])
    assert list(household.members.order_by("id").values_list("name", flat=True)) == names  # in the file's order


@pytest.mark.parametrize(
    "text",
    [
        "a,b,c\r\n1,2,3\r\n4,5,6\r\n",  # plain, CRLF
        "\ufeffa,b,c\n1,2,3\n4,5,6",  # plain, byte-order mark, no final newline
        "a,b,c\n1, 2 ,3\n4,5,6\n",  # cells to strip
        "a,b,c\n1,2,3\n\n,,\n4,5,6\n",  # blank rows
        "a,b,c\n1,2\n4,5,6,7\n",  # ragged rows
        'a,b,c\n"1,5",2,3\n4,"5\n6",6\n',  # quoted cells
        "a,b,c\n1,\u30002,3\n",  # an ideographic space
    ],
)
def test_reading_by_columns_gives_the_cells_the_row_reader_gives(text):
    header, rows = read_rows(text.encode(), "a.csv")
    rows = [row + [""] * (len(header) - len(row)) for row in rows]
    assert read_columns(text.encode(), "a.csv") == (header, list(zip(*rows, strict=False))[: len(header)], len(rows))


def test_a_person_on_a_department_list_is_refused_with_the_rules_explanation(users):
    from households.crosscheck import crosscheck_import
    from households.exclusions import PersonRef, run_exclusion_checks

    rows = rows_for(2)
    listed = rows[4][7]
    crosscheck_import(
        actor=users["county_jianghua"],
        data=f"身份证号,类别\n{listed},车辆\n".encode(),
        filename="list.csv",
        source="县公安局",
    )
    [hit] = run_exclusion_checks([PersonRef(name=rows[4][6], id_number=listed)])
    before = counts()
    with pytest.raises(ApplicationError) as info:
        household_import(actor=users["team_lian"], data=csv_file(rows), filename="a.csv", dry_run=True)
    assert info.value.fields["rows"] == [f"第 6 行 身份证号：{hit.explanation}"]
    assert counts() == before

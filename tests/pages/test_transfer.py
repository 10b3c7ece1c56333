"""Import and export pages: dry run, row errors, confirm, progress page, template, export safety."""

import csv
import io
from urllib.parse import urlencode

import pytest
from openpyxl import load_workbook

from households.models import Household
from households.services import member_update
from registry.jobs import job_run
from registry.models import Job
from tests.conftest import JOB_DATABASES
from tests.factories import make_applied
from tests.households.test_imports import csv_file, rows_for

LIAN = "431129203201"
SHETIAN = "430523104201"
pytestmark = pytest.mark.django_db(databases=JOB_DATABASES)


@pytest.fixture(autouse=True)
def no_threads(settings):
    settings.REGISTRY_JOBS_IN_THREAD = False


def upload(client, data: bytes, name="a.csv", dry_run=True):
    payload = {"file": io.BytesIO(data)}
    payload["file"].name = name
    if dry_run:
        payload["dry_run"] = "on"
    response = client.post("/households/import/", payload)
    assert response.status_code == 302, response.content.decode()[:800]
    return Job.objects.latest("id")


def test_dry_run_then_confirm_imports_everything(client_for):
    client = client_for("team_lian")
    job = upload(client, csv_file(rows_for(2)))
    before = Household.objects.count()
    job_run(job.pk)
    html = client.get(f"/households/jobs/{job.pk}/").content.decode()
    assert "检查通过" in html and "共 2 户、6 人" in html
    assert Household.objects.count() == before
    response = client.post(f"/households/jobs/{job.pk}/confirm/")
    real = Job.objects.latest("id")
    assert response["Location"] == f"/households/jobs/{real.pk}/"
    job_run(real.pk)
    assert Household.objects.count() == before + 2
    assert "已全部导入" in client.get(f"/households/jobs/{real.pk}/").content.decode()


def test_running_job_page_refreshes_itself(client_for):
    client = client_for("team_lian")
    job = upload(client, csv_file(rows_for(1)))
    html = client.get(f"/households/jobs/{job.pk}/").content.decode()
    assert '<meta http-equiv="refresh" content="2">' in html and "<progress" in html


def test_bad_file_lists_row_errors_and_cannot_be_confirmed(client_for):
    client = client_for("team_lian")
    rows = rows_for(1)
    rows[0][7] = "12345"
    job = upload(client, csv_file(rows))
    job_run(job.pk)
    html = client.get(f"/households/jobs/{job.pk}/").content.decode()
    assert "第 2 行 身份证号" in html and "未写入任何数据" in html
    client.post(f"/households/jobs/{job.pk}/confirm/")
    assert Job.objects.latest("id").pk == job.pk


def test_jobs_belong_to_their_creator(client_for):
    job = upload(client_for("team_lian"), csv_file(rows_for(1)))
    assert client_for("county_jianghua").get(f"/households/jobs/{job.pk}/").status_code == 404


def test_wrong_file_type_and_read_only_roles(client_for):
    client = client_for("team_lian")
    payload = {"file": io.BytesIO(b"x")}
    payload["file"].name = "a.txt"
    response = client.post("/households/import/", payload)
    assert response.status_code == 200 and "请上传 .xlsx 或 .csv 文件" in response.content.decode()
    assert client_for("auditor_hunan").get("/households/import/").status_code == 403


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_template_downloads(client_for, fmt):
    response = client_for("team_lian").get(f"/households/import/template.{fmt}")
    assert response.status_code == 200
    if fmt == "xlsx":
        rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    else:
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ("户号", "村代码") or rows[0][:2] == ["户号", "村代码"]


def read_export(client, fmt="csv", **params):
    """Return the rows of the export: the CSV streamed, the XLSX from the job it starts."""
    if fmt == "csv":
        response = client.get("/households/export.csv", params)
        assert response.status_code == 200
        return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    response = client.post(f"/households/export.xlsx?{urlencode(params)}", {"masked": "1"})
    job = Job.objects.latest("id")
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    assert job_run(job.pk).status == Job.Status.SUCCEEDED
    download = client.get(f"/jobs/{job.pk}/download/")
    assert download.status_code == 200
    return [list(r) for r in load_workbook(io.BytesIO(download.content)).active.iter_rows(values_only=True)]


def test_xlsx_export_by_get_starts_nothing(client_for):
    response = client_for("team_lian").get("/households/export.xlsx", {"attribute": "tekun"})
    assert response.status_code == 302 and response["Location"] == "/households/?attribute=tekun"
    assert not Job.objects.filter(kind="household_export").exists()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_is_scoped_masked_and_formula_safe(client_for, users, divisions, fmt):
    mine = make_applied(village=divisions[LIAN])
    head = mine.members.get(relationship="head")
    member_update(actor=users["team_lian"], member=head, changes={"name": '=HYPERLINK("http://x","点我")'})
    make_applied(village=divisions[SHETIAN])
    rows = read_export(client_for("county_jianghua"), fmt)
    header, body = rows[0], rows[1:]
    numbers = {r[0] for r in body}
    assert mine.registry_number in numbers
    assert not any(n.startswith(SHETIAN) for n in numbers)
    ids = [r[header.index("身份证号")] for r in body]
    assert all("**" in i for i in ids)
    names = [r[header.index("姓名")] for r in body if r[0] == mine.registry_number]
    assert '\'=HYPERLINK("http://x","点我")' in names
    assert not any(str(cell).startswith(("=", "+", "-", "@")) for row in body for cell in row if cell)


def test_export_follows_the_filters(client_for, divisions):
    make_applied(village=divisions[LIAN], attribute="tekun")
    make_applied(village=divisions[LIAN], attribute="general")
    rows = read_export(client_for("team_lian"), attribute="tekun")
    header = rows[0]
    assert {r[header.index("贫困户属性")] for r in rows[1:]} == {"特困供养贫困户"}


def test_export_columns_are_the_import_templates(client_for, divisions):
    """An export reads like the import template, with the registry number and statuses in front."""
    from households.imports import template_rows

    make_applied(village=divisions[LIAN])
    header = read_export(client_for("team_lian"))[0]
    assert header == ["户编号", "户状态", "识别环节", "成员状态", *template_rows()[0]]

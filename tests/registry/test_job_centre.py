"""我的任务: every kind of job in one list, the generic job page, job files and their expiry.

The household XLSX export is the first job with a file: it runs through the real job
runner (``job_run``, the code ``run_jobs`` and the threads use) with threads off, as the
other job tests do.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from urllib.parse import quote, urlencode

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from demo.loader import LIAN, SHETIAN
from households.exports import EXPORT_JOB, XLSX
from households.models import Household, Member, PersonalDataAccess
from households.privacy import PII_NOT_ALLOWED
from registry import jobs
from registry.job_views import PAGE_SIZE
from registry.jobs import KINDS, RUNNERS, UNMASKED, job_create, job_run, job_store_output, runner
from registry.models import AuditEntry, Job
from tests.conftest import JOB_DATABASES
from tests.factories import make_applied

pytestmark = pytest.mark.django_db(databases=JOB_DATABASES)
REASON = "低保核对"


@pytest.fixture(autouse=True)
def no_threads(settings):
    settings.REGISTRY_JOBS_IN_THREAD = False


@pytest.fixture
def households(divisions, users):
    """Two households in 栗安村 (one 特困), one in 社田村 (outside 江华县)."""
    return [
        make_applied(village=divisions[LIAN], actor=users["team_lian"], attribute="tekun"),
        make_applied(village=divisions[LIAN], actor=users["team_lian"], attribute="general"),
        make_applied(village=divisions[SHETIAN]),
    ]


@pytest.fixture
def kind(monkeypatch):
    """Return a function registering a throw-away job kind for one test."""

    def register(name: str, func, **options):
        monkeypatch.setitem(RUNNERS, name, func)
        monkeypatch.setitem(KINDS, name, jobs.JobKind(kind=name, label=options.pop("label", name), **options))
        return name

    return register


def start_export(client, *, unmask=False, **filters) -> Job:
    """Ask for the XLSX export from the household list; return the job it was sent to."""
    data = {"reason": REASON} if unmask else {"masked": "1"}
    response = client.post(f"/households/export.xlsx?{urlencode(filters)}", data)
    job = Job.objects.latest("id")
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    return job


def workbook_rows(content: bytes) -> list[list[str]]:
    rows = load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True)
    return [["" if cell is None else str(cell) for cell in row] for row in rows]


def csv_rows(client, **filters) -> list[list[str]]:
    response = client.get("/households/export.csv", filters)
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


# The jobs centre --------------------------------------------------------------------------------


def test_the_list_shows_only_ones_own_jobs_of_every_kind_newest_first(client_for, users):
    mine = [
        job_create(actor=users["team_lian"], kind="household_import", payload=b"x", file_name="名单.csv"),
        job_create(actor=users["team_lian"], kind="quality_run", params={"division": LIAN}),
        job_create(actor=users["team_lian"], kind=EXPORT_JOB, params={"filters": {}}, file_name="贫困户名单.xlsx"),
    ]
    theirs = job_create(actor=users["county_jianghua"], kind=EXPORT_JOB, params={"filters": {}})
    response = client_for("team_lian").get("/jobs/")
    assert response.status_code == 200
    shown = [row["job"].pk for row in response.context["rows"]]
    assert shown == [job.pk for job in reversed(mine)] and theirs.pk not in shown
    html = response.content.decode()
    assert all(label in html for label in ("导入", "导出", "数据质量核查", "名单.csv", "<progress"))
    # Each job links to its kind's page; the export to the generic one.
    assert f'href="/households/jobs/{mine[0].pk}/"' in html and f'href="/quality/jobs/{mine[1].pk}/"' in html
    assert f'href="/jobs/{mine[2].pk}/"' in html and f"/jobs/{theirs.pk}/" not in html
    assert '<meta http-equiv="refresh"' in html  # some of them are still queued


def test_the_list_pages_with_the_shared_pager(client_for, users):
    for _n in range(PAGE_SIZE + 1):
        job_create(actor=users["team_lian"], kind=EXPORT_JOB, params={"filters": {}})
    client = client_for("team_lian")
    first = client.get("/jobs/")
    assert len(first.context["rows"]) == PAGE_SIZE and 'class="pager"' in first.content.decode()
    assert len(client.get("/jobs/", {"page": 2}).context["rows"]) == 1


def test_the_list_runs_as_many_queries_for_many_jobs_as_for_few(client_for, users):
    client = client_for("team_lian")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/jobs/").status_code == 200
        return len(captured)

    for kind, params in (("household_import", {}), ("quality_run", {"division": LIAN}), (EXPORT_JOB, {})):
        job_create(actor=users["team_lian"], kind=kind, params=params)
    few = queries()
    for n in range(PAGE_SIZE - 3):
        job_create(actor=users["team_lian"], kind=(EXPORT_JOB, "quality_run")[n % 2], params={"division": LIAN})
    Job.objects.filter(created_by=users["team_lian"]).update(status=Job.Status.SUCCEEDED, finished_at=timezone.now())
    assert queries() == few


def test_the_header_links_my_jobs_with_the_number_still_running(client_for, users):
    client = client_for("team_lian")
    html = client.get("/").content.decode()
    assert 'href="/jobs/"' in html and "我的任务" in html and 'class="count"' not in html
    job_create(actor=users["team_lian"], kind=EXPORT_JOB, params={"filters": {}})
    assert '<span class="count">1<' in client.get("/").content.decode()


def test_another_users_job_and_file_are_not_found(client_for, users, households):
    job = job_run(start_export(client_for("team_lian")).pk)
    assert job.status == Job.Status.SUCCEEDED
    for url in (f"/jobs/{job.pk}/", f"/jobs/{job.pk}/download/"):
        assert client_for("team_lian").get(url).status_code == 200
        assert client_for("county_jianghua").get(url).status_code == 404
        anonymous = Client().get(url)
        assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    assert client_for("admin").get(f"/jobs/{job.pk}/download/").status_code == 200


# The XLSX export as a job -----------------------------------------------------------------------


def test_the_export_job_has_the_csv_exports_rows_masked(client_for, households):
    client = client_for("team_lian")
    job = start_export(client, attribute="tekun")
    assert job.params == {"filters": {"attribute": ["tekun"]}, UNMASKED: False}
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert '<meta http-equiv="refresh" content="2">' in page and "<progress" in page and "下载" not in page
    assert client.get(f"/jobs/{job.pk}/download/").status_code == 404  # no file yet

    job = job_run(job.pk)
    assert job.status == Job.Status.SUCCEEDED, job.message
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "refresh" not in page and f'href="/jobs/{job.pk}/download/"' in page and "已脱敏" in page
    response = client.get(f"/jobs/{job.pk}/download/")
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Disposition"] == f"attachment; filename*=utf-8''{quote(job.output_name)}"
    assert job.output_name.startswith("贫困户名单-") and job.output_name.endswith(".xlsx")

    rows = workbook_rows(response.content)
    assert rows == csv_rows(client, attribute="tekun")
    header, body = rows[0], rows[1:]
    numbers = {r[0] for r in body}
    assert households[0].registry_number in numbers and households[1].registry_number not in numbers
    assert len(body) == job.result["rows"] == job.done == job.total
    ids = set(Member.objects.filter(household=households[0]).values_list("id_number", flat=True))
    assert all("**" in r[header.index("身份证号")] for r in body)
    assert not ids & {r[header.index("身份证号")] for r in body}
    assert not AuditEntry.objects.filter(action="job.download").exists()


def test_the_unmask_post_logs_the_disclosure_first_and_each_download(client_for, users, households):
    client = client_for("team_lian")
    refused = client.post(f"/households/export.xlsx?village={LIAN}", {"reason": ""})
    assert refused.status_code == 302 and not Job.objects.filter(kind=EXPORT_JOB).exists()
    assert client_for("province_hunan").post("/households/export.xlsx", {"reason": REASON}).status_code == 403
    assert not Job.objects.filter(kind=EXPORT_JOB).exists()

    job = start_export(client, unmask=True, village=LIAN)
    access = PersonalDataAccess.objects.get()
    expected = (Household.objects.filter(village_id=LIAN).count(), REASON)
    assert (access.door, access.user, access.count, access.reason) == ("export", users["team_lian"], *expected)
    assert job.params[UNMASKED] is True and "完整号码" in job.file_name
    job = job_run(job.pk)
    assert job.status == Job.Status.SUCCEEDED, job.message
    assert "完整的身份证号" in client.get(f"/jobs/{job.pk}/").content.decode()

    response = client.get(f"/jobs/{job.pk}/download/")
    rows = workbook_rows(response.content)
    column = rows[0].index("身份证号")
    ids = set(Member.objects.filter(household__village_id=LIAN).values_list("id_number", flat=True))
    assert {r[column] for r in rows[1:]} <= ids and len(rows) == len(csv_rows(client, village=LIAN))
    entry = AuditEntry.objects.get(action="job.download")
    assert (entry.actor, entry.object_id, entry.after["file"]) == (users["team_lian"], str(job.pk), job.output_name)
    client.get(f"/jobs/{job.pk}/download/")
    assert AuditEntry.objects.filter(action="job.download").count() == 2


def test_the_job_runs_with_its_creators_scope(client_for, users, households):
    """Filters asking for a village outside the creator's jurisdiction export nothing of it."""
    job = job_run(start_export(client_for("team_lian"), village=SHETIAN).pk)
    assert job.status == Job.Status.SUCCEEDED
    assert workbook_rows(client_for("team_lian").get(f"/jobs/{job.pk}/download/").content)[1:] == []
    assert job.result["rows"] == 0


def test_an_unmasked_job_of_a_role_without_view_pii_fails_without_a_file(users, households):
    job = job_create(actor=users["province_hunan"], kind=EXPORT_JOB, params={"filters": {}, UNMASKED: True})
    job = job_run(job.pk)
    assert (job.status, job.message) == (Job.Status.FAILED, str(PII_NOT_ALLOWED))
    assert job.output is None and job.output_name == ""


@pytest.mark.django_db(transaction=True, databases=JOB_DATABASES)
def test_the_export_reports_its_progress_rows_done_of_all(demo, client_for, users, households, monkeypatch):
    """Progress goes through its own connection: committed data, so that connection sees the job."""
    seen = []

    class Watched(jobs.Progress):
        """Report every row, and note what the page would read after each report."""

        def __init__(self, job, every=1):
            super().__init__(job, every=1)

        def __call__(self, *args, **kwargs):
            super().__call__(*args, **kwargs)
            row = Job.objects.using(jobs.PROGRESS_ALIAS).get(pk=self.job.pk)
            seen.append((row.status, row.done, row.total))

    monkeypatch.setattr(jobs, "Progress", Watched)
    job = start_export(client_for("team_lian"))
    assert (job.done, job.total) == (0, 0)
    job = job_run(job.pk)
    total = len(csv_rows(client_for("team_lian"))) - 1
    assert total > 2 and (job.done, job.total) == (total, total)
    assert seen[0] == (Job.Status.RUNNING, 0, total) and seen[-1] == (Job.Status.RUNNING, total, total)
    assert [done for _status, done, _total in seen] == list(range(total + 1))


# Files of any kind ----------------------------------------------------------------------------


def test_a_runner_that_fails_after_storing_its_file_leaves_none(kind, users):
    def store_then_fail(job, progress):
        job_store_output(job, data=b"half", file_name="半成品.txt", content_type="text/plain")
        raise RuntimeError("boom")

    job = job_create(actor=users["team_lian"], kind=kind("test_store_then_fail", store_then_fail), params={})
    job = job_run(job.pk)
    assert job.status == Job.Status.FAILED
    assert (job.output, job.output_name, job.output_size) == (None, "", 0)


def test_any_kind_stores_a_file_with_a_chinese_name_shown_with_its_result_template(kind, client_for, users):
    def report(job, progress):
        progress(1, 1, force=True)
        job_store_output(job, data=b"%PDF-1.4", file_name='../江华县/统计表"1".pdf', content_type="application/pdf")
        return {"rows": 1}

    name = kind("test_report", report, label="报表", template="households/_export_job.html")
    job = job_run(job_create(actor=users["team_lian"], kind=name, params={}).pk)
    assert job.status == Job.Status.SUCCEEDED and job.output_name == "_江华县_统计表_1_.pdf"
    client = client_for("team_lian")
    assert "报表" in client.get("/jobs/").content.decode()
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "报表" in page and "_江华县_统计表_1_.pdf" in page and "导出结果" in page
    response = client.get(f"/jobs/{job.pk}/download/")
    assert response.content == b"%PDF-1.4" and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == "attachment; filename*=utf-8''" + quote("_江华县_统计表_1_.pdf")


def test_a_file_is_stored_only_by_a_running_jobs_runner(users):
    job = job_create(actor=users["team_lian"], kind=EXPORT_JOB, params={"filters": {}})
    with pytest.raises(RuntimeError):
        job_store_output(job, data=b"x", file_name="a.txt", content_type="text/plain")


@pytest.mark.parametrize("command", ["purge_job_outputs", "run_jobs"])
def test_files_past_their_days_are_cleared_and_the_page_says_so(command, client_for, users, households, settings):
    settings.REGISTRY_JOB_OUTPUT_DAYS = 7
    client = client_for("team_lian")
    old = job_run(start_export(client).pk)
    fresh = job_run(start_export(client).pk)
    Job.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(days=7, minutes=1))
    Job.objects.filter(pk=fresh.pk).update(finished_at=timezone.now() - timedelta(days=6))

    # Past its days, the file is no longer offered, even before it is cleared.
    assert "已过保存期限" in client.get(f"/jobs/{old.pk}/").content.decode()
    assert client.get(f"/jobs/{old.pk}/download/")["Location"] == f"/jobs/{old.pk}/"

    call_command(command, stdout=io.StringIO())
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.output is None and old.output_name and fresh.output is not None
    page = client.get(f"/jobs/{old.pk}/").content.decode()
    assert "已过保存期限" in page and f"/jobs/{old.pk}/download/" not in page
    response = client.get(f"/jobs/{old.pk}/download/", follow=True)
    assert "已过保存期限并已删除" in response.content.decode()
    assert client.get(f"/jobs/{fresh.pk}/download/").status_code == 200


def test_the_import_and_quality_pages_stay_and_the_generic_page_links_them(client_for, users):
    job = job_create(actor=users["team_lian"], kind="household_import", payload=b"x", file_name="a.csv")
    client = client_for("team_lian")
    assert client.get(f"/households/jobs/{job.pk}/").status_code == 200
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "导入" in page and f'href="/households/jobs/{job.pk}/"' in page
    export = job_create(actor=users["team_lian"], kind=EXPORT_JOB, params={"filters": {}})
    assert client.get(f"/households/jobs/{export.pk}/")["Location"] == f"/jobs/{export.pk}/"


def test_runner_registers_a_label(monkeypatch):
    monkeypatch.setattr(jobs, "RUNNERS", dict(RUNNERS))
    monkeypatch.setattr(jobs, "KINDS", dict(KINDS))

    @runner("test_labelled", label="报表", template="x.html")
    def run(job, progress):
        return {}

    assert jobs.job_kind("test_labelled") == jobs.JobKind("test_labelled", "报表", "x.html", "")
    assert jobs.job_kind("unknown").label == "unknown"

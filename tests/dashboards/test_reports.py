"""Standard reports (XLSX) hold the dashboard's figures, mask personal data, and run as jobs."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from dashboards import reports, selectors
from demo.loader import JIANGHUA, LIAN
from households.models import PersonalDataAccess
from registry.models import Job, User
from tests.conftest import JOB_DATABASES
from villages.models import Division

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_registry_package")]

YEAR = 2018


def sheets(data: bytes) -> dict[str, list[list]]:
    book = load_workbook(io.BytesIO(data), read_only=True)
    return {sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)] for sheet in book.worksheets}


def summary(data: bytes) -> dict[str, list]:
    """Return the summary sheet's rows by their first cell."""
    return {row[0]: row[1:] for row in sheets(data)["汇总"][2:]}


@pytest.fixture
def admin():
    return User.objects.get(username="admin")


def build(user, code, division, unmask=False):
    return reports.build_report(user=user, report_code=code, division=division, year=YEAR, unmask=unmask)


@pytest.mark.parametrize("code", [LIAN, JIANGHUA, "431100000000", "430000000000"])
def test_incidence_report_equals_the_dashboard(admin, code):
    division = Division.objects.get(pk=code)
    board = selectors.dashboard(user=admin, division=division, year=YEAR)
    rows = summary(build(admin, "incidence", division))
    s = board.statistics
    assert rows["建档立卡"] == [s.registered.households, s.registered.persons]
    assert rows["未脱贫"] == [s.poor.households, s.poor.persons]
    assert rows["已脱贫"] == [s.exited.households, s.exited.persons]
    assert rows["返贫"] == [s.returned.households, s.returned.persons]
    assert rows["清退"] == [s.removed.households, s.removed.persons]
    detail = sheets(build(admin, "incidence", division))["明细"][1:]
    assert [r[0] for r in detail] == [row.division.code for row in board.areas]
    assert [r[5] for r in detail] == [row.incidence.poor_persons for row in board.areas]
    assert sum(r[2] for r in detail) == s.registered.households


def test_plan_report_equals_the_dashboard(admin):
    county = Division.objects.get(pk=JIANGHUA)
    board = selectors.dashboard(user=admin, division=county, year=YEAR)
    assert board.plan.has_plan
    rows = summary(build(admin, "plan", county))
    assert rows["脱贫人口"] == [board.plan.persons_to_exit, board.plan.persons_exited]
    assert rows["贫困村出列"] == [board.plan.villages_to_exit, board.plan.villages_exited]
    assert rows["脱贫户数"][1] == board.plan.households_exited


@pytest.mark.parametrize("code", [LIAN, JIANGHUA])
def test_measures_and_exits_reports_equal_the_dashboard(admin, code):
    division = Division.objects.get(pk=code)
    board = selectors.dashboard(user=admin, division=division, year=YEAR)
    rows = summary(build(admin, "measures", division))
    for row in board.by_measure:
        assert rows[row.label][:2] == [row.measures, row.households]
        assert rows[row.label][2] == pytest.approx(float(row.amount))
    measures = sheets(build(admin, "measures", division))["措施明细"][1:]
    assert len(measures) == sum(row.measures for row in board.by_measure)
    year = next(row for row in board.years if row.year == YEAR)
    data = build(admin, "exits", division)
    assert summary(data)["审定脱贫"] == [year.exited_households, year.exited_persons]
    names = sheets(data)["脱贫户名单"][1:]
    assert len(names) == year.exited_households > 0
    assert sum(r[4] for r in names) == year.exited_persons


def test_roster_masks_unless_asked_and_counts_the_registered(admin):
    village = Division.objects.get(pk=LIAN)
    statistics = selectors.dashboard(user=admin, division=village, year=YEAR).statistics
    roster = sheets(build(admin, "roster", village))["花名册"][1:]
    assert len(roster) == statistics.registered.households + statistics.removed.households
    assert all("*" in r[4] for r in roster if r[4])
    full = sheets(build(admin, "roster", village, unmask=True))["花名册"][1:]
    assert all(len(r[4]) == 18 and "*" not in r[4] for r in full if r[4])


def test_the_levels_each_report_is_made_at():
    village = Division.objects.get(pk=LIAN)
    province = Division.objects.get(pk="430000000000")
    assert {r.code for r in reports.reports_for(village)} == {"incidence", "measures", "exits", "roster"}
    assert {r.code for r in reports.reports_for(province)} == {"incidence", "plan"}


# Through the page, as a job ----------------------------------------------------------------------------


def post_report(client, code, **data):
    fields = {"report-report": "incidence", "report-year": YEAR, **{f"report-{k}": v for k, v in data.items()}}
    return client.post(f"/dashboard/{code}/report/", fields)


@pytest.mark.django_db(databases=JOB_DATABASES)
def test_a_report_runs_as_a_job_of_its_creator(client_for, settings):
    from registry.jobs import job_run

    settings.REGISTRY_JOBS_IN_THREAD = False
    client = client_for("county_jianghua")
    response = post_report(client, JIANGHUA, report="roster")
    job = Job.objects.get(kind="report")
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    job_run(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.message
    data = bytes(job.output)
    roster = sheets(data)["花名册"][1:]
    assert roster and all("*" in r[4] for r in roster if r[4])
    download = client.get(f"/jobs/{job.pk}/download/")
    body = b"".join(download.streaming_content) if download.streaming else download.content
    assert download.status_code == 200 and body == data


def test_an_unmasked_report_needs_a_reason_and_is_logged(client_for, settings):
    settings.REGISTRY_JOBS_IN_THREAD = False
    client = client_for("county_jianghua")
    before = PersonalDataAccess.objects.count()
    post_report(client, JIANGHUA, report="roster", unmask="on", reason="")
    assert not Job.objects.filter(kind="report").exists()
    assert PersonalDataAccess.objects.count() == before
    post_report(client, JIANGHUA, report="roster", unmask="on", reason="县级年度核对")
    job = Job.objects.get(kind="report")
    assert job.params["unmasked"] is True
    assert PersonalDataAccess.objects.count() == before + 1


def test_a_role_without_personal_data_gets_a_masked_report(client_for, settings):
    settings.REGISTRY_JOBS_IN_THREAD = False
    post_report(client_for("province_hunan"), JIANGHUA, report="roster", unmask="on", reason="想看")
    job = Job.objects.get(kind="report")
    assert job.params["unmasked"] is False


def test_outside_the_jurisdiction_is_not_found(client_for):
    response = post_report(client_for("county_shaoyang"), JIANGHUA)
    assert response.status_code == 404
    assert not Job.objects.filter(kind="report").exists()


def test_a_report_not_made_at_the_level_is_refused_clearly(client_for):
    response = post_report(client_for("province_hunan"), "430000000000", report="roster")
    assert response.status_code == 302 and not Job.objects.filter(kind="report").exists()

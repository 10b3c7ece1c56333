"""The data-quality page: scope, 404 outside, filters, accept with and without a reason, runs, queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from households.models import Member
from quality.choices import FindingStatus
from quality.errors import REASON_REQUIRED
from quality.models import Finding
from quality.services import quality_run
from registry.jobs import job_run
from registry.models import Job
from tests.conftest import JOB_DATABASES
from tests.quality.conftest import DAXI

pytestmark = pytest.mark.django_db(databases=JOB_DATABASES)


@pytest.fixture
def found(planted):
    quality_run(actor=None, division=planted.village)
    return planted


def page(client, code, **params):
    response = client.get(f"/quality/{code}/", params)
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_shows_counts_and_open_findings_with_masked_ids(found, client_for):
    html = page(client_for("township_daxi"), found.village.code)
    assert "数据质量核查" in html and "身份证号校验位错误" in html
    assert html.count('class="tag status-open"') == sum(len(e) for e in found.expected.values())
    for member in Member.objects.filter(household__village=found.village):
        assert member.id_number not in html
    assert "4311**********" in html
    assert "核实无误，认可" in html  # the township may accept


def test_the_page_filters_by_rule_and_status(found, client_for):
    client = client_for("county_jianghua")
    html = page(client, found.village.code, rule="missing_head")
    assert html.count('class="tag status-open"') == 1 and "没有在册的户主" in html
    assert "没有符合条件的问题" in page(client, found.village.code, status="fixed")


def test_a_township_page_covers_its_villages_and_the_nav_links_to_it(found, client_for):
    client = client_for("township_daxi")
    assert "身份证号校验位错误" in page(client, DAXI, rule="id_check_digit")
    assert client.get("/quality/").status_code == 302
    assert 'href="/quality/"' in client.get("/").content.decode()
    assert f'href="/quality/{DAXI}/"' in client.get(f"/divisions/{DAXI}/").content.decode()


def test_outside_the_jurisdiction_is_404(found, client_for):
    assert client_for("county_shaoyang").get(f"/quality/{found.village.code}/").status_code == 404
    assert client_for("team_lian").get(f"/quality/{found.village.code}/").status_code == 404
    f = Finding.objects.filter(division_code=found.village.code).first()
    response = client_for("county_shaoyang").post(f"/quality/findings/{f.pk}/accept/", {"reason": "核实"})
    assert response.status_code == 404
    assert client_for("county_shaoyang").post(f"/quality/{found.village.code}/run/").status_code == 404


def test_accept_with_a_reason(found, client_for):
    client = client_for("township_daxi")
    f = Finding.objects.get(rule="no_helper")
    response = client.post(
        f"/quality/findings/{f.pk}/accept/", {"reason": "帮扶责任人调动，新人选待定", "next": "/evil"}
    )
    assert response.status_code == 302
    f.refresh_from_db()
    assert f.status == FindingStatus.ACCEPTED and f.accepted_reason == "帮扶责任人调动，新人选待定"
    html = page(client, found.village.code, rule="no_helper", status="accepted")
    assert "帮扶责任人调动，新人选待定" in html and "已认可该问题" in html


def test_accept_without_a_reason_is_refused_in_chinese(found, client_for):
    client = client_for("township_daxi")
    f = Finding.objects.get(rule="no_helper")
    response = client.post(f"/quality/findings/{f.pk}/accept/", {"reason": " "}, follow=True)
    assert str(REASON_REQUIRED) in response.content.decode()
    f.refresh_from_db()
    assert f.status == FindingStatus.OPEN


def test_the_work_team_cannot_accept(found, client_for, divisions):
    f = Finding.objects.get(rule="no_helper")
    client = client_for("county_jianghua")
    assert "核实无误，认可" in page(client, found.village.code)
    client = client_for("auditor_hunan")
    assert "核实无误，认可" not in page(client, found.village.code)
    response = client.post(f"/quality/findings/{f.pk}/accept/", {"reason": "核实"})
    assert response.status_code == 403 and "只有乡镇、县级审核人员" in response.content.decode()
    assert Finding.objects.get(pk=f.pk).status == FindingStatus.OPEN


def test_run_from_the_page_in_the_background_with_progress(planted, client_for, settings):
    settings.REGISTRY_JOBS_IN_THREAD = False
    client = client_for("township_daxi")
    assert "立即核查" in page(client, planted.village.code)
    response = client.post(f"/quality/{planted.village.code}/run/")
    job = Job.objects.latest("id")
    assert response["Location"] == f"/quality/jobs/{job.pk}/"
    assert '<meta http-equiv="refresh" content="2">' in client.get(response["Location"]).content.decode()
    job = job_run(job.pk)
    assert job.status == Job.Status.SUCCEEDED, job.message
    html = client.get(f"/quality/jobs/{job.pk}/").content.decode()
    assert "身份证号校验位错误" in html and "refresh" not in html
    assert Finding.objects.filter(division_code=planted.village.code).exists()


def test_the_auditor_sees_but_cannot_run(found, client_for):
    client = client_for("auditor_hunan")
    assert "立即核查" not in page(client, found.village.code)
    client.post(f"/quality/{found.village.code}/run/")
    assert not Job.objects.filter(kind="quality_run").exists()


def test_page_queries_do_not_grow_with_the_findings(found, client_for):
    client = client_for("township_daxi")
    page(client, found.village.code)
    with CaptureQueriesContext(connection) as few:
        rows = page(client, found.village.code).count('class="tag status-open"')
    Member.objects.filter(household__village=found.village).update(ethnicity="")
    quality_run(actor=None, division=found.village, rules=["missing_ethnicity"])
    with CaptureQueriesContext(connection) as many:
        html = page(client, found.village.code)
    assert html.count('class="tag status-open"') == 50 > rows
    assert len(many.captured_queries) == len(few.captured_queries)

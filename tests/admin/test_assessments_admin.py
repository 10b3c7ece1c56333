"""The admin door for annual reassessments (年度核查): recorded and corrected through the service."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assessments.exit_cases import exit_case_propose
from assessments.models import Assessment
from assessments.services import assessment_record
from demo.loader import LIAN
from households import errors as household_errors
from households.services import household_update
from registry.models import AuditEntry
from tests.factories import exit_through, make_assessed, make_household

CHANGELIST = "/admin/assessments/assessment/"
ADD = f"{CHANGELIST}add/"


def change_url(assessment) -> str:
    return f"{CHANGELIST}{assessment.pk}/change/"


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def inputs(html: str) -> set[str]:
    return set(re.findall(r'<(?:input|select|textarea)[^>]*\sname="([^"]+)"', html))


def entered(**changes) -> dict:
    """Return the fields of the admin's assessment form, as a browser posts them."""
    data = {
        "assessed_on": "2018-11-01",
        "wage_income": "12000",
        "operating_income": "3000",
        "operating_cost": "1000",
        "property_income": "0",
        "transfer_dibao": "600",
        "food_secure": "on",
        "clothing_secure": "on",
        "water_quality_safe": "on",
        "water_litres_per_person_day": "60",
        "water_fetch_minutes": "10",
        "notes": "入户核查",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def household(divisions):
    household = make_household(village=divisions[LIAN], status="registered", persons=3)
    return household_update(actor=None, household=household, changes={"housing_grade": "B"})


@pytest.fixture
def recorded(client_for, household):
    """A 2018 assessment recorded by the work team through the admin."""
    response = client_for("team_lian").post(ADD, entered(household=household.pk, year="2018"))
    assert response.status_code == 302, messages_of(response) or response.context["adminform"].form.errors
    return Assessment.objects.get(household=household, year=2018)


def test_recording_goes_through_the_service_which_computes_the_figures(recorded, users):
    assert (recorded.version, recorded.assessed_by, recorded.household_size) == (1, users["team_lian"], 3)
    assert recorded.transfers == {"dibao": "600"}
    assert (recorded.transfer_income, recorded.net_income) == (Decimal("600.00"), Decimal("14600.00"))
    assert recorded.per_capita_net_income == Decimal("4866.67")
    assert recorded.county_code == LIAN[:6]
    entry = AuditEntry.objects.get(action="assessment.create", object_id=str(recorded.pk))
    assert (entry.actor, entry.scope_code, entry.client_address) == (users["team_lian"], LIAN, "127.0.0.1")
    assert Decimal(entry.after["net_income"]) == Decimal("14600")


def test_a_second_record_of_the_same_year_is_refused(client_for, recorded):
    response = client_for("team_lian").post(ADD, entered(household=recorded.household_id, year="2018"))
    assert response.status_code == 200
    assert "该户本年度已有核查记录。" in str(response.context["adminform"].form.errors)
    assert Assessment.objects.filter(household=recorded.household_id).count() == 1


def test_a_service_refusal_is_shown_and_records_nothing(client_for, household):
    before = AuditEntry.objects.count()
    response = client_for("team_lian").post(ADD, entered(household=household.pk, year="2018", assessed_on="2016-05-01"))
    assert any("不在 2018 年度的核查期内" in m for m in messages_of(response)), messages_of(response)
    assert not Assessment.objects.filter(household=household).exists()
    assert AuditEntry.objects.count() == before


def test_a_correction_bumps_the_version_and_audits_the_change(client_for, users, recorded):
    client = client_for("team_lian")
    html = client.get(change_url(recorded)).content.decode()
    assert 'name="expected_version"' in html and 'name="wage_income"' in html
    assert not {"net_income", "per_capita_net_income", "household_size", "transfer_income", "version"} & inputs(html)
    data = entered(wage_income="15000", transfer_dibao="", transfer_pension="1200", expected_version="1")
    data.update(net_income="1", per_capita_net_income="99999", household_size="9", version="7")  # ignored
    response = client.post(change_url(recorded), data)
    assert response.status_code == 302, messages_of(response)
    recorded.refresh_from_db()
    assert (recorded.version, recorded.wage_income, recorded.transfers) == (2, 15000, {"pension": "1200"})
    assert (recorded.net_income, recorded.household_size) == (Decimal("18200.00"), 3)
    entry = AuditEntry.objects.get(action="assessment.update", object_id=str(recorded.pk))
    assert entry.actor == users["team_lian"]
    assert (Decimal(entry.before["wage_income"]), Decimal(entry.after["wage_income"])) == (12000, 15000)
    assert entry.after["transfers"] == {"pension": "1200"} and Decimal(entry.after["net_income"]) == 18200


def test_a_stale_correction_is_refused(client_for, recorded):
    assessment_record(actor=None, household=recorded.household, year=2018, data={"wage_income": 13000})
    before = AuditEntry.objects.count()
    response = client_for("team_lian").post(
        change_url(recorded), entered(wage_income="15000", expected_version="1"), follow=True
    )
    assert str(household_errors.VERSION_CONFLICT % {"current": 2, "expected": 1}) in response.content.decode()
    recorded.refresh_from_db()
    assert (recorded.version, recorded.wage_income) == (2, 13000)
    assert AuditEntry.objects.count() == before


def test_outside_the_jurisdiction_nothing_is_seen_or_changed(client_for, recorded, household):
    client = client_for("county_shaoyang")
    response = client.get(CHANGELIST)
    assert response.status_code == 200 and list(response.context["cl"].queryset) == []
    assert client.get(change_url(recorded)).status_code == 404
    assert client.post(change_url(recorded), entered(wage_income="1", expected_version="1")).status_code == 404
    before = AuditEntry.objects.count()
    response = client.post(ADD, entered(household=household.pk, year="2019", assessed_on="2019-11-01"))
    assert "household" in response.context["adminform"].form.errors
    recorded.refresh_from_db()
    assert (recorded.version, recorded.wage_income) == (1, 12000)
    assert Assessment.objects.filter(household=household).count() == 1
    assert AuditEntry.objects.count() == before
    assert client_for("county_jianghua").get(change_url(recorded)).status_code == 200


@pytest.mark.parametrize("username", ["prefecture_yongzhou", "province_hunan", "auditor_hunan"])
def test_roles_the_service_refuses_only_read(client_for, recorded, username):
    client = client_for(username)
    assert client.get(ADD).status_code == 403
    html = client.get(change_url(recorded)).content.decode()
    assert "14600.00" in html and "低保金 600 元" in html
    assert "wage_income" not in inputs(html)
    assert client.post(change_url(recorded), entered(wage_income="1", expected_version="1")).status_code == 403
    assert Assessment.objects.get(pk=recorded.pk).version == 1


@pytest.mark.parametrize("username", ["team_lian", "township_daxi", "county_jianghua"])
def test_the_roles_that_enter_data_may_add(client_for, username):
    assert client_for(username).get(ADD).status_code == 200


def test_an_assessment_a_certified_exit_relies_on_is_read_only(client_for, users, divisions):
    household, assessment = make_assessed(village=divisions[LIAN], year=2018)
    case = exit_case_propose(actor=users["team_lian"], household=household, year=2018, on_date=date(2019, 1, 2))
    exit_through(case, users, start=date(2019, 1, 3))
    client = client_for("team_lian")
    assert "wage_income" not in inputs(client.get(change_url(assessment)).content.decode())
    assert client.post(change_url(assessment), entered(expected_version="1")).status_code == 403
    assert Assessment.objects.get(pk=assessment.pk).version == 1


def test_nothing_is_deleted(client_for, recorded):
    assert client_for("admin").get(f"{CHANGELIST}{recorded.pk}/delete/").status_code == 403
    assert "delete_selected" not in client_for("admin").get(CHANGELIST).content.decode()


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_changelist_runs_a_constant_number_of_queries(client_for, divisions):
    client = client_for("county_jianghua")
    for _ in range(2):
        make_assessed(village=divisions[LIAN])
    few = count_queries(client, CHANGELIST)
    for _ in range(8):
        make_assessed(village=divisions[LIAN])
    assert count_queries(client, CHANGELIST) == few

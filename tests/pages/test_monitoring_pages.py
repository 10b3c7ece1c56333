"""The monitoring pages (防止返贫监测): scoping, the flags list and its filters, raising a
flag, its steps and the county's return to poverty through the services, refusals beside
the fields, buttons per role."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from assessments.exit_cases import exit_case_propose
from assessments.models import MonitoringFlag, MonitoringFlagStep
from assessments.monitoring import FLAG_NOT_IN_TRANSITION, monitoring_flag_raise, monitoring_flag_transition
from assessments.parameters import parameter_set
from demo.loader import LIAN
from households.models import Household
from registry.models import AuditEntry
from tests.factories import exit_through, make_assessed, make_household

TODAY = date.today()
URL = "/assessments/monitoring/"


def days_ago(n: int) -> date:
    return TODAY - timedelta(days=n)


def get(client, url: str, expected: int = 200, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == expected, (url, response.status_code)
    return response.content.decode()


def exited(users, divisions) -> Household:
    """A 栗安村 household exited in 2018, in its transition period today (Hunan's is stretched)."""
    household, _assessment = make_assessed(village=divisions[LIAN])
    case = exit_case_propose(actor=users["team_lian"], household=household, year=2018, on_date=days_ago(21))
    exit_through(case, users)
    return Household.objects.get(pk=household.pk)


@pytest.fixture
def household(users, divisions):
    parameter_set(actor=None, key="transition_years", value=TODAY.year - 2018, scope_code="430000000000")
    return exited(users, divisions)


@pytest.fixture
def flag(users, household):
    """A proposed flag after a sudden illness, raised twelve days ago by the work team."""
    return monitoring_flag_raise(
        actor=users["team_lian"],
        household=household,
        kind="sudden",
        reason="户主突发重病，住院费用远超家庭收入",
        event="重大疾病",
        on_date=days_ago(12),
    )


def to_active(users, flag):
    for action in ("appraise", "open_notice"):
        flag = monitoring_flag_transition(actor=users["team_lian"], flag=flag, action=action, on_date=days_ago(12))
    return monitoring_flag_transition(actor=users["county_jianghua"], flag=flag, action="approve", on_date=days_ago(7))


def actions(html: str, flag) -> set[str]:
    return set(re.findall(rf'action="/assessments/monitoring/{flag.pk}/steps/([a-z_]+)/"', html))


def state(flag) -> tuple:
    row = MonitoringFlag.objects.values().get(pk=flag.pk)
    return row, MonitoringFlagStep.objects.filter(flag=flag).count(), AuditEntry.objects.count()


# Scoping -------------------------------------------------------------------------------


def test_another_county_gets_404_and_never_sees_the_flag(client_for, flag):
    client = client_for("county_shaoyang")
    before = state(flag)
    get(client, f"{URL}{flag.pk}/", 404)
    get(client, f"{URL}raise/{flag.household.pk}/", 404)
    assert client.post(f"{URL}{flag.pk}/steps/approve/", {"on_date": ""}).status_code == 404
    data = {"cause": "illness", "reason": "x"}
    assert client.post(f"{URL}{flag.pk}/return-to-poverty/", data).status_code == 404
    html = get(client, URL)
    assert flag.household.registry_number not in html and f"{URL}{flag.pk}/" not in html
    assert state(flag) == before
    assert f"{URL}{flag.pk}/" in get(client_for("county_jianghua"), URL)


def test_list_filters_by_status_and_kind(client_for, flag):
    client = client_for("team_lian")
    link = f"{URL}{flag.pk}/"
    assert link in get(client, URL, status="proposed", kind="sudden")
    assert link not in get(client, URL, status="active")
    assert link not in get(client, URL, kind="marginal")
    assert link in get(client, URL, status="bogus")  # an unknown value is no filter


# Raising -------------------------------------------------------------------------------


def test_work_team_raises_a_flag_from_the_list_and_the_form(client_for, household):
    client = client_for("team_lian")
    html = get(client, URL)
    assert 'action="/assessments/monitoring/raise/"' in html
    response = client.get(f"{URL}raise/", {"registry_number": household.registry_number})
    assert response.status_code == 302 and response["Location"] == f"{URL}raise/{household.pk}/"
    assert 'name="reason"' in get(client, f"{URL}raise/{household.pk}/")
    response = client.post(
        f"{URL}raise/{household.pk}/",
        {"kind": "sudden", "event": "自然灾害", "reason": "洪灾冲毁房屋", "on_date": days_ago(3).isoformat()},
    )
    flag = MonitoringFlag.objects.get(household=household)
    assert response.status_code == 302 and response["Location"] == f"{URL}{flag.pk}/"
    assert (flag.status, flag.kind, flag.trigger, flag.event) == ("proposed", "sudden", "event", "自然灾害")
    assert AuditEntry.objects.filter(action="monitoring_flag.raise", object_id=str(flag.pk)).exists()
    html = get(client, f"{URL}{flag.pk}/")
    assert "洪灾冲毁房屋" in html and "突发事件" in html and "提出监测" in html
    assert actions(html, flag) == {"appraise"}
    assert "认定返贫" not in html


def test_raising_for_a_household_not_in_transition_is_refused_beside_the_form(client_for, divisions):
    household = make_household(village=divisions[LIAN], status="registered")
    client = client_for("team_lian")
    response = client.post(f"{URL}raise/{household.pk}/", {"kind": "sudden", "reason": "重病"})
    assert response.status_code == 200
    expected = str(FLAG_NOT_IN_TRANSITION) % {"status": household.get_status_display()}
    assert expected in response.content.decode()
    assert not MonitoringFlag.objects.filter(household=household).exists()
    # A county official may look but not raise.
    assert client_for("county_jianghua").post(f"{URL}raise/{household.pk}/", {"kind": "sudden"}).status_code == 403


# Steps and return to poverty -----------------------------------------------------------


def test_steps_and_return_to_poverty_through_the_pages(client_for, users, flag):
    team = client_for("team_lian")
    for action in ("appraise", "open_notice"):
        response = team.post(f"{URL}{flag.pk}/steps/{action}/", {"on_date": days_ago(12).isoformat()})
        assert response.status_code == 302, response.content.decode()
    county = client_for("county_jianghua")
    html = get(county, f"{URL}{flag.pk}/")
    assert actions(html, flag) == {"approve", "reject"}
    response = county.post(f"{URL}{flag.pk}/steps/approve/", {"on_date": days_ago(7).isoformat()})
    assert response.status_code == 302
    flag.refresh_from_db()
    assert flag.status == "active"
    html = get(county, f"{URL}{flag.pk}/")
    assert "认定返贫" in html and 'name="cause"' in html and actions(html, flag) == set()
    assert "认定返贫" not in get(team, f"{URL}{flag.pk}/")
    response = county.post(f"{URL}{flag.pk}/return-to-poverty/", {"cause": "illness", "reason": "医疗支出过大"})
    assert response.status_code == 302
    flag.refresh_from_db()
    household = Household.objects.get(pk=flag.household_id)
    assert (flag.status, household.status, household.main_cause) == ("returned", "returned", "illness")
    assert AuditEntry.objects.filter(action="monitoring_flag.return_to_poverty", object_id=str(flag.pk)).exists()
    assert "已返贫，监测结束" in get(county, f"{URL}{flag.pk}/")


def test_refusals_of_steps_and_return(client_for, users, flag):
    county = client_for("county_jianghua")
    before = state(flag)
    assert county.post(f"{URL}{flag.pk}/steps/appraise/", {}).status_code == 403  # a work-team step
    assert client_for("township_daxi").post(f"{URL}{flag.pk}/return-to-poverty/", {}).status_code == 403
    assert client_for("team_lian").post(f"{URL}{flag.pk}/steps/bogus/", {}).status_code == 404
    # Not active yet: the return is refused and nothing changes.
    response = county.post(f"{URL}{flag.pk}/return-to-poverty/", {"cause": "illness", "reason": "x"}, follow=True)
    assert "只有已纳入监测（县级审批）的已脱贫户才能认定返贫。" in response.content.decode()
    assert state(flag) == before
    # A missing reason shows beside the field.
    flag = to_active(users, flag)
    before = state(flag)
    response = county.post(f"{URL}{flag.pk}/return-to-poverty/", {"cause": "illness", "reason": ""})
    assert response.status_code == 200 and "认定返贫必须说明理由" in response.content.decode()
    assert state(flag) == before

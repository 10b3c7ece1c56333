"""/api/v1/monitoring-flags/: scoping, raising, the steps and the return to poverty through
the API (audited), refusals in the one error format, and query counts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assessments.exit_cases import exit_case_propose
from assessments.models import MonitoringFlag, MonitoringFlagStep
from assessments.monitoring import FLAG_ALREADY_OPEN, monitoring_flag_raise, monitoring_flag_transition
from assessments.parameters import parameter_set
from demo.loader import LIAN
from households.models import Household
from registry.api.errors import NOT_FOUND
from registry.errors import FOUR_EYES_VIOLATION
from registry.models import AuditEntry
from tests.api.helpers import assert_error, body
from tests.factories import exit_through, make_assessed, make_household

URL = "/api/v1/monitoring-flags/"
READ_ONLY = ["prefecture_yongzhou", "province_hunan", "auditor_hunan", "api_hunan"]
TODAY = date.today()


def days_ago(n: int) -> str:
    return (TODAY - timedelta(days=n)).isoformat()


@pytest.fixture
def api_for(api_for):
    def make(username: str):
        client = api_for(username)
        client.default_format = "json"
        return client

    return make


@pytest.fixture
def transition(db):
    """Stretch Hunan's transition period so a 2018 exit is in it today (the demo years are past)."""
    parameter_set(actor=None, key="transition_years", value=TODAY.year - 2018, scope_code="430000000000")


def exited(users, divisions) -> Household:
    household, _assessment = make_assessed(village=divisions[LIAN])
    case = exit_case_propose(
        actor=users["team_lian"], household=household, year=2018, on_date=TODAY - timedelta(days=21)
    )
    exit_through(case, users)
    return Household.objects.get(pk=household.pk)


@pytest.fixture
def household(users, divisions, transition):
    return exited(users, divisions)


def raise_flag(users, household) -> MonitoringFlag:
    return monitoring_flag_raise(
        actor=users["team_lian"],
        household=household,
        kind="sudden",
        reason="户主突发重病，住院费用远超家庭收入",
        event="重大疾病",
        on_date=TODAY - timedelta(days=12),
    )


@pytest.fixture
def flag(users, household):
    return raise_flag(users, household)


def url(flag, suffix: str = "") -> str:
    return f"{URL}{flag.pk}/{suffix}"


def state(flag) -> tuple:
    row = MonitoringFlag.objects.values().get(pk=flag.pk)
    household = Household.objects.values().get(pk=flag.household_id)
    return row, household, MonitoringFlagStep.objects.filter(flag=flag).count(), AuditEntry.objects.count()


def audited(action: str, flag) -> bool:
    return AuditEntry.objects.filter(action=action, object_id=str(flag.pk)).exists()


# Scoping -------------------------------------------------------------------------------


def test_another_county_gets_404_and_never_sees_the_flag(api_for, flag):
    client = api_for("county_shaoyang")
    before = state(flag)
    for path in ("", "transitions/"):
        assert_error(client.get(url(flag, path)), 404, "not_found")
    assert_error(client.post(url(flag, "transitions/"), {"action": "approve"}), 404, "not_found")
    assert_error(client.post(url(flag, "return-to-poverty/"), {"cause": "illness", "reason": "x"}), 404)
    error = assert_error(client.post(URL, {"household": flag.household_id, "kind": "sudden", "reason": "x"}), 400)
    assert error["fields"] == {"household": [str(NOT_FOUND)]}
    assert body(client.get(URL, {"page_size": 500}))["results"] == []
    assert state(flag) == before
    assert [r["id"] for r in body(api_for("county_jianghua").get(URL))["results"]] == [flag.pk]


@pytest.mark.parametrize("path", ["abc", "999999999", "-1"])
def test_unknown_flag_is_a_structured_404(api_for, path):
    assert_error(api_for("admin").get(f"{URL}{path}/"), 404, "not_found")


# The procedure -------------------------------------------------------------------------


def test_raise_steps_and_return_to_poverty_over_the_api(api_for, household):
    team, county = api_for("team_lian"), api_for("county_jianghua")
    data = {"household": household.pk, "kind": "sudden", "reason": "洪灾冲毁房屋", "event": "自然灾害"}
    created = body(team.post(URL, {**data, "on_date": days_ago(12)}), 201)
    flag = MonitoringFlag.objects.get(pk=created["id"])
    assert (created["status"], created["status_display"], created["kind_display"]) == (
        "proposed",
        "核实中",
        "突发严重困难户",
    )
    assert (created["trigger"], created["trigger_display"], created["event"]) == ("event", "突发事件", "自然灾害")
    assert [(s["action"], s["actor"]) for s in created["steps"]] == [("raise", "team_lian")]
    assert audited("monitoring_flag.raise", flag)
    assert [t["action"] for t in body(team.get(url(flag, "transitions/")))] == ["appraise"]
    for action in ("appraise", "open_notice"):
        body(team.post(url(flag, "transitions/"), {"action": action, "on_date": days_ago(12)}))
    assert [t["action"] for t in body(county.get(url(flag, "transitions/")))] == ["approve", "reject"]
    moved = body(county.post(url(flag, "transitions/"), {"action": "approve", "on_date": days_ago(7)}))
    assert moved["status"] == "active" and moved["steps"][-1]["action_display"] == "县级审批，纳入监测"
    returned = body(county.post(url(flag, "return-to-poverty/"), {"cause": "illness", "reason": "医疗支出过大"}))
    assert (returned["status"], returned["household_status"]) == ("returned", "returned")
    household.refresh_from_db()
    assert (household.status, household.main_cause) == ("returned", "illness")
    assert audited("monitoring_flag.approve", flag) and audited("monitoring_flag.return_to_poverty", flag)
    assert body(county.get(URL, {"status": "returned", "kind": "sudden"}))["results"][0]["id"] == flag.pk
    assert body(county.get(URL, {"status": "active"}))["results"] == []


# Refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize("username", READ_ONLY)
def test_read_only_roles_get_403_on_every_write(api_for, flag, username):
    client = api_for(username)
    before = state(flag)
    assert body(client.get(url(flag)))["id"] == flag.pk
    assert_error(client.post(URL, {"household": flag.household_id, "kind": "sudden", "reason": "x"}), 403)
    assert_error(client.post(url(flag, "transitions/"), {"action": "appraise"}), 403, "permission_denied")
    assert_error(client.post(url(flag, "return-to-poverty/"), {"cause": "illness", "reason": "x"}), 403)
    assert state(flag) == before


def test_refusals_leave_nothing_behind(api_for, users, divisions, flag):
    team, county = api_for("team_lian"), api_for("county_jianghua")
    before = state(flag)
    assert_error(county.post(url(flag, "transitions/"), {"action": "appraise"}), 403, "permission_denied")
    assert_error(team.post(url(flag, "transitions/"), {"action": "approve"}), 409, "transition_not_allowed")
    assert_error(team.post(url(flag, "transitions/"), {"action": "bogus"}), 400, "invalid")
    assert_error(team.post(url(flag, "transitions/"), {"action": "appraise", "x": 1}), 400, "invalid")
    error = assert_error(team.post(URL, {"household": flag.household_id, "kind": "sudden", "reason": "x"}), 409)
    assert (error["code"], error["message"]) == ("conflict", str(FLAG_ALREADY_OPEN))
    error = assert_error(county.post(url(flag, "return-to-poverty/"), {"cause": "illness", "reason": "x"}), 409)
    assert error["code"] == "conflict"  # not active yet
    error = assert_error(county.post(url(flag, "return-to-poverty/"), {"cause": "bogus", "reason": "x"}), 400)
    assert "cause" in error["fields"]
    assert state(flag) == before
    # A household not exited is not in a transition period; only the work team raises.
    other = make_household(village=divisions[LIAN], status="registered")
    error = assert_error(team.post(URL, {"household": other.pk, "kind": "sudden", "reason": "x"}), 409, "conflict")
    assert not MonitoringFlag.objects.filter(household=other).exists()
    assert_error(county.post(URL, {"household": other.pk, "kind": "sudden", "reason": "x"}), 403, "permission_denied")
    error = assert_error(team.post(URL, {"household": 999999, "kind": "sudden", "reason": "x"}), 400, "invalid")
    assert error["fields"] == {"household": [str(NOT_FOUND)]}


def test_four_eyes_at_the_county_step(api_for, users, flag):
    for action in ("appraise", "open_notice"):
        flag = monitoring_flag_transition(
            actor=users["admin"], flag=flag, action=action, on_date=TODAY - timedelta(days=12)
        )
    client = api_for("admin")
    before = state(flag)
    error = assert_error(client.post(url(flag, "transitions/"), {"action": "approve", "on_date": days_ago(7)}), 409)
    assert (error["code"], error["message"]) == ("four_eyes", str(FOUR_EYES_VIOLATION))
    assert state(flag) == before


# Query counts --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("since", "status"),
    [("3853-11-13T18:11:58-16:06", 200), ("2000-01-01T00:00:00+23:59", 200), ("9999-12-31T23:59:59-01:00", 400)],
)
def test_updated_since_with_any_offset_is_never_a_server_error(api_for, since, status):
    """PostgreSQL refuses UTC offsets beyond ±15:59, which ISO 8601 allows: the filter compares in UTC."""
    assert api_for("admin").get(URL, {"updated_since": since}).status_code == status


def test_list_query_count_does_not_grow_with_the_page(api_for, users, divisions, transition):
    client = api_for("county_jianghua")

    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            results = body(client.get(URL, {"page_size": 50}))["results"]
        return len(results), len(queries)

    raise_flag(users, exited(users, divisions))
    one = count()
    for _i in range(3):
        flag = raise_flag(users, exited(users, divisions))
        monitoring_flag_transition(
            actor=users["team_lian"], flag=flag, action="appraise", on_date=TODAY - timedelta(days=12)
        )
    four = count()
    assert (one[0], four[0]) == (1, 4)
    assert four[1] == one[1]

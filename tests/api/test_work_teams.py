"""GET /api/v1/work-teams/: list, detail, filters and scoping."""

from datetime import date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from demo.loader import DAXI, JIANGHUA, LIAN, SHAOYANG_COUNTY, SHETIAN
from tests.api.helpers import assert_error
from tests.factories import make_team, make_township, make_village
from villages import services
from villages.choices import WorkTeamStatus
from villages.models import WorkTeam

URL = "/api/v1/work-teams/"

#: username → the villages (of 栗安村 and 社田村) whose teams it can see.
REACH = {
    "team_lian": {LIAN},
    "township_daxi": {LIAN},
    "county_jianghua": {LIAN},
    "county_shaoyang": {SHETIAN},
    "prefecture_yongzhou": {LIAN},
    "province_hunan": {LIAN, SHETIAN},
    "auditor_hunan": {LIAN, SHETIAN},
    "api_hunan": {LIAN, SHETIAN},
    "admin": {LIAN, SHETIAN},
}


def team_of(village: str) -> WorkTeam:
    return WorkTeam.objects.get(village_id=village, status=WorkTeamStatus.STATIONED)


def villages(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["village"] for row in response.json()["results"]]


@pytest.fixture
def more_teams(divisions):
    """Dispatch eight more teams to new villages of a new township of 江华县."""
    township = make_township(county=divisions[JIANGHUA], number=41, name="测试乡")
    return [make_team(village=make_village(parent=township, number=n, name=f"测试{n}村")) for n in range(1, 9)]


def test_list_shows_team_with_members(api_for):
    rows = api_for("county_shaoyang").get(URL).json()["results"]
    assert len(rows) == 1
    team = rows[0]
    assert team["id"] == team_of(SHETIAN).pk
    assert (team["village"], team["village_name"], team["dispatching_unit"]) == (
        SHETIAN,
        "社田村",
        "中共邵阳县委宣传部",
    )
    assert (team["term_start"], team["term_end"]) == ("2018-03-01", "2021-03-01")
    assert (team["status"], team["status_label"], team["withdrawn_on"]) == ("stationed", "驻村中", None)
    members = {m["name"]: m for m in team["members"]}
    assert set(members) == {"刘梅", "周志强", "曾丽华"}
    assert (members["刘梅"]["role"], members["刘梅"]["role_label"], members["刘梅"]["title"]) == (
        "leader",
        "队长",
        "第一书记",
    )
    assert [m["role"] for m in team["members"]].count("leader") == 1


def test_detail(api_for):
    team = team_of(LIAN)
    body = api_for("team_lian").get(f"{URL}{team.pk}/").json()
    assert (body["id"], body["village"], body["village_name"]) == (team.pk, LIAN, "栗安村")
    assert len(body["members"]) == 3


def test_members_who_left_are_not_listed(api_for, users):
    team = team_of(LIAN)
    kept = [{"id": m.pk, "name": m.name, "role": m.role} for m in team.members.order_by("id")][:2]
    services.work_team_set_members(
        actor=users["county_jianghua"], team=team, members=[*kept, {"name": "新队员", "role": "member"}]
    )
    names = {m["name"] for m in api_for("county_jianghua").get(f"{URL}{team.pk}/").json()["members"]}
    assert "新队员" in names and len(names) == 3


def test_withdrawn_team_shows_date_and_reason(api_for, users, divisions):
    services.village_exit_record(actor=None, village=divisions[SHETIAN], year=2019)
    services.work_team_withdraw(
        actor=users["county_shaoyang"], team=team_of(SHETIAN), on_date=date(2021, 3, 1), reason="任期届满"
    )
    row = api_for("county_shaoyang").get(URL, {"status": "withdrawn"}).json()["results"][0]
    assert (row["status"], row["withdrawn_on"], row["withdrawal_reason"]) == ("withdrawn", "2021-03-01", "任期届满")
    assert villages(api_for("county_shaoyang").get(URL, {"status": "stationed"})) == []


# Filters -------------------------------------------------------------------------------


def test_filter_village_within_and_q(api_for, more_teams):
    client = api_for("admin")
    assert villages(client.get(URL, {"village": SHETIAN})) == [SHETIAN]
    assert villages(client.get(URL, {"within": DAXI})) == [LIAN]
    assert set(villages(client.get(URL, {"within": JIANGHUA, "page_size": 50}))) == {
        LIAN,
        *(t.village_id for t in more_teams),
    }
    assert villages(client.get(URL, {"within": SHAOYANG_COUNTY})) == [SHETIAN]
    assert villages(client.get(URL, {"q": "宣传部"})) == [SHETIAN]
    assert villages(client.get(URL, {"q": "刘梅"})) == [SHETIAN]  # a member's name
    assert villages(client.get(URL, {"q": "栗安"})) == [LIAN]
    # A team matching on several members is listed once.
    assert len(villages(client.get(URL, {"q": "队员", "within": JIANGHUA, "page_size": 50}))) == 8


def test_filter_updated_since_sees_a_change_of_the_roster(api_for, users, more_teams):
    WorkTeam.objects.update(updated_at=timezone.make_aware(datetime(2019, 1, 1)))
    client = api_for("admin")
    since = (timezone.now() - timedelta(minutes=1)).isoformat()
    assert villages(client.get(URL, {"updated_since": since})) == []
    assert len(villages(client.get(URL, {"updated_since": "2019-01-01T00:00:00+08:00", "page_size": 50}))) == 10
    team = team_of(LIAN)
    kept = [{"id": m.pk, "name": m.name, "role": m.role} for m in team.members.order_by("id")]
    services.work_team_set_members(
        actor=users["county_jianghua"], team=team, members=[*kept, {"name": "新队员", "role": "member"}]
    )
    services.work_team_update(actor=users["county_shaoyang"], team=team_of(SHETIAN), dispatching_unit="邵阳县委宣传部")
    assert villages(client.get(URL, {"updated_since": since})) == [LIAN, SHETIAN]
    assert villages(client.get(URL, {"updated_since": since, "within": JIANGHUA})) == [LIAN]


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"status": "bogus"}, 400),
        ({"updated_since": "yesterday"}, 400),
        ({"cursor": "abc"}, 400),
        ({"cursor": "bz14"}, 400),
    ],
)
def test_bad_filter_input_is_a_structured_4xx(api_for, params, status):
    assert_error(api_for("admin").get(URL, params), status)


@pytest.mark.parametrize("params", [{"within": "abc"}, {"village": "x" * 40}, {"q": "%'"}, {"page_size": "-3"}])
def test_odd_filter_values_never_fail(api_for, params):
    assert api_for("admin").get(URL, params).status_code == 200


@pytest.mark.parametrize(
    ("since", "status"),
    [("3853-11-13T18:11:58-16:06", 200), ("2000-01-01T00:00:00+23:59", 200), ("9999-12-31T23:59:59-01:00", 400)],
)
def test_updated_since_with_any_offset_is_never_a_server_error(api_for, since, status):
    """PostgreSQL refuses UTC offsets beyond ±15:59, which ISO 8601 allows: the filter compares in UTC."""
    assert api_for("admin").get(URL, {"updated_since": since}).status_code == status


@pytest.mark.parametrize("path", ["abc", "999999", "1.5"])
def test_unknown_team_is_a_structured_404(api_for, path):
    assert_error(api_for("admin").get(f"{URL}{path}/"), 404, "not_found")


# Scoping -------------------------------------------------------------------------------


def test_county_gets_a_structured_404_for_another_countys_team(api_for):
    assert_error(api_for("county_jianghua").get(f"{URL}{team_of(SHETIAN).pk}/"), 404, "not_found")


def test_county_list_holds_nothing_of_another_county(api_for):
    client = api_for("county_jianghua")
    assert villages(client.get(URL)) == [LIAN]
    assert villages(client.get(URL, {"village": SHETIAN})) == []
    assert villages(client.get(URL, {"within": SHAOYANG_COUNTY})) == []
    assert villages(client.get(URL, {"q": "刘梅"})) == []
    content = client.get(URL).content.decode()
    assert "社田" not in content and "邵阳" not in content


@pytest.mark.parametrize(("username", "visible"), REACH.items())
def test_every_roles_reach(api_for, username, visible):
    client = api_for(username)
    assert set(villages(client.get(URL))) == visible
    for village in (LIAN, SHETIAN):
        status = client.get(f"{URL}{team_of(village).pk}/").status_code
        assert status == (200 if village in visible else 404), (username, village)


def test_shandong_teams_are_invisible_to_hunan_users(api_for, divisions):
    township = make_township(county=divisions["371721000000"], number=1, name="曹县测试镇")
    team = make_team(village=make_village(parent=township, number=1, name="曹县测试村"))
    assert team.village_id in villages(api_for("admin").get(URL))
    for username in ("province_hunan", "auditor_hunan", "api_hunan"):
        client = api_for(username)
        assert team.village_id not in villages(client.get(URL))
        assert client.get(f"{URL}{team.pk}/").status_code == 404


# Query counts --------------------------------------------------------------------------


def count_queries(client, params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, params)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("username", ["admin", "county_jianghua"])
def test_list_query_count_does_not_grow_with_page_size(api_for, more_teams, username):
    client = api_for(username)
    small = count_queries(client, {"page_size": 2})
    large = count_queries(client, {"page_size": 9})
    assert len(client.get(URL, {"page_size": 9}).json()["results"]) == 9
    assert small == large
    assert large <= 6


def test_leader_is_listed_first(api_for):
    for row in api_for("admin").get(URL).json()["results"]:
        assert row["members"][0]["role"] == "leader"

"""/api/v1/quality/: findings (list, filters, one, accept), the rule catalogue, masking, queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from households.models import Member
from quality.choices import FindingStatus
from quality.errors import REASON_REQUIRED
from quality.models import Finding
from quality.rules import RULES
from quality.services import quality_run
from registry.models import ApiToken
from registry.tokens import api_token_create
from tests.api.helpers import assert_documented, assert_error, body, token_client
from tests.quality.conftest import DAXI

URL = "/api/v1/quality/findings/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def found(planted):
    quality_run(actor=None, division=planted.village)
    return planted


@pytest.fixture
def api_for(api_for):
    def make(username: str):
        client = api_for(username)
        client.default_format = "json"
        return client

    return make


def every_page(client, url, params=None) -> list[dict]:
    rows, response = [], client.get(url, params or {})
    while True:
        data = body(response)
        rows += data["results"]
        if not data["next"]:
            return rows
        response = client.get(data["next"])


def test_list_is_scoped_masked_and_documented(found, api_for):
    client = api_for("township_daxi")
    response = client.get(URL, {"within": found.village.code, "page_size": 500})
    assert_documented(response, "/api/v1/quality/findings/")
    rows = body(response)["results"]
    assert len(rows) == sum(len(e) for e in found.expected.values())
    row = next(r for r in rows if r["rule"] == "id_check_digit")
    assert row["values"]["id_number"].startswith("4311**********")
    assert "4311**********" in row["explanation"] and row["rule_title"] == "身份证号校验位错误"
    assert row["severity"] == "error" and row["status"] == "open" and row["member_name"]
    assert body(api_for("county_shaoyang").get(URL, {"within": found.village.code}))["results"] == []
    assert body(api_for("team_lian").get(URL))["results"] == []


def test_filters(found, api_for):
    client = api_for("county_jianghua")
    rows = every_page(client, URL, {"rule": "duplicate_id_active"})
    assert {(r["household"], r["member"]) for r in rows} == found.expected["duplicate_id_active"]
    household_id, _member = next(iter(found.expected["missing_head"]))
    rows = every_page(client, URL, {"household": household_id})
    assert {r["rule"] for r in rows} == {"missing_head"}
    assert every_page(client, URL, {"status": "fixed", "within": DAXI}) == []
    warnings = every_page(client, URL, {"severity": "warning", "within": found.village.code})
    assert warnings and all(RULES[r["rule"]].severity == "warning" for r in warnings)
    assert_error(client.get(URL, {"rule": "bogus"}), 400, "invalid")
    assert_error(client.get(URL, {"status": "bogus"}), 400, "invalid")


def test_one_finding_and_404_outside(found, api_for):
    f = Finding.objects.get(rule="missing_head")
    response = api_for("township_daxi").get(f"{URL}{f.pk}/")
    assert_documented(response, "/api/v1/quality/findings/{id}/")
    assert body(response)["registry_number"] == f.household.registry_number
    assert_error(api_for("county_shaoyang").get(f"{URL}{f.pk}/"), 404, "not_found")
    assert_error(api_for("township_daxi").get(f"{URL}abc/"), 404)


def test_accept(found, api_for):
    f = Finding.objects.get(rule="implausible_road_distance")
    response = api_for("county_jianghua").post(f"{URL}{f.pk}/accept/", {"reason": "山区散居户，实测 80 公里"})
    assert_documented(response, "/api/v1/quality/findings/{id}/accept/", "post")
    data = body(response)
    assert (data["status"], data["accepted_by"], data["accepted_reason"]) == (
        "accepted", "county_jianghua", "山区散居户，实测 80 公里",
    )  # fmt: skip
    again = api_for("county_jianghua").post(f"{URL}{f.pk}/accept/", {"reason": "再次"})
    assert_error(again, 409, "conflict")


def test_accept_refusals(found, api_for, users):
    f = Finding.objects.get(rule="implausible_road_distance")
    error = assert_error(api_for("county_jianghua").post(f"{URL}{f.pk}/accept/", {"reason": ""}), 400, "invalid")
    assert error["message"] == str(REASON_REQUIRED) and "reason" in error["fields"]
    for username in ("team_lian", "auditor_hunan", "province_hunan", "api_hunan"):
        response = api_for(username).post(f"{URL}{f.pk}/accept/", {"reason": "核实"})
        assert response.status_code in (403, 404), username
    assert_error(api_for("county_shaoyang").post(f"{URL}{f.pk}/accept/", {"reason": "核实"}), 404)
    _token, key = api_token_create(actor=None, user=users["county_jianghua"], name="ro", kind=ApiToken.Kind.PERSONAL)
    assert_error(token_client(key).post(f"{URL}{f.pk}/accept/", {"reason": "核实"}, format="json"), 403)
    assert Finding.objects.get(pk=f.pk).status == FindingStatus.OPEN


def test_the_rule_catalogue(db, api_for):
    response = api_for("auditor_hunan").get("/api/v1/quality/rules/")
    assert_documented(response, "/api/v1/quality/rules/")
    rules = body(response)
    assert [r["code"] for r in rules] == list(RULES)
    assert all(r["title"] and r["explanation"] and r["severity_display"] for r in rules)


def test_ids_in_full_with_the_personal_data_scope(found, users, divisions):
    _token, key = api_token_create(
        actor=None, user=users["api_hunan"], name="pii", division=divisions["430000000000"], can_see_pii=True
    )
    rows = token_client(key).get(URL, {"rule": "id_check_digit"}).json()["results"]
    member = Member.objects.get(pk=rows[0]["member"])
    assert rows[0]["values"]["id_number"] == member.id_number


def test_list_queries_do_not_grow_with_the_findings(found, api_for):
    client = api_for("township_daxi")
    client.get(URL)
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(URL, {"page_size": 500}).json()["results"]) < 50
    Member.objects.filter(household__village=found.village).update(ethnicity="")
    quality_run(actor=None, division=found.village, rules=["missing_ethnicity"])
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(URL, {"page_size": 500}).json()["results"]) > 100
    assert len(many.captured_queries) == len(few.captured_queries)

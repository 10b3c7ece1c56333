"""/api/v1/households/: fields and labels, masking, filters, scoping, writes through the
services, the identification path, objections, helpers and query counts."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from demo.loader import DAXI, JIANGHUA, LIAN, SHAOYANG_COUNTY, SHETIAN
from households import errors
from households.choices import HouseholdStatus, IdentificationStep, ObjectionOutcome
from households.models import Household, Member, Objection, StatusChange
from households.services import household_apply, household_pair_helper, objection_raise
from households.workflow import TRANSITIONS
from registry.errors import FOUR_EYES_VIOLATION, PERMISSION_DENIED
from registry.idnumber import ID_BAD_CHECK_DIGIT
from registry.models import AuditEntry
from tests.api.helpers import assert_documented, assert_error, assert_nothing_unmasked, body
from tests.factories import (
    IDENTIFICATION_PATH,
    advance,
    household_data,
    make_applied,
    make_household,
    member_data,
)
from villages import services as village_services
from villages.models import Helper

URL = "/api/v1/households/"
READ_ONLY = ["prefecture_yongzhou", "province_hunan", "auditor_hunan", "api_hunan"]
ACTORS = {
    "appraise": "team_lian",
    "open_village_notice": "team_lian",
    "close_village_notice": "team_lian",
    "township_approve": "township_daxi",
    "close_township_notice": "township_daxi",
    "county_approve": "county_jianghua",
}
MASKED = re.compile(r"^\d{4}\*{10}[\dX]{4}$")


@pytest.fixture
def api_for(api_for):
    """The shared token client, sending JSON (the only body these endpoints parse)."""

    def make(username: str):
        client = api_for(username)
        client.default_format = "json"
        return client

    return make


def days_ago(n: int) -> str:
    return (date.today() - timedelta(days=n)).isoformat()


def url(household, suffix: str = "") -> str:
    return f"{URL}{household.pk}/{suffix}"


def registry_numbers(response) -> list[str]:
    return [row["registry_number"] for row in body(response)["results"]]


def apply_body(village: str = LIAN, persons: int = 2, **household) -> dict:
    members = [member_data(name="盘金华", area=village[:6], birth="19750312")]
    members += [
        member_data(name=f"盘小{i}", relationship="daughter", sex="2", birth=f"20{i:02d}0601", area=village[:6])
        for i in range(1, persons)
    ]
    return {"village": village, "attribute": "general", "main_cause": "illness", "members": members, **household}


@pytest.fixture
def applied(users, divisions):
    return make_applied(village=divisions[LIAN], actor=users["team_lian"], on_date=date.today() - timedelta(days=31))


@pytest.fixture
def shetian(divisions):
    return make_applied(village=divisions[SHETIAN])


def state(household) -> tuple:
    return Household.objects.values_list("status", "step", "version").get(pk=household.pk)


def audited(action: str, obj) -> bool:
    return AuditEntry.objects.filter(action=action, object_id=str(obj.pk)).exists()


def to_step(client, household, action: str) -> dict:
    """Apply ``action`` with its identification-path date offset."""
    days = dict(IDENTIFICATION_PATH)[action]
    return body(client.post(url(household, "transitions/"), {"action": action, "on_date": days_ago(days)}))


# Fields and labels ---------------------------------------------------------------------


def test_list_row_has_slugs_labels_codes_and_members(api_for, divisions):
    group = divisions[LIAN].villager_groups.get(number=3)
    created = body(
        api_for("team_lian").post(
            URL,
            apply_body(
                attribute="dibao",
                other_causes=["lack_skills", "disaster"],
                group=group.pk,
                housing_area="68.50",
                housing_structure="earth_wood",
                housing_grade="C",
                phone="13873335678",
            ),
            format="json",
        ),
        201,
    )
    row = body(api_for("county_jianghua").get(URL, {"q": created["registry_number"]}))["results"][0]
    assert row["registry_number"].startswith(LIAN) and len(row["registry_number"]) == 16
    assert (row["attribute"], row["attribute_display"]) == ("dibao", "低保贫困户")
    assert (row["main_cause"], row["main_cause_display"]) == ("illness", "因病")
    assert (row["other_causes"], row["other_causes_display"]) == (["lack_skills", "disaster"], ["缺技术", "因灾"])
    assert (row["identification_standard"], row["identification_standard_display"]) == ("national", "国家标准")
    assert (row["status"], row["status_display"]) == ("applied", "申请")
    assert (row["step"], row["step_display"]) == ("application", "农户申请")
    assert (row["housing_structure"], row["housing_structure_display"]) == ("earth_wood", "土木")
    assert (row["housing_grade"], row["housing_grade_display"]) == ("C", "C级（局部危房）")
    assert row["housing_area"] == "68.50"
    assert (row["village"], row["village_name"], row["township"], row["township_name"]) == (
        LIAN,
        "栗安村",
        DAXI,
        "大锡乡",
    )
    assert row["county_code"] == "431129"
    assert (row["group"], row["group_name"]) == (group.pk, group.name)
    assert (row["head_name"], row["member_count"], row["version"]) == ("盘金华", 2, 1)
    assert row["helper"] is None
    assert row["phone"] == "1387***5678"
    head, daughter = row["members"]
    assert (head["name"], head["relationship"], head["relationship_display"]) == ("盘金华", "head", "户主")
    assert (head["sex"], head["sex_display"], head["birth_date"]) == ("1", "男", "1975-03-12")
    assert (head["ethnicity"], head["ethnicity_display"]) == ("13", "瑶族")
    assert (head["education"], head["education_display"]) == ("primary", "小学")
    assert (head["labour_ability"], head["labour_ability_display"]) == ("ordinary", "普通劳动力")
    assert (head["status"], head["status_display"]) == ("active", "在册")
    assert (daughter["sex"], daughter["sex_display"], daughter["relationship_display"]) == ("2", "女", "女")
    assert MASKED.match(head["id_number"]) and MASKED.match(daughter["id_number"])


def test_detail_has_history_objections_and_events(api_for, users, applied):
    advance(applied, until="open_village_notice", actors={a: users["team_lian"] for a in ACTORS})
    objection_raise(actor=users["team_lian"], household=applied, objector="村民甲", content="有车")
    detail = body(api_for("township_daxi").get(url(applied)))
    assert [h["action"] for h in detail["history"]] == ["apply", "appraise", "open_village_notice"]
    first = detail["history"][0]
    assert (first["action_display"], first["actor"], first["to_status_display"]) == ("农户申请", "team_lian", "申请")
    assert detail["history"][-1]["action_display"] == "村级公示"
    assert detail["notice_ends_on"] is not None
    (objection,) = detail["objections"]
    assert (objection["objector"], objection["outcome"], objection["outcome_display"]) == (
        "村民甲",
        "pending",
        "待处理",
    )
    assert (objection["step"], objection["step_display"], objection["recorded_by"]) == (
        "village_notice",
        "村级公示",
        "team_lian",
    )
    assert detail["member_events"] == []
    assert len(detail["members"]) == 3


def test_unfilled_choices_are_blank_and_documented_as_such(api_for, divisions):
    """Housing structure and grade, education and labour ability may be left empty: the API
    returns "" for them and the schema allows it."""
    household = household_apply(
        actor=None,
        village=divisions[LIAN],
        household=household_data(housing_structure="", housing_grade=""),
        members=[member_data(education="", labour_ability="")],
    )
    client = api_for("county_jianghua")
    response = client.get(url(household))
    data = body(response)
    assert (data["housing_structure"], data["housing_grade"]) == ("", "")
    assert {(m["education"], m["labour_ability"]) for m in data["members"]} == {("", "")}
    assert_documented(response, "/api/v1/households/{id}/")
    assert_documented(client.get(URL), "/api/v1/households/")
    response = client.get("/api/v1/members/", {"household": household.pk})
    assert {(m["education"], m["labour_ability"]) for m in body(response)["results"]} == {("", "")}
    assert_documented(response, "/api/v1/members/")


@pytest.mark.parametrize("path", ["abc", "999999999", "99999999999999999999", "1.5", "-1"])
def test_unknown_household_is_a_structured_404(api_for, path):
    assert_error(api_for("admin").get(f"{URL}{path}/"), 404, "not_found")


# Masking -------------------------------------------------------------------------------


def test_no_full_id_number_or_phone_in_any_body(api_for, users, divisions, applied):
    helper = village_services.helper_create(
        actor=users["county_jianghua"],
        division=divisions[LIAN],
        name="李晓东",
        unit="县农业农村局",
        phone="13974214321",
        id_number=member_data(birth="19700101")["id_number"],
    )
    Member.objects.filter(household=applied, relationship="son").update(
        disabled=True, disability_certificate=applied.members.get(relationship="head").id_number + "42"
    )
    body(api_for("team_lian").patch(url(applied), {"version": 1, "phone": "13800001111"}, format="json"))
    paired = body(api_for("team_lian").put(url(applied, "helper/"), {"helper": helper.pk}, format="json"))
    assert paired["helper"]["phone"] == "1397***4321"
    assert paired["phone"] == "1380***1111"
    client = api_for("admin")
    for response in (
        client.get(URL),
        client.get(url(applied)),
        client.get("/api/v1/members/"),
        client.get(f"/api/v1/members/{applied.members.first().pk}/"),
        client.post(f"{URL}search/", {"id_number": applied.members.first().id_number}, format="json"),
    ):
        body(response)
    son = next(m for m in body(client.get(url(applied)))["members"] if m["disabled"])
    assert son["disability_certificate"].startswith("4311") and "*" in son["disability_certificate"]


def test_masking_is_decided_in_one_place(api_for, applied, monkeypatch):
    from households.api import serializers

    monkeypatch.setattr(serializers, "pii_visible", lambda request: True)
    head = next(m for m in api_for("admin").get(url(applied)).json()["members"] if m["relationship"] == "head")
    assert head["id_number"] == applied.members.get(relationship="head").id_number


# Filters -------------------------------------------------------------------------------


@pytest.fixture
def mixed(users, divisions):
    """Three households of 栗安村 in different states and attributes."""
    general = make_household(village=divisions[LIAN], status="registered")
    dibao = make_applied(village=divisions[LIAN], attribute="dibao", main_cause="disability")
    group = divisions[LIAN].villager_groups.get(number=2)
    tekun = make_applied(village=divisions[LIAN], attribute="tekun", main_cause="lack_labour", group=group)
    return {"general": general, "dibao": dibao, "tekun": tekun, "group": group}


def test_filters(api_for, mixed, shetian):
    client = api_for("admin")
    general, dibao, tekun = mixed["general"], mixed["dibao"], mixed["tekun"]
    numbers = {k: h.registry_number for k, h in mixed.items() if k != "group"}

    def found(**params):
        return set(registry_numbers(client.get(URL, {"page_size": 100, **params})))

    assert found(attribute="dibao") == {numbers["dibao"]}
    assert found(cause="lack_labour") == {numbers["tekun"]}
    assert found(status="registered") == {numbers["general"]}
    assert found(status=["registered", "applied"], village=LIAN) == set(numbers.values())
    assert found(step="announced") == {numbers["general"]}
    assert found(group=mixed["group"].pk) == {numbers["tekun"]}
    assert found(year=general.identified_year, within=JIANGHUA) == {numbers["general"]}
    assert found(village=SHETIAN) == {shetian.registry_number}
    assert found(within=SHAOYANG_COUNTY) == {shetian.registry_number}
    assert found(within=DAXI) == set(numbers.values())
    searched = client.post(f"{URL}search/", {"id_number": dibao.members.get(relationship="head").id_number})
    assert {row["registry_number"] for row in body(searched)["results"]} == {numbers["dibao"]}
    assert found(q=tekun.registry_number) == {numbers["tekun"]}
    assert found(q="成员2", village=LIAN) == set(numbers.values())
    later = (timezone.now() + timedelta(hours=1)).isoformat()
    assert found(updated_since=later) == set()
    assert shetian.registry_number in found(updated_since="2000-01-01T00:00:00Z")


@pytest.mark.parametrize(
    "params",
    [
        {"status": "bogus"},
        {"attribute": "poor"},
        {"year": "abc"},
        {"updated_since": "yesterday"},
        {"year": "99999999999999"},
        {"group": "99999999999999999999999"},
    ],
)
def test_bad_filter_is_a_structured_400(api_for, params):
    assert_error(api_for("admin").get(URL, params), 400, "invalid")


@pytest.mark.parametrize(
    "params",
    [
        {"within": "abc"},
        {"q": "%'"},
        {"page_size": "100000"},
        {"updated_since": "9999-12-31T23:59:59Z"},
    ],
)
def test_odd_filter_values_never_fail(api_for, params):
    assert api_for("admin").get(URL, params).status_code == 200


def test_updated_since_takes_any_offset_and_never_overflows(api_for, applied):
    """PostgreSQL refuses UTC offsets beyond ±15:59, which ISO 8601 allows: the filter compares in UTC."""
    client = api_for("admin")
    assert applied.registry_number in registry_numbers(client.get(URL, {"updated_since": "2000-01-01T00:00:00-16:06"}))
    assert registry_numbers(client.get(URL, {"updated_since": "3853-11-13T18:11:58+23:59"})) == []
    # Later than the year 9999 in UTC: bad input.
    error = assert_error(client.get(URL, {"updated_since": "9999-12-31T23:59:59-01:00"}), 400, "invalid")
    assert list(error["fields"]) == ["updated_since"]


# Scoping -------------------------------------------------------------------------------


def test_county_gets_404_for_another_countys_household_and_never_sees_it(api_for, shetian):
    client = api_for("county_jianghua")
    assert_error(client.get(url(shetian)), 404, "not_found")
    assert_error(client.get(url(shetian, "transitions/")), 404, "not_found")
    assert shetian.registry_number not in registry_numbers(client.get(URL, {"page_size": 500}))
    assert registry_numbers(client.get(URL, {"q": shetian.registry_number})) == []
    assert registry_numbers(client.get(URL, {"village": SHETIAN})) == []
    content = client.get(URL).content.decode()
    assert "社田" not in content
    assert body(api_for("county_shaoyang").get(url(shetian)))["village_name"] == "社田村"


def test_county_cannot_write_another_countys_household(api_for, shetian):
    client = api_for("county_jianghua")
    before = state(shetian)
    assert_error(client.patch(url(shetian), {"version": 1, "phone": "1"}, format="json"), 404, "not_found")
    assert_error(client.post(url(shetian, "transitions/"), {"action": "appraise"}, format="json"), 404)
    assert_error(client.put(url(shetian, "helper/"), {"helper": None}, format="json"), 404)
    assert_error(client.post(url(shetian, "objections/"), {"content": "x"}, format="json"), 404)
    error = assert_error(client.post(URL, apply_body(SHETIAN), format="json"), 400, "invalid")
    assert "village" in error["fields"]
    assert state(shetian) == before


@pytest.mark.parametrize(("username", "sees"), [("team_lian", False), ("province_hunan", True), ("admin", True)])
def test_reach_of_roles(api_for, shetian, username, sees):
    assert (shetian.registry_number in registry_numbers(api_for(username).get(URL))) is sees


# Application and edits -----------------------------------------------------------------


def test_apply_registers_through_the_service(api_for, users):
    data = apply_body(persons=3, on_date=days_ago(3))
    created = body(api_for("team_lian").post(URL, data, format="json"), 201)
    household = Household.objects.get(pk=created["id"])
    assert (household.status, household.step, household.village_id) == ("applied", "application", LIAN)
    assert household.status_date == date.today() - timedelta(days=3)
    assert household.members.count() == 3
    assert {m.id_number for m in household.members.all()} == {m["id_number"] for m in data["members"]}
    assert household.status_changes.get().actor == users["team_lian"]
    assert audited("household.apply", household)
    assert created["registry_number"] == household.registry_number
    assert [h["action"] for h in created["history"]] == ["apply"]


def test_apply_derives_sex_and_birth_from_the_id_number(api_for):
    data = apply_body()
    created = body(api_for("team_lian").post(URL, data, format="json"), 201)
    assert created["members"][0]["birth_date"] == "1975-03-12"


@pytest.mark.parametrize("username", READ_ONLY)
def test_read_only_roles_get_403_on_every_write(api_for, applied, username):
    client = api_for(username)
    count, before = Household.objects.count(), state(applied)
    writes = [
        client.post(URL, apply_body(), format="json"),
        client.post(URL, {}, format="json"),
        client.patch(url(applied), {"version": 1, "phone": "1"}, format="json"),
        client.post(url(applied, "transitions/"), {"action": "appraise"}, format="json"),
        client.post(url(applied, "members/"), {}, format="json"),
        client.post(url(applied, "objections/"), {"content": "x"}, format="json"),
        client.put(url(applied, "helper/"), {"helper": None}, format="json"),
    ]
    for response in writes:
        error = assert_error(response, 403, "permission_denied")
        assert error["message"] == str(PERMISSION_DENIED)
    assert (Household.objects.count(), state(applied)) == (count, before)


def test_bad_id_number_is_a_400_naming_the_member_field(api_for):
    data = apply_body()
    data["members"][0]["id_number"] = data["members"][0]["id_number"][:-1] + (
        "0" if data["members"][0]["id_number"][-1] != "0" else "1"
    )
    count = Household.objects.count()
    error = assert_error(api_for("team_lian").post(URL, data, format="json"), 400, "invalid")
    assert error["fields"]["members.0.id_number"] == [str(ID_BAD_CHECK_DIGIT)]
    assert Household.objects.count() == count


def test_member_type_errors_are_keyed_by_index(api_for):
    data = apply_body(persons=3)
    data["members"][2]["relationship"] = "cousin"
    data["members"][1]["migrant_months"] = "many"
    data["members"][1]["status"] = "active"
    error = assert_error(api_for("team_lian").post(URL, data, format="json"), 400, "invalid")
    assert {"members.2.relationship", "members.1.migrant_months", "members.1.status"} <= set(error["fields"])


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"members": []}, "members", errors.HOUSEHOLD_NEEDS_MEMBERS),
        ({"other_causes": ["illness"]}, "other_causes", errors.OTHER_CAUSES_INVALID),
        ({"status": "registered"}, "status", None),
        ({"attribute": "poor"}, "attribute", None),
        ({"cultivated_land_mu": "-1"}, "cultivated_land_mu", None),
        ({"group": 99999999}, "group", None),
        ({"village": "4311"}, "village", None),
    ],
)
def test_bad_application_is_a_400_with_field_errors(api_for, change, field, message):
    count = Household.objects.count()
    error = assert_error(api_for("team_lian").post(URL, {**apply_body(), **change}, format="json"), 400, "invalid")
    assert field in error["fields"], error
    if message is not None:
        assert error["fields"][field] == [str(message)]
    assert Household.objects.count() == count


def test_village_must_be_a_village_in_scope(api_for):
    error = assert_error(api_for("county_jianghua").post(URL, apply_body(DAXI), format="json"), 400, "invalid")
    assert error["fields"] == {"village": [str(errors.NOT_A_VILLAGE)]}
    error = assert_error(api_for("team_lian").post(URL, apply_body(DAXI), format="json"), 400, "invalid")
    assert list(error["fields"]) == ["village"]


def test_two_heads_and_no_body_are_400(api_for):
    data = apply_body()
    data["members"][1]["relationship"] = "head"
    error = assert_error(api_for("team_lian").post(URL, data, format="json"), 400)
    assert error["message"] == str(errors.HEAD_EXACTLY_ONE)
    error = assert_error(api_for("team_lian").post(URL, {}, format="json"), 400)
    assert {"village", "attribute", "main_cause", "members"} <= set(error["fields"])
    assert_error(api_for("team_lian").post(URL, "not json", content_type="application/json"), 400)
    assert_error(api_for("team_lian").post(URL, ["a list"], format="json"), 400)


def test_a_person_already_registered_is_a_409(api_for, applied):
    data = apply_body()
    data["members"][1]["id_number"] = applied.members.exclude(relationship="head").first().id_number
    error = assert_error(api_for("team_lian").post(URL, data, format="json"), 409, "conflict")
    assert "members.1.id_number" in error["fields"]


def test_exclusion_hit_is_a_409_explaining_each_hit_masked(api_for, users):
    from households.crosscheck import crosscheck_import

    data = apply_body()
    number = data["members"][1]["id_number"]
    csv = f"id_number,category\n{number},vehicle\n".encode()
    crosscheck_import(actor=users["county_jianghua"], data=csv, filename="vehicles.csv", source="县公安局交警大队")
    count = Household.objects.count()
    response = api_for("team_lian").post(URL, data, format="json")
    error = assert_error(response, 409, "exclusion")
    (hit,) = error["fields"]["exclusions"]
    assert "县公安局交警大队" in hit and number[:4] in hit
    assert_nothing_unmasked(response)
    assert Household.objects.count() == count


def test_patch_edits_through_the_service(api_for, applied, divisions):
    group = divisions[LIAN].villager_groups.get(number=4)
    response = api_for("team_lian").patch(
        url(applied),
        {"version": 1, "housing_grade": "D", "other_causes": ["lack_water"], "group": group.pk},
        format="json",
    )
    edited = body(response)
    assert (edited["housing_grade"], edited["housing_grade_display"], edited["version"]) == ("D", "D级（整栋危房）", 2)
    assert (edited["group"], edited["other_causes_display"]) == (group.pk, ["缺水"])
    household = Household.objects.get(pk=applied.pk)
    assert (household.housing_grade, household.group, household.version) == ("D", group, 2)
    entry = AuditEntry.objects.filter(action="household.update", object_id=str(applied.pk)).get()
    assert entry.after["housing_grade"] == "D"
    assert entry.actor_username == "team_lian"


def test_stale_version_is_a_409_and_changes_nothing(api_for, applied):
    client = api_for("team_lian")
    body(client.patch(url(applied), {"version": 1, "phone": "13800001111"}, format="json"))
    before = Household.objects.values().get(pk=applied.pk)
    error = assert_error(client.patch(url(applied), {"version": 1, "phone": "13900002222"}, format="json"), 409)
    assert error["code"] == "conflict"
    assert error["message"] == str(errors.VERSION_CONFLICT % {"current": 2, "expected": 1})
    assert Household.objects.values().get(pk=applied.pk) == before


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"phone": "1"}, "version"),
        ({"version": 1, "status": "registered"}, "status"),
        ({"version": 1, "registry_number": "1"}, "registry_number"),
        ({"version": 1, "housing_area": "-5"}, "housing_area"),
        ({"version": 1, "main_cause": "illness", "other_causes": ["illness"]}, "other_causes"),
        ({"version": "x"}, "version"),
    ],
)
def test_bad_patch_is_a_400(api_for, applied, data, field):
    before = Household.objects.values().get(pk=applied.pk)
    error = assert_error(api_for("team_lian").patch(url(applied), data, format="json"), 400, "invalid")
    assert field in error["fields"]
    assert Household.objects.values().get(pk=applied.pk) == before


def test_only_json_bodies_are_accepted(api_for, applied):
    response = api_for("team_lian").post(url(applied, "transitions/"), {"action": "appraise"}, format="multipart")
    assert_error(response, 415, "unsupported_media_type")
    assert state(applied)[0] == "applied"


def test_put_on_a_household_is_not_allowed(api_for, applied):
    assert_error(api_for("team_lian").put(url(applied), {"version": 1}, format="json"), 405)
    assert_error(api_for("admin").delete(url(applied)), 405)


def test_closed_household_is_read_only(api_for, users, applied):
    body(api_for("team_lian").post(url(applied, "transitions/"), {"action": "appraisal_reject", "reason": "收入高"}))
    error = assert_error(api_for("team_lian").patch(url(applied), {"version": 2, "phone": "1"}, format="json"), 409)
    assert error["code"] == "closed"


# Transitions ---------------------------------------------------------------------------


def test_available_transitions_fit_the_caller(api_for, applied):
    actions = [t["action"] for t in body(api_for("team_lian").get(url(applied, "transitions/")))]
    assert actions == ["appraise", "appraisal_reject"]
    county = {t["action"]: t for t in body(api_for("county_jianghua").get(url(applied, "transitions/")))}
    assert set(county) == {"natural_decrease"}
    assert county["natural_decrease"]["needs_reason"] is True
    assert {c["value"]: c["label"] for c in county["natural_decrease"]["reason_choices"]} == {
        "deceased": "整户死亡",
        "moved_out": "整户迁出",
        "merged": "合户",
    }
    assert body(api_for("auditor_hunan").get(url(applied, "transitions/"))) == []


def test_transition_moves_the_household_and_is_audited(api_for, users, applied):
    moved = body(
        api_for("team_lian").post(url(applied, "transitions/"), {"action": "appraise", "on_date": days_ago(30)})
    )
    assert (moved["status"], moved["step"], moved["status_date"]) == ("appraised", "appraised", days_ago(30))
    assert state(applied)[:2] == ("appraised", "appraised")
    change = StatusChange.objects.filter(household=applied).latest("id")
    assert (change.action, change.actor) == ("appraise", users["team_lian"])
    assert audited("household.appraise", applied)


def test_transition_not_allowed_is_a_409_and_changes_nothing(api_for, applied):
    before, changes = state(applied), StatusChange.objects.count()
    error = assert_error(
        api_for("county_jianghua").post(url(applied, "transitions/"), {"action": "county_approve"}, format="json"),
        409,
        "transition_not_allowed",
    )
    assert "县级审批并公告" in error["message"]
    assert (state(applied), StatusChange.objects.count()) == (before, changes)


def test_transition_by_the_wrong_role_is_a_403(api_for, applied):
    before = state(applied)
    assert_error(
        api_for("county_jianghua").post(url(applied, "transitions/"), {"action": "appraise"}, format="json"),
        403,
        "permission_denied",
    )
    assert state(applied) == before


def test_four_eyes_is_a_409_and_changes_nothing(api_for, users, applied):
    advance(applied, until="open_village_notice", actors={a: users["team_lian"] for a in ACTORS})
    township = api_for("township_daxi")
    to_step(township, applied, "close_village_notice")
    before = state(applied)
    error = assert_error(
        township.post(url(applied, "transitions/"), {"action": "township_approve", "on_date": days_ago(22)}),
        409,
        "four_eyes",
    )
    assert error["message"] == str(FOUR_EYES_VIOLATION)
    assert state(applied) == before


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"action": "objection_return"}, "action"),
        ({"action": "fly"}, "action"),
        ({}, "action"),
        ({"action": "appraisal_reject"}, "reason"),
        ({"action": "appraise", "on_date": "2999-01-01"}, "on_date"),
        ({"action": "appraise", "on_date": "2000-01-01"}, "on_date"),
        ({"action": "appraise", "on_date": "yesterday"}, "on_date"),
        ({"action": "appraise", "actor": "someone"}, "actor"),
        ({"action": "appraisal_reject", "reason": "长" * 501}, "reason"),
    ],
)
def test_bad_transition_input_is_a_400(api_for, applied, data, field):
    before = state(applied)
    error = assert_error(api_for("team_lian").post(url(applied, "transitions/"), data, format="json"), 400, "invalid")
    assert field in error["fields"], error
    assert state(applied) == before


def test_notice_cannot_close_early(api_for, users, applied):
    advance(applied, until="appraise", actors={"appraise": users["team_lian"]})
    client = api_for("team_lian")
    body(client.post(url(applied, "transitions/"), {"action": "open_village_notice", "on_date": days_ago(2)}))
    error = assert_error(client.post(url(applied, "transitions/"), {"action": "close_village_notice"}), 409)
    assert error["code"] == "notice_not_ended"


def test_full_identification_path_over_the_api(api_for, users):
    clients = {name: api_for(name) for name in set(ACTORS.values())}
    created = body(clients["team_lian"].post(URL, apply_body(persons=3, on_date=days_ago(31)), format="json"), 201)
    household = Household.objects.get(pk=created["id"])
    expected = {
        "appraise": ("appraised", "appraised"),
        "open_village_notice": ("in_notice", "village_notice"),
        "close_village_notice": ("in_notice", "township_review"),
        "township_approve": ("in_notice", "township_notice"),
        "close_township_notice": ("in_notice", "county_approval"),
        "county_approve": ("registered", "announced"),
    }
    for action, _days in IDENTIFICATION_PATH:
        client = clients[ACTORS[action]]
        assert action in [t["action"] for t in body(client.get(url(household, "transitions/")))]
        moved = to_step(client, household, action)
        assert (moved["status"], moved["step"]) == expected[action]
    assert (moved["status_display"], moved["identified_year"]) == (
        "已识别（未脱贫）",
        (date.today() - timedelta(days=14)).year,
    )
    assert [(h["action"], h["actor"]) for h in moved["history"]] == [
        ("apply", "team_lian"),
        *[(a, ACTORS[a]) for a, _d in IDENTIFICATION_PATH],
    ]
    actions = AuditEntry.objects.filter(object_id=str(household.pk), action__startswith="household.").order_by("id")
    assert [e.action for e in actions] == ["household.apply", *[f"household.{a}" for a, _d in IDENTIFICATION_PATH]]
    assert Member.objects.filter(household=household, current=True).count() == 3


def test_lifecycle_removal_and_natural_decrease(api_for, divisions):
    registered = make_household(village=divisions[LIAN], status="registered")
    client = api_for("county_jianghua")
    error = assert_error(
        client.post(url(registered, "transitions/"), {"action": "natural_decrease", "reason": "x"}), 400, "invalid"
    )
    assert "reason" in error["fields"]
    removed = body(client.post(url(registered, "transitions/"), {"action": "remove", "reason": "家有财政供养人员"}))
    assert (removed["status"], removed["status_display"], removed["status_reason"]) == (
        "removed",
        "清退",
        "家有财政供养人员",
    )
    assert not Member.objects.filter(household=registered, current=True).exists()


def test_transition_schema_enum_lists_the_table_without_objection_outcomes(client, db):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    action = schema["components"]["schemas"]["TransitionRequest"]["properties"]["action"]
    ref = action["$ref"] if "$ref" in action else action["allOf"][0]["$ref"]
    enum = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]["enum"]
    assert enum == [a for a, t in TRANSITIONS.items() if not t.internal]
    assert "objection_return" not in enum and "county_approve" in enum


def test_schema_names_each_choice_set_once(client, db):
    schemas = client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    assert schemas["HouseholdStatusEnum"]["enum"] == [
        "applied",
        "appraised",
        "in_notice",
        "registered",
        "rejected",
        "exited",
        "returned",
        "removed",
        "natural_decrease",
    ]
    assert schemas["AttributeEnum"]["enum"] == ["general", "dibao", "tekun"]
    assert len(schemas["CauseEnum"]["enum"]) == 12
    assert schemas["SexEnum"]["enum"] == ["1", "2"]
    assert {"MemberStatusEnum", "IdentificationStepEnum", "EthnicityEnum"} <= set(schemas)
    member_status = schemas["MemberList"]["properties"]["status"]["allOf"][0]["$ref"]
    assert member_status == "#/components/schemas/MemberStatusEnum"


# Objections ----------------------------------------------------------------------------


@pytest.fixture
def in_notice(users, applied):
    return advance(applied, until="open_village_notice", actors={a: users["team_lian"] for a in ACTORS})


def test_objection_raise_and_dismiss(api_for, users, in_notice):
    raised = body(
        api_for("team_lian").post(
            url(in_notice, "objections/"), {"objector": "村民甲", "content": "该户有车", "raised_on": days_ago(25)}
        ),
        201,
    )
    objection = Objection.objects.get(pk=raised["id"])
    assert (objection.outcome, objection.recorded_by, objection.step) == (
        "pending",
        users["team_lian"],
        "village_notice",
    )
    assert (raised["outcome_display"], raised["raised_on"]) == ("待处理", days_ago(25))
    assert audited("objection.raise", objection)
    error = assert_error(
        api_for("team_lian").post(url(in_notice, "transitions/"), {"action": "close_village_notice"}), 409
    )
    assert error["code"] == "objection_pending"
    decided = body(
        api_for("township_daxi").post(
            f"/api/v1/objections/{objection.pk}/resolve/", {"outcome": "dismissed", "resolution": "经核实车辆属他人"}
        )
    )
    assert (decided["outcome"], decided["outcome_display"], decided["resolved_by"]) == (
        "dismissed",
        "异议不成立",
        "township_daxi",
    )
    assert audited("objection.resolve", objection)
    assert state(in_notice)[:2] == ("in_notice", "village_notice")
    assert body(api_for("county_jianghua").get(f"/api/v1/objections/{objection.pk}/"))["outcome"] == "dismissed"


def test_upheld_objection_returns_the_case(api_for, users, in_notice):
    objection = objection_raise(actor=users["team_lian"], household=in_notice, objector="匿名", content="有商品房")
    body(
        api_for("county_jianghua").post(
            f"/api/v1/objections/{objection.pk}/resolve/", {"outcome": "upheld_return", "resolution": "属实"}
        )
    )
    assert state(in_notice)[:2] == (HouseholdStatus.APPLIED, IdentificationStep.APPLICATION)
    assert StatusChange.objects.filter(household=in_notice).latest("id").action == "objection_return"


def test_objection_refusals(api_for, users, applied, in_notice):
    error = assert_error(api_for("township_daxi").post(url(in_notice, "objections/"), {"objector": "x"}), 400)
    assert "content" in error["fields"]
    raised = body(api_for("township_daxi").post(url(in_notice, "objections/"), {"content": "有车"}), 201)
    assert raised["objector"] == "匿名"
    resolve = f"/api/v1/objections/{raised['id']}/resolve/"
    # The recorder cannot decide it (four-eyes); a work team may not decide at all.
    assert_error(api_for("township_daxi").post(resolve, {"outcome": "dismissed", "resolution": "否"}), 409, "four_eyes")
    assert_error(api_for("team_lian").post(resolve, {"outcome": "dismissed", "resolution": "否"}), 403)
    assert_error(api_for("auditor_hunan").post(resolve, {"outcome": "dismissed", "resolution": "否"}), 403)
    error = assert_error(api_for("county_jianghua").post(resolve, {"outcome": "pending", "resolution": "否"}), 400)
    assert "outcome" in error["fields"]
    error = assert_error(api_for("county_jianghua").post(resolve, {"outcome": "dismissed", "resolution": " "}), 400)
    assert "resolution" in error["fields"]
    long = {"outcome": "upheld_reject", "resolution": "长" * 501}
    assert "resolution" in assert_error(api_for("county_jianghua").post(resolve, long), 400)["fields"]
    assert Objection.objects.get(pk=raised["id"]).outcome == ObjectionOutcome.PENDING
    body(api_for("county_jianghua").post(resolve, {"outcome": "dismissed", "resolution": "不属实"}))
    assert_error(api_for("county_jianghua").post(resolve, {"outcome": "dismissed", "resolution": "再"}), 409)
    # Only during a notice.
    other = make_applied(village=applied.village)
    error = assert_error(api_for("team_lian").post(url(other, "objections/"), {"content": "有车"}), 409)
    assert error["message"] == str(errors.OBJECTION_ONLY_IN_NOTICE)


def test_objection_outside_jurisdiction_is_404(api_for, users, divisions):
    shetian = make_applied(village=divisions[SHETIAN], on_date=date.today() - timedelta(days=31))
    shetian = advance(shetian, until="open_village_notice")
    objection = objection_raise(actor=users["county_shaoyang"], household=shetian, objector="x", content="y")
    client = api_for("county_jianghua")
    assert_error(client.get(f"/api/v1/objections/{objection.pk}/"), 404, "not_found")
    assert_error(client.post(f"/api/v1/objections/{objection.pk}/resolve/", {"outcome": "dismissed"}), 404)
    assert_error(client.get("/api/v1/objections/abc/"), 404, "not_found")


# Helpers -------------------------------------------------------------------------------


def test_pair_and_unpair_helper(api_for, users, divisions, applied):
    helper = village_services.helper_create(
        actor=users["county_jianghua"],
        division=divisions[DAXI],
        name="赵玉梅",
        unit="大锡乡人民政府",
        phone="13900001234",
    )
    # A township's helper is in the township reviewer's scope (not in the village work team's).
    error = assert_error(api_for("team_lian").put(url(applied, "helper/"), {"helper": helper.pk}, format="json"), 400)
    assert "helper" in error["fields"]
    paired = body(api_for("township_daxi").put(url(applied, "helper/"), {"helper": helper.pk}, format="json"))
    assert (paired["helper"]["id"], paired["helper"]["name"], paired["helper"]["unit"]) == (
        helper.pk,
        "赵玉梅",
        "大锡乡人民政府",
    )
    assert Household.objects.get(pk=applied.pk).helper == helper
    assert audited("household.pair_helper", applied)
    unpaired = body(api_for("team_lian").put(url(applied, "helper/"), {"helper": None}, format="json"))
    assert unpaired["helper"] is None
    assert Household.objects.get(pk=applied.pk).helper is None


def test_helper_outside_the_scope_or_unknown_is_a_400(api_for, users, divisions, applied):
    far = village_services.helper_create(
        actor=users["county_shaoyang"], division=divisions[SHAOYANG_COUNTY], name="远方", unit="邵阳", phone="1"
    )
    for value in (far.pk, 99999999, "abc"):
        error = assert_error(api_for("team_lian").put(url(applied, "helper/"), {"helper": value}, format="json"), 400)
        assert "helper" in error["fields"]
    assert_error(api_for("team_lian").put(url(applied, "helper/"), {}, format="json"), 400)
    assert Household.objects.get(pk=applied.pk).helper is None


# Query counts --------------------------------------------------------------------------


def count_queries(client, path, params) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, params)
    assert response.status_code == 200
    return len(queries), len(response.json()["results"])


@pytest.mark.parametrize("username", ["admin", "county_jianghua", "team_lian"])
@pytest.mark.parametrize("path", [URL, "/api/v1/members/"])
def test_list_query_count_does_not_grow_with_page_size(api_for, divisions, users, username, path):
    for _ in range(4):
        household = make_applied(village=divisions[LIAN], persons=3)
        village_services.helper_create(
            actor=None, division=divisions[LIAN], name="帮扶人", unit="单位", phone="13900000000"
        )
    household_pair_helper(actor=None, household=household, helper=Helper.objects.filter(division_id=LIAN).first())
    client = api_for(username)
    small, small_rows = count_queries(client, path, {"page_size": 2})
    large, large_rows = count_queries(client, path, {"page_size": 20})
    assert (small_rows, large_rows > 2) == (2, True)
    assert small == large
    assert large <= 6

"""/api/v1/members/ and /api/v1/households/{id}/members/: fields, masking, filters, scoping,
edits and membership events through the services."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from demo.loader import DAXI, LIAN, SHAOYANG_COUNTY, SHETIAN
from households import errors
from households.choices import MemberEventKind, MemberStatus, Relationship
from households.models import Household, Member, MemberEvent
from registry.idnumber import ID_BAD_CHECK_DIGIT
from registry.models import AuditEntry
from tests.api.helpers import assert_error
from tests.api.test_households import MASKED, READ_ONLY, assert_nothing_unmasked
from tests.factories import make_applied, make_household, make_id_number, member_data

URL = "/api/v1/members/"


@pytest.fixture
def api_for(api_for):
    """The shared token client, sending JSON (the only body these endpoints parse)."""

    def make(username: str):
        client = api_for(username)
        client.default_format = "json"
        return client

    return make


def url(member, suffix: str = "") -> str:
    return f"{URL}{member.pk}/{suffix}"


def body(response, status: int = 200):
    assert response.status_code == status, response.content
    assert_nothing_unmasked(response)
    return response.json()


def names(response) -> list[str]:
    return [row["name"] for row in body(response)["results"]]


@pytest.fixture
def household(users, divisions):
    return make_applied(village=divisions[LIAN], actor=users["team_lian"], on_date=date.today() - timedelta(days=31))


@pytest.fixture
def head(household):
    return household.members.get(relationship=Relationship.HEAD)


@pytest.fixture
def son(household):
    return household.members.filter(relationship=Relationship.SON).order_by("id").first()


@pytest.fixture
def shetian(divisions):
    return make_applied(village=divisions[SHETIAN], persons=2)


def member_state(member) -> dict:
    return Member.objects.values().get(pk=member.pk)


def audited(action: str, member) -> AuditEntry:
    return AuditEntry.objects.filter(action=action, object_id=str(member.pk)).get()


# Fields, masking, filters --------------------------------------------------------------


def test_list_row_has_labels_and_its_household(api_for, household, head):
    rows = body(api_for("county_jianghua").get(URL, {"household": household.pk}))["results"]
    assert [r["name"] for r in rows] == ["户主", "成员1", "成员2"]
    row = rows[0]
    assert (row["id"], row["household"], row["registry_number"]) == (head.pk, household.pk, household.registry_number)
    assert (row["household_status"], row["household_status_display"]) == ("applied", "申请")
    assert (row["village"], row["village_name"], row["county_code"]) == (LIAN, "栗安村", "431129")
    assert (row["sex"], row["sex_display"], row["birth_date"]) == ("1", "男", "1980-01-01")
    assert (row["ethnicity"], row["ethnicity_display"]) == ("13", "瑶族")
    assert (row["relationship"], row["relationship_display"]) == ("head", "户主")
    assert (row["student_status"], row["student_status_display"]) == ("not_student", "非在校生")
    assert (row["migrant_work"], row["migrant_work_display"], row["migrant_months"]) == ("none", "未外出务工", 0)
    assert (row["status"], row["status_display"], row["version"]) == ("active", "在册", 1)
    assert MASKED.match(row["id_number"])
    assert row["id_number"][:4] == head.id_number[:4] and row["id_number"][-4:] == head.id_number[-4:]


def test_detail(api_for, son):
    row = body(api_for("team_lian").get(url(son)))
    assert (row["id"], row["name"], row["relationship_display"]) == (son.pk, "成员1", "子")


@pytest.mark.parametrize("path", ["abc", "0", "999999999", "99999999999999999999"])
def test_unknown_member_is_a_structured_404(api_for, path):
    assert_error(api_for("admin").get(f"{URL}{path}/"), 404, "not_found")


def test_filters(api_for, users, household, head, son, shetian):
    registered = make_household(village=household.village, status="registered", persons=2)
    client = api_for("admin")

    def found(**params):
        return {row["id"] for row in body(client.get(URL, {"page_size": 100, **params}))["results"]}

    searched = body(client.post(f"{URL}search/", {"id_number": head.id_number}, format="json"))["results"]
    assert {row["id"] for row in searched} == {head.pk}
    assert found(q="户主", household=household.pk) == {head.pk}
    assert found(household=shetian.pk) == set(shetian.members.values_list("pk", flat=True))
    assert found(within=SHAOYANG_COUNTY) == set(shetian.members.values_list("pk", flat=True))
    assert found(within=DAXI) == set(Member.objects.filter(household__village_id=LIAN).values_list("pk", flat=True))
    assert found(household_status="registered") == set(registered.members.values_list("pk", flat=True))
    assert found(household_status=["registered", "applied"], within=DAXI) == found(within=DAXI)
    api_for("team_lian").post(url(son, "leave/"), {"kind": "move_out", "event_date": str(date.today())})
    assert found(status="moved_out") == {son.pk}
    assert son.pk not in found(status="active", household=household.pk)


@pytest.mark.parametrize("params", [{"status": "gone"}, {"household": "x"}, {"household_status": "bogus"}])
def test_bad_filter_is_a_structured_400(api_for, params):
    assert_error(api_for("admin").get(URL, params), 400, "invalid")


# Scoping -------------------------------------------------------------------------------


def test_county_never_sees_another_countys_members(api_for, shetian):
    client = api_for("county_jianghua")
    member = shetian.members.first()
    assert_error(client.get(url(member)), 404, "not_found")
    assert_error(client.patch(url(member), {"version": 1, "name": "x"}, format="json"), 404, "not_found")
    assert_error(client.post(url(member, "leave/"), {"kind": "death", "event_date": "2019-01-01"}), 404)
    assert names(client.get(URL, {"household": shetian.pk})) == []
    assert names(client.post(f"{URL}search/", {"id_number": member.id_number}, format="json")) == []
    assert "社田" not in client.get(URL).content.decode()
    assert len(names(api_for("county_shaoyang").get(URL, {"household": shetian.pk}))) == 2


def test_new_head_from_another_county_is_not_found(api_for, users, household, head, shetian):
    error = assert_error(
        api_for("admin").post(
            url(head, "leave/"),
            {"kind": "death", "event_date": str(date.today()), "new_head": shetian.members.first().pk},
        ),
        400,
    )
    assert error["fields"]["new_head"] == [str(errors.MEMBER_NEW_HEAD_INVALID)]
    error = assert_error(
        api_for("team_lian").post(
            url(head, "leave/"),
            {"kind": "death", "event_date": str(date.today()), "new_head": shetian.members.first().pk},
        ),
        400,
    )
    assert list(error["fields"]) == ["new_head"]
    assert member_state(head)["status"] == MemberStatus.ACTIVE


# Edits ---------------------------------------------------------------------------------


def test_patch_edits_through_the_service(api_for, users, son):
    edited = body(
        api_for("team_lian").patch(
            url(son), {"version": 1, "education": "junior", "serious_illness": True}, format="json"
        )
    )
    assert (edited["education"], edited["education_display"], edited["serious_illness"]) == ("junior", "初中", True)
    assert edited["version"] == 2
    son.refresh_from_db()
    assert (son.education, son.serious_illness, son.version) == ("junior", True, 2)
    entry = audited("member.update", son)
    assert entry.after == {"education": "junior", "serious_illness": True}
    assert entry.actor == users["team_lian"]


def test_patch_id_number_is_rechecked(api_for, son):
    new_number = make_id_number(birth="20010601", sex="1")
    edited = body(api_for("team_lian").patch(url(son), {"version": 1, "id_number": new_number}, format="json"))
    assert MASKED.match(edited["id_number"])
    assert Member.objects.get(pk=son.pk).id_number == new_number
    bad = new_number[:-1] + ("1" if new_number[-1] != "1" else "2")
    error = assert_error(api_for("team_lian").patch(url(son), {"version": 2, "id_number": bad}, format="json"), 400)
    assert error["fields"]["id_number"] == [str(ID_BAD_CHECK_DIGIT)]
    error = assert_error(api_for("team_lian").patch(url(son), {"version": 2, "sex": "2"}, format="json"), 400)
    assert list(error["fields"]) == ["sex"]


def test_stale_member_version_is_a_409(api_for, son):
    client = api_for("team_lian")
    body(client.patch(url(son), {"version": 1, "name": "盘一"}, format="json"))
    before = member_state(son)
    error = assert_error(client.patch(url(son), {"version": 1, "name": "盘二"}, format="json"), 409, "conflict")
    assert error["message"] == str(errors.VERSION_CONFLICT % {"current": 2, "expected": 1})
    assert member_state(son) == before


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "x"}, "version"),
        ({"version": 1, "relationship": "head"}, "relationship"),
        ({"version": 1, "status": "deceased"}, "status"),
        ({"version": 1, "household": 1}, "household"),
        ({"version": 1, "migrant_months": 13}, "migrant_months"),
        ({"version": 1, "ethnicity": "99"}, "ethnicity"),
        ({"version": 1, "birth_date": "1990-02-30"}, "birth_date"),
        ({"version": 1, "name": ""}, "name"),
    ],
)
def test_bad_member_patch_is_a_400(api_for, son, data, field):
    before = member_state(son)
    error = assert_error(api_for("team_lian").patch(url(son), data, format="json"), 400, "invalid")
    assert field in error["fields"], error
    assert member_state(son) == before


@pytest.mark.parametrize("username", READ_ONLY)
def test_read_only_roles_get_403(api_for, household, son, username):
    client = api_for(username)
    before, count = member_state(son), Member.objects.count()
    for response in (
        client.patch(url(son), {"version": 1, "name": "x"}, format="json"),
        client.post(url(son, "leave/"), {"kind": "death", "event_date": "2019-01-01"}, format="json"),
        client.post(f"/api/v1/households/{household.pk}/members/", {}, format="json"),
    ):
        assert_error(response, 403, "permission_denied")
    assert (member_state(son), Member.objects.count()) == (before, count)


# Membership events ---------------------------------------------------------------------


def add_url(household) -> str:
    return f"/api/v1/households/{household.pk}/members/"


def test_birth_adds_a_member_with_an_event(api_for, users, household):
    born = date.today() - timedelta(days=40)
    data = member_data(name="盘小宝", relationship="grandchild", birth=born.strftime("%Y%m%d"), sex="2")
    added = body(
        api_for("team_lian").post(
            add_url(household), {**data, "kind": "birth", "event_date": str(born), "note": "新生儿"}, format="json"
        ),
        201,
    )
    member = Member.objects.get(pk=added["id"])
    assert (member.household, member.name, member.sex, member.birth_date) == (household, "盘小宝", "2", born)
    assert (added["relationship_display"], added["sex_display"], added["household"]) == ("孙子女", "女", household.pk)
    event = MemberEvent.objects.get(member=member)
    assert (event.kind, event.event_date, event.note, event.recorded_by) == (
        "birth",
        born,
        "新生儿",
        users["team_lian"],
    )
    assert audited("member.birth", member).actor == users["team_lian"]
    assert Household.objects.get(pk=household.pk).version == 2
    detail = api_for("team_lian").get(f"/api/v1/households/{household.pk}/").json()
    assert [(e["kind"], e["kind_display"], e["member_name"]) for e in detail["member_events"]] == [
        ("birth", "出生", "盘小宝")
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "death"}, "kind"),
        ({"kind": None}, "kind"),
        ({"event_date": "1970-01-01"}, "event_date"),
        ({"relationship": "head"}, "relationship"),
        ({"id_number": "431129"}, "id_number"),
        ({"sex": "1"}, "sex"),
        ({"status": "active"}, "status"),
    ],
)
def test_bad_member_addition_is_a_400(api_for, household, change, field):
    data = {
        **member_data(name="新人", relationship="spouse", sex="2"),
        "kind": "marriage_in",
        "event_date": "2019-01-01",
    }
    count = Member.objects.count()
    error = assert_error(api_for("team_lian").post(add_url(household), {**data, **change}, format="json"), 400)
    assert field in error["fields"], error
    assert Member.objects.count() == count


def test_adding_a_person_of_another_household_is_a_409(api_for, household, shetian):
    taken = shetian.members.first()
    data = {**member_data(name=taken.name, relationship="spouse"), "id_number": taken.id_number}
    error = assert_error(
        api_for("team_lian").post(
            add_url(household), {**data, "kind": "move_in", "event_date": "2019-01-01"}, format="json"
        ),
        409,
        "conflict",
    )
    assert "id_number" in error["fields"]


def test_death_sets_status_and_is_audited(api_for, users, household, son):
    left = body(
        api_for("team_lian").post(
            url(son, "leave/"), {"kind": "death", "event_date": "2019-05-03", "note": "病故"}, format="json"
        )
    )
    assert (left["status"], left["status_display"], left["status_date"]) == ("deceased", "死亡", "2019-05-03")
    son.refresh_from_db()
    assert (son.status, son.current) == (MemberStatus.DECEASED, False)
    event = MemberEvent.objects.get(member=son)
    assert (event.kind, event.note) == (MemberEventKind.DEATH, "病故")
    assert audited("member.death", son).before["status"] == "active"


def test_leaving_head_needs_a_new_head(api_for, household, head, son):
    client = api_for("team_lian")
    before = member_state(head)
    error = assert_error(client.post(url(head, "leave/"), {"kind": "move_out", "event_date": "2019-05-03"}), 400)
    assert error["fields"]["new_head"] == [str(errors.MEMBER_NEW_HEAD_REQUIRED % {"event": "迁出"})]
    assert member_state(head) == before
    body(client.post(url(head, "leave/"), {"kind": "move_out", "event_date": "2019-05-03", "new_head": son.pk}))
    assert Member.objects.get(pk=son.pk).relationship == Relationship.HEAD
    detail = client.get(f"/api/v1/households/{household.pk}/").json()
    assert detail["head_name"] == "成员1"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "birth", "event_date": "2019-01-01"}, "kind"),
        ({"kind": "death"}, "event_date"),
        ({"kind": "death", "event_date": "1970-01-01"}, "event_date"),
        ({"kind": "death", "event_date": "2019-01-01", "new_head": "x"}, "new_head"),
        ({"kind": "death", "event_date": "2019-01-01", "status": "deceased"}, "status"),
    ],
)
def test_bad_leave_is_a_400(api_for, son, data, field):
    before = member_state(son)
    error = assert_error(api_for("team_lian").post(url(son, "leave/"), data, format="json"), 400, "invalid")
    assert field in error["fields"], error
    assert member_state(son) == before


def test_last_member_cannot_leave_and_a_member_leaves_once(api_for, divisions):
    alone = make_applied(village=divisions[LIAN], persons=2)
    head = alone.members.get(relationship="head")
    other = alone.members.exclude(pk=head.pk).get()
    client = api_for("team_lian")
    body(client.post(url(other, "leave/"), {"kind": "marriage_out", "event_date": "2019-01-01"}))
    error = assert_error(client.post(url(other, "leave/"), {"kind": "death", "event_date": "2019-02-01"}), 400)
    assert error["message"] == str(errors.MEMBER_NOT_ACTIVE % {"name": other.name})
    error = assert_error(client.post(url(head, "leave/"), {"kind": "death", "event_date": "2019-02-01"}), 400)
    assert error["message"] == str(errors.MEMBER_LAST_ACTIVE % {"name": head.name})
    assert_error(client.patch(url(other), {"version": 2, "name": "x"}, format="json"), 400)

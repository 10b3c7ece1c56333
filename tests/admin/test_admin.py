"""The Django admin: every model loads, scoped, nothing deletable, writes through services."""

import re
from datetime import date

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.test import RequestFactory
from django.urls import reverse

from demo.loader import DAXI, JIANGHUA, JINCHENGSHI, LIAN, SHAOYANG_COUNTY, SHETIAN
from registry.models import AuditEntry, User
from tests.factories import make_team, make_township, make_village
from villages import errors, services
from villages.choices import TeamRole, VillageExitStatus, WorkTeamStatus
from villages.models import CountyStatus, Division, VillageStatus, WorkTeam, WorkTeamMember

REGISTRY = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label_lower)
#: Models whose admin a county official may not open at all.
COUNTY_FORBIDDEN = {
    "registry.auditentry",
    "registry.apitoken",
    "registry.loginfailure",
    "households.personaldataaccess",
}
#: The logs an auditor reads.
AUDITOR_READS = {"registry.auditentry", "households.personaldataaccess"}


def url(model, view: str = "changelist", *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def team_of(village: str) -> WorkTeam:
    return WorkTeam.objects.get(village_id=village, status=WorkTeamStatus.STATIONED)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def audit_count(**filters) -> int:
    return AuditEntry.objects.filter(**filters).count()


# Every changelist loads --------------------------------------------------------------------


@pytest.mark.parametrize(("model", "model_admin"), REGISTRY, ids=[m._meta.label_lower for m, _ in REGISTRY])
def test_every_changelist_loads_for_admin(client_for, model, model_admin):
    client = client_for("admin")
    assert client.get(url(model)).status_code == 200
    assert client.get(url(model), {"q": "社田"}).status_code == 200


@pytest.mark.parametrize(("model", "model_admin"), REGISTRY, ids=[m._meta.label_lower for m, _ in REGISTRY])
@pytest.mark.parametrize("username", ["county_jianghua", "team_lian", "auditor_hunan"])
def test_every_changelist_loads_or_is_forbidden_for_officials(client_for, model, model_admin, username):
    expected = 403 if model._meta.label_lower in COUNTY_FORBIDDEN else 200
    if username == "auditor_hunan" and model._meta.label_lower in AUDITOR_READS:
        expected = 200
    response = client_for(username).get(url(model))
    assert response.status_code == expected, (username, model._meta.label_lower, response.status_code)


def test_admin_index_lists_only_what_the_user_may_open(client_for):
    html = client_for("county_jianghua").get(reverse("admin:index")).content.decode()
    assert url(WorkTeam) in html and url(Division) in html
    assert url(AuditEntry) not in html
    assert url(AuditEntry) in client_for("auditor_hunan").get(reverse("admin:index")).content.decode()


def test_non_staff_users_cannot_enter(client_for, users):
    user = users["team_lian"]
    user.is_staff = False
    user.save(update_fields=["is_staff"])
    response = client_for("team_lian").get(url(WorkTeam))
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


# Scoping ------------------------------------------------------------------------------------

SHAOYANG_WORDS = ("邵阳", "社田", "430523", "刘梅", "金称市")


@pytest.mark.parametrize(
    ("model", "mine"),
    [
        (Division, {JIANGHUA, DAXI, LIAN}),
        (CountyStatus, {JIANGHUA}),
        (VillageStatus, {LIAN}),
        (WorkTeam, None),
        (WorkTeamMember, None),
        (User, None),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_county_changelists_hold_nothing_of_another_county(client_for, model, mine):
    client = client_for("county_jianghua")
    response = client.get(url(model))
    assert response.status_code == 200
    objects = list(response.context["cl"].queryset)
    assert objects, "the county sees its own rows"
    if mine is not None:
        assert {str(o.pk) for o in objects} == mine
    html = response.content.decode()
    for word in SHAOYANG_WORDS:
        assert word not in html, word
    for term in ("社田", "邵阳", "430523", "刘梅"):
        searched = client.get(url(model), {"q": term})
        assert searched.status_code == 200 and list(searched.context["cl"].queryset) == []


def test_county_sees_only_the_users_of_its_county(client_for):
    response = client_for("county_jianghua").get(url(User))
    names = {u.username for u in response.context["cl"].queryset}
    assert names == {"team_lian", "township_daxi", "county_jianghua"}


def shaoyang_objects() -> list:
    shetian_team = team_of(SHETIAN)
    return [
        Division.objects.get(pk=SHAOYANG_COUNTY),
        Division.objects.get(pk=SHETIAN),
        CountyStatus.objects.get(pk=SHAOYANG_COUNTY),
        VillageStatus.objects.get(pk=SHETIAN),
        shetian_team,
        shetian_team.members.get(name="刘梅"),
        User.objects.get(username="county_shaoyang"),
    ]


@pytest.mark.parametrize("view", ["change", "history"])
def test_county_cannot_open_another_countys_objects(client_for, view):
    client = client_for("county_jianghua")
    for obj in shaoyang_objects():
        response = client.get(url(type(obj), view, obj.pk))
        assert response.status_code == 404, (obj, response.status_code)  # as on the pages and in the API
        html = response.content.decode()
        assert str(obj) not in html and "社田" not in html


def test_county_cannot_change_another_countys_status_by_post(client_for):
    response = client_for("county_jianghua").post(
        url(VillageStatus, "change", SHETIAN),
        {"is_poverty_village": "on", "deep_poverty": "on", "rural_population": "1", "rural_households": "1"},
    )
    assert response.status_code == 404
    assert VillageStatus.objects.get(pk=SHETIAN).rural_population == 3260
    assert not audit_count(action="village_status.update", object_id=SHETIAN)


def test_autocomplete_is_scoped(client_for):
    params = {"app_label": "villages", "model_name": "workteam", "field_name": "village", "term": "社田"}
    found = client_for("county_jianghua").get(reverse("admin:autocomplete"), params).json()["results"]
    assert found == []
    found = client_for("county_shaoyang").get(reverse("admin:autocomplete"), params).json()["results"]
    assert [r["id"] for r in found] == [SHETIAN]


def test_auditor_sees_the_audit_log_of_its_jurisdiction_only(client_for, divisions):
    township = make_township(county=divisions["371721000000"], number=1, name="曹县测试镇")
    shandong = make_team(village=make_village(parent=township, number=1, name="曹县测试村"))
    response = client_for("auditor_hunan").get(url(AuditEntry))
    assert response.status_code == 200
    scopes = {e.scope_code for e in response.context["cl"].queryset}
    assert scopes and all(code.startswith("43") for code in scopes)
    assert shandong.village_id not in scopes
    assert shandong.village_id in {
        e.scope_code for e in client_for("admin").get(url(AuditEntry)).context["cl"].queryset
    }


# Nothing is deleted ----------------------------------------------------------------------


@pytest.mark.parametrize(("model", "model_admin"), REGISTRY, ids=[m._meta.label_lower for m, _ in REGISTRY])
@pytest.mark.parametrize("username", ["admin", "county_jianghua"])
def test_no_delete_permission_or_action(users, model, model_admin, username):
    request = RequestFactory().get("/admin/")
    request.user = users[username]
    assert not model_admin.has_delete_permission(request)
    obj = model_admin.get_queryset(request).first()
    assert not model_admin.has_delete_permission(request, obj)
    assert "delete_selected" not in model_admin.get_actions(request)


def test_delete_page_is_refused(client_for):
    client = client_for("admin")
    for obj in (Division.objects.get(pk=LIAN), team_of(LIAN), VillageStatus.objects.get(pk=LIAN)):
        assert client.get(url(type(obj), "delete", obj.pk)).status_code == 403
        assert client.post(url(type(obj), "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert Division.objects.filter(pk=LIAN).exists() and WorkTeam.objects.filter(village_id=LIAN).exists()


def test_audit_log_is_read_only_even_for_the_administrator(client_for, users):
    request = RequestFactory().get("/admin/")
    request.user = users["admin"]
    model_admin = admin.site._registry[AuditEntry]
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, AuditEntry.objects.first())


# Work teams through the admin ------------------------------------------------------------


def team_form(village: str, members: list[dict], **fields) -> dict:
    data = {
        "village": village,
        "dispatching_unit": "江华瑶族自治县教育局",
        "term_start": "2019-03-01",
        "term_end": "2021-03-01",
        "members-TOTAL_FORMS": str(len(members)),
        "members-INITIAL_FORMS": "0",
        "members-MIN_NUM_FORMS": "0",
        "members-MAX_NUM_FORMS": "1000",
        **fields,
    }
    for i, member in enumerate(members):
        for key, value in member.items():
            data[f"members-{i}-{key}"] = value
    return data


LEADER = {"name": "黄志明", "role": TeamRole.LEADER, "title": "第一书记", "unit": "江华瑶族自治县教育局"}
MEMBER_1 = {"name": "邓小燕", "role": TeamRole.MEMBER, "unit": "江华瑶族自治县教育局"}
MEMBER_2 = {"name": "唐国华", "role": TeamRole.MEMBER, "unit": "大锡乡人民政府"}


@pytest.fixture
def new_village(divisions):
    return make_village(parent=divisions[DAXI], number=9, name="新安村")


def test_county_creates_a_team_with_three_members(client_for, users, new_village):
    response = client_for("county_jianghua").post(
        url(WorkTeam, "add"), team_form(new_village.code, [LEADER, MEMBER_1, MEMBER_2])
    )
    assert response.status_code == 302, messages_of(response)
    assert response["Location"] == url(WorkTeam)
    team = team_of(new_village.code)
    assert team.dispatching_unit == "江华瑶族自治县教育局"
    assert sorted(m.name for m in team.members.all()) == sorted(["黄志明", "邓小燕", "唐国华"])
    assert team.leader.name == "黄志明"
    entry = AuditEntry.objects.get(action="work_team.create", object_id=str(team.pk))
    assert entry.actor == users["county_jianghua"]
    assert entry.scope_code == new_village.code
    assert entry.client_address == "127.0.0.1"
    assert len(entry.after["members"]) == 3


def test_team_of_two_is_refused_in_chinese_and_writes_nothing(client_for, new_village):
    before = AuditEntry.objects.count()
    response = client_for("county_jianghua").post(url(WorkTeam, "add"), team_form(new_village.code, [LEADER, MEMBER_1]))
    assert str(errors.TEAM_TOO_FEW_MEMBERS % {"minimum": services.TEAM_MIN_MEMBERS}) in messages_of(response)
    assert not WorkTeam.objects.filter(village=new_village).exists()
    assert not WorkTeamMember.objects.filter(name="黄志明").exists()
    assert AuditEntry.objects.count() == before


def test_team_without_a_leader_is_refused(client_for, new_village):
    member = {**LEADER, "role": TeamRole.MEMBER}
    response = client_for("county_jianghua").post(
        url(WorkTeam, "add"), team_form(new_village.code, [member, MEMBER_1, MEMBER_2])
    )
    assert str(errors.TEAM_NEEDS_ONE_LEADER) in messages_of(response)
    assert not WorkTeam.objects.filter(village=new_village).exists()


def test_county_cannot_dispatch_a_team_outside_its_county(client_for, divisions):
    village = make_village(parent=divisions[JINCHENGSHI], number=9, name="金称市新村")
    before = AuditEntry.objects.count()
    response = client_for("county_jianghua").post(
        url(WorkTeam, "add"), team_form(village.code, [LEADER, MEMBER_1, MEMBER_2])
    )
    assert response.status_code == 200  # the form comes back with an error on the village
    assert "village" in response.context["adminform"].form.errors
    assert not WorkTeam.objects.filter(village=village).exists()
    assert AuditEntry.objects.count() == before


def test_roles_without_the_capability_cannot_add_teams(client_for):
    for username in ("team_lian", "prefecture_yongzhou", "auditor_hunan"):
        assert client_for(username).get(url(WorkTeam, "add")).status_code == 403


def test_editing_the_roster_keeps_members_who_leave(client_for, users):
    team = team_of(LIAN)
    members = list(team.members.order_by("id"))
    data = team_form(LIAN, [], dispatching_unit=team.dispatching_unit, term_start="2018-03-01", term_end="2021-03-01")
    data.update({"members-TOTAL_FORMS": "4", "members-INITIAL_FORMS": "3"})
    for i, member in enumerate(members):
        for key in ("name", "role", "title", "unit", "phone"):
            data[f"members-{i}-{key}"] = getattr(member, key)
        data[f"members-{i}-id"] = str(member.pk)
        data[f"members-{i}-team"] = str(team.pk)
    leaving = next(m for m in members if m.role == TeamRole.MEMBER)
    data[f"members-{members.index(leaving)}-DELETE"] = "on"
    data.update({"members-3-name": "新队员", "members-3-role": TeamRole.MEMBER})
    response = client_for("county_jianghua").post(url(WorkTeam, "change", team.pk), data)
    assert response.status_code == 302, messages_of(response)
    leaving.refresh_from_db()
    assert not leaving.active and leaving.left_on is not None
    assert {m.name for m in team.members.filter(active=True)} == {m.name for m in members if m != leaving} | {"新队员"}
    assert AuditEntry.objects.filter(action="work_team.set_members", object_id=str(team.pk)).exists()


# Withdrawal --------------------------------------------------------------------------------


def withdraw(client, team, **extra):
    data = {
        "action": "withdraw",
        "_selected_action": [str(team.pk)],
        "apply": "1",
        "on_date": "2021-03-01",
        "reason": "任期届满",
        **extra,
    }
    return client.post(url(WorkTeam), data)


def test_withdraw_asks_for_date_and_reason_first(client_for):
    team = team_of(SHETIAN)
    response = client_for("county_shaoyang").post(
        url(WorkTeam), {"action": "withdraw", "_selected_action": [str(team.pk)]}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="on_date"' in html and 'name="reason"' in html and str(team) in html


def test_withdraw_from_a_village_that_has_not_exited_is_refused(client_for):
    team = team_of(SHETIAN)
    response = withdraw(client_for("county_shaoyang"), team)
    assert response.status_code == 302
    expected = str(errors.TEAM_WITHDRAW_VILLAGE_NOT_EXITED % {"village": "社田村"})
    assert any(expected in m for m in messages_of(response)), messages_of(response)
    team.refresh_from_db()
    assert team.status == WorkTeamStatus.STATIONED and team.withdrawn_on is None
    assert not audit_count(action="work_team.withdraw")


def test_withdraw_after_the_village_exited(client_for, users, divisions):
    services.village_exit_record(actor=None, village=divisions[SHETIAN], year=2020)
    team = team_of(SHETIAN)
    response = withdraw(client_for("county_shaoyang"), team)
    assert "已撤出 1 支工作队。" in messages_of(response)
    team.refresh_from_db()
    assert (team.status, team.withdrawn_on, team.withdrawal_reason) == (
        WorkTeamStatus.WITHDRAWN,
        date(2021, 3, 1),
        "任期届满",
    )
    entry = AuditEntry.objects.get(action="work_team.withdraw", object_id=str(team.pk))
    assert entry.actor == users["county_shaoyang"]


def test_county_cannot_withdraw_another_countys_team(client_for, divisions):
    services.village_exit_record(actor=None, village=divisions[SHETIAN], year=2020)
    team = team_of(SHETIAN)
    withdraw(client_for("county_jianghua"), team)
    team.refresh_from_db()
    assert team.status == WorkTeamStatus.STATIONED
    assert not audit_count(action="work_team.withdraw")


# Status fields are read-only; edits go through the services --------------------------------


def form_fields(html: str) -> set[str]:
    return set(re.findall(r'<(?:input|select|textarea)[^>]*\sname="([^"]+)"', html))


def test_team_status_is_read_only(client_for):
    team = team_of(LIAN)
    request = RequestFactory().get("/")
    request.user = User.objects.get(username="county_jianghua")
    model_admin = admin.site._registry[WorkTeam]
    assert {"status", "withdrawn_on", "withdrawal_reason"} <= set(model_admin.get_readonly_fields(request, team))
    client = client_for("county_jianghua")
    fields = form_fields(client.get(url(WorkTeam, "change", team.pk)).content.decode())
    assert "dispatching_unit" in fields
    assert not {"status", "withdrawn_on", "withdrawal_reason", "village"} & fields


def test_posting_a_team_status_changes_nothing(client_for):
    team = team_of(LIAN)
    members = list(team.members.order_by("id"))
    data = team_form(
        LIAN,
        [],
        dispatching_unit=team.dispatching_unit,
        term_start="2018-03-01",
        term_end="2021-03-01",
        status=WorkTeamStatus.WITHDRAWN,
        withdrawn_on="2020-01-01",
    )
    data.update({"members-TOTAL_FORMS": "3", "members-INITIAL_FORMS": "3"})
    for i, member in enumerate(members):
        data.update({f"members-{i}-id": str(member.pk), f"members-{i}-team": str(team.pk)})
        data.update({f"members-{i}-{k}": getattr(member, k) for k in ("name", "role", "title", "unit", "phone")})
    response = client_for("county_jianghua").post(url(WorkTeam, "change", team.pk), data)
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.status == WorkTeamStatus.STATIONED and team.withdrawn_on is None


def test_village_exit_status_is_read_only(client_for):
    fields = form_fields(client_for("county_jianghua").get(url(VillageStatus, "change", LIAN)).content.decode())
    assert "rural_population" in fields
    assert not {"exit_status", "exit_year", "village"} & fields


def test_county_exit_status_is_read_only(client_for):
    fields = form_fields(client_for("county_jianghua").get(url(CountyStatus, "change", JIANGHUA)).content.decode())
    assert "planned_exit_year" in fields
    assert not {"exit_status", "exit_year", "county"} & fields


def village_status_form(status: VillageStatus, **changes) -> dict:
    data = {
        "identified_year": str(status.identified_year or ""),
        "rural_population": str(status.rural_population),
        "rural_households": str(status.rural_households),
    }
    if status.is_poverty_village:
        data["is_poverty_village"] = "on"
    if status.deep_poverty:
        data["deep_poverty"] = "on"
    data.update(changes)
    return data


def test_county_edits_rural_population_through_the_service(client_for, users):
    status = VillageStatus.objects.get(pk=LIAN)
    response = client_for("county_jianghua").post(
        url(VillageStatus, "change", LIAN),
        village_status_form(status, rural_population="702", exit_status="not_exited", exit_year=""),
    )
    assert response.status_code == 302, messages_of(response)
    status.refresh_from_db()
    assert status.rural_population == 702
    assert (status.exit_status, status.exit_year) == (VillageExitStatus.EXITED, 2018)
    entry = AuditEntry.objects.filter(action="village_status.update", object_id=LIAN).latest("id")
    assert entry.actor == users["county_jianghua"]
    assert (entry.before, entry.after) == ({"rural_population": 689}, {"rural_population": 702})
    assert entry.scope_code == LIAN


def test_unchanged_status_form_writes_no_audit_row(client_for):
    status = VillageStatus.objects.get(pk=LIAN)
    before = AuditEntry.objects.count()
    response = client_for("county_jianghua").post(url(VillageStatus, "change", LIAN), village_status_form(status))
    assert response.status_code == 302
    assert AuditEntry.objects.count() == before


def test_refused_status_change_shows_the_reason_and_changes_nothing(client_for):
    status = VillageStatus.objects.get(pk=LIAN)
    data = village_status_form(status, rural_population="700")
    del data["is_poverty_village"]  # an exited village must stay a poverty village
    before = AuditEntry.objects.count()
    response = client_for("county_jianghua").post(url(VillageStatus, "change", LIAN), data)
    assert response.status_code in (200, 302)
    status.refresh_from_db()
    assert status.rural_population == 689 and status.is_poverty_village
    assert AuditEntry.objects.count() == before


def test_prefecture_may_view_but_not_change_statuses(client_for):
    client = client_for("prefecture_yongzhou")
    response = client.get(url(VillageStatus, "change", LIAN))
    assert response.status_code == 200
    assert "rural_population" not in form_fields(response.content.decode())
    client.post(
        url(VillageStatus, "change", LIAN),
        village_status_form(VillageStatus.objects.get(pk=LIAN), rural_population="1"),
    )
    assert VillageStatus.objects.get(pk=LIAN).rural_population == 689


def test_view_on_site_redirect_is_scoped(client_for):
    client = client_for("county_jianghua")
    team_type = ContentType.objects.get_for_model(WorkTeam).pk
    division_type = ContentType.objects.get_for_model(Division).pk
    response = client.get(f"/admin/r/{team_type}/{team_of(LIAN).pk}/")
    assert response.status_code == 302 and response["Location"].endswith(f"/divisions/{LIAN}/")
    for type_id, object_id in ((team_type, team_of(SHETIAN).pk), (division_type, SHETIAN), (team_type, "abc")):
        response = client.get(f"/admin/r/{type_id}/{object_id}/")
        assert response.status_code == 404
        assert SHETIAN not in response.get("Location", "")
    assert client_for("admin").get(f"/admin/r/{team_type}/{team_of(SHETIAN).pk}/").status_code == 302


def test_admin_pages_load_nothing_from_another_host(client_for):
    client = client_for("county_jianghua")
    for page_url in (reverse("admin:index"), url(WorkTeam), url(WorkTeam, "add"), url(VillageStatus, "change", LIAN)):
        html = client.get(page_url).content.decode()
        assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.IGNORECASE), page_url

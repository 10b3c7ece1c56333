"""The household pages (贫困户页面): list, detail, forms, workflow buttons, scoping, phones."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from demo.loader import LIAN, SHETIAN
from households import errors
from households.choices import HouseholdStatus, IdentificationStep, MemberStatus, ObjectionOutcome
from households.crosscheck import crosscheck_import
from households.exclusions import mask_id
from households.models import Household, Member, MemberEvent, Objection, StatusChange
from households.services import household_update, objection_raise
from registry.errors import FOUR_EYES_VIOLATION, PERMISSION_DENIED
from registry.idnumber import ID_BAD_CHECK_DIGIT
from registry.models import AuditEntry
from tests.factories import IDENTIFICATION_PATH, advance, make_applied, make_id_number, make_village
from villages.services import helper_create

#: Who takes each step of the identification path through the pages.
PATH_ACTORS = {
    "appraise": "team_lian",
    "open_village_notice": "team_lian",
    "close_village_notice": "team_lian",
    "township_approve": "township_daxi",
    "close_township_notice": "township_daxi",
    "county_approve": "county_jianghua",
}
READ_ONLY = ["province_hunan", "prefecture_yongzhou", "auditor_hunan"]


def days_ago(n: int) -> date:
    return date.today() - timedelta(days=n)


def page(client: Client, url: str, expect: int = 200, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == expect, (url, response.status_code)
    return response.content.decode()


def results(html: str) -> str:
    """Return the result rows of a list page (the search box and links echo what was typed)."""
    found = re.search(r'<table class="hh-table">.*?</table>', html, re.S)
    return found.group(0) if found else ""


def snapshot_counts() -> tuple[int, ...]:
    return (
        Household.objects.count(),
        Member.objects.count(),
        StatusChange.objects.count(),
        AuditEntry.objects.count(),
        Objection.objects.count(),
        MemberEvent.objects.count(),
    )


class _Tags(HTMLParser):
    """Collect links, forms and metas of a page."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.metas: list[dict] = []
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta":
            self.metas.append(attrs)
        if tag == "form":
            self.forms.append(attrs)
        for name in ("src", "href", "action"):
            if attrs.get(name):
                self.urls.append(attrs[name])


def tags(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


def household_forms(html: str) -> list[str]:
    """Return the actions of the POST forms that write to households (not logout or language)."""
    return [
        f.get("action") or "(this page)"
        for f in tags(html).forms
        if f.get("method", "get").lower() == "post" and f.get("action") not in ("/logout/", "/i18n/setlang/")
    ]


def member_row(name: str, relationship: str, *, birth="19800101", sex="1", **extra) -> dict:
    row = {
        "name": name,
        "id_number": make_id_number(birth=birth, sex=sex),
        "relationship": relationship,
        "ethnicity": "13",
        "education": "primary",
        "student_status": "not_student",
        "labour_ability": "ordinary",
        "migrant_work": "none",
        "migrant_months": "0",
        "basic_medical_insurance": "on",
    }
    row.update(extra)
    return row


def create_payload(members: list[dict], *, village: str = LIAN, **household) -> dict:
    """Return what the registration form posts for a household with ``members``."""
    data = {
        "village": village,
        "identification_standard": "national",
        "attribute": "general",
        "main_cause": "illness",
        "cultivated_land_mu": "1.5",
        "forest_land_mu": "0",
        "drinking_water_safe": "on",
        "electricity": "on",
        "members-TOTAL_FORMS": str(len(members)),
        "members-INITIAL_FORMS": "1",
        "members-MIN_NUM_FORMS": "0",
        "members-MAX_NUM_FORMS": "1000",
    }
    data.update(household)
    for i, member in enumerate(members):
        data.update({f"members-{i}-{key}": value for key, value in member.items()})
    return data


def edit_payload(household: Household, **changes) -> dict:
    data = {
        "group": household.group_id or "",
        "identification_standard": household.identification_standard,
        "attribute": household.attribute,
        "main_cause": household.main_cause,
        "cultivated_land_mu": str(household.cultivated_land_mu),
        "forest_land_mu": str(household.forest_land_mu),
        "drinking_water_safe": "on",
        "electricity": "on",
        "phone": household.phone,
        "version": household.version,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def post_transition(client, household, action, *, on_date=None, reason="", follow=True):
    data = {"reason": reason, "on_date": (on_date or date.today()).isoformat()}
    return client.post(f"/households/{household.pk}/transition/{action}/", data, follow=follow)


def field_html(html: str, name: str) -> str:
    """Return the markup of the form field ``name``: label, input, help and errors."""
    start = html.index(f'data-field="{name}"')
    end = min(i for i in (html.find(m, start + 1) for m in ("data-field=", "</details>", "</section>")) if i > 0)
    return html[start:end]


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.fixture
def applied(users, divisions):
    """A household of three applied 31 days ago by the 栗安村 work team."""
    return make_applied(village=divisions[LIAN], actor=users["team_lian"], on_date=days_ago(31))


@pytest.fixture
def shetian(divisions):
    """A household of 社田村 (邵阳县), outside 江华县."""
    return make_applied(village=divisions[SHETIAN], on_date=days_ago(31))


def in_step(household, users, until: str):
    actors = {action: users[name] for action, name in PATH_ACTORS.items()}
    return advance(household, until=until, actors=actors)


# Login and scoping ------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/households/", "/households/new/", "/households/1/", "/households/1/edit/"])
def test_household_pages_need_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


def test_anonymous_transition_post_goes_to_login(client, applied):
    response = client.post(f"/households/{applied.pk}/transition/appraise/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert Household.objects.get(pk=applied.pk).status == HouseholdStatus.APPLIED


def test_county_gets_404_for_another_countys_household_and_never_lists_it(client_for, shetian, applied):
    client = client_for("county_jianghua")
    head = shetian.members.get(relationship="head")
    for url in (
        f"/households/{shetian.pk}/",
        f"/households/{shetian.pk}/edit/",
        f"/households/{shetian.pk}/members/new/",
        f"/households/{shetian.pk}/members/{head.pk}/edit/",
    ):
        html = page(client, url, expect=404)
        assert "社田" not in html and shetian.registry_number not in html
    before = snapshot_counts()
    response = post_transition(client, shetian, "appraise", follow=False)
    assert response.status_code == 404
    assert client.post(f"/households/{shetian.pk}/objections/", {"content": "x"}).status_code == 404
    assert client.post(f"/households/{shetian.pk}/helper/", {"helper": ""}).status_code == 404
    assert snapshot_counts() == before
    for params in ({}, {"q": shetian.registry_number}, {"q": head.id_number}, {"q": "户主"}, {"village": SHETIAN}):
        html = results(page(client, "/households/", **params))
        assert shetian.registry_number not in html and "社田" not in html
    assert applied.registry_number in page(client, "/households/")
    # Its own county sees it.
    assert shetian.registry_number in page(client_for("county_shaoyang"), "/households/")
    page(client_for("county_shaoyang"), f"/households/{shetian.pk}/")


def test_work_team_sees_only_its_village(client_for, users, divisions, applied, shetian):
    html = page(client_for("team_lian"), "/households/")
    assert applied.registry_number in html and shetian.registry_number not in html
    page(client_for("team_lian"), f"/households/{shetian.pk}/", expect=404)


def test_unknown_household_is_a_404_page(client_for):
    assert "未找到" in page(client_for("admin"), "/households/999999999/", expect=404)


# List ---------------------------------------------------------------------------------


def test_list_row_shows_number_head_size_village_attribute_cause_status(client_for, applied):
    html = page(client_for("team_lian"), "/households/")
    row = re.search(r"<tr>\s*<td class=\"title\">.*?</tr>", html, re.S).group(0)
    assert applied.registry_number in row and "户主" in row
    assert "3 人" in row and "栗安村" in row
    assert "一般贫困户" in row and "因病" in row and "申请" in row
    assert f'href="/households/{applied.pk}/"' in row
    assert "共 1 户" in html


def test_list_filters(client_for, users, divisions, applied):
    dibao = make_applied(
        village=divisions[LIAN], actor=users["team_lian"], persons=2, attribute="dibao", main_cause="disability"
    )
    group = divisions[LIAN].villager_groups.get(number=2)
    household_update(actor=users["team_lian"], household=dibao, changes={"group": group})
    registered = in_step(make_applied(village=divisions[LIAN], on_date=days_ago(31)), users, "county_approve")
    client = client_for("county_jianghua")

    def listed(**params) -> set[str]:
        html = page(client, "/households/", **params)
        return set(re.findall(r'<span class="num">(\d+)</span>', html))

    everyone = {applied.registry_number, dibao.registry_number, registered.registry_number}
    assert listed() == everyone
    assert listed(status="registered") == {registered.registry_number}
    assert listed(status="applied") == {applied.registry_number, dibao.registry_number}
    assert listed(attribute="dibao") == {dibao.registry_number}
    assert listed(cause="disability") == {dibao.registry_number}
    assert listed(cause="illness", attribute="general") == {applied.registry_number, registered.registry_number}
    assert listed(village=LIAN) == everyone
    assert listed(village=LIAN, group=group.pk) == {dibao.registry_number}
    assert listed(within="431129203000") == everyone
    assert listed(within="430523000000") == set()
    assert "没有符合条件的贫困户" in page(client, "/households/", within="430523000000")


def test_list_search_by_name_id_number_and_registry_number(client_for, users, divisions, applied):
    other = make_applied(village=divisions[LIAN], actor=users["team_lian"], persons=1)
    Member.objects.filter(household=other).update(name="盘小妹")
    son = applied.members.exclude(relationship="head").first()
    client = client_for("team_lian")

    def found(q) -> set[str]:
        response = client.post("/households/", {"q": q}, follow=True)
        assert response.status_code == 200
        return set(re.findall(r'<span class="num">(\d+)</span>', response.content.decode()))

    assert found("盘小妹") == {other.registry_number}
    assert found("小妹") == {other.registry_number}
    assert found(son.id_number) == {applied.registry_number}
    assert found(son.id_number.lower()) == {applied.registry_number}
    assert found(applied.registry_number) == {applied.registry_number}
    assert found(LIAN) == {applied.registry_number, other.registry_number}
    assert found("没有这个人") == set()


@pytest.mark.parametrize(
    "params",
    [{"page": "abc"}, {"page": "999"}, {"status": "bogus"}, {"group": "x"}, {"within": "abc"}, {"cause": "<b>"}],
)
def test_odd_list_input_never_fails(client_for, applied, params):
    page(client_for("county_jianghua"), "/households/", **params)


def test_list_paginates_by_25_and_keeps_filters(client_for, divisions, users):
    for _ in range(27):
        make_applied(village=divisions[LIAN], persons=1)
    client = client_for("team_lian")
    html = page(client, "/households/", status="applied")
    assert html.count('<td class="title">') == 25 and "1 / 2" in html
    assert "?status=applied&amp;page=2" in html
    html = page(client, "/households/", status="applied", page=2)
    assert html.count('<td class="title">') == 2


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_list_runs_a_constant_number_of_queries(client_for, divisions, users):
    client = client_for("county_jianghua")
    for _ in range(2):
        make_applied(village=divisions[LIAN], persons=2)
    few = count_queries(client, "/households/")
    for _ in range(18):
        make_applied(village=divisions[LIAN], persons=4)
    group = divisions[LIAN].villager_groups.get(number=1)
    Household.objects.update(group=group)
    assert Household.objects.count() == 20
    many = count_queries(client, "/households/")
    assert few == many
    assert count_queries(client, "/households/?status=applied&q=户主") == count_queries(
        client, "/households/?status=applied&q=成员"
    )


def test_detail_runs_a_constant_number_of_queries(client_for, divisions, users):
    small = make_applied(village=divisions[LIAN], persons=1, on_date=days_ago(31))
    large = make_applied(village=divisions[LIAN], persons=8, on_date=days_ago(31))
    for household in (small, large):
        in_step(household, users, "open_village_notice")
        objection_raise(actor=users["team_lian"], household=household, objector="村民", content="有车")
    client = client_for("township_daxi")
    assert count_queries(client, f"/households/{small.pk}/") == count_queries(client, f"/households/{large.pk}/")


# Detail -------------------------------------------------------------------------------


def test_detail_shows_fields_members_masked_and_empty_sections(client_for, applied):
    html = page(client_for("team_lian"), f"/households/{applied.pk}/")
    for text in ("户编号", applied.registry_number, "一般贫困户", "因病", "国家标准", "栗安村", "大锡乡", "申请"):
        assert text in html, text
    for member in applied.members.all():
        assert member.name in html
        assert member.id_number not in html
        assert mask_id(member.id_number) in html
    assert re.search(r"\d{4}\*{10}\d{3}[\dX]", html)
    assert "暂无帮扶措施" in html and "暂无年度核查" in html
    assert "尚未结对帮扶责任人" in html and "暂无异议" in html and "暂无成员变动" in html


def test_detail_history_names_action_actor_date_and_reason(client_for, users, applied):
    household = in_step(applied, users, "open_village_notice")
    html = page(client_for("auditor_hunan"), f"/households/{household.pk}/")
    history = html.split('id="history"', 1)[1].split("</section>", 1)[0]
    assert [m for m in re.findall(r"<strong>(.*?)</strong>", history)] == ["申请", "民主评议通过", "村级公示"]
    assert "栗安村工作队" in history and days_ago(30).isoformat() in history and days_ago(31).isoformat() in history


def test_read_only_roles_see_lists_and_details_but_no_forms(client_for, users, applied):
    household = in_step(applied, users, "open_village_notice")
    objection_raise(actor=users["team_lian"], household=household, objector="村民甲", content="家里有车")
    for username in READ_ONLY:
        client = client_for(username)
        listing = page(client, "/households/")
        assert household.registry_number in listing and "登记新户" not in listing
        html = page(client, f"/households/{household.pk}/")
        assert household.registry_number in html
        assert household_forms(html) == [], username
        assert "修改户信息" not in html and "新增成员" not in html and "减员" not in html
        assert "<button" not in html.split("<main", 1)[1]
        for url in (
            "/households/new/",
            f"/households/{household.pk}/edit/",
            f"/households/{household.pk}/members/new/",
        ):
            assert str(PERMISSION_DENIED) in page(client, url, expect=403)


def test_buttons_match_the_role(client_for, users, applied):
    team = page(client_for("team_lian"), f"/households/{applied.pk}/")
    assert "民主评议通过" in team and "民主评议未通过" in team
    assert f'action="/households/{applied.pk}/transition/appraise/"' in team
    township = page(client_for("township_daxi"), f"/households/{applied.pk}/")
    assert "民主评议通过" not in township
    assert "/transition/appraise/" not in township
    assert "自然减少" in township  # the township may record a natural decrease
    household = in_step(applied, users, "close_village_notice")
    team = page(client_for("team_lian"), f"/households/{household.pk}/")
    township = page(client_for("township_daxi"), f"/households/{household.pk}/")
    assert "乡镇审核通过并公示" not in team and "乡镇审核通过并公示" in township
    county = page(client_for("county_jianghua"), f"/households/{household.pk}/")
    assert "乡镇审核通过并公示" not in county and "县级审批并公告" not in county


# Workflow through the pages -------------------------------------------------------------


def test_transition_the_user_may_not_do_is_refused_and_changes_nothing(client_for, applied):
    before = Household.objects.values().get(pk=applied.pk)
    counts = snapshot_counts()
    response = post_transition(client_for("township_daxi"), applied, "appraise", on_date=days_ago(30))
    assert response.status_code == 200
    assert any("须由驻村工作队办理" in m for m in messages_of(response)), messages_of(response)
    # A role that takes no step at all is refused before its form is read.
    assert post_transition(client_for("auditor_hunan"), applied, "appraise").status_code == 403
    response = post_transition(client_for("team_lian"), applied, "county_approve", on_date=days_ago(30))
    assert any("不能执行“县级审批并公告”" in m for m in messages_of(response))
    response = post_transition(client_for("team_lian"), applied, "no_such_action")
    assert any("未知的流程操作" in m for m in messages_of(response))
    response = post_transition(client_for("team_lian"), applied, "objection_reject")
    assert any("未知的流程操作" in m for m in messages_of(response))
    assert Household.objects.values().get(pk=applied.pk) == before
    assert snapshot_counts() == counts


def test_transition_is_post_only(client_for, applied):
    assert client_for("team_lian").get(f"/households/{applied.pk}/transition/appraise/").status_code == 405


def test_full_identification_through_the_pages(client_for, users):
    team = client_for("team_lian")
    members = [
        member_row("盘有福", "head", birth="19650304"),
        member_row("赵秀英", "spouse", birth="19680512", sex="2"),
    ]
    response = team.post("/households/new/", create_payload(members, applied_on=days_ago(31).isoformat()))
    assert response.status_code == 302, response.content.decode()
    household = Household.objects.get(members__name="盘有福")
    assert response["Location"] == f"/households/{household.pk}/"
    clients = {name: client_for(name) for name in set(PATH_ACTORS.values())}
    for action, days in IDENTIFICATION_PATH:
        client = clients[PATH_ACTORS[action]]
        label = {
            "appraise": "民主评议通过",
            "open_village_notice": "村级公示",
            "close_village_notice": "村级公示期满，报乡镇审核",
            "township_approve": "乡镇审核通过并公示",
            "close_township_notice": "乡镇公示期满，报县审批",
            "county_approve": "县级审批并公告",
        }[action]
        assert f"/transition/{action}/" in page(client, f"/households/{household.pk}/"), action
        response = post_transition(client, household, action, on_date=days_ago(days))
        assert f"已办理：{label}。" in messages_of(response), (action, messages_of(response))
    household.refresh_from_db()
    assert (household.status, household.step) == (HouseholdStatus.REGISTERED, IdentificationStep.ANNOUNCED)
    assert household.identified_year == days_ago(14).year
    actors = list(household.status_changes.order_by("id").values_list("action", "actor__username"))
    assert actors == [("apply", "team_lian"), *[(a, PATH_ACTORS[a]) for a, _d in IDENTIFICATION_PATH]]
    html = page(client_for("county_jianghua"), f"/households/{household.pk}/")
    assert "已识别（未脱贫）" in html and "县级公告（已识别）" in html
    assert household.members.filter(current=True).count() == 2


def test_workflow_refusals_are_shown_in_chinese(client_for, users, applied):
    team = client_for("team_lian")
    household = in_step(applied, users, "open_village_notice")
    response = post_transition(team, household, "close_village_notice", on_date=days_ago(25))
    ends = household.notice_ends_on.isoformat()
    assert str(errors.NOTICE_NOT_ENDED % {"ends": ends}) in messages_of(response)
    response = post_transition(team, household, "close_village_notice", on_date=date.today() + timedelta(days=1))
    assert any(str(errors.DATE_IN_FUTURE) in m for m in messages_of(response))
    objection_raise(actor=users["team_lian"], household=household, objector="村民乙", content="家里有车")
    response = post_transition(team, household, "close_village_notice", on_date=days_ago(22))
    assert str(errors.OBJECTION_PENDING % {"count": 1}) in messages_of(response)
    Objection.objects.filter(household=household).update(
        outcome=ObjectionOutcome.DISMISSED, resolved_by=users["county_jianghua"]
    )
    response = post_transition(team, household, "close_village_notice", on_date=days_ago(22))
    assert "已办理：村级公示期满，报乡镇审核。" in messages_of(response)


def test_four_eyes_refusal_is_shown(client_for, users, divisions):
    """Whoever acted earlier in the round cannot review it, whatever their role (四眼原则)."""
    admin = client_for("admin")
    household = make_applied(village=divisions[LIAN], actor=users["admin"], on_date=days_ago(31))
    for action in ("appraise", "open_village_notice", "close_village_notice"):
        post_transition(admin, household, action, on_date=days_ago(dict(IDENTIFICATION_PATH)[action]))
    response = post_transition(admin, household, "township_approve", on_date=days_ago(22))
    assert str(FOUR_EYES_VIOLATION) in messages_of(response)
    assert Household.objects.get(pk=household.pk).step == IdentificationStep.TOWNSHIP_REVIEW


def test_reject_needs_a_reason(client_for, applied):
    team = client_for("team_lian")
    html = page(team, f"/households/{applied.pk}/")
    form = html.split('/transition/appraisal_reject/"', 1)[1].split("</form>", 1)[0]
    assert "<textarea" in form and "required" in form
    response = post_transition(team, applied, "appraisal_reject", on_date=days_ago(30))
    assert str(errors.REASON_REQUIRED % {"action": "民主评议未通过"}) in messages_of(response)
    assert Household.objects.get(pk=applied.pk).status == HouseholdStatus.APPLIED
    response = post_transition(team, applied, "appraisal_reject", on_date=days_ago(30), reason="家庭收入超过标准")
    household = Household.objects.get(pk=applied.pk)
    assert household.status == HouseholdStatus.REJECTED and household.status_reason == "家庭收入超过标准"
    html = response.content.decode()
    assert "家庭收入超过标准" in html and "修改户信息" not in html


def test_natural_decrease_offers_its_reasons(client_for, applied):
    township = client_for("township_daxi")
    html = page(township, f"/households/{applied.pk}/")
    form = html.split('/transition/natural_decrease/"', 1)[1].split("</form>", 1)[0]
    assert "整户死亡" in form and "整户迁出" in form and "合户" in form and "<select" in form
    response = post_transition(township, applied, "natural_decrease", reason="merged")
    assert Household.objects.get(pk=applied.pk).status == HouseholdStatus.NATURAL_DECREASE
    assert "合户" in response.content.decode()
    response = post_transition(township, applied, "natural_decrease", reason="bogus")
    assert any("有效" in m for m in messages_of(response))


def test_exclusion_hits_are_shown_at_county_approval(client_for, users, applied):
    household = in_step(applied, users, "close_township_notice")
    son = household.members.exclude(relationship="head").first()
    data = f"身份证号,类别,说明\n{son.id_number},车辆,\n".encode()
    crosscheck_import(actor=users["county_jianghua"], data=data, filename="cars.csv", source="县公安局交警大队")
    response = post_transition(client_for("county_jianghua"), household, "county_approve", on_date=days_ago(14))
    [message] = messages_of(response)
    assert "不符合识别条件（1 项）" in message and "县公安局交警大队" in message
    assert son.id_number not in response.content.decode()
    assert Household.objects.get(pk=household.pk).status == HouseholdStatus.IN_NOTICE


def test_objection_raised_and_resolved_through_the_pages(client_for, users, applied):
    household = in_step(applied, users, "open_village_notice")
    team, township = client_for("team_lian"), client_for("township_daxi")
    assert "登记公示期异议" in page(team, f"/households/{household.pk}/")
    response = team.post(
        f"/households/{household.pk}/objections/", {"objector": "", "content": "该户有人在县城开店"}, follow=True
    )
    assert "已登记异议" in messages_of(response)[0]
    objection = Objection.objects.get(household=household)
    assert objection.objector == "匿名" and objection.recorded_by == users["team_lian"]
    html = page(township, f"/households/{household.pk}/")
    assert f"/objections/{objection.pk}/resolve/" in html and "该户有人在县城开店" in html
    assert f"/objections/{objection.pk}/resolve/" not in page(team, f"/households/{household.pk}/")
    response = township.post(
        f"/households/{household.pk}/objections/{objection.pk}/resolve/", {"outcome": "dismissed"}, follow=True
    )
    assert any("必填" in m or "理由" in m for m in messages_of(response))
    response = township.post(
        f"/households/{household.pk}/objections/{objection.pk}/resolve/",
        {"outcome": "upheld_return", "resolution": "经核实店铺已关闭多年，但需重新评议"},
        follow=True,
    )
    assert "异议已处理：异议成立，退回重新评议。" in messages_of(response)
    household.refresh_from_db()
    assert household.status == HouseholdStatus.APPLIED
    assert "异议成立，退回重新评议" in response.content.decode()


def test_objection_outside_a_notice_is_refused(client_for, applied):
    response = client_for("team_lian").post(f"/households/{applied.pk}/objections/", {"content": "不该评"}, follow=True)
    assert str(errors.OBJECTION_ONLY_IN_NOTICE) in messages_of(response)
    assert not Objection.objects.exists()


def test_helper_pairing_offers_scoped_helpers(client_for, users, divisions, applied, shetian):
    here = helper_create(
        actor=users["county_jianghua"],
        division=divisions[LIAN],
        name="黄志明",
        unit="县农业农村局",
        phone="13800001234",
    )
    there = helper_create(
        actor=users["county_shaoyang"],
        division=divisions[SHETIAN],
        name="曾国华",
        unit="县委宣传部",
        phone="13900005678",
    )
    team = client_for("team_lian")
    html = page(team, f"/households/{applied.pk}/")
    assert "黄志明" in html and "曾国华" not in html
    response = team.post(f"/households/{applied.pk}/helper/", {"helper": there.pk}, follow=True)
    assert Household.objects.get(pk=applied.pk).helper is None and messages_of(response)
    response = team.post(f"/households/{applied.pk}/helper/", {"helper": here.pk}, follow=True)
    assert Household.objects.get(pk=applied.pk).helper == here
    html = response.content.decode()
    assert "已结对帮扶责任人 黄志明。" in messages_of(response)
    assert "138****1234" in html and "13800001234" not in html


# Registration form -------------------------------------------------------------------------


def test_create_page_for_a_work_team_starts_with_its_village_and_a_head_row(client_for):
    html = page(client_for("team_lian"), "/households/new/")
    assert "栗安村" in html and f'value="{LIAN}"' in html
    assert 'name="members-0-name"' in html and 'name="members-1-name"' in html
    head_select = html.split('name="members-0-relationship"', 1)[1].split("</select>", 1)[0]
    assert '<option value="head" selected>户主</option>' in head_select
    assert 'name="add_member"' in html and "添加成员" in html
    assert "1组" in html  # villager groups of the village


def test_county_first_chooses_a_village_in_scope(client_for, divisions):
    make_village(parent=divisions["431129203000"], number=2, name="第二村")
    client = client_for("county_jianghua")
    html = page(client, "/households/new/")
    assert "先选择村" in html and f'value="{LIAN}"' in html and SHETIAN not in html
    assert 'name="members-0-name"' in page(client, "/households/new/", village=LIAN)
    html = page(client, "/households/new/", village=SHETIAN)
    assert "不在您的管辖范围内" in html and 'name="members-0-name"' not in html


def test_create_with_two_members_through_the_form(client_for, users):
    members = [
        member_row("李春花", "head", birth="19700215", sex="2", chronic_disease="on"),
        member_row("李小军", "son", birth="20050910", student_status="senior", education="junior"),
    ]
    payload = create_payload(members, phone="13712345678", other_causes=["lack_skills", "lack_capital"])
    response = client_for("team_lian").post("/households/new/", payload, follow=True)
    household = Household.objects.get(members__name="李春花")
    assert response.redirect_chain[-1][0] == f"/households/{household.pk}/"
    assert f"已登记申请，户编号 {household.registry_number}。" in messages_of(response)
    assert household.status == HouseholdStatus.APPLIED and household.village_id == LIAN
    assert household.registry_number.startswith(LIAN)
    assert household.other_causes == ["lack_skills", "lack_capital"]
    head = household.members.get(relationship="head")
    assert head.name == "李春花" and head.sex == "2" and head.birth_date == date(1970, 2, 15) and head.chronic_disease
    son = household.members.get(relationship="son")
    assert son.student_status == "senior" and son.sex == "1"
    assert AuditEntry.objects.filter(action="household.apply", object_id=str(household.pk), actor=users["team_lian"])
    assert household.status_changes.get().actor == users["team_lian"]
    html = response.content.decode()
    assert "缺技术、缺资金" in html and "137****5678" in html


def test_add_member_button_adds_a_row_without_javascript(client_for):
    members = [member_row("李春花", "head"), member_row("李小军", "son")]
    payload = create_payload(members, add_member="1")
    counts = snapshot_counts()
    response = client_for("team_lian").post("/households/new/", payload)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="members-TOTAL_FORMS" value="3"' in html
    assert 'name="members-2-name"' in html and 'value="李小军"' in html
    assert 'class="field-error"' not in html
    assert snapshot_counts() == counts


def test_an_added_row_starts_as_an_empty_row_does(client_for):
    members = [member_row("李春花", "head"), member_row("李小军", "son")]
    client = client_for("team_lian")
    html = client.post("/households/new/", create_payload(members, add_member="1")).content.decode()
    assert 'value="0"' in field_html(html, "members-2-migrant_months")
    assert "checked" in field_html(html, "members-2-basic_medical_insurance")
    assert "checked" in field_html(html, "members-1-basic_medical_insurance")  # what was posted stays
    # Posted untouched, as the browser sends it, the added row registers nobody.
    untouched = {"name": "", "id_number": "", "relationship": "", "ethnicity": "01", "student_status": "not_student"}
    untouched |= {"migrant_work": "none", "migrant_months": "0", "basic_medical_insurance": "on"}
    response = client.post("/households/new/", create_payload([*members, untouched]), follow=True)
    assert Household.objects.get(members__name="李春花").members.count() == 2, response.content.decode()[:2000]


def test_bad_id_number_shows_the_chinese_message_beside_the_field_and_writes_nothing(client_for):
    good = member_row("李春花", "head")
    bad = member_row("李小军", "son")
    bad["id_number"] = bad["id_number"][:17] + ("0" if bad["id_number"][17] != "0" else "1")
    counts = snapshot_counts()
    response = client_for("team_lian").post("/households/new/", create_payload([good, bad]))
    assert response.status_code == 200
    assert snapshot_counts() == counts
    html = response.content.decode()
    field = field_html(html, "members-1-id_number")
    assert f'<p class="field-error" role="alert">{ID_BAD_CHECK_DIGIT}</p>' in field
    assert html.count('class="field-error"') == 1
    assert 'value="李小军"' in html  # what was typed stays


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        ({"members-1-relationship": "head"}, "members", errors.HEAD_EXACTLY_ONE),
        ({"members-1-sex": "2"}, "members-1-sex", None),
        ({"other_causes": ["illness"]}, "other_causes", errors.OTHER_CAUSES_INVALID),
        ({"members-1-name": ""}, "members-1-name", None),
    ],
)
def test_service_refusals_land_beside_their_field(client_for, change, where, message):
    payload = create_payload([member_row("李春花", "head"), member_row("李小军", "son")])
    payload.update(change)
    counts = snapshot_counts()
    response = client_for("team_lian").post("/households/new/", payload)
    assert response.status_code == 200 and snapshot_counts() == counts
    html = response.content.decode()
    if where == "members":
        assert str(message) in html.split('name="members-TOTAL_FORMS"', 1)[1].split('name="members-0-name"', 1)[0]
    else:
        field = field_html(html, where)
        assert 'class="field-error"' in field
        if message is not None:
            assert str(message) in field


def test_a_person_already_registered_elsewhere_is_refused(client_for, applied):
    head = applied.members.get(relationship="head")
    row = member_row("重复的人", "head", id_number=head.id_number)
    counts = snapshot_counts()
    html = client_for("team_lian").post("/households/new/", create_payload([row])).content.decode()
    assert f"已在贫困户 {applied.registry_number} 中登记" in html
    assert snapshot_counts() == counts


def test_read_only_and_other_roles_cannot_post_a_registration(client_for):
    counts = snapshot_counts()
    payload = create_payload([member_row("李春花", "head")])
    for username in READ_ONLY:
        assert client_for(username).post("/households/new/", payload).status_code == 403
    html = client_for("county_shaoyang").post("/households/new/", payload).content.decode()
    assert "不在您的管辖范围内" in html
    assert snapshot_counts() == counts


# Edit forms --------------------------------------------------------------------------------


def test_edit_saves_through_the_service(client_for, users, applied):
    client = client_for("team_lian")
    html = page(client, f"/households/{applied.pk}/edit/")
    assert f'name="version" value="{applied.version}"' in html
    response = client.post(
        f"/households/{applied.pk}/edit/",
        edit_payload(applied, attribute="dibao", housing_grade="C", phone="13511112222"),
        follow=True,
    )
    household = Household.objects.get(pk=applied.pk)
    assert (household.attribute, household.housing_grade, household.phone) == ("dibao", "C", "13511112222")
    assert household.version == applied.version + 1
    assert "已保存。" in messages_of(response)
    assert AuditEntry.objects.filter(action="household.update", object_id=str(applied.pk)).exists()


def test_stale_edit_shows_the_conflict_and_changes_nothing(client_for, users, applied):
    client = client_for("team_lian")
    opened = applied.version
    household_update(actor=users["county_jianghua"], household=applied, changes={"main_cause": "disaster"})
    before = Household.objects.values().get(pk=applied.pk)
    audits = AuditEntry.objects.count()
    response = client.post(f"/households/{applied.pk}/edit/", edit_payload(applied, attribute="tekun", version=opened))
    assert response.status_code == 200
    html = response.content.decode()
    message = str(errors.VERSION_CONFLICT % {"current": opened + 1, "expected": opened})
    assert message in html and "重新打开" in html
    assert Household.objects.values().get(pk=applied.pk) == before
    assert AuditEntry.objects.count() == audits


def test_member_edit_keeps_the_id_number_masked(client_for, users, applied):
    client = client_for("team_lian")
    son = applied.members.exclude(relationship="head").first()
    url = f"/households/{applied.pk}/members/{son.pk}/edit/"
    html = page(client, url)
    assert son.id_number not in html and mask_id(son.id_number) in html
    data = {
        "name": "盘小军",
        "id_number": "",
        "sex": son.sex,
        "birth_date": son.birth_date.isoformat(),
        "ethnicity": "13",
        "education": "junior",
        "student_status": "senior",
        "labour_ability": "weak",
        "migrant_work": "in_county",
        "migrant_months": "3",
        "basic_medical_insurance": "on",
        "serious_illness_insurance": "on",
        "version": son.version,
    }
    response = client.post(url, data, follow=True)
    son.refresh_from_db()
    assert (son.name, son.migrant_months, son.serious_illness_insurance) == ("盘小军", 3, True)
    assert "已保存 盘小军 的信息。" in messages_of(response)
    # A bad new number is refused beside the field; nothing changes.
    before = Member.objects.values().get(pk=son.pk)
    response = client.post(url, {**data, "id_number": "43112920000101001", "version": son.version})
    assert "公民身份号码应为 18 位" in response.content.decode()
    assert Member.objects.values().get(pk=son.pk) == before
    # And a stale one.
    response = client.post(url, {**data, "name": "又改", "version": son.version - 1})
    assert "该记录已被他人修改" in response.content.decode()
    assert Member.objects.get(pk=son.pk).name == "盘小军"


def test_member_add_by_birth(client_for, applied):
    client = client_for("team_lian")
    html = page(client, f"/households/{applied.pk}/members/new/")
    assert '<option value="head"' not in html and "出生" in html and "婚入" in html and "迁入" in html
    row = member_row("盘小宝", "grandchild", birth="20240101", education="", student_status="preschool")
    row.pop("labour_ability")
    response = client.post(
        f"/households/{applied.pk}/members/new/",
        {**row, "kind": "birth", "event_date": "2024-01-01", "note": "新生儿"},
        follow=True,
    )
    assert "已登记新增成员 盘小宝。" in messages_of(response), response.content.decode()
    event = MemberEvent.objects.get(household=applied)
    assert event.kind == "birth" and event.member.name == "盘小宝"
    assert "新生儿" in response.content.decode()


def test_member_leave_of_the_head_needs_a_new_head(client_for, applied):
    client = client_for("team_lian")
    head = applied.members.get(relationship="head")
    son = applied.members.exclude(relationship="head").first()
    url = f"/households/{applied.pk}/members/{head.pk}/leave/"
    html = page(client, url)
    assert "新户主" in html and son.name in html and "死亡" in html and "出生" not in html
    counts = snapshot_counts()
    response = client.post(url, {"kind": "death", "event_date": days_ago(3).isoformat()})
    assert response.status_code == 200 and 'class="field-error"' in response.content.decode()
    assert snapshot_counts() == counts
    response = client.post(
        url, {"kind": "death", "event_date": days_ago(3).isoformat(), "new_head": son.pk}, follow=True
    )
    head.refresh_from_db()
    son.refresh_from_db()
    assert head.status == MemberStatus.DECEASED and son.relationship == "head"
    assert f"已登记 {head.name} 减员。" in messages_of(response)


# Pages in general ----------------------------------------------------------------------------


def every_household_page(client_for, users, applied) -> list[str]:
    household = in_step(applied, users, "open_village_notice")
    objection_raise(actor=users["team_lian"], household=household, objector="村民", content="有车")
    team, township, auditor = client_for("team_lian"), client_for("township_daxi"), client_for("auditor_hunan")
    member = household.members.first()
    pk = household.pk
    return [
        page(team, "/households/"),
        page(team, "/households/", q="户主", status="in_notice"),
        page(team, f"/households/{pk}/"),
        page(township, f"/households/{pk}/"),
        page(auditor, f"/households/{pk}/"),
        page(team, "/households/new/"),
        page(client_for("county_jianghua"), "/households/new/"),
        page(team, f"/households/{pk}/edit/"),
        page(team, f"/households/{pk}/members/new/"),
        page(team, f"/households/{pk}/members/{member.pk}/edit/"),
        page(team, f"/households/{pk}/members/{member.pk}/leave/"),
        page(auditor, "/households/new/", expect=403),
        page(team, "/households/999999999/", expect=404),
    ]


def test_no_household_page_loads_anything_from_another_host(client_for, users, applied):
    for html in every_household_page(client_for, users, applied):
        for url in tags(html).urls:
            assert not re.match(r"^\s*(https?:)?//", url, re.IGNORECASE), url
        assert not re.search(r"""(src|href|action)\s*=\s*["']?\s*(https?:)?//""", html, re.IGNORECASE)
        assert "<script" not in html


def test_every_household_page_has_the_mobile_viewport_and_the_nav_link(client_for, users, applied):
    for html in every_household_page(client_for, users, applied):
        viewports = [m for m in tags(html).metas if m.get("name") == "viewport"]
        assert len(viewports) == 1
        content = viewports[0]["content"].replace(" ", "")
        assert "width=device-width" in content and "initial-scale=1" in content
        assert 'href="/households/"' in html


def test_no_household_page_shows_a_full_id_number(client_for, users, applied):
    numbers = list(Member.objects.values_list("id_number", flat=True))
    for html in every_household_page(client_for, users, applied):
        for number in numbers:
            assert number not in html

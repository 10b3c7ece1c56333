"""A work team registers a household with two members through the pages, and the township
and the county take it to 已识别 — in a real browser, on a phone-sized screen."""

from datetime import date, timedelta

from households.models import Household
from tests.browser.conftest import shoot
from tests.factories import IDENTIFICATION_PATH, make_id_number

LABELS = {
    "appraise": ("team_lian", "民主评议通过"),
    "open_village_notice": ("team_lian", "村级公示"),
    "close_village_notice": ("team_lian", "村级公示期满，报乡镇审核"),
    "township_approve": ("township_daxi", "乡镇审核通过并公示"),
    "close_township_notice": ("township_daxi", "乡镇公示期满，报县审批"),
    "county_approve": ("county_jianghua", "县级审批并公告"),
}


def fill_member(page, index: int, name: str, id_number: str, relationship: str) -> None:
    page.fill(f'[name="members-{index}-name"]', name)
    page.fill(f'[name="members-{index}-id_number"]', id_number)
    page.select_option(f'[name="members-{index}-relationship"]', relationship)


def test_register_and_identify_through_the_pages(open_as):
    team = open_as("team_lian")
    team.goto("/households/new/")
    team.select_option('[name="attribute"]', "dibao")
    team.select_option('[name="main_cause"]', "illness")
    applied_on = date.today() - timedelta(days=31)
    if team.locator('[name="applied_on"]').count():
        team.fill('[name="applied_on"]', applied_on.isoformat())
    fill_member(team, 0, "盘有福", make_id_number(birth="19650304"), "head")
    if not team.locator('[name="members-1-name"]').count():
        team.get_by_role("button", name="添加成员").click()
    fill_member(team, 1, "赵秀英", make_id_number(birth="19680512", sex="2"), "spouse")
    shoot(team, "household-create")
    team.get_by_role("button", name="提交申请").click()
    team.wait_for_url("**/households/*/")
    household = Household.objects.get(members__name="盘有福")
    assert household.status == "applied" and household.members.count() == 2
    shoot(team, "household-detail-applied")

    pages = {"team_lian": team}
    for action, days in IDENTIFICATION_PATH:
        username, label = LABELS[action]
        if username not in pages:
            pages[username] = open_as(username)
        page = pages[username]
        page.goto(f"/households/{household.pk}/")
        form = page.locator(f'form[action$="/transition/{action}/"]')
        form.locator("summary").click()
        form.locator('[name="on_date"]').fill((date.today() - timedelta(days=days)).isoformat())
        form.get_by_role("button", name=label).click()
        page.wait_for_load_state()
        assert f"已办理：{label}。" in page.content(), (action, page.content()[:3000])

    household.refresh_from_db()
    assert (household.status, household.step) == ("registered", "announced")
    county = pages["county_jianghua"]
    county.goto(f"/households/{household.pk}/")
    assert "已识别（未脱贫）" in county.content()
    shoot(county, "household-detail-registered")

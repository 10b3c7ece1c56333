"""The main journey of each role, in a real browser on a phone, each ending in a state
checked in the database (not only on the screen).

- Work team (栗安村): registers a household with its members, takes the village's steps of
  the identification, records the 2020 annual reassessment and proposes the exit, taking
  the village's steps of the exit up to the end of the notice.
- Township (大锡乡): approves an exit case; approves a registration and closes its notice.
- County (江华瑶族自治县): certifies an exit from the review queue, downloads the certificate,
  and the public checks it; approves a registration.
- Province (湖南省): reads its dashboard, follows a county down, and downloads the
  province's incidence table, whose figures are the dashboard's.

Each test is independent: the live server's database is emptied after every test, so each
one loads the demo data (the ``open_as`` fixture) and builds what the role finds waiting for
it through the real services, the steps of the other roles dated back so the notice
periods have ended. The demo registry is not empty, so a test finds its own household by
its registry number, never as "the first row". In the pages a test does only what a user
can: follow links, fill fields by their labels, press buttons by their names; the only
addresses typed are the ones a user starts from (the login page, the public check).

Every main page passed through is shot at 360 px and 1280 px as ``<role>-<page>``, so
``test-artifacts/screenshots/`` reads as a storyboard of each role's journey.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.browser.conftest import storyboard
from tests.conftest import JOB_DATABASES
from tests.factories import exit_through, make_id_number, member_data

LIAN = "431129203201"  # 栗安村, 大锡乡, 江华瑶族自治县
YEAR = 2020  # the exit year; its national poverty line is 4,000 yuan
TEAM, TOWNSHIP, COUNTY = "team_lian", "township_daxi", "county_jianghua"
#: Who takes each step of the identification (两公示一公告), and how many days ago it is
#: dated: each notice runs its 7 days and the household is identified before its exit.
IDENTIFICATION = [
    ("appraise", TEAM, 60, "民主评议通过"),
    ("open_village_notice", TEAM, 60, "村级公示"),
    ("close_village_notice", TEAM, 52, "村级公示期满，报乡镇审核"),
    ("township_approve", TOWNSHIP, 52, "乡镇审核通过并公示"),
    ("close_township_notice", TOWNSHIP, 44, "乡镇公示期满，报县审批"),
    ("county_approve", COUNTY, 44, "县级审批并公告"),
]
APPLIED_DAYS_AGO = 61
EXIT_STARTED_DAYS_AGO = 20  # proposal to the village notice; the notice ended 13 days ago


def ago(days: int) -> date:
    return date.today() - timedelta(days=days)


@pytest.fixture
def open_as(open_as):
    """Return conftest's ``open_as``, also checking that no page of the journey logs an error
    (a script error, a refusal by the Content-Security-Policy, a failed request)."""
    problems: list[str] = []

    def open_page(username: str, width: str = "phone"):
        page = open_as(username, width)
        watch(page, problems)
        return page

    yield open_page
    assert not problems


def watch(page, problems: list[str]) -> None:
    """Collect what ``page`` logs as an error, except the favicon the registry does not have."""

    def console(message):
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            problems.append(f"{page.url}: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))


# Setup through the services: what a role finds waiting for it ----------------------------


def users() -> dict:
    from registry.models import User

    return {u.username: u for u in User.objects.filter(username__in=(TEAM, TOWNSHIP, COUNTY))}


def person(name: str, relationship: str, birth: str, sex: str = "1") -> dict:
    """Return a member's data with an ID number nobody in the (demo) registry holds."""
    from households.models import Member

    data = member_data(name=name, relationship=relationship, birth=birth, sex=sex)
    while Member.objects.filter(id_number=data["id_number"]).exists():
        data["id_number"] = make_id_number(birth=birth, sex=sex)
    return data


def applied(head: str):
    """Return a 栗安村 household of three adults, applied through the service by the team."""
    from households.services import household_apply
    from villages.models import Division

    members = [
        person(head, "head", "19650304"),
        person(head[0] + "秀英", "spouse", "19680512", sex="2"),
        person(head[0] + "文军", "son", "19920817"),
    ]
    return household_apply(
        actor=users()[TEAM],
        village=Division.objects.get(pk=LIAN),
        household={"attribute": "general", "main_cause": "illness", "housing_grade": "B"},
        members=members,
        on_date=ago(APPLIED_DAYS_AGO),
    )


def identified(household, *, until: str, after: str | None = None):
    """Take ``household`` along the identification, after step ``after`` up to ``until``."""
    from households.workflow import household_transition

    actors = users()
    started = after is None
    for action, username, days, _label in IDENTIFICATION:
        if started:
            household = household_transition(
                actor=actors[username], household=household, action=action, on_date=ago(days)
            )
        if action == until:
            return household
        started = started or action == after
    raise ValueError(until)


def exit_case(head: str, *, until: str):
    """Return the 2020 exit case of a registered household (18,000 yuan wages, three persons),
    proposed by the team and taken along the procedure up to ``until``."""
    from assessments.exit_cases import exit_case_propose
    from assessments.services import assessment_record

    actors = users()
    household = identified(applied(head), until="county_approve")
    figures = {"wage_income": 18000, "assessed_on": date(YEAR, 11, 1)}
    assessment_record(actor=actors[TEAM], household=household, year=YEAR, data=figures)
    case = exit_case_propose(actor=actors[TEAM], household=household, year=YEAR, on_date=ago(EXIT_STARTED_DAYS_AGO))
    return exit_through(case, actors, until=until, start=ago(EXIT_STARTED_DAYS_AGO))


# What a user does in the pages ----------------------------------------------------------


def home_of(page, name: str):
    """Return the heading naming the user's jurisdiction on the landing page (a card of the
    jurisdictions, or the jurisdiction's own dashboard once the dashboards are the home)."""
    return page.get_by_role("heading", name=name, exact=True).first


def go(page, link: str) -> None:
    """Follow a link of the main navigation."""
    page.get_by_role("navigation", name="主导航").get_by_role("link", name=link, exact=True).click()


def listed(page, target):
    """Return ``target``, paging through the list (50 rows a page) until it shows."""
    while not target.count():
        page.get_by_role("navigation", name="分页").get_by_role("link", name="下一页").click()
        page.wait_for_load_state()
    return target


def find_household(page, number: str) -> None:
    """From the household list, search for a registry number and open the household."""
    page.get_by_role("searchbox", name="搜索（姓名、身份证号或户编号）").fill(number)
    page.get_by_role("button", name="搜索", exact=True).click()
    page.get_by_role("link", name=re.compile(number)).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(number)


def take(page, label: str, *, on_date: date | None = None, field: str | None = None, value: str = "") -> None:
    """Take a step of a household's or an exit case's procedure: the form of the button
    named ``label``, its date (folded away unless asked for) and a reason or signatory."""
    button = page.get_by_role("button", name=label, exact=True)
    form = page.locator("form").filter(has=button)
    if field is not None:
        form.get_by_label(field).fill(value)
    if on_date is not None:
        day = form.get_by_label("生效日期")
        if not day.is_visible():
            form.locator("summary").click()  # unfolds 说明、生效日期
        day.fill(on_date.isoformat())
    button.click()
    expect(page.get_by_text(f"已办理：{label}")).to_be_visible()


# Work team -------------------------------------------------------------------------------


def test_team_registers_reassesses_and_proposes_the_exit(open_as):
    from assessments.models import ExitCase
    from households.models import Household

    team = open_as(TEAM)
    expect(home_of(team, "栗安村")).to_be_visible()
    storyboard(team, "team-home")

    # The application, with three members: 添加成员 adds a row to fill.
    go(team, "贫困户")
    storyboard(team, "team-household-list")
    team.get_by_role("link", name="登记新户").click()
    team.get_by_label("贫困户属性").select_option(label="低保贫困户")
    team.get_by_label("主要致贫原因").select_option(label="因病")
    team.get_by_label("申请日期").fill(ago(APPLIED_DAYS_AGO).isoformat())
    team.get_by_text("住房与生产生活条件").click()
    team.get_by_label("住房安全等级").select_option(label="B级")
    people = [
        person("盘有福", "head", "19650304"),
        person("赵秀英", "spouse", "19680512", sex="2"),
        person("盘文军", "son", "19920817"),
    ]
    relationships = {"head": "户主", "spouse": "配偶", "son": "子"}
    for n, data in enumerate(people, start=1):
        row = team.get_by_role("group", name=f"成员 {n}", exact=True)
        if not row.count():
            team.get_by_role("button", name="添加成员").click()
        row.get_by_label("姓名").fill(data["name"])
        row.get_by_label("公民身份号码").fill(data["id_number"])
        row.get_by_label("与户主关系").select_option(label=relationships[data["relationship"]])
    storyboard(team, "team-registration-form")
    team.get_by_role("button", name="提交申请").click()
    message = team.get_by_text(re.compile(r"已登记申请，户编号 \d{16}"))
    expect(message).to_be_visible()
    number = re.search(r"\d{16}", message.text_content()).group()
    household = Household.objects.get(registry_number=number)
    assert (household.village_id, household.status, household.attribute) == (LIAN, "applied", "dibao")
    applied_change = household.status_changes.get()
    assert (applied_change.action, applied_change.actor.username) == ("apply", TEAM)
    assert applied_change.effective_date == ago(APPLIED_DAYS_AGO)
    assert sorted(household.members.values_list("name", "relationship")) == sorted(
        (p["name"], p["relationship"]) for p in people
    )
    # 添加成员 rows start as the first rows do: nobody is recorded as uninsured by the form.
    assert not household.members.filter(basic_medical_insurance=False).exists()
    expect(team.get_by_role("heading", level=1)).to_contain_text("盘有福")
    storyboard(team, "team-household-applied")

    # The village's steps of the identification; the township and county take theirs.
    for _action, _username, days, label in IDENTIFICATION[:3]:
        take(team, label, on_date=ago(days))
    household = identified(household, after="close_village_notice", until="county_approve")
    assert (household.status, household.step) == ("registered", "announced")

    # The 2020 reassessment, from the household's page.
    go(team, "贫困户")
    find_household(team, number)
    expect(team.get_by_text("已识别（未脱贫）").first).to_be_visible()
    storyboard(team, "team-household-detail")
    team.get_by_role("link", name=re.compile("年度核查、退出申请和帮扶记录")).click()
    team.get_by_label("核查年度").fill(str(YEAR))
    team.get_by_role("button", name="打开该年度核查表").click()
    expect(team.get_by_role("heading", name=f"{YEAR} 年度核查")).to_be_visible()
    expect(team.get_by_role("complementary")).to_contain_text("B级")  # from the registration
    team.get_by_label("核查日期").fill(f"{YEAR}-11-01")
    wage = team.get_by_label("工资性收入")
    assert wage.get_attribute("inputmode") == "decimal"
    wage.fill("18000")
    team.get_by_label("养老金").fill("1800")
    team.get_by_label("人均日供水量（升）").fill("60")
    team.get_by_label("取水往返时间（分钟）").fill("10")
    storyboard(team, "team-assessment-form")
    team.get_by_role("button", name="保存核查").click()
    expect(team.get_by_text(f"已保存 {YEAR} 年度核查")).to_be_visible()
    result = team.get_by_role("region", name="核查结果")
    expect(result).to_contain_text("6600.00")  # (18000 + 1800) ÷ 3
    expect(result).to_contain_text("符合退出标准")
    expect(result.get_by_text("达到", exact=True)).to_have_count(7)
    storyboard(team, "team-assessment-result")

    # The proposal and the village's steps of the exit, dated back so the notice has ended.
    started = ago(EXIT_STARTED_DAYS_AGO)
    team.get_by_label("提名日期").fill(started.isoformat())
    team.get_by_role("button", name=f"提名 {YEAR} 年脱贫退出").click()
    expect(team.get_by_text("已提名")).to_be_visible()
    storyboard(team, "team-exit-case-proposed")
    take(team, "民主评议通过", on_date=started)
    take(team, "村委会和工作队核实", on_date=started)
    take(team, "贫困户签字认可", on_date=started, field="签字认可的户主或家庭成员姓名", value="盘有福")
    take(team, "村内公示", on_date=started)
    expect(team.get_by_text("公示至")).to_be_visible()
    take(team, "公示期满无异议，报乡镇审核")  # today: the notice ended 13 days ago
    expect(team.get_by_role("heading", name="办理", exact=True)).to_have_count(0)  # the team's part is done
    storyboard(team, "team-exit-case")

    case = ExitCase.objects.get(household=household, year=YEAR)
    assert (case.status, case.eligible, case.acknowledged_by) == ("notice_ended", True, "盘有福")
    assert str(case.assessment.per_capita_net_income) == "6600.00" and case.assessment.household_size == 3
    steps = list(case.steps.order_by("id").values_list("action", "actor__username", "effective_date"))
    assert [s[0] for s in steps] == ["propose", "appraise", "verify", "acknowledge", "open_notice", "close_notice"]
    assert {s[1] for s in steps} == {TEAM}
    assert [s[2] for s in steps] == [started] * 5 + [date.today()]
    household.refresh_from_db()
    assert household.status == "registered"  # until the county certifies


# Township --------------------------------------------------------------------------------


def test_township_approves_an_exit(open_as):
    case = exit_case("奉金保", until="close_notice")
    number = case.household.registry_number

    township = open_as(TOWNSHIP)
    expect(home_of(township, "大锡乡")).to_be_visible()
    storyboard(township, "township-home")
    go(township, "脱贫退出")
    township.get_by_label("状态").select_option(label="公示无异议，报乡镇审核")
    township.get_by_role("button", name="筛选").click()
    storyboard(township, "township-exit-queue")
    listed(township, township.get_by_role("link", name=re.compile(number))).click()
    expect(township.get_by_role("heading", level=1)).to_contain_text(number)
    storyboard(township, "township-exit-case")
    take(township, "乡镇审核通过")
    expect(township.get_by_text("乡镇审核通过", exact=True).first).to_be_visible()
    storyboard(township, "township-exit-case-approved")

    case.refresh_from_db()
    assert case.status == "township_reviewed"
    last = case.steps.order_by("-id").first()
    assert (last.action, last.actor.username, last.effective_date) == ("township_approve", TOWNSHIP, date.today())


def test_township_approves_a_registration(open_as):
    """Part two: a registration at the township's step (乡镇审核, then its notice)."""
    household = identified(applied("邓小妹"), until="close_village_notice")
    number = household.registry_number

    township = open_as(TOWNSHIP)
    go(township, "贫困户")
    storyboard(township, "township-household-list")
    find_household(township, number)
    storyboard(township, "township-household-detail")
    for _action, _username, days, label in IDENTIFICATION[3:5]:
        take(township, label, on_date=ago(days))
    storyboard(township, "township-household-approved")

    household.refresh_from_db()
    assert (household.status, household.step) == ("in_notice", "county_approval")
    changes = household.status_changes.order_by("-id")[:2]
    assert [(c.action, c.actor.username) for c in reversed(changes)] == [
        ("township_approve", TOWNSHIP),
        ("close_township_notice", TOWNSHIP),
    ]


# County ----------------------------------------------------------------------------------


def test_county_certifies_an_exit_and_the_public_checks_the_certificate(open_as, browser, live_server):
    from households.models import Household

    case = exit_case("赵玉成", until="township_approve")
    number = case.household.registry_number

    county = open_as(COUNTY)
    expect(home_of(county, "江华瑶族自治县")).to_be_visible()
    storyboard(county, "county-home")
    go(county, "审定队列")
    expect(county.get_by_role("heading", name="县级审定队列")).to_be_visible()
    mine = listed(county, county.get_by_role("checkbox", name=f"选择 {number}"))  # oldest review first
    storyboard(county, "county-review-queue")
    mine.check()
    county.get_by_role("button", name="批量审定").click()
    expect(county.get_by_role("heading", name="批量审定结果")).to_be_visible()
    expect(county.get_by_role("main")).to_contain_text("审定通过 1 户，未通过 0 户")
    storyboard(county, "county-review-result")

    case.refresh_from_db()
    assert (case.status, case.certified_on, case.revoked) == ("certified", date.today(), False)
    assert re.fullmatch(r"[0-9A-Z]{6,}", case.certificate_code)
    assert Household.objects.get(pk=case.household_id).status == "exited"
    last = case.steps.order_by("-id").first()
    assert (last.action, last.actor.username) == ("county_certify", COUNTY)

    # The certificate: a PDF naming the household, the village, the year and the code.
    county.get_by_role("link", name=re.compile(number)).click()
    expect(county.get_by_text("县级审定，已脱贫", exact=True)).to_be_visible()
    storyboard(county, "county-exit-case")
    with county.expect_download() as download_info:
        county.get_by_role("link", name="下载脱贫证明").click()
    download = download_info.value
    assert download.suggested_filename == f"脱贫证明-{number}-{YEAR}.pdf"
    pdf = Path(download.path())
    assert pdf.read_bytes().startswith(b"%PDF-")
    text = PdfReader(pdf).pages[0].extract_text()
    for fact in (number, case.certificate_code, "栗安村", f"{YEAR} 年"):
        assert fact in text, fact
    assert re.search(rf"退出年度：\s*{YEAR}", text)
    printed = re.search(r"核验地址：\s*(\S+)", text).group(1)
    assert printed.endswith(f"/verify/{case.certificate_code}/")

    # The county follows the code on the case page to the public check.
    county.get_by_role("link", name=case.certificate_code).click()
    expect(county.get_by_role("status")).to_have_text("有效")
    storyboard(county, "county-certificate-check")

    # Anyone, not logged in, checks the certificate: by the address printed on it, and by
    # typing the code (in lower case) on the check page; the masked name only is shown.
    public = browser.new_context(viewport={"width": 360, "height": 780}, locale="zh-CN", base_url=live_server.url)
    page = public.new_page()
    problems: list[str] = []
    watch(page, problems)
    page.goto(f"/verify/{case.certificate_code}/")
    expect(page.get_by_role("status")).to_have_text("有效")
    expect(page.get_by_role("main")).to_contain_text("栗安村")
    storyboard(page, "public-certificate-check")
    page.get_by_role("link", name="核验其他证明").click()
    storyboard(page, "public-certificate-form")
    page.get_by_label("校验码").fill(case.certificate_code.lower())
    page.get_by_role("button", name="核验").click()
    expect(page.get_by_role("status")).to_have_text("有效")
    main = page.get_by_role("main")
    expect(main).to_contain_text(case.certificate_code)
    expect(main).to_contain_text(f"{YEAR} 年")
    expect(main).not_to_contain_text("赵玉成")  # the head's name shows masked
    expect(main).not_to_contain_text(case.acknowledged_by)  # nor who signed
    expect(main).not_to_contain_text(number)
    public.close()
    assert not problems


def test_county_approves_a_registration(open_as):
    """Part two: the county's approval closes the identification (县级审批并公告)."""
    household = identified(applied("黄满英"), until="close_township_notice")
    number = household.registry_number

    county = open_as(COUNTY)
    go(county, "贫困户")
    storyboard(county, "county-household-list")
    find_household(county, number)
    storyboard(county, "county-household-detail")
    action, _username, days, label = IDENTIFICATION[-1]
    take(county, label, on_date=ago(days))
    expect(county.get_by_text("已识别（未脱贫）").first).to_be_visible()
    storyboard(county, "county-household-registered")

    household.refresh_from_db()
    assert (household.status, household.step, household.identified_year) == (
        "registered",
        "announced",
        ago(days).year,
    )
    last = household.status_changes.order_by("-id").first()
    assert (last.action, last.actor.username, last.effective_date) == (action, COUNTY, ago(days))


# Province --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, databases=JOB_DATABASES)  # the report job writes its progress
def test_province_reads_its_dashboard_and_downloads_a_report(open_as, live_server):
    """The province lands on its dashboard, follows a county down, and downloads the province's
    incidence table (a background job); the file's figures are the dashboard's."""
    import io

    from openpyxl import load_workbook

    from dashboards import selectors
    from registry.models import Job, User
    from villages.models import Division

    for name in ("龙桂英", "盘石生"):
        identified(applied(name), until="county_approve")

    province = open_as("province_hunan")
    expect(province.get_by_role("heading", name="湖南省", level=1)).to_be_visible()
    shown = province.locator('[data-figure="registered"]').inner_text()
    board = selectors.dashboard(
        user=User.objects.get(username="province_hunan"),
        division=Division.objects.get(pk="430000000000"),
        year=date.today().year,
    )
    assert shown == str(board.statistics.registered.households) == "2"
    # The incidence chart links each county, so it is a labelled group rather than one image.
    expect(province.get_by_role("group", name=re.compile("贫困发生率")).first).to_be_visible()
    storyboard(province, "province-dashboard")

    province.get_by_role("link", name="江华瑶族自治县").first.click()
    expect(province.get_by_role("heading", name="江华瑶族自治县", level=1)).to_be_visible()
    storyboard(province, "province-county-dashboard")
    province.get_by_role("link", name="湖南省").first.click()

    province.get_by_label("报表", exact=True).select_option(label="贫困发生率统计表")
    province.get_by_role("button", name="生成报表").click()
    expect(province.get_by_text("已完成")).to_be_visible(timeout=30_000)
    storyboard(province, "province-report-job")
    with province.expect_download() as download_info:
        province.get_by_role("link", name="下载").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx") and "贫困发生率统计表" in download.suggested_filename
    book = load_workbook(io.BytesIO(Path(download.path()).read_bytes()), read_only=True)
    summary = {row[0]: row[1:] for row in book["汇总"].iter_rows(values_only=True) if row[0]}
    s = board.statistics
    assert list(summary["建档立卡"]) == [s.registered.households, s.registered.persons]
    assert list(summary["未脱贫"]) == [s.poor.households, s.poor.persons]
    job = Job.objects.get(kind="report")
    assert (job.status, job.created_by.username) == ("succeeded", "province_hunan")
    assert job.params["division"] == "430000000000"

    province.get_by_role("navigation", name="主导航").get_by_role("link", name="我的任务").click()
    expect(province.get_by_role("link", name=re.compile("贫困发生率统计表"))).to_be_visible()
    storyboard(province, "province-my-jobs")

"""A 栗安村 household's whole exit in a real browser, on a phone: assessment → proposal →
appraisal → verification → acknowledgement → village notice → township review → county
certification from the queue → the downloaded certificate names the village and the year."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import expect
from pypdf import PdfReader

from tests.browser.conftest import shoot

LIAN = "431129203201"
YEAR = 2020  # the national line is 4,000 yuan
STARTED = date.today() - timedelta(days=20)  # steps dated so the 7-day notice has ended


def snap(page, name: str) -> None:
    """Shoot the page with nothing focused: after a full-page screenshot, Chromium scrolls a
    still-focused input back into view on the next mouse-down, so the click would miss."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    shoot(page, name)


def take_step(page, action: str, *, on_date: date | None = None, reason: str | None = None) -> None:
    """Fill one action form of the case page (reason, date) and submit it."""
    form = page.locator(f"#action-{action}")
    if reason is not None:
        form.locator('[name="reason"]').fill(reason)
    if on_date is not None:
        if form.locator("details").get_attribute("open") is None:
            form.locator("summary").click()
        form.locator('[name="on_date"]').fill(on_date.isoformat())
    form.locator('button[type="submit"]').click()
    expect(page.locator(".messages")).to_contain_text("已办理")


def test_a_household_exits_from_assessment_to_certificate(open_as, browser, live_server):
    from assessments.models import ExitCase
    from households.models import Household
    from households.services import household_update
    from tests.factories import make_household
    from villages.models import Division

    household = make_household(village=Division.objects.get(pk=LIAN), status="registered", persons=3)
    household_update(actor=None, household=household, changes={"housing_grade": "B"})

    # The work team fills in the year's assessment on a phone.
    team = open_as("team_lian")
    team.goto(f"/assessments/households/{household.pk}/{YEAR}/")
    expect(team.get_by_role("heading", name=f"{YEAR} 年度核查")).to_be_visible()
    expect(team.locator(".as-derived")).to_contain_text("B级")
    team.get_by_label("核查日期").fill(f"{YEAR}-11-01")
    wage = team.get_by_label("工资性收入")
    assert wage.get_attribute("inputmode") == "decimal"
    wage.fill("18000")
    team.get_by_label("养老金").fill("1800")
    team.get_by_label("人均日供水量（升）").fill("60")
    team.get_by_label("取水往返时间（分钟）").fill("10")
    snap(team, "assessment-form")
    team.get_by_role("button", name="保存核查").click()
    expect(team.locator(".messages")).to_contain_text(f"已保存 {YEAR} 年度核查")
    result = team.locator("#result")
    expect(result).to_contain_text("6600.00")  # (18000 + 1800) ÷ 3
    expect(result).to_contain_text("符合退出标准")
    expect(result.locator(".rule.pass")).to_have_count(7)
    snap(team, "assessment-result")

    # Proposal, appraisal, verification, acknowledgement and the village notice, dated back.
    team.locator("#propose-on_date").fill(STARTED.isoformat())
    team.get_by_role("button", name=f"提名 {YEAR} 年脱贫退出").click()
    expect(team.locator(".messages")).to_contain_text("已提名")
    case_url = team.url
    case = ExitCase.objects.get(household=household, year=YEAR)
    assert case_url.endswith(case.get_absolute_url())
    take_step(team, "appraise", on_date=STARTED)
    take_step(team, "verify", on_date=STARTED)
    take_step(team, "acknowledge", on_date=STARTED, reason="户主本人")
    take_step(team, "open_notice", on_date=STARTED)
    expect(team.get_by_text("公示至")).to_be_visible()
    take_step(team, "close_notice")  # today: the notice ended 13 days ago
    expect(team.locator(".tag.status-notice_ended")).to_be_visible()
    expect(team.locator("#actions")).to_have_count(0)  # the work team's part is done
    snap(team, "exit-case")

    # The township reviews.
    township = open_as("township_daxi")
    township.goto(case_url)
    take_step(township, "township_approve")
    expect(township.locator(".tag.status-township_reviewed")).to_be_visible()

    # The county certifies from its review queue.
    county = open_as("county_jianghua")
    county.goto("/")
    county.get_by_role("link", name="审定队列").click()
    expect(county.get_by_role("heading", name="县级审定队列")).to_be_visible()
    snap(county, "exit-queue")
    county.locator(f"#case-{case.pk}").check()
    county.get_by_role("button", name="批量审定").click()
    expect(county.get_by_role("heading", name="批量审定结果")).to_be_visible()
    expect(county.locator(".results")).to_contain_text("已审定")
    expect(county.locator("main")).to_contain_text("审定通过 1 户，未通过 0 户")
    case.refresh_from_db()
    assert case.status == "certified"
    assert Household.objects.get(pk=household.pk).status == "exited"

    # The certificate downloads as a PDF that carries the village and the exit year.
    county.goto(case_url)
    with county.expect_download() as download_info:
        county.get_by_role("link", name="下载脱贫证明").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    text = PdfReader(Path(download.path())).pages[0].extract_text()
    assert "栗安村" in text
    assert f"{YEAR} 年" in text
    assert case.certificate_code in text
    assert re.search(rf"退出年度：\s*{YEAR}", text)

    # Anyone can check the code without logging in, and sees the masked name only.
    public = browser.new_context(viewport={"width": 360, "height": 780}, locale="zh-CN", base_url=live_server.url)
    page = public.new_page()
    page.goto("/verify/")
    page.get_by_label("校验码").fill(case.certificate_code.lower())
    page.get_by_role("button", name="核验").click()
    expect(page.locator(".verdict")).to_have_text("有效")
    expect(page.locator("main")).to_contain_text("栗安村")
    expect(page.locator("main")).not_to_contain_text("户主本人")
    snap(page, "verify-result")
    public.close()

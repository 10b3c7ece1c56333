"""Every role logs in and reaches its own jurisdiction; main pages fit a phone and a desktop."""

import pytest

from tests.browser.conftest import shoot

ROLES = {
    "team_lian": "栗安村",
    "township_daxi": "大锡乡",
    "county_jianghua": "江华瑶族自治县",
    "prefecture_yongzhou": "永州市",
    "province_hunan": "湖南省",
}


@pytest.mark.parametrize(("username", "home"), ROLES.items())
def test_role_lands_on_its_jurisdiction(open_as, username, home):
    page = open_as(username)
    assert page.get_by_role("heading", name=home).is_visible()
    shoot(page, f"home-{username}")


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_county_browses_down_to_the_village(open_as, width):
    page = open_as("county_jianghua", width)
    page.get_by_role("link", name="区划详情").click()
    page.get_by_role("link", name="大锡乡").click()
    shoot(page, "division-township")
    page.get_by_role("link", name="栗安村").click()
    assert page.get_by_text("江华瑶族自治县农业农村局").first.is_visible()
    assert page.get_by_text("689").first.is_visible()
    shoot(page, "division-village")


def test_outside_the_jurisdiction_is_not_found(open_as):
    page = open_as("county_jianghua")
    response = page.goto("/divisions/430523104201/")
    assert response.status == 404
    assert "社田村" not in page.content()


def test_keyboard_reaches_the_login_button(browser, live_server, demo):
    context = browser.new_context(viewport={"width": 360, "height": 780}, locale="zh-CN", base_url=live_server.url)
    page = context.new_page()
    page.goto("/login/")
    page.keyboard.press("Tab")
    focused = [page.evaluate("document.activeElement.textContent || document.activeElement.name")]
    for _ in range(8):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.textContent || document.activeElement.name"))
    assert "username" in focused and "password" in focused and "登录" in focused
    shoot(page, "login")
    context.close()

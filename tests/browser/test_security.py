"""The Content-Security-Policy breaks no main page: none logs a violation or a script error."""

from __future__ import annotations

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.conftest import DEMO_PASSWORD

PAGES = ["/", "/households/", "/assessments/queue/", "/admin/", "/admin/registry/user/", "/admin/registry/user/add/"]


def report(problems: list[str], page, message) -> None:
    """Keep a console error, but not the favicon the registry does not have."""
    if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
        problems.append(f"{page.url}: {message.text}")


def test_main_pages_run_under_the_csp(browser, live_server, demo):
    context = browser.new_context(viewport={"width": 1280, "height": 780}, locale="zh-CN", base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    page.on("console", lambda message: report(problems, page, message))
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))

    page.goto("/login/")
    # The policy is in force: an injected inline script is refused, and the refusal is seen.
    with pytest.raises(PlaywrightError, match="Content Security Policy"):
        page.add_script_tag(content="window.inlineRan = true;")
    assert page.evaluate("window.inlineRan") is None
    assert any("Content Security Policy" in problem for problem in problems), "violations reach the console"
    problems.clear()
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server.url}/")
    for url in PAGES:
        assert page.goto(url).status == 200, url
    # The jurisdiction picker of the user form is built by the admin's script.
    expect(page.locator("#id_jurisdictions_from")).to_be_visible()

    page.goto("/api/docs/")
    # The page draws once /api/schema/ is generated: 1.5–3.5 s on a busy two-core machine.
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("API", timeout=20_000)
    expect(page.locator(".opblock").first).to_be_visible()
    context.close()
    assert not problems, problems

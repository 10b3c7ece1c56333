"""Every main page passes the accessibility checks on a 360 px phone and a 1280 px desktop:
axe-core's WCAG 2.x A/AA rules and best practices (every input labelled, names, contrast of
4.5:1 and 3:1 for large text, landmarks), form fields with a 3:1 boundary, a visible focus
indicator on every control, and nothing (long Chinese text, ID numbers) wider than its box.

One test per width: the demo data and one object of every kind (the authorization matrix's
:func:`build_graph`, made through the services) are set up once, then each page is opened
as a user who may see it (the home page of a user with one top division is its dashboard),
its folded parts (``<details>``) opened, and checked as it stands; a few are checked after an
action (``THEN``: a form sent empty shows its errors). The failure lists every violation as
``page: rule — element — why``. A last test goes through the registration form with the
keyboard alone.

Not checked, on purpose:
* the Django admin (``/admin/``): Django's own templates and styles, for staff only;
* the API docs (``/api/docs/``): the third-party Swagger UI, for developers;
* the certificate and the import template and exports: files (PDF, CSV, XLSX), not pages;
* pages reached only by a POST answer without a page of their own (a step redirects back).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.browser.a11y import audit
from tests.browser.conftest import ARTIFACTS, WIDTHS, shoot

H = "/households/{household}"
A = "/assessments"
TEAM, TOWNSHIP, COUNTY = "team_lian", "township_daxi", "county_jianghua"
PREFECTURE, PROVINCE, AUDITOR = "prefecture_yongzhou", "province_hunan", "auditor_hunan"
ANONYMOUS = None

#: (screenshot name, who looks, URL with placeholders of :func:`build_graph`).
PAGES = [
    ("login", ANONYMOUS, "/login/"),
    ("verify", ANONYMOUS, "/verify/"),
    ("verify-result", ANONYMOUS, "/verify/{certificate_code}/"),
    ("home-team", TEAM, "/"),
    ("home-county", COUNTY, "/"),
    ("home-auditor", AUDITOR, "/"),
    ("dashboard-county", PROVINCE, "/dashboard/{county}/"),
    ("dashboard-village", TEAM, "/dashboard/{village}/"),
    ("job-list", TEAM, "/jobs/"),
    ("job-detail", TEAM, "/jobs/{job}/"),
    ("job-export", TEAM, "/jobs/{export_job}/"),
    ("household-list", TEAM, "/households/"),
    ("household-search-county", COUNTY, "/households/?q=盘"),
    ("household-detail", TEAM, H + "/"),
    ("household-detail-county", COUNTY, H + "/"),
    ("household-detail-long", TEAM, "/households/{long_household}/"),
    ("household-in-notice", TOWNSHIP, "/households/{notice_household}/"),
    ("household-create-choose", TOWNSHIP, "/households/new/"),
    ("household-create", TEAM, "/households/new/"),
    ("household-create-errors", TEAM, "/households/new/"),  # submitted empty: the messages
    ("household-edit", TEAM, H + "/edit/"),
    ("member-add", TEAM, H + "/members/new/"),
    ("member-add-errors", TEAM, H + "/members/new/"),
    ("member-edit", TEAM, H + "/members/{member}/edit/"),
    ("member-leave", TEAM, H + "/members/{member}/leave/"),
    ("household-import", TEAM, "/households/import/"),
    ("household-import-errors", TEAM, "/households/import/"),
    ("import-job", TEAM, "/households/jobs/{job}/"),
    ("access-log", AUDITOR, "/households/access-log/"),
    ("campaign", COUNTY, A + "/campaign/2018/"),
    ("campaign-village", TEAM, A + "/campaign/2018/{village}/"),
    ("household-assessments", TEAM, A + "/households/{household}/"),
    ("assessment-form", TEAM, A + "/households/{household}/2018/"),
    ("exit-case-list", COUNTY, A + "/cases/"),
    ("exit-case", TEAM, A + "/cases/{exit_case}/"),
    ("exit-case-township", TOWNSHIP, A + "/cases/{exit_case}/"),
    ("exit-case-certified", COUNTY, A + "/cases/{certified_case}/"),
    ("exit-queue", COUNTY, A + "/queue/"),
    ("exit-queue-result", COUNTY, A + "/queue/"),
    ("village-exit-list", TOWNSHIP, A + "/village-exits/"),
    ("village-exit-choose", TOWNSHIP, A + "/village-exits/propose/"),
    ("village-exit-propose", TOWNSHIP, A + "/village-exits/propose/{poverty_village}/"),
    ("village-exit", TOWNSHIP, A + "/village-exits/{village_case}/"),
    ("county-exit-list", PREFECTURE, A + "/county-exits/"),
    ("county-exit", PROVINCE, A + "/county-exits/{county_case}/"),
    ("plan-list", COUNTY, A + "/plans/"),
    ("plan", COUNTY, A + "/plans/{county}/2019/"),
    ("monitoring-list", TEAM, A + "/monitoring/"),
    ("monitoring-flag", TEAM, A + "/monitoring/{flag}/"),
    ("monitoring-raise-choose", TEAM, A + "/monitoring/raise/"),
    ("monitoring-raise", TEAM, A + "/monitoring/raise/{exited_household}/"),
    ("division-index", PROVINCE, "/divisions/"),
    ("division-search", COUNTY, "/divisions/?q=村"),
    ("division-county", COUNTY, "/divisions/{county}/"),
    ("division-village", TEAM, "/divisions/{village}/"),
    ("quality-index", COUNTY, "/quality/"),
    ("quality-division", TEAM, "/quality/{village}/"),
    ("quality-job", TEAM, "/quality/jobs/{quality_job}/"),
    ("audit-log", AUDITOR, "/audit/"),
    ("audit-object", AUDITOR, "/audit/object/{household_type}/{household}/"),
    ("audit-user", AUDITOR, "/audit/user/{audit_user}/"),
    ("not-found", TEAM, "/households/999999999/"),
]


#: A long name and a note with no space to break at (a Uyghur name written in Chinese, a
#: move-out note): they must wrap inside their boxes on a phone.
LONG_NAME = "阿卜杜热合曼·艾合买提江·买买提依明"
LONG_NOTE = "因在广东省东莞市长安镇务工并已在当地办理居住证将户籍迁往务工所在地派出所"


def submit_empty(page) -> None:
    page.locator("main form button.primary").last.click()


def certify_all(page) -> None:
    page.locator("#select-all").check()
    page.get_by_role("button", name="批量审定").click()


#: What is done on a page before it is checked: its form sent empty (the error messages),
#: the queue's batch certification (the results page).
THEN = {
    "household-create-errors": submit_empty,
    "member-add-errors": submit_empty,
    "household-import-errors": submit_empty,
    "exit-queue-result": certify_all,
}


@pytest.fixture
def graph(demo, users, divisions):
    from assessments.exit_cases import exit_case_propose
    from demo.loader import LIAN
    from households.services import household_apply, member_leave
    from registry.models import Job
    from tests.factories import exit_through, household_data, make_assessed, member_data
    from tests.registry.test_authorization_matrix import build_graph

    graph = build_graph(users, divisions)
    # The matrix's finished export has a file but not the row count a real run records.
    Job.objects.filter(pk=graph["export_job"]).update(result={"rows": 12})
    # A case the township has reviewed: a row in the county's queue.
    reviewed, _assessment = make_assessed(village=divisions[LIAN])
    case = exit_case_propose(
        actor=users[TEAM], household=reviewed, year=2018, on_date=date.today() - timedelta(days=21)
    )
    exit_through(case, users, until="township_approve")
    members = [
        member_data(name=LONG_NAME, area=LIAN[:6]),
        member_data(name="买买提依明·阿卜杜热合曼", relationship="son", birth="20050601", area=LIAN[:6]),
        member_data(name="古丽娜尔", relationship="daughter", birth="20080601", sex="2", area=LIAN[:6]),
    ]
    household = household_apply(actor=users[TEAM], village=divisions[LIAN], household=household_data(), members=members)
    son = household.members.get(relationship="son")
    member_leave(
        actor=users[TEAM], member=son, kind="move_out", event_date=son.birth_date.replace(year=2024), note=LONG_NOTE
    )
    return {**graph, "long_household": household.pk}


@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_page_passes_the_accessibility_checks(browser, live_server, graph, width):
    from tests.conftest import DEMO_PASSWORD

    pages: dict[str | None, object] = {}

    def page_for(username: str | None):
        if username not in pages:
            context = browser.new_context(
                viewport={"width": WIDTHS[width], "height": 780}, locale="zh-CN", base_url=live_server.url
            )
            page = context.new_page()
            page.set_default_timeout(15_000)
            if username:
                page.goto("/login/")
                page.get_by_label("用户名").fill(username)
                page.get_by_label("密码").fill(DEMO_PASSWORD)
                page.get_by_role("button", name="登录").click()
                page.wait_for_url(f"{live_server.url}/")
            pages[username] = page
        return pages[username]

    violations, broken = [], []
    try:
        for name, username, url in PAGES:
            page = page_for(username)
            response = page.goto(url.format(**graph))
            expected = 404 if name == "not-found" else 200
            if response.status != expected:
                broken.append(f"{name}: {url.format(**graph)} answered {response.status} to {username}")
                continue
            if name in THEN:
                with page.expect_navigation():
                    THEN[name](page)
            # Folded parts (more fields, the action forms) are checked open.
            page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
            violations += audit(page, name)
            try:
                shoot(page, f"a11y-{name}")
            except AssertionError as overflow:
                broken.append(str(overflow))
    finally:
        for page in pages.values():
            page.context.close()
    problems = broken + [str(v) for v in violations]
    assert not problems, f"{len(problems)} accessibility problems at {WIDTHS[width]}px:\n" + "\n".join(problems)


# Keyboard only ------------------------------------------------------------------------------

FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const r = el.getBoundingClientRect();
  return {
    tag: el.tagName.toLowerCase(), name: el.getAttribute("name") || "", type: el.type || "",
    text: (el.innerText || "").trim(), value: el.value ?? "", checked: !!el.checked,
    ring: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
    shown: r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth,
  };
}"""


class Keyboard:
    """Drive a page with the keys alone, checking that every control focused shows it."""

    def __init__(self, page):
        self.page = page

    def focused(self) -> dict:
        return self.page.evaluate(FOCUSED)

    def press(self, key: str) -> dict:
        self.page.keyboard.press(key)
        now = self.focused()
        if now["tag"] != "body":
            assert now["ring"], f"no visible focus on {now} after {key}"
            assert now["shown"], f"focused {now} is off-screen after {key}"
        return now

    def tab_to(self, *, name: str = "", text: str = "", back: bool = False, limit: int = 80) -> dict:
        """Press Tab (Shift+Tab when ``back``) until the control named ``name`` (or reading ``text``) has focus."""
        for _ in range(limit):
            now = self.press("Shift+Tab" if back else "Tab")
            if (name and now["name"] == name) or (text and now["text"] == text):
                return now
        raise AssertionError(f"Tab never reached {name or text!r}")

    def follow(self, key: str = "Enter") -> None:
        """Press ``key`` on a focused link or button and wait for the page it leads to."""
        with self.page.expect_navigation():
            self.page.keyboard.press(key)

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)

    def choose(self, value: str, limit: int = 40) -> None:
        """Move a focused, closed select to ``value`` with the arrow keys."""
        for _ in range(limit):
            if self.focused()["value"] == value:
                return
            self.press("ArrowDown")
        raise AssertionError(f"the arrow keys never reached {value!r}")


def test_a_work_team_registers_a_household_with_the_keyboard_alone(browser, live_server, demo):
    from households.models import Household
    from tests.conftest import DEMO_PASSWORD
    from tests.factories import make_id_number

    context = browser.new_context(viewport={"width": 360, "height": 780}, locale="zh-CN", base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    keys = Keyboard(page)
    page.goto("/login/")
    keys.tab_to(name="username")
    keys.type(TEAM)
    keys.tab_to(name="password")
    keys.type(DEMO_PASSWORD)
    keys.follow("Enter")

    # The skip link comes first, shows itself, and takes focus past the top bar into the page.
    page.goto("/households/")
    skip = keys.press("Tab")
    assert skip["text"] == "跳到正文" and skip["shown"], skip
    page.screenshot(path=str(ARTIFACTS / "keyboard-skip-link-360.png"))  # shoot() would blur it
    keys.press("Enter")
    assert page.url.endswith("#main")
    first = keys.tab_to(text="登记新户", limit=3)  # the first control of the page, not the top bar
    keys.follow("Enter")
    assert first and page.url.endswith("/households/new/")

    # The household: two selects by arrow keys, a second cause by Space, a phone number.
    keys.tab_to(name="attribute")
    keys.choose("dibao")
    keys.tab_to(name="main_cause")
    keys.choose("illness")
    keys.tab_to(name="other_causes")
    keys.press("Tab")  # 因残, the second cause
    keys.press("Space")
    assert keys.focused()["checked"]
    keys.tab_to(name="phone")
    keys.type("13800000000")
    keys.tab_to(name="applied_on")
    # Shift+Tab goes back to what was passed.
    assert keys.press("Shift+Tab")["name"] == "phone"

    # The head (relationship already 户主), then a second row added by the keyboard.
    keys.tab_to(name="members-0-name")
    keys.type("盘有福")
    keys.tab_to(name="members-0-id_number")
    keys.type(make_id_number(birth="19650304"))
    keys.tab_to(text="添加成员")
    keys.follow("Enter")
    keys.tab_to(name="members-1-name", limit=150)
    keys.type("赵秀英")
    keys.tab_to(name="members-1-id_number")
    keys.type(make_id_number(birth="19680512", sex="2"))
    keys.tab_to(name="members-1-relationship")
    keys.choose("spouse")
    page.screenshot(path=str(ARTIFACTS / "keyboard-household-create-360.png"))
    submit = keys.tab_to(text="提交申请")
    assert submit["tag"] == "button"
    keys.follow("Enter")

    errors = page.locator("[role=alert]").all_inner_texts()
    assert not errors, errors
    household = Household.objects.get(members__name="盘有福")
    assert page.url.endswith(f"/households/{household.pk}/")
    assert household.attribute == "dibao" and household.main_cause == "illness"
    assert household.other_causes == ["disability"] and household.members.count() == 2
    context.close()

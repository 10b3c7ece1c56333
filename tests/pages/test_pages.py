"""The pages: login and language, the home page, the division browser, scoping, no CDN."""

import re
from html.parser import HTMLParser

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.staticfiles import finders
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from demo.loader import DAXI, GUIDONG, JIANGHUA, JINCHENGSHI, LIAN, SHAOYANG_COUNTY, SHETIAN
from households.choices import HouseholdStatus
from tests.conftest import DEMO_PASSWORD
from tests.factories import make_household, make_team, make_township, make_village

HUNAN = "430000000000"
YONGZHOU = "431100000000"
SHAOYANG_CITY = "430500000000"
SHANDONG = "370000000000"
MUDAN = "371702000000"

PROBE = [LIAN, DAXI, JIANGHUA, YONGZHOU, HUNAN, SHETIAN, SHAOYANG_COUNTY, GUIDONG, MUDAN, SHANDONG]
HUNAN_WIDE = {LIAN, DAXI, JIANGHUA, YONGZHOU, HUNAN, SHETIAN, SHAOYANG_COUNTY, GUIDONG}
#: username → the codes of PROBE whose page it can open; the others are 404 to it.
REACH = {
    "team_lian": {LIAN},
    "township_daxi": {LIAN, DAXI},
    "county_jianghua": {LIAN, DAXI, JIANGHUA},
    "county_shaoyang": {SHETIAN, SHAOYANG_COUNTY},
    "prefecture_yongzhou": {LIAN, DAXI, JIANGHUA, YONGZHOU},
    "province_hunan": HUNAN_WIDE,
    "auditor_hunan": HUNAN_WIDE,
    "api_hunan": HUNAN_WIDE,
    "admin": set(PROBE),
}
#: username → the division its home page and /divisions/ start from.
ROOT = {
    "team_lian": (LIAN, "栗安村"),
    "township_daxi": (DAXI, "大锡乡"),
    "county_jianghua": (JIANGHUA, "江华瑶族自治县"),
    "county_shaoyang": (SHAOYANG_COUNTY, "邵阳县"),
    "prefecture_yongzhou": (YONGZHOU, "永州市"),
    "province_hunan": (HUNAN, "湖南省"),
}


def page(client: Client, url: str, status: int = 200, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == status, (url, response.status_code)
    return response.content.decode()


class _Links(HTMLParser):
    """Collect every src/href and every <meta> of a page."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.metas: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta":
            self.metas.append(attrs)
        for name in ("src", "href", "action"):
            if attrs.get(name):
                self.urls.append(attrs[name])


def results(html: str) -> str:
    """Return ``html`` without the search box, which echoes what the user typed."""
    return re.sub(r'<input id="id_q"[^>]*>', "", html)


def parse(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    return parser


# Login, language, logout ----------------------------------------------------------------


def test_login_page_renders_in_chinese(client, db):
    html = page(client, "/login/")
    assert '<html lang="zh-hans">' in html
    assert "登录" in html and "用户名" in html and "密码" in html
    assert 'name="language"' in html and 'value="en"' in html


def test_english_is_selectable(client, db):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert response.status_code == 302 and response["Location"] == "/login/"
    html = page(client, "/login/")
    assert '<html lang="en">' in html
    assert '<option value="en" selected>' in html
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/login/"})
    assert '<html lang="zh-hans">' in page(client, "/login/")


def test_english_login_page_is_in_english(client, db):
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    html = page(client, "/login/")
    assert "登录" not in html and "Log in" in html


def test_login_with_good_password_redirects_home(client, users):
    response = client.post("/login/", {"username": "county_jianghua", "password": DEMO_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.session[SESSION_KEY] == str(users["county_jianghua"].pk)
    assert "江华瑶族自治县" in page(client, "/")


def test_login_follows_a_local_next_but_not_a_foreign_one(client, db):
    response = client.post("/login/?next=/divisions/", {"username": "team_lian", "password": DEMO_PASSWORD})
    assert response["Location"] == "/divisions/"
    client.post("/logout/")
    response = client.post(
        "/login/", {"username": "team_lian", "password": DEMO_PASSWORD, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


@pytest.mark.parametrize(
    "credentials",
    [{"username": "county_jianghua", "password": "wrong"}, {"username": "nobody", "password": DEMO_PASSWORD}],
)
def test_login_with_bad_password_shows_an_error_and_stays(client, db, credentials):
    response = client.post("/login/", credentials)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="alert"' in html
    assert response.context["form"].errors
    assert f'value="{credentials["username"]}"' in html
    assert SESSION_KEY not in client.session
    assert client.get("/").status_code == 302


def test_logged_in_user_is_sent_away_from_the_login_page(client_for):
    assert client_for("team_lian").get("/login/")["Location"] == "/"


def test_logout_is_a_post(client_for):
    client = client_for("county_jianghua")
    assert client.get("/logout/").status_code == 405
    assert SESSION_KEY in client.session
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert SESSION_KEY not in client.session
    assert client.get("/")["Location"].startswith("/login/")


@pytest.mark.parametrize("url", ["/", "/divisions/", f"/divisions/{LIAN}/"])
def test_pages_need_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


# Home ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("username", "root"), ROOT.items())
def test_home_is_the_dashboard_of_the_users_jurisdiction(client_for, username, root):
    code, name = root
    html = page(client_for(username), "/")
    assert f"<h1>{name}</h1>" in html
    assert f'href="/divisions/{code}/"' in html
    assert f'action="/dashboard/{code}/report/"' in html


def test_home_counts_the_poor_of_the_jurisdiction(client_for, divisions):
    make_household(village=divisions[LIAN], status=HouseholdStatus.REGISTERED, persons=5)
    html = page(client_for("prefecture_yongzhou"), "/")
    assert re.search(r'data-figure="poor">1</span><span class="kpi-unit">户 · 5 人', html)


def test_admin_home_shows_every_province(client_for):
    html = page(client_for("admin"), "/")
    assert "湖南省" in html and "山东省" in html


def test_unbound_user_is_told_so(client_for, users):
    users["county_jianghua"].jurisdictions.clear()
    html = page(client_for("county_jianghua"), "/")
    assert "尚未绑定管辖区划" in html
    assert "/divisions/43" not in html and "在驻工作队 0 支" in html


# Division browser ---------------------------------------------------------------------


@pytest.mark.parametrize(("username", "root"), ROOT.items())
def test_division_index_opens_the_users_root(client_for, username, root):
    response = client_for(username).get("/divisions/")
    assert response.status_code == 302 and response["Location"] == f"/divisions/{root[0]}/"


def test_division_index_lists_the_roots_of_an_unrestricted_user(client_for):
    html = page(client_for("admin"), "/divisions/")
    assert f'href="/divisions/{HUNAN}/"' in html and f'href="/divisions/{SHANDONG}/"' in html


def test_county_page_shows_status_children_and_incidence(client_for):
    html = page(client_for("county_jianghua"), f"/divisions/{JIANGHUA}/")
    assert "国家扶贫开发工作重点县" in html and "计划 2019 年摘帽" in html
    assert "<dd>421000</dd>" in html
    assert f'href="/divisions/{DAXI}/"' in html and "大锡乡" in html


def test_township_page_lists_villages_with_their_team(client_for):
    html = page(client_for("township_daxi"), f"/divisions/{DAXI}/")
    assert f'href="/divisions/{LIAN}/"' in html
    assert "工作队：江华瑶族自治县农业农村局" in html


def test_village_page_shows_status_team_and_groups(client_for):
    html = page(client_for("county_jianghua"), f"/divisions/{LIAN}/")
    assert "贫困村 2014" in html and "已出列 2018" in html
    assert "江华瑶族自治县农业农村局" in html
    for name in ("盘建华", "李晓东", "赵玉梅"):
        assert name in html
    assert all(f"{n}组" in html for n in range(1, 7))
    # Breadcrumbs up to the user's root, and no further.
    assert f'href="/divisions/{JIANGHUA}/"' in html and f'href="/divisions/{YONGZHOU}/"' not in html


def test_deep_poverty_village_page(client_for):
    html = page(client_for("county_shaoyang"), f"/divisions/{SHETIAN}/")
    assert "深度贫困村" in html and "未出列" in html and "刘梅" in html and "中共邵阳县委宣传部" in html


def test_search_finds_by_name_and_code(client_for):
    client = client_for("province_hunan")
    assert f'href="/divisions/{SHETIAN}/"' in page(client, "/divisions/", q="社田")
    assert f'href="/divisions/{LIAN}/"' in page(client, "/divisions/", q="431129203")
    assert "没有匹配的区划" in page(client, "/divisions/", q="不存在的村")


@pytest.mark.parametrize(
    "params", [{"q": "湖", "page": "abc"}, {"q": "湖", "page": "999"}, {"q": "x", "level": "bogus"}]
)
def test_odd_search_input_never_fails(client_for, params):
    page(client_for("province_hunan"), "/divisions/", **params)


@pytest.mark.parametrize("code", ["abc", "4311", "000000000000", "4311290000001"])
def test_unknown_division_is_a_404_page(client_for, code):
    html = page(client_for("admin"), f"/divisions/{code}/", status=404)
    assert "未找到" in html


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_township_page_query_count_does_not_grow_with_its_villages(client_for, divisions):
    small = make_township(county=divisions[JIANGHUA], number=51, name="小乡")
    large = make_township(county=divisions[JIANGHUA], number=52, name="大乡")
    for township, villages in ((small, 1), (large, 8)):
        for n in range(1, villages + 1):
            make_team(village=make_village(parent=township, number=n, name=f"{township.name}{n}村"))
    client = client_for("county_jianghua")
    assert count_queries(client, f"/divisions/{small.code}/") == count_queries(client, f"/divisions/{large.code}/")
    assert "大乡8村" in page(client, f"/divisions/{large.code}/")


# Scoping -------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [SHAOYANG_COUNTY, SHETIAN, JINCHENGSHI, SHAOYANG_CITY, GUIDONG, MUDAN])
def test_county_gets_404_outside_its_county(client_for, code):
    html = page(client_for("county_jianghua"), f"/divisions/{code}/", status=404)
    assert "社田" not in html and "邵阳" not in html


def test_county_pages_never_mention_another_county(client_for):
    client = client_for("county_jianghua")
    pages = [
        page(client, "/"),
        page(client, f"/divisions/{JIANGHUA}/"),
        page(client, f"/divisions/{DAXI}/"),
        page(client, f"/divisions/{LIAN}/"),
        page(client, "/divisions/", q="社田"),
        page(client, "/divisions/", q="邵阳"),
        page(client, "/divisions/", q="4305"),
        page(client, "/divisions/", q="43"),
    ]
    for html in map(results, pages):
        assert "社田" not in html and "邵阳" not in html and "430523" not in html


@pytest.mark.parametrize(("username", "visible"), REACH.items())
def test_every_roles_reach(client_for, username, visible):
    client = client_for(username)
    for code in PROBE:
        status = client.get(f"/divisions/{code}/").status_code
        assert status == (200 if code in visible else 404), (username, code, status)


@pytest.mark.parametrize("username", [u for u in REACH if u != "admin"])
def test_shandong_is_invisible_to_every_hunan_user(client_for, username):
    client = client_for(username)
    for html in (page(client, "/"), page(client, "/divisions/", q="37"), page(client, "/divisions/", q="菏泽")):
        html = results(html)
        assert "山东" not in html and "菏泽" not in html and "/divisions/37" not in html


# No CDN, small screens -------------------------------------------------------------------


def every_page(client_for) -> list[str]:
    anonymous = Client()
    admin = client_for("admin")
    county = client_for("county_jianghua")
    return [
        page(anonymous, "/login/"),
        page(county, "/"),
        page(admin, "/divisions/"),
        page(admin, "/divisions/", q="栗安"),
        page(county, f"/divisions/{JIANGHUA}/"),
        page(county, f"/divisions/{DAXI}/"),
        page(county, f"/divisions/{LIAN}/"),
        page(admin, f"/divisions/{HUNAN}/"),
        page(county, f"/divisions/{SHETIAN}/", status=404),
    ]


def test_no_page_loads_anything_from_another_host(client_for):
    for html in every_page(client_for):
        for url in parse(html).urls:
            assert not re.match(r"^\s*(https?:)?//", url, re.IGNORECASE), url
        assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.IGNORECASE)


def test_stylesheets_are_local_and_load_no_fonts_or_imports_from_elsewhere(client_for):
    stylesheets = {url for html in every_page(client_for) for url in parse(html).urls if url.endswith(".css")}
    assert "/static/css/registry.css" in stylesheets
    assert stylesheets <= {"/static/css/registry.css", "/static/css/charts.css"}
    for url in stylesheets:
        path = finders.find(url.removeprefix("/static/"))
        assert path, url
        with open(path, encoding="utf-8") as css:
            text = css.read()
        assert "@import" not in text and "@font-face" not in text
        assert not re.search(r"url\(\s*['\"]?\s*(https?:)?//", text)


def test_every_page_has_the_mobile_viewport(client_for):
    for html in every_page(client_for):
        viewports = [m for m in parse(html).metas if m.get("name") == "viewport"]
        assert len(viewports) == 1
        content = viewports[0]["content"].replace(" ", "")
        assert "width=device-width" in content and "initial-scale=1" in content
        assert "user-scalable=no" not in content  # zooming stays possible


def test_stylesheet_has_no_fixed_width_wider_than_a_phone():
    with open(finders.find("css/registry.css"), encoding="utf-8") as css:
        text = css.read()
    base = text.split("@media", 1)[0]  # the mobile-first rules, before any breakpoint
    widths = [int(w) for w in re.findall(r"(?<![-\w])(?:min-)?width:\s*(\d+)px", base)]
    assert all(w <= 360 for w in widths), widths

"""English, chosen in the header, is a real translation (locale/en/LC_MESSAGES/django.po).

The pages keep Chinese data (names of divisions, people, units, villager groups) but every
label the interface itself supplies must be English: the page title, the navigation, the
headings, the form labels and buttons. The language list names each language in itself,
so its "简体中文" option is not a label to translate either.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from demo.loader import JIANGHUA
from registry.models import User
from villages.models import Division, VillagerGroup, WorkTeam, WorkTeamMember

#: CJK ideographs (the check ignores full-width punctuation, which is not a word).
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
#: Elements whose text is interface text.
CHROME_TAGS = {"title", "h1", "h2", "h3", "th", "label", "button", "summary", "dt", "legend", "a"}
#: Attributes whose value is interface text.
CHROME_ATTRS = {"aria-label", "placeholder", "title", "alt"}
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Page(HTMLParser):
    """Collect the page title, the main navigation's labels and all interface text."""

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.title = ""
        self.nav: list[str] = []
        self.chrome: list[str] = []
        self.text: list[str] = []
        self._in_nav = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in CHROME_ATTRS:
            if attrs.get(name):
                self.chrome.append(attrs[name])
        if tag == "nav" and attrs.get("aria-label") == "Main navigation":
            self._in_nav = len(self.stack) + 1
        if tag not in VOID_TAGS:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID_TAGS:
            return
        while self.stack:
            if self.stack.pop() == tag:
                break
        if self._in_nav and len(self.stack) < self._in_nav:
            self._in_nav = 0

    def handle_data(self, data):
        data = data.strip()
        if not data or "option" in self.stack or "script" in self.stack or "style" in self.stack:
            return
        self.text.append(data)
        if "title" in self.stack and "svg" not in self.stack:  # a chart's <title> is not the page's
            self.title += data
        if self._in_nav and self.stack and self.stack[-1] == "a":
            self.nav.append(data)
        if CHROME_TAGS & set(self.stack):
            self.chrome.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def data_values() -> list[str]:
    """Return the Chinese data the pages may show (longest first, so that removal is clean)."""
    values: set[str] = set()
    values.update(Division.objects.values_list("name", flat=True))
    values.update(VillagerGroup.objects.values_list("name", flat=True))
    values.update(WorkTeam.objects.values_list("dispatching_unit", flat=True))
    for name, title, unit in WorkTeamMember.objects.values_list("name", "title", "unit"):
        values.update({name, title, unit})
    for user in User.objects.all():
        values.update({user.get_full_name(), user.first_name, user.last_name, user.unit})
    return sorted((v for v in values if v), key=len, reverse=True)


def untranslated(texts: list[str]) -> list[str]:
    """Return the texts that still hold Chinese once data values are taken out."""
    values = data_values()
    left = []
    for text in texts:
        for value in values:
            text = text.replace(value, "")
        if CJK.search(text):
            left.append(text)
    return left


def choose_english(client: Client, next_url: str = "/") -> None:
    response = client.post("/i18n/setlang/", {"language": "en", "next": next_url})
    assert response.status_code == 302


def english_page(client: Client, url: str) -> Page:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    html = response.content.decode()
    assert '<html lang="en">' in html
    return parse(html)


def test_english_login_page_has_no_chinese_labels(client, db):
    choose_english(client, "/login/")
    page = english_page(client, "/login/")
    assert page.title == "Log in · Targeted Poverty Alleviation Registry"
    assert "Username" in page.chrome and "Password" in page.chrome and "Log in" in page.chrome
    assert untranslated(page.text) == []
    assert untranslated(page.chrome) == []


@pytest.fixture
def english_client(client_for):
    client = client_for("county_jianghua")
    choose_english(client)
    return client


def test_english_home_page(english_client):
    """The county office lands on its county's dashboard, charts and all, in English."""
    page = english_page(english_client, "/")
    assert page.title == "江华瑶族自治县 dashboard · Targeted Poverty Alleviation Registry"
    assert {"Home", "Poor households", "Annual reassessment", "Poverty exit", "Divisions", "My jobs"} <= set(page.nav)
    assert "Certification queue" in page.nav  # the county office certifies exits
    assert "Key figures" in page.chrome and "Make report" in page.chrome and "Log out" in page.chrome
    assert "Poverty incidence by village" in page.chrome
    assert untranslated([page.title]) == []
    assert untranslated(page.nav) == []
    assert untranslated(page.chrome) == []
    assert untranslated(page.text) == []


def test_english_division_browser(english_client):
    page = english_page(english_client, f"/divisions/{JIANGHUA}/")
    division = Division.objects.get(pk=JIANGHUA)
    assert page.title == f"{division.name} · Targeted Poverty Alleviation Registry"
    assert not CJK.search(page.title.replace(division.name, ""))
    assert "Divisions" in page.nav and "Home" in page.nav
    assert {"Poverty incidence", "Remaining poor population", "Rural registered population"} <= set(page.chrome)
    assert any(text.startswith("Subdivisions") for text in page.chrome)
    assert untranslated(page.nav) == []
    assert untranslated(page.chrome) == []
    assert untranslated(page.text) == []


def test_english_household_list(english_client):
    page = english_page(english_client, "/households/")
    assert page.title == "Poor households · Targeted Poverty Alleviation Registry"
    assert "Poor households" in page.nav
    assert {"Search", "Filter", "Status"} <= set(page.chrome)
    assert untranslated(page.nav) == []
    assert untranslated(page.chrome) == []
    assert untranslated(page.text) == []


def test_api_error_message_follows_accept_language(api_for):
    client = api_for("county_jianghua")
    response = client.get("/api/v1/divisions/000000000000/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Not found, or outside your jurisdiction."
    # Chinese stays the default when the client asks for nothing else.
    response = api_for("county_jianghua").get("/api/v1/divisions/000000000000/")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "未找到，或不在您的管辖范围内。"


def test_api_validation_error_is_english_too(api_for):
    client = api_for("team_lian")
    response = client.post("/api/v1/households/", {}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == "Invalid input; please check the fields."
    assert error["fields"] and not CJK.search(str(error["fields"]))

"""Dashboard pages: each user lands on their own, the figures shown are the selectors', in a fixed
number of queries, and outside the jurisdiction there is nothing to see."""

from __future__ import annotations

import re

import pytest

from dashboards import selectors
from demo.loader import DAXI, JIANGHUA, LIAN, SHAOYANG_COUNTY
from registry.models import User
from villages.models import Division

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_registry_package")]

LANDING = {
    "team_lian": "栗安村",
    "township_daxi": "大锡乡",
    "county_jianghua": "江华瑶族自治县",
    "prefecture_yongzhou": "永州市",
    "province_hunan": "湖南省",
    "auditor_hunan": "湖南省",
}


def figures(html: str) -> dict[str, str]:
    """Return the page's key figures by their ``data-figure`` name (tags stripped)."""
    found = re.findall(r'data-figure="([a-z_]+)">(.*?)</(?:span|dd)>', html, flags=re.S)
    return {name: re.sub(r"<[^>]+>", "", value).strip() for name, value in found}


@pytest.mark.parametrize(("username", "name"), LANDING.items())
def test_each_user_lands_on_their_own_dashboard(client_for, username, name):
    html = client_for(username).get("/").content.decode()
    assert re.search(rf"<h1>{name}</h1>", html)
    assert "<svg" in html and 'role="img"' in html


def test_dashboard_home_redirects_to_the_own_division(client_for):
    response = client_for("team_lian").get("/dashboard/")
    assert response.status_code == 302 and response["Location"] == f"/dashboard/{LIAN}/"


@pytest.mark.parametrize("code", [LIAN, DAXI, JIANGHUA])
def test_the_page_shows_the_selectors_figures(client_for, code):
    admin = User.objects.get(username="admin")
    board = selectors.dashboard(user=admin, division=Division.objects.get(pk=code), year=2018)
    shown = figures(client_for("county_jianghua").get(f"/dashboard/{code}/?year=2018").content.decode())
    s = board.statistics
    assert shown["registered"] == str(s.registered.households)
    assert shown["poor"] == str(s.poor.households)
    assert shown["exited"] == str(s.exited.households)
    assert shown["returned"] == str(s.returned.households)
    assert shown["due"] == str(board.reassessment.due)
    assert shown["quality_open"] == str(board.quality.open)
    if s.incidence.rate is not None:
        assert shown["incidence"] == f"{s.incidence.rate}%"


def test_a_bad_year_falls_back_to_the_default(client_for):
    response = client_for("county_jianghua").get(f"/dashboard/{JIANGHUA}/?year=abc")
    assert response.status_code == 200


def test_outside_the_jurisdiction_is_not_found(client_for):
    assert client_for("county_shaoyang").get(f"/dashboard/{JIANGHUA}/").status_code == 404
    assert client_for("team_lian").get(f"/dashboard/{SHAOYANG_COUNTY}/").status_code == 404
    assert client_for("team_lian").get("/dashboard/999999999999/").status_code == 404


def test_the_query_count_does_not_grow_with_the_area(client_for, django_assert_max_num_queries):
    client = client_for("admin")
    client.get(f"/dashboard/{LIAN}/")  # warm the session and content types
    for code in (LIAN, JIANGHUA, "430000000000"):
        with django_assert_max_num_queries(45):
            assert client.get(f"/dashboard/{code}/").status_code == 200

"""Every demo user logs in with the demo password and reaches their pages on the demo registry.

A newcomer's first minutes: ``make run``, then each login of the README's table. On the
embedded SQLite of old every one of them but admin met a 500 on ``/``; here each signs in
through the login page, lands on ``/`` (their dashboard) and opens every page of the main
menu, the division pages the home page links to, and the dashboards it links to of the
areas holding demo households, plus one of an area without any, all answering 200. (A
province's home links to the dashboard of each of its 120-odd counties; the empty ones
are all drawn alike, and one of them stands for the rest.)
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from demo.loader import DEMO_USERS, LIAN, LONGXI, SHETIAN
from registry.forms import API_CLIENT_LOGIN_REFUSED, LoginForm
from registry.models import User
from registry.roles import Role
from tests.conftest import DEMO_PASSWORD
from villages.models import Division

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_registry_package")]

#: The villages of the demo registry's households.
DEMO_VILLAGES = (LIAN, SHETIAN, LONGXI)
DIVISION = re.compile(r"^/divisions/\d{12}/$")
DASHBOARD = re.compile(r"^/dashboard/(\d{12})/$")


def has_pages(user: User) -> bool:
    """Return whether the login page lets ``user`` in: the login form's own rule, and no token-only client.

    An API client reads through its token only ("no pages" in the README).
    """
    if user.role == Role.API_CLIENT:
        return False
    try:
        LoginForm().confirm_login_allowed(user)
    except ValidationError:
        return False
    return True


def holds_demo_households(code: str) -> bool:
    """Return whether the division ``code`` is, or lies above, a village of the demo registry."""
    prefix = Division.objects.get(pk=code).prefix
    return any(village.startswith(prefix) for village in DEMO_VILLAGES)


def links(html: str, *, inside: str | None = None) -> list[str]:
    """Return the site's own links of ``html`` (of its ``<nav aria-label="…">`` named ``inside``), in order."""
    if inside is not None:
        found = re.search(rf'<nav aria-label="{inside}">(.*?)</nav>', html, flags=re.S)
        assert found, f"no menu {inside!r} on the page"
        html = found.group(1)
    hrefs = [urlsplit(href).path for href in re.findall(r'<a [^>]*href="([^"#]+)"', html)]
    return list(dict.fromkeys(href for href in hrefs if href.startswith("/")))


@pytest.mark.parametrize("username", [username for username, *_ in DEMO_USERS])
def test_each_demo_user_logs_in_and_reaches_their_pages(username):
    client = Client()
    response = client.post("/login/", {"username": username, "password": DEMO_PASSWORD})
    if not has_pages(User.objects.get(username=username)):  # a token-only client: refused, saying why
        assert response.status_code == 200 and "_auth_user_id" not in client.session
        assert str(API_CLIENT_LOGIN_REFUSED) in response.content.decode()
        return
    assert response.status_code == 302 and response["Location"] == "/", f"login refused for {username}"
    home = client.get("/")
    assert home.status_code == 200
    html = home.content.decode()
    menu = links(html, inside="主导航")
    assert "/" in menu and "/households/" in menu
    reached = [*menu, *(href for href in links(html) if DIVISION.match(href))]
    dashboards = [href for href in links(html) if DASHBOARD.match(href)]
    with_households = [href for href in dashboards if holds_demo_households(DASHBOARD.match(href).group(1))]
    reached += with_households + [href for href in dashboards if href not in with_households][:1]
    failed = {}
    for href in dict.fromkeys(reached):
        status = client.get(href, follow=True).status_code
        if status != 200:
            failed[href] = status
    assert not failed, f"{username}: pages that did not answer 200: {failed}"

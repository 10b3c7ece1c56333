"""Security: the login lock on every door that takes a password, and the response headers."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from registry.errors import ApplicationError
from registry.forms import API_CLIENT_LOGIN_REFUSED
from registry.logins import ACCOUNT_LOCKED, ADDRESS_LOCKED, login_failure_unlock
from registry.models import ApiToken, AuditEntry, LoginFailure
from tests.conftest import DEMO_PASSWORD

USER = "county_jianghua"
ADDRESS = "198.51.100.7"
DOORS = ["page", "admin", "api"]
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@pytest.fixture(autouse=True)
def _fresh_throttle():
    """The token endpoint is also throttled per address in the cache; start each test empty."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clock(monkeypatch):
    """Freeze ``timezone.now``; ``clock.advance(minutes)`` moves it on."""

    class Clock:
        now = timezone.now()

        def advance(self, minutes: float) -> None:
            self.now += timedelta(minutes=minutes)

    frozen = Clock()
    monkeypatch.setattr(timezone, "now", lambda: frozen.now)
    return frozen


def login(door: str, username: str, password: str, address: str = ADDRESS) -> tuple[str, str]:
    """Try a password at ``door``; return ("ok", "") or ("refused" | "locked", the message shown)."""
    credentials = {"username": username, "password": password}
    if door == "api":
        response = APIClient(REMOTE_ADDR=address).post("/api/v1/auth/token/", credentials, format="json")
        if response.status_code == 200:
            return "ok", ""
        error = response.json()["error"]
        if response.status_code == 429:
            assert error["code"] == "login_locked" and int(response["Retry-After"]) > 0
            return "locked", error["message"]
        assert response.status_code == 400, response.content
        return "refused", error["message"]
    client = Client(REMOTE_ADDR=address)
    url = "/login/" if door == "page" else "/admin/login/?next=/admin/"
    response = client.post(url, credentials)
    if response.status_code == 302:
        assert SESSION_KEY in client.session
        return "ok", ""
    assert response.status_code == 200 and SESSION_KEY not in client.session
    [message] = response.context["form"].non_field_errors()
    return ("locked" if response.context["form"].has_error("__all__", "login_locked") else "refused"), message


def fail(door: str, times: int, username: str = USER, address: str = ADDRESS) -> list[str]:
    return [login(door, username, "wrong-password", address)[0] for _ in range(times)]


def locked_message(minutes: int = 15) -> str:
    return ACCOUNT_LOCKED % {"minutes": minutes}


# The lock -----------------------------------------------------------------------------------


@pytest.mark.parametrize("door", DOORS)
def test_five_failures_lock_the_account_even_against_the_right_password(db, clock, door):
    assert fail(door, 4) == ["refused"] * 4
    assert login(door, USER, "wrong-password") == ("locked", locked_message())
    assert login(door, USER, DEMO_PASSWORD) == ("locked", locked_message())
    assert not ApiToken.objects.filter(user__username=USER).exists()
    entry = AuditEntry.objects.get(action="login.lock")
    assert entry.actor is None and entry.client_address == ADDRESS
    assert entry.after["key"] == USER and entry.after["count"] == 5


def test_failures_at_every_door_add_up(db, clock):
    fail("page", 2)
    fail("admin", 2)
    assert login("api", USER, "wrong-password")[0] == "locked"
    assert login("page", USER, DEMO_PASSWORD)[0] == "locked"


def test_the_limits_follow_the_settings(db, clock, settings):
    settings.REGISTRY_LOGIN_MAX_FAILURES = 2
    settings.REGISTRY_LOGIN_LOCKOUT_MINUTES = 30
    assert fail("page", 2) == ["refused", "locked"]
    assert login("page", USER, DEMO_PASSWORD) == ("locked", locked_message(30))


def test_the_minutes_left_count_down(db, clock):
    fail("page", 5)
    clock.advance(10.5)
    assert login("page", USER, DEMO_PASSWORD) == ("locked", locked_message(5))


@pytest.mark.parametrize("door", DOORS)
def test_the_lock_runs_out(db, clock, door):
    fail(door, 5)
    clock.advance(15)
    assert login(door, USER, DEMO_PASSWORD) == ("ok", "")
    assert not LoginFailure.objects.filter(kind=LoginFailure.Kind.ACCOUNT).exists()


def test_after_the_lock_runs_out_the_count_starts_again(db, clock):
    fail("page", 5)
    clock.advance(16)
    assert fail("page", 4) == ["refused"] * 4
    assert login("page", USER, DEMO_PASSWORD)[0] == "ok"


def test_failures_outside_the_window_do_not_add_up(db, clock):
    fail("page", 4)
    clock.advance(16)
    assert fail("page", 4) == ["refused"] * 4
    assert login("page", USER, DEMO_PASSWORD)[0] == "ok"


@pytest.mark.parametrize("door", DOORS)
def test_a_successful_login_resets_the_count(db, clock, door):
    fail(door, 4)
    assert login(door, USER, DEMO_PASSWORD)[0] == "ok"
    assert fail(door, 4) == ["refused"] * 4
    assert login(door, USER, DEMO_PASSWORD)[0] == "ok"


def test_the_case_of_the_name_buys_no_extra_attempts(db, clock):
    fail("page", 3)
    fail("page", 2, username=USER.upper())
    assert login("page", USER, DEMO_PASSWORD)[0] == "locked"


def test_one_address_trying_many_names_is_stopped(db, clock):
    tried = [login("page", f"guess{number}", "wrong-password")[0] for number in range(20)]
    assert tried == ["refused"] * 19 + ["locked"]
    assert login("page", USER, DEMO_PASSWORD) == ("locked", ADDRESS_LOCKED % {"minutes": 15})
    assert login("api", USER, DEMO_PASSWORD)[0] == "locked"
    assert login("page", USER, DEMO_PASSWORD, address="203.0.113.9")[0] == "ok", "other addresses still log in"
    address_lock = AuditEntry.objects.get(action="login.lock")
    assert address_lock.after["kind"] == "address" and address_lock.after["key"] == ADDRESS


@pytest.mark.parametrize("door", DOORS)
def test_a_lock_does_not_tell_whether_the_name_exists(db, clock, door):
    known = fail(door, 4, username=USER), login(door, USER, "wrong-password"), login(door, USER, DEMO_PASSWORD)
    unknown = fail(door, 4, username="nobody"), login(door, "nobody", "wrong"), login(door, "nobody", DEMO_PASSWORD)
    assert known == unknown
    assert known[1][1] == locked_message()


def test_the_api_lock_is_a_documented_429_with_retry_after(db, clock):
    from tests.api.helpers import assert_documented, assert_error

    fail("api", 5)
    response = APIClient(REMOTE_ADDR=ADDRESS).post(
        "/api/v1/auth/token/", {"username": USER, "password": DEMO_PASSWORD}, format="json"
    )
    error = assert_error(response, 429, "login_locked")
    assert error["message"] == locked_message()
    assert response["Retry-After"] == str(15 * 60)
    assert_documented(response, "/api/v1/auth/token/", "post")


# API clients ---------------------------------------------------------------------------------


@pytest.mark.parametrize("door", ["page", "admin"])
def test_an_api_client_account_cannot_log_in_to_the_pages_or_the_admin(db, door):
    assert login(door, "api_hunan", DEMO_PASSWORD) == ("refused", str(API_CLIENT_LOGIN_REFUSED))
    assert not LoginFailure.objects.exists()  # the password was right: nothing counts towards a lock


def test_an_api_client_is_told_nothing_without_its_password(db):
    _outcome, message = login("page", "api_hunan", "wrong-password")
    assert message != str(API_CLIENT_LOGIN_REFUSED)


def test_an_api_client_still_takes_a_token(db):
    assert login("api", "api_hunan", DEMO_PASSWORD) == ("ok", "")


# Unlocking ----------------------------------------------------------------------------------


def test_an_administrator_unlocks_from_the_admin_audited(db, clock, client_for, users):
    fail("page", 5)
    failure = LoginFailure.objects.get(kind=LoginFailure.Kind.ACCOUNT, key=USER)
    changelist = "/admin/registry/loginfailure/"
    admin = client_for("admin")
    assert USER in admin.get(changelist).content.decode()
    response = admin.post(changelist, {"action": "unlock", "_selected_action": [failure.pk]})
    assert response.status_code == 302
    assert not LoginFailure.objects.filter(pk=failure.pk).exists()
    entry = AuditEntry.objects.get(action="login.unlock")
    assert entry.actor == users["admin"] and entry.object_id == str(failure.pk)
    assert entry.before["key"] == USER and entry.before["locked_until"]
    assert login("page", USER, DEMO_PASSWORD)[0] == "ok"


def test_only_those_who_manage_users_may_unlock(db, clock, users, client_for):
    fail("page", 5)
    failure = LoginFailure.objects.get(key=USER)
    with pytest.raises(ApplicationError) as info:
        login_failure_unlock(actor=users["county_jianghua"], failure=failure)
    assert info.value.code == "permission_denied"
    assert client_for("province_hunan").get("/admin/registry/loginfailure/").status_code == 403
    assert LoginFailure.objects.get(pk=failure.pk).is_locked()


# Passwords ----------------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["Short-pw-1", "1234567890123", "password1234"])
def test_weak_passwords_are_refused(users, password):
    with pytest.raises(ValidationError):
        validate_password(password, users[USER])


@pytest.mark.parametrize("password", ["demo-pass-2026", DEMO_PASSWORD])
def test_the_demo_passwords_pass_the_validators(users, password):
    for user in users.values():
        validate_password(password, user)


# Headers ------------------------------------------------------------------------------------

EXPECTED_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


@pytest.mark.parametrize(
    ("url", "username"),
    [
        ("/login/", None),
        ("/", "county_jianghua"),
        ("/api/v1/divisions/", "county_jianghua"),
        ("/admin/login/", None),
        ("/admin/", "admin"),
        ("/api/docs/", None),
    ],
)
def test_security_headers_are_on_pages_api_and_admin(client_for, url, username):
    response = (client_for(username) if username else Client()).get(url)
    assert response.status_code == 200, url
    for name, value in EXPECTED_HEADERS.items():
        assert response[name] == value, (url, name)
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert "unsafe-inline" not in response["Content-Security-Policy"]


def test_the_session_ends_with_the_browser(db):
    client = Client()
    client.post("/login/", {"username": USER, "password": DEMO_PASSWORD})
    cookie = client.cookies["sessionid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert not cookie["max-age"] and not cookie["expires"]


def test_templates_have_no_inline_script_style_or_handler():
    """The CSP allows no inline script or style; a template that needs one would break."""
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=|javascript:", re.IGNORECASE)
    offenders = [
        f"{path.relative_to(TEMPLATES)}: {match.group(0)}"
        for path in TEMPLATES.rglob("*.html")
        for match in inline.finditer(path.read_text())
    ]
    assert not offenders

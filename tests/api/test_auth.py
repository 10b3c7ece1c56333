"""API authentication: the token endpoint, token auth and the error format for refusals."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from registry.models import ApiToken, AuditEntry
from tests.api.helpers import assert_error
from tests.conftest import DEMO_PASSWORD

TOKEN_URL = "/api/v1/auth/token/"
DIVISIONS_URL = "/api/v1/divisions/"


@pytest.fixture(autouse=True)
def _fresh_throttle():
    """The token endpoint is throttled per address; start each test with an empty count."""
    cache.clear()
    yield
    cache.clear()


def test_good_credentials_return_a_personal_token_stored_only_as_a_digest(users):
    response = APIClient().post(TOKEN_URL, {"username": "api_hunan", "password": DEMO_PASSWORD}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["username"], body["role"]) == ("api_hunan", "api_client")
    token = ApiToken.objects.get(prefix=body["token"].partition(".")[0])
    assert (token.user, token.kind, token.can_see_pii) == (users["api_hunan"], ApiToken.Kind.PERSONAL, False)
    assert token.expires_at is not None and body["expires_at"]
    assert body["token"] not in str(list(ApiToken.objects.values()))


def test_each_login_issues_a_new_audited_token(users):
    client = APIClient()
    first = client.post(TOKEN_URL, {"username": "province_hunan", "password": DEMO_PASSWORD}).json()["token"]
    second = client.post(TOKEN_URL, {"username": "province_hunan", "password": DEMO_PASSWORD}).json()["token"]
    assert first != second
    created = AuditEntry.objects.filter(action="api_token.create", actor=users["province_hunan"])
    assert created.count() == 2
    assert all("key_hash" not in entry.after for entry in created)


@pytest.mark.parametrize(
    "payload",
    [
        {"username": "api_hunan", "password": "wrong-password"},
        {"username": "nobody", "password": DEMO_PASSWORD},
        {"username": "api_hunan"},
        {},
    ],
)
def test_bad_credentials_are_a_structured_400(db, payload):
    response = APIClient().post(TOKEN_URL, payload, format="json")
    error = assert_error(response, 400, "invalid")
    assert error["fields"], "the error names the offending fields"
    assert "token" not in response.json()


def test_inactive_user_gets_no_token(users):
    user = users["api_hunan"]
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = APIClient().post(TOKEN_URL, {"username": "api_hunan", "password": DEMO_PASSWORD}, format="json")
    assert_error(response, 400, "invalid")


def test_unauthenticated_request_is_a_structured_401(db):
    response = APIClient().get(DIVISIONS_URL)
    assert_error(response, 401, "not_authenticated")
    assert response.headers["WWW-Authenticate"].startswith("Token")


def test_bad_token_is_a_structured_401(db):
    client = APIClient()
    for bad in ("0000000000000000000000000000000000000000", "abc.def", ".", "x" * 500):
        client.credentials(HTTP_AUTHORIZATION=f"Token {bad}")
        assert_error(client.get(DIVISIONS_URL), 401, "authentication_failed")


def test_token_of_an_inactive_user_is_refused(users, api_for):
    client = api_for("api_hunan")
    user = users["api_hunan"]
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert_error(client.get(DIVISIONS_URL), 401)


def test_token_from_the_endpoint_authenticates(db):
    token = APIClient().post(TOKEN_URL, {"username": "api_hunan", "password": DEMO_PASSWORD}).json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.get(DIVISIONS_URL, {"level": "province"})
    assert response.status_code == 200
    assert [d["code"] for d in response.json()["results"]] == ["430000000000"]


def test_session_authentication_works_too(client_for):
    response = client_for("county_jianghua").get(DIVISIONS_URL, {"level": "county"})
    assert response.status_code == 200
    assert [d["code"] for d in response.json()["results"]] == ["431129000000"]


def test_writes_are_not_allowed_on_read_endpoints(api_for):
    response = api_for("admin").post(DIVISIONS_URL, {"code": "431129203299", "name": "x"}, format="json")
    assert_error(response, 405, "method_not_allowed")


def test_malformed_json_is_a_structured_400(db):
    response = APIClient().post(TOKEN_URL, data="{not json", content_type="application/json")
    assert_error(response, 400, "parse_error")


def test_unknown_api_url_is_a_structured_404(api_for):
    assert_error(api_for("admin").get("/api/v1/no-such-thing/"), 404, "not_found")

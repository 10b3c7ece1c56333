"""API authentication: the token endpoint, token auth and the error format for refusals."""

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from registry.models import AuditEntry
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


def test_good_credentials_return_a_token(users):
    response = APIClient().post(TOKEN_URL, {"username": "api_hunan", "password": DEMO_PASSWORD}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["token"] == Token.objects.get(user=users["api_hunan"]).key
    assert (body["username"], body["role"]) == ("api_hunan", "api_client")


def test_first_token_is_audited_and_the_same_token_comes_back(users):
    Token.objects.filter(user=users["province_hunan"]).delete()
    client = APIClient()
    first = client.post(TOKEN_URL, {"username": "province_hunan", "password": DEMO_PASSWORD}).json()["token"]
    assert AuditEntry.objects.filter(action="token.create", object_id=str(users["province_hunan"].pk)).count() == 1
    second = client.post(TOKEN_URL, {"username": "province_hunan", "password": DEMO_PASSWORD}).json()["token"]
    assert first == second
    assert AuditEntry.objects.filter(action="token.create", object_id=str(users["province_hunan"].pk)).count() == 1


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
    client.credentials(HTTP_AUTHORIZATION="Token 0000000000000000000000000000000000000000")
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

"""Machine API tokens: issued once, stored hashed, scoped, read-only or PII unless granted."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from demo.loader import JIANGHUA, LIAN, SHAOYANG_COUNTY, SHETIAN
from households.models import Household, Member
from registry.errors import ApplicationError
from registry.models import ApiToken, AuditEntry, User
from registry.roles import Role
from registry.tokens import TOKEN_READ_ONLY, api_token_create, api_token_revoke
from tests.api.helpers import assert_error, assert_nothing_unmasked, token_client
from tests.factories import make_household

HOUSEHOLDS = "/api/v1/households/"
MEMBERS = "/api/v1/members/"


def issue(*args) -> str:
    out, err = StringIO(), StringIO()
    call_command("create_api_token", *args, stdout=out, stderr=err)
    assert "shown only this once" in err.getvalue()
    return out.getvalue().strip()


@pytest.fixture(autouse=True)
def households(db, divisions):
    """One registered household in 栗安村 (江华县) and one in 社田村 (邵阳县)."""
    return {
        "jianghua": make_household(village=divisions[LIAN], status="registered"),
        "shaoyang": make_household(village=divisions[SHETIAN], status="registered"),
    }


@pytest.fixture
def jianghua_key(db):
    return issue("--client", "江华县对接系统", "--division", JIANGHUA)


def test_command_prints_the_token_once_and_stores_only_its_digest(jianghua_key):
    token = ApiToken.objects.get(prefix=jianghua_key.partition(".")[0])
    assert token.key_hash == hashlib.sha256(jianghua_key.encode()).hexdigest()
    assert jianghua_key not in str(list(ApiToken.objects.values()))
    assert (token.kind, token.can_write, token.can_see_pii, token.division_id) == ("machine", False, False, JIANGHUA)
    assert token.user.role == Role.API_CLIENT and not token.user.has_usable_password()
    entry = AuditEntry.objects.get(action="api_token.create", object_id=str(token.pk))
    assert jianghua_key not in str(entry.after) and token.key_hash not in str(entry.after)


def test_second_token_reuses_the_client_account(jianghua_key):
    second = issue("--client", "江华县对接系统", "--division", JIANGHUA, "--name", "备用")
    assert second != jianghua_key
    assert User.objects.filter(username="江华县对接系统").count() == 1
    assert ApiToken.objects.filter(user__username="江华县对接系统").count() == 2


@pytest.mark.parametrize(
    ("code", "division"),
    [("430000", "430000000000"), ("43", "430000000000"), ("4311", "431100000000"), ("431129", JIANGHUA)],
)
def test_command_reads_a_short_code_as_the_division_it_pads_to(db, code, division):
    key = issue("--client", f"对接系统{code}", "--division", code)
    assert ApiToken.objects.get(prefix=key.partition(".")[0]).division_id == division


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--division", "999999999999"], "no division"),
        (["--division", "439999"], r"no division with code '439999' \(read as 439999000000\): give the 12-digit"),
        (["--division", "43112"], "12-digit statistical division code"),
        (["--division", "湖南"], "12-digit statistical division code"),
        (["--division", JIANGHUA, "--expires-days", "0"], "positive"),
    ],
)
def test_command_refuses_bad_input_and_writes_nothing(db, args, message):
    with pytest.raises(CommandError, match=message):
        issue("--client", "x", *args)
    assert not ApiToken.objects.exists()


def test_command_refuses_a_division_outside_the_existing_client(jianghua_key):
    with pytest.raises(CommandError, match="不在"):
        issue("--client", "江华县对接系统", "--division", SHAOYANG_COUNTY)
    assert ApiToken.objects.count() == 1


def test_jianghua_token_sees_only_jianghua(jianghua_key, households):
    client = token_client(jianghua_key)
    assert_error(client.get(f"{HOUSEHOLDS}{households['shaoyang'].pk}/"), 404, "not_found")
    rows = client.get(HOUSEHOLDS, {"page_size": 500}).json()["results"]
    assert rows and {r["village"][:6] for r in rows} == {JIANGHUA[:6]}
    members = client.get(MEMBERS, {"page_size": 500}).json()["results"]
    assert members and all(
        m["id"] in set(Member.objects.filter(county_code="431129").values_list("pk", flat=True)) for m in members
    )


def test_token_division_narrows_a_wider_user(users, divisions):
    _token, key = api_token_create(actor=None, user=users["province_hunan"], name="村级", division=divisions[LIAN])
    rows = token_client(key).get(HOUSEHOLDS, {"page_size": 500}).json()["results"]
    assert rows and {r["village"] for r in rows} == {LIAN}


def test_token_division_must_lie_inside_its_user(users, divisions):
    with pytest.raises(ApplicationError) as refused:
        api_token_create(actor=None, user=users["county_jianghua"], name="x", division=divisions[SHAOYANG_COUNTY])
    assert "division" in refused.value.fields
    assert not ApiToken.objects.filter(name="x").exists()


def test_read_only_token_cannot_write_even_for_a_writing_role(users, divisions, households):
    _token, key = api_token_create(actor=None, user=users["county_jianghua"], name="只读", division=divisions[JIANGHUA])
    household = households["jianghua"]
    before = Household.objects.get(pk=household.pk).version
    response = token_client(key).patch(f"{HOUSEHOLDS}{household.pk}/", {"version": before, "phone": ""}, format="json")
    error = assert_error(response, 403, "token_read_only")
    assert error["message"] == str(TOKEN_READ_ONLY)
    assert Household.objects.get(pk=household.pk).version == before


def test_write_token_writes_within_its_role(households):
    key = issue("--client", "江华县业务系统", "--division", JIANGHUA, "--write", "--role", "county")
    household = households["jianghua"]
    version = household.version
    response = token_client(key).patch(
        f"{HOUSEHOLDS}{household.pk}/", {"version": version, "housing_renovated": True}, format="json"
    )
    assert response.status_code == 200, response.content
    assert Household.objects.get(pk=household.pk).version == version + 1


def test_identifiers_are_masked_unless_the_token_has_the_pii_scope(jianghua_key):
    masked = token_client(jianghua_key).get(MEMBERS, {"page_size": 500})
    assert_nothing_unmasked(masked)
    key = issue("--client", "江华县民政系统", "--division", JIANGHUA, "--pii")
    rows = token_client(key).get(MEMBERS, {"page_size": 500}).json()["results"]
    numbers = {r["id_number"] for r in rows}
    assert numbers and numbers <= set(Member.objects.filter(county_code="431129").values_list("id_number", flat=True))


def test_revoked_expired_or_deactivated_tokens_are_refused(jianghua_key, users):
    token = ApiToken.objects.get(prefix=jianghua_key.partition(".")[0])
    client = token_client(jianghua_key)
    assert client.get(HOUSEHOLDS).status_code == 200
    api_token_revoke(actor=None, token=token)
    assert_error(client.get(HOUSEHOLDS), 401, "authentication_failed")
    with pytest.raises(ApplicationError):
        api_token_revoke(actor=None, token=token)

    _t, expired = api_token_create(
        actor=None, user=users["api_hunan"], name="old", expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert_error(token_client(expired).get(HOUSEHOLDS), 401)

    _t, key = api_token_create(actor=None, user=users["api_hunan"], name="new")
    users["api_hunan"].is_active = False
    users["api_hunan"].save(update_fields=["is_active"])
    assert_error(token_client(key).get(HOUSEHOLDS), 401)


def test_revoke_command(jianghua_key):
    out = StringIO()
    call_command("revoke_api_token", jianghua_key.partition(".")[0], stdout=out)
    assert_error(token_client(jianghua_key).get(HOUSEHOLDS), 401)
    with pytest.raises(CommandError):
        call_command("revoke_api_token", "nope")


def test_last_use_is_recorded(jianghua_key):
    token = ApiToken.objects.get(prefix=jianghua_key.partition(".")[0])
    assert token.last_used_at is None
    token_client(jianghua_key).get(HOUSEHOLDS, REMOTE_ADDR="10.1.2.3")
    token.refresh_from_db()
    assert token.last_used_at is not None and token.last_used_from == "10.1.2.3"


def test_only_an_administrator_grants_the_pii_scope(users):
    with pytest.raises(ApplicationError) as refused:
        api_token_create(actor=users["county_jianghua"], user=users["county_jianghua"], name="x", can_see_pii=True)
    assert refused.value.status == 403
    api_token_create(actor=users["admin"], user=users["county_jianghua"], name="x", can_see_pii=True)


def test_a_person_cannot_issue_tokens_for_someone_else(users):
    with pytest.raises(ApplicationError):
        api_token_create(actor=users["county_jianghua"], user=users["county_shaoyang"], name="x")


@override_settings(REGISTRY_API_THROTTLE="3/minute")
def test_each_token_is_throttled_on_its_own(jianghua_key, users):
    cache.clear()
    try:
        client = token_client(jianghua_key)
        assert [client.get(HOUSEHOLDS).status_code for _ in range(3)] == [200, 200, 200]
        error = assert_error(client.get(HOUSEHOLDS), 429, "throttled")
        assert error["message"]
        _t, other = api_token_create(actor=None, user=users["api_hunan"], name="其他")
        assert token_client(other).get(HOUSEHOLDS).status_code == 200
    finally:
        cache.clear()


def test_admin_issues_a_token_once_and_revokes_it(client_for, users, divisions):
    client = client_for("admin")
    response = client.post(
        "/admin/registry/apitoken/add/",
        {"name": "省平台", "user": users["api_hunan"].pk, "division": JIANGHUA, "expires_at_0": "", "expires_at_1": ""},
        follow=True,
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(name="省平台")
    shown = [str(m) for m in response.context["messages"]]
    key = next(m.rsplit("：", 1)[1] for m in shown if token.prefix in m)
    assert token_client(key).get(HOUSEHOLDS).status_code == 200
    client.post("/admin/registry/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}, follow=True)
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == users["admin"]
    assert_error(token_client(key).get(HOUSEHOLDS), 401)


def test_county_official_cannot_reach_the_token_admin(client_for):
    assert client_for("county_jianghua").get("/admin/registry/apitoken/").status_code == 403

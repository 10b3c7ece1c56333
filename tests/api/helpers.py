"""Assertions shared by the API tests."""

import functools


def assert_error(response, status: int, code: str | None = None) -> dict:
    """Assert ``response`` is ``status`` in the one error format and return its ``error``."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    if code is not None:
        assert error["code"] == code
    return error


def assert_nothing_unmasked(response) -> None:
    """Assert no full ID number or phone number of anyone in the registry is in ``response``."""
    from households.models import Household, Member
    from villages.models import Helper

    content = response.content.decode()
    secrets = {*Member.objects.values_list("id_number", flat=True), *Helper.objects.values_list("id_number", flat=True)}
    secrets |= set(Household.objects.exclude(phone="").values_list("phone", flat=True))
    secrets |= set(Helper.objects.values_list("phone", flat=True))
    leaked = [secret for secret in secrets if secret and secret in content]
    assert not leaked, f"unmasked identifiers in the response: {leaked}"


def body(response, status: int = 200):
    """Return the JSON of ``response`` after checking its status and that no identifier leaks."""
    assert response.status_code == status, response.content
    assert_nothing_unmasked(response)
    return response.json()


@functools.cache
def api_schema() -> dict:
    """Return the OpenAPI schema served at /api/schema/ (it does not change within a run)."""
    from django.test import Client

    return Client().get("/api/schema/", {"format": "json"}).json()


def assert_documented(response, path: str, method: str = "get") -> None:
    """Assert ``response`` is what the schema documents for ``method path``: a documented
    status, a documented content type and a body valid against its schema (what schemathesis
    checks, for one request)."""
    from openapi_schema_validator import OAS30Validator

    schema = api_schema()
    responses = schema["paths"][path][method]["responses"]
    assert str(response.status_code) in responses, f"{response.status_code} is not documented for {method} {path}"
    content = responses[str(response.status_code)]["content"]
    media_type = response["Content-Type"].split(";")[0]
    assert media_type in content, f"{media_type} is not documented for {method} {path}"
    body_schema = _nullable_references({**content[media_type]["schema"], "components": schema["components"]})
    errors = [f"{e.json_path}: {e.message}" for e in OAS30Validator(body_schema).iter_errors(response.json())]
    assert not errors, errors


def _nullable_references(node):
    """Return ``node`` with ``nullable`` also applying to a schema without a ``type`` (drf-spectacular's
    ``allOf: [$ref], nullable: true``), as schemathesis and generated clients read it."""
    if isinstance(node, list):
        return [_nullable_references(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable_references(value) for key, value in node.items()}
    if node.get("nullable") is True and "type" not in node:
        return {"anyOf": [{key: value for key, value in node.items() if key != "nullable"}, {"enum": [None]}]}
    return node


def token_client(key: str):
    """Return an API client that sends the token ``key``."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client

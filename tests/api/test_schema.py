"""The OpenAPI schema at /api/schema/ and the offline Swagger UI at /api/docs/."""

import json
import re
from html.parser import HTMLParser

import pytest
from django.contrib.staticfiles import finders
from django.urls import URLPattern, URLResolver, get_resolver
from openapi_spec_validator import validate

API_PREFIX = "/api/v1/"


@pytest.fixture
def schema(client, db) -> dict:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    return response.json()


def _walk(patterns, prefix: str = ""):
    for pattern in patterns:
        path = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, path)
        elif isinstance(pattern, URLPattern):
            yield path


def openapi_path(django_path: str) -> str:
    """Return the OpenAPI template of a Django URL pattern (``<int:pk>`` or ``(?P<pk>…)`` → ``{pk}``)."""
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", django_path)
    path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)
    return "/" + path.replace("^", "").replace("$", "")


def api_paths() -> set[str]:
    """Return every URL the project routes under /api/v1/."""
    return {p for p in map(openapi_path, _walk(get_resolver().url_patterns)) if p.startswith(API_PREFIX)}


def unnamed(paths) -> set[str]:
    """Return ``paths`` with parameter names dropped (the schema calls a ``pk`` ``id``)."""
    return {re.sub(r"\{\w+\}", "{}", p) for p in paths}


def test_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate(schema)


def test_yaml_schema_is_served_too(client, db):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3.")


def test_every_api_path_is_in_the_schema(schema):
    routed = api_paths()
    assert {
        "/api/v1/auth/token/",
        "/api/v1/divisions/",
        "/api/v1/divisions/{code}/",
        "/api/v1/counties/",
        "/api/v1/counties/{code}/",
        "/api/v1/villages/",
        "/api/v1/villages/{code}/",
        "/api/v1/work-teams/",
        "/api/v1/work-teams/{pk}/",
        "/api/v1/households/",
        "/api/v1/households/{pk}/",
        "/api/v1/households/{pk}/transitions/",
        "/api/v1/households/{pk}/members/",
        "/api/v1/households/{pk}/objections/",
        "/api/v1/households/{pk}/helper/",
        "/api/v1/members/",
        "/api/v1/members/{pk}/",
        "/api/v1/members/{pk}/leave/",
        "/api/v1/objections/{pk}/",
        "/api/v1/objections/{pk}/resolve/",
        "/api/v1/assessments/",
        "/api/v1/assessments/{pk}/",
        "/api/v1/help-measures/",
        "/api/v1/helper-visits/",
        "/api/v1/exit-cases/",
        "/api/v1/exit-cases/{pk}/",
        "/api/v1/exit-cases/{pk}/transitions/",
        "/api/v1/exit-cases/{pk}/objections/",
        "/api/v1/exit-cases/{pk}/certificate.pdf",
        "/api/v1/exit-cases/certify-batch/",
        "/api/v1/exit-objections/{pk}/",
        "/api/v1/exit-objections/{pk}/resolve/",
        "/api/v1/village-exit-cases/",
        "/api/v1/village-exit-cases/{pk}/",
        "/api/v1/village-exit-cases/{pk}/transitions/",
        "/api/v1/village-exit-cases/{pk}/resubmit/",
        "/api/v1/county-exit-cases/",
        "/api/v1/county-exit-cases/{pk}/",
        "/api/v1/county-exit-cases/{pk}/transitions/",
        "/api/v1/county-exit-cases/{pk}/resubmit/",
        "/api/v1/county-exit-cases/{pk}/sample/",
        "/api/v1/county-exit-cases/{pk}/household-visits/",
        "/api/v1/county-exit-cases/{pk}/village-visits/",
        "/api/v1/county-exit-cases/{pk}/evaluate/",
        "/api/v1/plans/",
        "/api/v1/plans/{pk}/",
        "/api/v1/monitoring-flags/",
        "/api/v1/monitoring-flags/{pk}/",
        "/api/v1/monitoring-flags/{pk}/transitions/",
        "/api/v1/monitoring-flags/{pk}/return-to-poverty/",
    } <= routed
    documented = unnamed(schema["paths"])
    assert unnamed(routed) <= documented, unnamed(routed) - documented
    assert all(p.startswith(API_PREFIX) for p in schema["paths"])


def test_schema_documents_filters_errors_and_auth(schema):
    list_op = schema["paths"]["/api/v1/divisions/"]["get"]
    params = {p["name"] for p in list_op["parameters"]}
    assert {"level", "parent", "within", "q", "poverty_village", "cursor", "page_size"} <= params
    error_ref = "#/components/schemas/Error"
    for status in ("400", "401", "403", "404"):
        content = list_op["responses"][status]["content"]["application/json"]["schema"]
        assert content == {"$ref": error_ref}
    assert set(schema["components"]["schemas"]["Error"]["properties"]) == {"error"}
    detail = schema["paths"]["/api/v1/divisions/{code}/"]["get"]["responses"]["200"]
    assert "incidence" in json.dumps(schema["components"]["schemas"]["DivisionDetail"])
    assert detail["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/DivisionDetail"}
    assert {"tokenAuth": []} in list_op["security"]
    assert schema["components"]["securitySchemes"]["tokenAuth"]["in"] == "header"
    assert schema["paths"]["/api/v1/auth/token/"]["post"].get("security", []) in ([], [{}])


@pytest.mark.parametrize(
    ("path", "component", "status_field"),
    [("/api/v1/counties/", "County", "county_status"), ("/api/v1/villages/", "Village", "village_status")],
)
def test_schema_documents_counties_and_villages(schema, path, component, status_field):
    list_op = schema["paths"][path]["get"]
    params = {p["name"]: p for p in list_op["parameters"]}
    assert {"q", "within", "poverty", "deep_poverty", "exit_status", "exit_year", "cursor", "page_size"} <= set(params)
    assert all(params[name].get("description") for name in ("q", "within", "poverty", "exit_status"))
    for status in ("400", "401", "403"):
        content = list_op["responses"][status]["content"]["application/json"]
        assert content["schema"] == {"$ref": "#/components/schemas/Error"} and content["examples"]
    assert list_op["responses"]["200"]["content"]["application/json"]["examples"]
    detail = schema["paths"][f"{path}{{code}}/"]["get"]
    assert detail["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": f"#/components/schemas/{component}"
    }
    assert detail["responses"]["404"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    properties = schema["components"]["schemas"][component]["properties"]
    assert {"code", "name", "parent", "level", status_field, "statistics", "incidence"} <= set(properties)
    tallies = schema["components"]["schemas"]["AreaStatistics"]["properties"]
    assert set(tallies) == {"registered", "poor", "exited", "returned", "removed", "natural_decrease"}


class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)


def test_docs_render_from_local_static_files(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    parser = _Assets()
    parser.feed(html)
    assert parser.urls, "the page loads Swagger UI"
    # Its start-up script is a URL of its own, so that the page needs no inline script.
    script = next(url for url in parser.urls if url.startswith("/api/docs/?"))
    for url in parser.urls:
        assert not re.match(r"^(https?:)?//", url), url
        if url != script:
            assert url.startswith("/static/"), url
            assert finders.find(url.removeprefix("/static/")), f"{url} is not a local static file"
    assert not re.search(r"https?://", html), "no URL of any other host on the page"
    assert "<script>" not in html and "<style>" not in html
    assert "/api/schema/" in docs_script(client)


def docs_script(client) -> str:
    """Return the script that starts Swagger UI on the docs page."""
    response = client.get("/api/docs/", {"script": ""})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/javascript")
    return response.content.decode()


def test_docs_turn_off_the_online_validator(client, db):
    assert re.search(r'"validatorUrl":\s*null', docs_script(client))

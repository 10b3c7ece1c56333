"""Bulk export: every household in scope with its members, streamed, as the list shows it."""

from __future__ import annotations

import csv
import gzip
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from demo.loader import JIANGHUA, LIAN, SHETIAN
from households.api import export
from households.models import Member
from registry.feed import Cursor
from registry.tokens import api_token_create
from tests.api.helpers import assert_error, assert_nothing_unmasked, token_client
from tests.factories import make_household

NDJSON = "/api/v1/export/households.ndjson"
CSV = "/api/v1/export/households.csv"
LIST = "/api/v1/households/"


@pytest.fixture
def households(divisions):
    lian = [make_household(village=divisions[LIAN], status="registered", persons=n) for n in (1, 2, 3)]
    applied = make_household(village=divisions[LIAN], status="applied", persons=2)
    shetian = [make_household(village=divisions[SHETIAN], status="registered", persons=2) for _ in range(2)]
    return {"jianghua": [*lian, applied], "shaoyang": shetian}


def content(response) -> bytes:
    assert response.status_code == 200, response.content if not response.streaming else ""
    data = b"".join(response.streaming_content)
    return data


def ndjson(response) -> list[dict]:
    return [json.loads(line) for line in content(response).decode().splitlines()]


def listed(client) -> list[dict]:
    rows, url = [], LIST
    while url:
        body = client.get(url, {"page_size": 500} if url == LIST else None).json()
        rows += body["results"]
        url = body["next"]
    return rows


def test_ndjson_is_the_list_representation_of_every_household_in_scope(api_for, households):
    client = api_for("county_jianghua")
    response = client.get(NDJSON)
    assert response["Content-Type"].startswith("application/x-ndjson")
    assert response["Content-Disposition"].startswith("attachment;")
    rows = ndjson(response)
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    assert rows == sorted(listed(client), key=lambda r: r["id"])
    assert {r["id"] for r in rows} >= {h.pk for h in households["jianghua"]}
    assert not {r["id"] for r in rows} & {h.pk for h in households["shaoyang"]}
    assert all(r["members"] for r in rows)


def test_csv_has_one_line_per_member_with_household_columns_first(api_for, households):
    response = api_for("county_jianghua").get(CSV)
    assert response["Content-Type"].startswith("text/csv")
    reader = csv.DictReader(io.StringIO(content(response).decode()))
    assert reader.fieldnames == [*export.household_columns(), *export.member_columns()]
    lines = list(reader)
    expected = Member.objects.filter(household__in=households["jianghua"]).values_list("pk", flat=True)
    assert {int(line["member_id"]) for line in lines} >= set(expected)
    by_member = {int(line["member_id"]): line for line in lines}
    household = households["jianghua"][2]
    member = household.members.order_by("id").first()
    line = by_member[member.pk]
    assert (line["id"], line["registry_number"], line["member_name"]) == (
        str(household.pk),
        household.registry_number,
        member.name,
    )
    assert line["member_id_number"] != member.id_number and "*" in line["member_id_number"]


def test_identifiers_masked_unless_the_token_has_the_pii_scope(api_for, users, divisions, households):
    masked = api_for("county_jianghua").get(NDJSON)
    body = content(masked)
    assert_nothing_unmasked(type("R", (), {"content": body})())
    _t, key = api_token_create(
        actor=None, user=users["api_hunan"], name="pii", division=divisions[JIANGHUA], can_see_pii=True
    )
    rows = ndjson(token_client(key).get(NDJSON))
    numbers = {m["id_number"] for r in rows for m in r["members"]}
    assert {m.id_number for h in households["jianghua"] for m in h.members.all()} <= numbers


def test_gzip_when_accepted(api_for, households):
    client = api_for("county_jianghua")
    plain = content(client.get(NDJSON))
    response = client.get(NDJSON, HTTP_ACCEPT_ENCODING="br, gzip;q=0.8")
    assert response["Content-Encoding"] == "gzip"
    assert gzip.decompress(content(response)) == plain
    refused = client.get(NDJSON, HTTP_ACCEPT_ENCODING="gzip;q=0")
    assert not refused.has_header("Content-Encoding")
    assert content(refused) == plain


def test_filters_narrow_the_export_and_bad_ones_are_a_json_400(api_for, households):
    client = api_for("county_jianghua")
    rows = ndjson(client.get(NDJSON, {"status": "applied"}))
    assert {r["status"] for r in rows} == {"applied"} and households["jianghua"][3].pk in {r["id"] for r in rows}
    response = client.get(NDJSON, {"status": "bogus"}, HTTP_ACCEPT="application/x-ndjson")
    assert_error(response, 400, "invalid")


def test_a_filter_that_can_match_nothing_is_an_empty_export(api_for, households):
    client = api_for("county_jianghua")
    for path in (NDJSON, CSV):
        response = client.get(path, {"within": "999999999999"})
        lines = content(response).decode().splitlines()
        assert lines == ([] if path == NDJSON else [",".join([*export.household_columns(), *export.member_columns()])])


def test_the_snapshot_cursor_is_in_a_header(api_for, households):
    response = api_for("county_jianghua").get(NDJSON)
    cursor = Cursor.parse(response["X-Changes-Cursor"])
    content(response)
    assert cursor.position >= 0


def test_csv_memory_stays_bounded_households_are_read_in_chunks(api_for, households, monkeypatch):
    monkeypatch.setattr(export, "CHUNK_SIZE", 2)
    client = api_for("county_jianghua")
    with CaptureQueriesContext(connection) as two_per_chunk:
        lines = content(client.get(CSV)).decode().splitlines()
    monkeypatch.setattr(export, "CHUNK_SIZE", 1000)
    with CaptureQueriesContext(connection) as one_chunk:
        assert content(client.get(CSV)).decode().splitlines() == lines
    chunks = -(-len({line.split(",", 1)[0] for line in lines[1:]}) // 2)
    # Each chunk costs the same few queries (households, then their members in one query).
    per_chunk = (len(two_per_chunk) - len(one_chunk)) / (chunks - 1)
    assert 0 < per_chunk <= 3 and per_chunk == int(per_chunk)


def test_another_county_gets_nothing_of_ours(api_for, households):
    rows = ndjson(api_for("county_shaoyang").get(NDJSON))
    assert {r["id"] for r in rows} >= {h.pk for h in households["shaoyang"]}
    assert not {r["id"] for r in rows} & {h.pk for h in households["jianghua"]}


def test_unauthenticated_is_401(db):
    from rest_framework.test import APIClient

    assert_error(APIClient().get(NDJSON), 401)
    assert_error(APIClient().get(CSV), 401)


def open_cursors() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors")
        return cursor.fetchone()[0]


def test_a_client_that_goes_away_mid_stream_ends_the_snapshot(api_for, households, monkeypatch):
    monkeypatch.setattr(export, "FETCH_ROWS", 1)
    monkeypatch.setattr(export, "FLUSH_BYTES", 1)
    depth = len(connection.savepoint_ids)
    response = api_for("county_jianghua").get(NDJSON)
    stream = iter(response.streaming_content)
    next(stream)
    assert len(connection.savepoint_ids) == depth + 1  # the export's snapshot is open
    assert open_cursors() == 1  # and its server-side cursor
    # The server closes the response when the client hangs up; the test client's wrapper
    # does so without closing the test's database connection.
    response._iterator.close()
    assert len(connection.savepoint_ids) == depth
    assert open_cursors() == 0
    # The connection is still usable afterwards.
    assert api_for("county_jianghua").get(LIST).status_code == 200


def test_the_schema_documents_both_formats_and_the_cursor_header(api_for):
    schema = api_for("admin").get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    ok = schema["paths"][NDJSON]["get"]["responses"]["200"]
    assert set(ok["content"]) == {"application/x-ndjson", "text/csv"}
    assert "X-Changes-Cursor" in ok["headers"]
    feed = schema["paths"]["/api/v1/changes/"]["get"]["responses"]
    assert {"200", "400", "401", "410", "429"} <= set(feed)

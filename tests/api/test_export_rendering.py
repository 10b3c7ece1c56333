"""The NDJSON export is rendered by PostgreSQL: each line must be what the serializer gives.

The export and the household list are compared household by household, on households
chosen to reach every branch of the SQL: each status, members who left, no members, other
causes (one not among the causes), decimals and nulls, Chinese text with quotes, newlines
and control characters, short and empty identifiers, masked and unmasked, both languages.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from demo.loader import JIANGHUA, LIAN
from households.api import ndjson
from households.api.serializers import HouseholdSerializer
from households.models import Household, Member
from registry.tokens import api_token_create
from tests.api.helpers import token_client
from tests.factories import make_household
from villages.models import Helper, VillagerGroup

NDJSON = "/api/v1/export/households.ndjson"
LIST = "/api/v1/households/"
AWKWARD = 'He said "好\\不好"\n第二行\t制表\r\x01\x1f end'


@pytest.fixture
def varied(divisions):
    """Households in every state, with every kind of value the SQL renders differently."""
    lian = divisions[LIAN]
    households = {
        status: make_household(village=lian, status=status, persons=3)
        for status in ("applied", "registered", "exited", "returned")
    }
    group = VillagerGroup.objects.create(village=lian, number=7, name='七组 "下屋"')
    helper = Helper.objects.create(
        division=lian, county_code=lian.code[:6], name="王\n帮扶", unit='县"民政局"\\', title="", phone="13812345678"
    )
    Household.objects.filter(pk=households["registered"].pk).update(
        group=group,
        helper=helper,
        other_causes=["illness", "bogus_cause"],
        housing_area=Decimal("0.00"),
        road_distance_km=None,
        cultivated_land_mu=Decimal("12.50"),
        identified_year=None,
        phone="12345",
        status_reason=AWKWARD,
        created_at=datetime(2016, 2, 29, 1, 2, 3, 120000, tzinfo=UTC),
        updated_at=datetime(2020, 1, 1, 0, 0, 0, tzinfo=UTC),
    )
    Household.objects.filter(pk=households["exited"].pk).update(
        other_causes=["lack_capital", "education"],
        housing_area=None,
        housing_structure="",
        housing_grade="",
        phone="",
        notice_ends_on=date(2019, 12, 31),
        status_date=date(2019, 10, 1),
    )
    members = list(households["registered"].members.order_by("id"))
    Member.objects.filter(pk=members[1].pk).update(
        status="moved_out",
        current=False,
        status_date=date(2018, 5, 4),
        name='"迁出"\n成员',
        disabled=True,
        disability_certificate="43112919800101001X11",
        education="",
        labour_ability="",
        migrant_months=0,
        updated_at=datetime(2018, 5, 4, 9, 30, 0, 999999, tzinfo=UTC),
    )
    Member.objects.filter(pk=members[2].pk).update(status="deceased", current=False, disability_certificate="1234567")
    # A household whose members have all gone, and one with no member rows at all.
    Member.objects.filter(household=households["returned"]).update(status="deceased", current=False)
    empty = make_household(village=lian, status="applied", persons=1)
    Member.objects.filter(household=empty).delete()
    households["empty"] = empty
    return households


def listed(client, **headers) -> dict[int, dict]:
    rows, url = [], LIST
    while url:
        body = client.get(url, {"page_size": 500} if url == LIST else None, **headers).json()
        rows += body["results"]
        url = body["next"]
    return {row["id"]: row for row in rows}


def exported(client, **headers) -> dict[int, bytes]:
    response = client.get(NDJSON, **headers)
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).split(b"\n")
    assert lines[-1] == b""  # every line ends with a newline, the last one too
    return {json.loads(line)["id"]: line for line in lines[:-1]}


def pii_client(users, divisions):
    _token, key = api_token_create(
        actor=None, user=users["api_hunan"], name="pii", division=divisions[JIANGHUA], can_see_pii=True
    )
    return token_client(key)


@pytest.mark.parametrize("unmasked", [False, True], ids=["masked", "unmasked"])
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_each_line_is_the_serializer_output(api_for, users, divisions, varied, unmasked, language):
    client = pii_client(users, divisions) if unmasked else api_for("county_jianghua")
    headers = {"HTTP_ACCEPT_LANGUAGE": language}
    expected = listed(client, **headers)
    lines = exported(client, **headers)
    assert set(lines) == set(expected)
    assert {h.pk for h in varied.values()} <= set(lines)
    for pk, line in lines.items():
        assert json.loads(line) == expected[pk], pk
        # Byte for byte what the Python renderer made of it, key order included.
        assert line.decode() == json.dumps(expected[pk], ensure_ascii=False, separators=(",", ":")), pk

    registered = json.loads(lines[varied["registered"].pk])
    assert registered["status_reason"] == AWKWARD
    assert registered["other_causes_display"][1] == "bogus_cause"
    assert registered["housing_area"] == "0.00" and registered["road_distance_km"] is None
    assert registered["created_at"] == "2016-02-29T09:02:03.120000+08:00"
    assert registered["helper"]["phone"] == ("13812345678" if unmasked else "1381***5678")
    assert registered["phone"] == ("12345" if unmasked else "*****")
    left = next(m for m in registered["members"] if m["status"] == "moved_out")
    assert left["disability_certificate"] == ("43112919800101001X11" if unmasked else "4311************1X11")
    assert [m["status"] for m in registered["members"]] == sorted(m["status"] for m in registered["members"])
    assert registered["member_count"] == 1
    returned = json.loads(lines[varied["returned"].pk])
    assert returned["head_name"] is None and returned["member_count"] == 0 and len(returned["members"]) == 3
    assert json.loads(lines[varied["empty"].pk])["members"] == []


def test_the_query_count_does_not_grow_with_the_households(api_for, divisions, monkeypatch):
    from households.api import export

    monkeypatch.setattr(export, "FETCH_ROWS", 2)  # several fetches from the one cursor
    client = api_for("county_jianghua")

    def queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            count = len(exported(client))
        return count, len(captured)

    make_household(village=divisions[LIAN], status="registered", persons=2)
    few, few_queries = queries()
    for _ in range(6):
        make_household(village=divisions[LIAN], status="applied", persons=3)
    many, many_queries = queries()
    assert many == few + 6
    assert many_queries == few_queries


def test_a_serializer_field_without_its_sql_is_refused(monkeypatch):
    monkeypatch.setattr(ndjson, "MEMBER_FIELDS", ndjson.MEMBER_FIELDS[:-1])
    with pytest.raises(ndjson.SerializerMismatch):
        ndjson.household_json_sql("SELECT 1", [], unmasked=False)


def test_the_fields_are_the_serializers():
    assert [name for name, _kind, _sql in ndjson.HOUSEHOLD_FIELDS] == list(HouseholdSerializer().fields)

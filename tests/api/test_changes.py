"""The change feed: every committed change once, in commit order, scoped, resumable.

These tests need real commits (the feed numbers transactions when they commit), so they
run on ``transactional_db`` and load the demo data themselves.
"""

from __future__ import annotations

import io
import json
import random
import threading
import time

import psycopg2
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from demo.loader import JIANGHUA, LIAN, SHETIAN
from households.models import Household, Member
from households.services import household_update
from registry.models import Change, ChangeCommit
from tests.api.helpers import assert_error, assert_nothing_unmasked, token_client
from tests.factories import make_applied

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/changes/"


@pytest.fixture
def token_for(demo):
    from registry.models import ApiToken, User
    from registry.tokens import api_token_create
    from villages.models import Division

    def make(username: str, division: str | None = None) -> APIClient:
        user = User.objects.get(username=username)
        token, key = api_token_create(
            actor=None,
            user=user,
            name="feed",
            division=Division.objects.get(pk=division) if division else None,
        )
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=token.created_at)
        return token_client(key)

    return make


def read_all(client, after: str = "", **params) -> tuple[list[dict], str]:
    """Follow the feed from ``after`` to its end; return the entries and the last cursor."""
    entries = []
    while True:
        response = client.get(URL, {"after": after, **params})
        assert response.status_code == 200, response.content
        assert_nothing_unmasked(response)
        body = response.json()
        entries += body["results"]
        after = body["next_cursor"]
        if not body["has_more"]:
            return entries, after


def lian(code: str = LIAN):
    """Return 栗安村 (or the village ``code``)."""
    from villages.models import Division

    return Division.objects.get(pk=code)


def test_a_registration_appears_with_its_members_and_current_state(token_for):
    client = token_for("county_jianghua")
    _before, cursor = read_all(client)
    household = make_applied(village=lian(), persons=2)
    entries, cursor2 = read_all(client, cursor)
    kinds = [(e["type"], e["op"]) for e in entries]
    assert kinds == [("household", "created"), ("member", "created"), ("member", "created")] or (
        kinds[0] == ("household", "created") and kinds.count(("member", "created")) == 2
    )
    first = entries[0]
    assert first["id"] == household.pk and first["tombstone"] is None
    assert first["object"]["registry_number"] == household.registry_number
    assert len(first["object"]["members"]) == 2
    assert {e["id"] for e in entries if e["type"] == "member"} == set(household.members.values_list("pk", flat=True))
    # Nothing new: the same cursor comes back and no entry repeats.
    again, cursor3 = read_all(client, cursor2)
    assert again == [] and cursor3 == cursor2


def test_cursors_increase_and_an_update_is_one_more_entry(token_for):
    client = token_for("county_jianghua")
    _seen, cursor = read_all(client)
    household = make_applied(village=lian())
    household_update(actor=None, household=household, changes={"housing_renovated": True})
    entries, _ = read_all(client, cursor)
    cursors = [tuple(int(p) for p in e["cursor"].split(".")) for e in entries]
    assert cursors == sorted(cursors) and len(set(cursors)) == len(cursors)
    updates = [e for e in entries if e["type"] == "household" and e["op"] == "updated"]
    assert updates and updates[-1]["object"]["housing_renovated"] is True


def test_another_county_sees_none_of_it(token_for):
    jianghua, shaoyang = token_for("county_jianghua"), token_for("county_shaoyang")
    _s, j_cursor = read_all(jianghua)
    _s, s_cursor = read_all(shaoyang)
    mine = make_applied(village=lian())
    theirs = make_applied(village=lian(SHETIAN))
    j_entries, _ = read_all(jianghua, j_cursor)
    s_entries, _ = read_all(shaoyang, s_cursor)
    assert {e["id"] for e in j_entries if e["type"] == "household"} == {mine.pk}
    assert {e["id"] for e in s_entries if e["type"] == "household"} == {theirs.pk}
    member_ids = set(theirs.members.values_list("pk", flat=True))
    assert not member_ids & {e["id"] for e in j_entries if e["type"] == "member"}


def test_a_token_bound_to_a_village_sees_only_that_village(token_for):
    from villages.models import Division

    client = token_for("province_hunan", division=LIAN)
    _s, cursor = read_all(client)
    inside = make_applied(village=lian())
    make_applied(village=Division.objects.get(pk=SHETIAN))
    entries, _ = read_all(client, cursor)
    assert {e["id"] for e in entries if e["type"] == "household"} == {inside.pk}


def test_moved_out_of_scope_and_deleted_objects_come_as_tombstones(token_for):
    client = token_for("county_jianghua")
    household = make_applied(village=lian())
    member = household.members.order_by("id").last()
    _s, cursor = read_all(client)
    with connection.cursor() as cursor_sql:
        # Data corrections made behind the application's back are in the feed too.
        cursor_sql.execute("DELETE FROM households_member WHERE id = %s", [member.pk])
        cursor_sql.execute(
            "UPDATE households_household SET village_id = %s, county_code = %s WHERE id = %s",
            [SHETIAN, SHETIAN[:6], household.pk],
        )
        cursor_sql.execute(
            "UPDATE households_member SET county_code = %s WHERE household_id = %s", [SHETIAN[:6], household.pk]
        )
    entries, _ = read_all(client, cursor)
    by_type = {(e["type"], e["id"]): e for e in entries}
    gone = by_type[("member", member.pk)]
    assert (gone["op"], gone["object"], gone["tombstone"]) == ("deleted", None, "deleted")
    moved = by_type[("household", household.pk)]
    assert (moved["op"], moved["object"], moved["tombstone"]) == ("updated", None, "out_of_scope")
    # Its new county sees it arrive.
    shaoyang_entries, _ = read_all(token_for("county_shaoyang"))
    assert any(e["type"] == "household" and e["id"] == household.pk and e["object"] for e in shaoyang_entries)


def test_type_filter_and_page_size(token_for):
    client = token_for("county_jianghua")
    _s, cursor = read_all(client)
    household = make_applied(village=lian(), persons=3)
    everything, _ = read_all(client, cursor)
    only_households, _ = read_all(client, cursor, type="household")
    assert {(e["type"], e["id"]) for e in only_households} == {("household", household.pk)}
    assert only_households == [e for e in everything if e["type"] == "household"]
    first = client.get(URL, {"after": cursor, "page_size": 1}).json()
    assert len(first["results"]) == 1 and first["has_more"] is True
    assert first["next_cursor"] == first["results"][0]["cursor"]
    rest, _ = read_all(client, first["next_cursor"], page_size=2)
    assert first["results"] + rest == everything


def test_a_member_change_also_brings_its_household_up_to_date(token_for):
    from households.services import member_update

    client = token_for("county_jianghua")
    household = make_applied(village=lian(), persons=2)
    member = household.members.order_by("id").last()
    _s, cursor = read_all(client)
    member_update(actor=None, member=member, changes={"name": "改名"})
    entries, _ = read_all(client, cursor)
    assert (entries[0]["type"], entries[0]["id"]) == ("member", member.pk)
    assert {(e["type"], e["id"]) for e in entries[1:]} == {("household", household.pk)}
    nested = {m["id"]: m for m in entries[-1]["object"]["members"]}
    assert nested[member.pk]["name"] == "改名" == entries[0]["object"]["name"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"after": "abc"}, "after"),
        ({"after": "1.2.3"}, "after"),
        ({"after": "-1"}, "after"),
        ({"after": "9" * 40}, "after"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "1001"}, "page_size"),
        ({"page_size": "x"}, "page_size"),
        ({"type": "helper"}, "type"),
    ],
)
def test_bad_input_is_a_structured_400(token_for, params, field):
    error = assert_error(token_for("county_jianghua").get(URL, params), 400, "invalid")
    assert field in error["fields"]


def test_unauthenticated_is_401(demo):
    assert_error(APIClient().get(URL), 401)


def test_query_count_does_not_grow_with_page_size(token_for):
    client = token_for("county_jianghua")
    _s, cursor = read_all(client)
    for _ in range(4):
        household = make_applied(village=lian(), persons=2)
        household_update(actor=None, household=household, changes={"housing_renovated": True})
    counts = []
    for size in (3, 15):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(URL, {"after": cursor, "page_size": size})
        assert len(response.json()["results"]) == size
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_quiet_county_skips_ahead_to_the_head(token_for):
    from villages.models import Division

    client = token_for("county_jianghua")
    _s, cursor = read_all(client)
    make_applied(village=Division.objects.get(pk=SHETIAN))
    entries, after = read_all(client, cursor)
    assert entries == []
    head = ChangeCommit.objects.order_by("-position").values_list("position", flat=True).first()
    assert after == str(head)


# Commit order ----------------------------------------------------------------------------


def _raw_connection():
    settings = connection.settings_dict
    return psycopg2.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        password=settings["PASSWORD"] or None,
    )


def test_a_transaction_that_commits_late_is_not_missed(token_for):
    """T1 starts first and commits last; a reader between the two commits must not skip it."""
    client = token_for("county_jianghua")
    first = make_applied(village=lian())
    second = make_applied(village=lian())
    _s, cursor = read_all(client)

    t1, t2 = _raw_connection(), _raw_connection()
    try:
        with t1.cursor() as c1, t2.cursor() as c2:
            c1.execute("UPDATE households_household SET phone = '13800000001' WHERE id = %s", [first.pk])
            c1.execute("SELECT txid_current()")
            txid1 = c1.fetchone()[0]
            c2.execute("UPDATE households_household SET phone = '13800000002' WHERE id = %s", [second.pk])
            c2.execute("SELECT txid_current()")
            txid2 = c2.fetchone()[0]
            assert txid1 < txid2  # T1 began first
            t2.commit()

            seen, cursor = read_all(client, cursor)
            assert [(e["type"], e["id"]) for e in seen] == [("household", second.pk)]

            t1.commit()
        late, _ = read_all(client, cursor)
        assert [(e["type"], e["id"]) for e in late] == [("household", first.pk)]
        positions = dict(ChangeCommit.objects.filter(txid__in=[txid1, txid2]).values_list("txid", "position"))
        assert positions[txid1] > positions[txid2], "positions follow commit order, not start order"
    finally:
        t1.close()
        t2.close()


def test_rolled_back_changes_never_appear(token_for):
    client = token_for("county_jianghua")
    household = make_applied(village=lian())
    _s, cursor = read_all(client)
    raw = _raw_connection()
    try:
        with raw.cursor() as c:
            c.execute("UPDATE households_household SET phone = '13800000003' WHERE id = %s", [household.pk])
        raw.rollback()
    finally:
        raw.close()
    assert read_all(client, cursor)[0] == []


@pytest.mark.slow
def test_concurrent_writers_and_a_polling_reader_see_every_change_exactly_once(token_for):
    """Writers commit in random order with random delays while a reader follows the feed."""
    client = token_for("county_jianghua")
    households = [make_applied(village=lian(), persons=1) for _ in range(6)]
    _s, cursor = read_all(client)
    start_id = Change.objects.order_by("-id").values_list("id", flat=True).first()
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer(seed: int):
        rng = random.Random(seed)
        raw = _raw_connection()
        try:
            for round_ in range(15):
                with raw.cursor() as c:
                    # In id order, as the services lock rows, so writers never deadlock.
                    for household in sorted(rng.sample(households, 2), key=lambda h: h.pk):
                        c.execute(
                            "UPDATE households_household SET phone = %s WHERE id = %s",
                            [f"1390000{seed:02d}{round_:02d}", household.pk],
                        )
                        time.sleep(rng.random() * 0.01)
                if rng.random() < 0.15:
                    raw.rollback()
                else:
                    raw.commit()
        except BaseException as error:
            errors.append(error)
        finally:
            raw.close()

    received: list[dict] = []

    def reader():
        nonlocal cursor
        try:
            while not stop.is_set():
                entries, cursor = read_all(client, cursor, page_size=7)
                received.extend(entries)
                time.sleep(0.005)
        except BaseException as error:
            errors.append(error)

    reader_thread = threading.Thread(target=reader)
    reader_thread.start()
    writers = [threading.Thread(target=writer, args=(seed,)) for seed in range(4)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    time.sleep(0.05)
    stop.set()
    reader_thread.join()
    assert not errors, errors
    tail, _ = read_all(client, cursor)
    received += tail

    committed = list(
        Change.objects.filter(id__gt=start_id, kind="household").order_by("id").values_list("id", flat=True)
    )
    got = [int(e["cursor"].split(".")[1]) for e in received]
    assert len(got) == len(set(got)), "no change delivered twice"
    assert sorted(got) == committed, "every committed change delivered"
    assert len(committed) > 50
    # The run did exercise the hard case: some transaction committed after one that began later.
    txids = Change.objects.filter(id__in=committed).values_list("txid", flat=True).distinct()
    order = sorted(ChangeCommit.objects.filter(txid__in=txids).values_list("txid", "position"))
    positions = [position for _txid, position in order]
    assert positions != sorted(positions)


def test_member_and_scope_codes_are_recorded_by_the_triggers(token_for):
    household = make_applied(village=lian(), persons=2)
    changes = Change.objects.filter(kind="member", object_id__in=household.members.values("pk"))
    assert changes.count() == 2
    assert set(changes.values_list("scope_code", flat=True)) == {LIAN}
    assert Member.objects.filter(household=household).count() == 2
    assert Household.objects.get(pk=household.pk).village_id[:6] == JIANGHUA[:6]


def test_a_jianghua_machine_token_sees_nothing_of_shaoyang_anywhere(demo):
    """The acceptance check of scoping, through every door a machine client uses."""
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    command = ["create_api_token", "--client", "江华县对接系统", "--division", JIANGHUA]
    call_command(*command, stdout=out, stderr=StringIO())
    client = token_client(out.getvalue().strip())
    _s, cursor = read_all(client)
    ours = make_applied(village=lian())
    theirs = make_applied(village=lian(SHETIAN))
    theirs_members = set(theirs.members.values_list("pk", flat=True))

    assert_error(client.get(f"/api/v1/households/{theirs.pk}/"), 404, "not_found")
    for member in theirs_members:
        assert_error(client.get(f"/api/v1/members/{member}/"), 404, "not_found")
    listed = client.get("/api/v1/households/", {"page_size": 500}).json()["results"]
    assert ours.pk in {r["id"] for r in listed} and theirs.pk not in {r["id"] for r in listed}
    members = client.get("/api/v1/members/", {"page_size": 500}).json()["results"]
    assert members and not theirs_members & {r["id"] for r in members}
    entries, _ = read_all(client, cursor)
    assert {e["id"] for e in entries if e["type"] == "household"} == {ours.pk}
    assert not theirs_members & {e["id"] for e in entries if e["type"] == "member"}
    exported = b"".join(client.get("/api/v1/export/households.ndjson").streaming_content).decode()
    ids = {json.loads(line)["id"] for line in exported.splitlines()}
    assert ours.pk in ids and theirs.pk not in ids


def test_pruned_history_expires_old_cursors_only(token_for):
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    client = token_for("county_jianghua")
    make_applied(village=lian())
    _s, old_cursor = read_all(client)
    ChangeCommit.objects.update(committed_at=timezone.now() - timedelta(days=500))
    newer = make_applied(village=lian())
    call_command("prune_changes", "--days", "400", stdout=io.StringIO())
    from registry.models import AuditEntry

    pruned = AuditEntry.objects.get(action="change_feed.prune")
    assert pruned.after["position"] == int(old_cursor) and pruned.after["changes_deleted"] > 0
    assert not Change.objects.filter(txid__in=ChangeCommit.objects.filter(position__lte=int(old_cursor)).values("txid"))

    error = assert_error(client.get(URL, {"after": "1"}), 410, "cursor_expired")
    assert old_cursor in error["message"]
    assert_error(client.get(URL), 410, "cursor_expired")
    entries, _ = read_all(client, old_cursor)
    assert newer.pk in {e["id"] for e in entries if e["type"] == "household"}

"""Audit pages: the log, one object's history and one user's acts, for auditors only."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import Client
from django.urls import reverse

from households.models import Member
from registry.audit import audit_record
from registry.models import AuditEntry, User
from registry.roles import Role
from tests.factories import make_applied
from villages.models import Division

LIAN = "431129203201"
SHAOYANG_COUNTY = "430523000000"


@pytest.fixture
def member(db):
    household = make_applied(village=Division.objects.get(code=LIAN), persons=1)
    return Member.objects.get(household=household)


@pytest.fixture
def id_change(member, users):
    """An audit row recording a member's ID number correction, in 栗安村."""
    with transaction.atomic():
        return audit_record(
            actor=users["team_lian"],
            action="member.update",
            instance=member,
            scope_code=LIAN,
            before={"id_number": "431129199001011234", "name": member.name},
            after={"id_number": "43112919900101123X", "name": member.name},
        )


def object_url(entry: AuditEntry) -> str:
    return reverse("audit:object", args=[entry.content_type_id, entry.object_id])


def test_auditor_sees_an_objects_history_before_to_after_with_ids_masked(client_for, id_change, member):
    response = client_for("auditor_hunan").get(object_url(id_change))
    html = response.content.decode()
    assert response.status_code == 200
    assert "member.update" in html and member.name in html
    assert "4311**********1234" in html and "4311**********123X" in html
    assert "431129199001011234" not in html and "43112919900101123X" not in html


def test_history_is_oldest_first_and_whole(client_for, id_change, member, users):
    with transaction.atomic():
        later = audit_record(
            actor=users["township_daxi"], action="member.note", instance=member, scope_code=LIAN, after={"n": 1}
        )
    entries = client_for("auditor_hunan").get(object_url(id_change)).context["entries"]
    ct = ContentType.objects.get_for_model(Member)
    expected = list(AuditEntry.objects.filter(content_type=ct, object_id=str(member.pk)).order_by("pk"))
    assert [e.pk for e in entries] == [e.pk for e in expected]
    assert entries[-1].pk == later.pk


def test_user_page_lists_what_that_account_did(client_for, id_change):
    response = client_for("auditor_hunan").get(reverse("audit:user", args=["team_lian"]))
    assert response.status_code == 200
    entries = response.context["entries"]
    assert entries[0].pk == id_change.pk
    assert {e.actor_username for e in entries} == {"team_lian"}


def test_log_filters_by_actor_action_and_type(client_for, id_change):
    client = client_for("auditor_hunan")
    ct = ContentType.objects.get_for_model(Member)
    entries = client.get(reverse("audit:log"), {"actor": "team_lian", "action": "member.", "type": ct.pk}).context[
        "entries"
    ]
    assert entries and all(e.action.startswith("member.") and e.actor_username == "team_lian" for e in entries)
    assert client.get(reverse("audit:log"), {"actor": "nobody-at-all"}).context["entries"] == []


def test_log_pages_by_id(client_for, id_change, member, users):
    with transaction.atomic():
        for n in range(55):
            audit_record(
                actor=users["team_lian"], action="member.note", instance=member, scope_code=LIAN, after={"n": n}
            )
    client = client_for("auditor_hunan")
    first = client.get(reverse("audit:log"), {"actor": "team_lian"})
    assert len(first.context["entries"]) == 50
    second = client.get(reverse("audit:log"), {"actor": "team_lian", "before": first.context["next_before"]})
    assert second.context["entries"][0].pk < first.context["entries"][-1].pk


@pytest.mark.parametrize("username", ["team_lian", "county_jianghua", "province_hunan"])
def test_officials_who_are_not_auditors_are_refused(client_for, id_change, username):
    client = client_for(username)
    for url in (reverse("audit:log"), object_url(id_change), reverse("audit:user", args=["team_lian"])):
        response = client.get(url)
        assert response.status_code == 403
        assert "审计人员" in response.content.decode()


def test_auditor_of_another_area_sees_nothing_of_it(id_change):
    auditor = User.objects.create(username="auditor_shaoyang", role=Role.AUDITOR)
    auditor.jurisdictions.add(Division.objects.get(code=SHAOYANG_COUNTY))
    client = Client()
    client.force_login(auditor)
    assert client.get(object_url(id_change)).status_code == 404
    assert client.get(reverse("audit:user", args=["team_lian"])).status_code == 404
    assert id_change.pk not in [e.pk for e in client.get(reverse("audit:log")).context["entries"]]


def test_anonymous_goes_to_login(id_change):
    response = Client().get(reverse("audit:log"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_log_query_count_does_not_grow_with_rows(client_for, id_change, member, users, django_assert_max_num_queries):
    client = client_for("auditor_hunan")
    client.get(reverse("audit:log"))
    with transaction.atomic():
        for n in range(30):
            audit_record(
                actor=users["team_lian"], action="member.note", instance=member, scope_code=LIAN, after={"n": n}
            )
    with django_assert_max_num_queries(8):
        client.get(reverse("audit:log"))


def test_admin_shows_audit_values_masked(client_for, id_change):
    url = reverse("admin:registry_auditentry_change", args=[id_change.pk])
    html = client_for("auditor_hunan").get(url).content.decode()
    assert "4311**********1234" in html and "431129199001011234" not in html

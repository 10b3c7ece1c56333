"""Every write leaves an audit row, in the same transaction as the change."""

from datetime import date

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from registry.audit import audit_record
from registry.errors import NOT_IN_TRANSACTION, ApplicationError
from registry.models import AuditEntry, User
from registry.roles import Role
from registry.services import user_create, user_set_password, user_update
from tests.factories import make_team, make_township, make_village
from villages import services
from villages.models import Division

LIAN = "431129203201"


def last_entry() -> AuditEntry:
    return AuditEntry.objects.order_by("-id").first()


def entries_for(instance) -> list[AuditEntry]:
    ct = ContentType.objects.get_for_model(instance)
    return list(AuditEntry.objects.filter(content_type=ct, object_id=str(instance.pk)).order_by("id"))


def test_audit_outside_a_transaction_is_refused(divisions):
    with pytest.raises(RuntimeError, match=NOT_IN_TRANSACTION):
        # pytest-django wraps the test in a transaction; leave it to prove the guard.
        from django.db import connection

        connection.in_atomic_block, saved = False, connection.in_atomic_block
        try:
            audit_record(actor=None, action="x", instance=divisions[LIAN])
        finally:
            connection.in_atomic_block = saved


def test_division_create_and_rename_are_audited(users, divisions):
    actor = users["county_jianghua"]
    township = make_township(county=divisions["431129000000"], number=9)
    village = services.division_create(
        actor=actor, code=township.code[:9] + "201", name="新村", level="village", parent=township
    )
    entry = last_entry()
    assert (entry.actor, entry.action, entry.object_id) == (actor, "division.create", village.code)
    assert entry.after["name"] == "新村" and entry.before is None
    assert entry.scope_code == village.code

    services.division_rename(actor=actor, division=village, name="新安村")
    entry = last_entry()
    assert entry.action == "division.rename"
    assert (entry.before, entry.after) == ({"name": "新村"}, {"name": "新安村"})


def test_status_changes_record_before_and_after(users, divisions):
    actor = users["county_jianghua"]
    services.village_status_set(actor=actor, village=divisions[LIAN], rural_population=700)
    entry = last_entry()
    assert entry.action == "village_status.update"
    assert entry.before == {"rural_population": 689} and entry.after == {"rural_population": 700}
    count = AuditEntry.objects.count()
    services.village_status_set(actor=actor, village=divisions[LIAN], rural_population=700)
    assert AuditEntry.objects.count() == count, "an update that changes nothing writes nothing"


def test_work_team_lifecycle_is_audited(users, divisions):
    actor = users["county_jianghua"]
    village = make_village(parent=divisions["431129203000"], number=50)
    team = make_team(village=village, actor=actor)
    created = entries_for(team)[-1]
    assert created.action == "work_team.create"
    assert len(created.after["members"]) == 3

    services.work_team_update(actor=actor, team=team, term_end=date(2021, 3, 1))
    assert last_entry().action == "work_team.update"

    members = [{"id": m.pk, "name": m.name, "role": m.role} for m in team.members.all()]
    members.append({"name": "新队员", "role": "member"})
    services.work_team_set_members(actor=actor, team=team, members=members)
    assert last_entry().action == "work_team.set_members"
    assert len(last_entry().after["members"]) == 4

    services.work_team_withdraw(actor=actor, team=team, on_date=date(2020, 6, 1), reason="任务完成")
    entry = last_entry()
    assert entry.action == "work_team.withdraw"
    assert entry.after["status"] == "withdrawn" and entry.before["status"] == "stationed"


def test_helper_writes_are_audited(users, divisions):
    actor = users["team_lian"]
    helper = services.helper_create(
        actor=actor, division=divisions[LIAN], name="张帮扶", unit="县财政局", phone="13800000000"
    )
    assert last_entry().action == "helper.create"
    services.helper_update(actor=actor, helper=helper, phone="13900000000")
    assert last_entry().after == {"phone": "13900000000"}


def test_user_writes_are_audited_without_the_password(users, divisions):
    actor = users["admin"]
    user = user_create(
        actor=actor,
        username="new_team",
        password="Str0ng-pass-xyz",
        role=Role.WORK_TEAM,
        jurisdictions=[divisions[LIAN]],
    )
    entry = last_entry()
    assert entry.action == "user.create" and entry.after["jurisdictions"] == [LIAN]
    assert "password" not in entry.after

    user_update(actor=actor, user=user, role=Role.TOWNSHIP, jurisdictions=[divisions["431129203000"]])
    actions = [e.action for e in entries_for(user)]
    assert actions[-2:] == ["user.update", "user.set_jurisdictions"]

    user_set_password(actor=actor, user=user, password="An0ther-pass-xyz")
    entry = last_entry()
    assert entry.action == "user.set_password" and entry.after is None
    assert "An0ther" not in str(AuditEntry.objects.filter(object_id=str(user.pk)).values_list("after", "before"))


def test_refused_write_leaves_no_row_and_no_audit(users, divisions):
    count, teams = AuditEntry.objects.count(), divisions[LIAN].work_teams.count()
    with pytest.raises(ApplicationError):
        make_team(village=make_village(parent=divisions["431129203000"], number=51), members=2)
    # The village itself was created (and audited) before the refused team.
    assert AuditEntry.objects.count() == count + 1
    assert divisions[LIAN].work_teams.count() == teams


def test_client_address_is_recorded_from_the_request(users, divisions, client):
    """A write made during a request records the caller's address."""
    from registry.audit import client_address_var

    token = client_address_var.set("10.1.2.3")
    try:
        with transaction.atomic():
            services.division_rename(actor=users["county_jianghua"], division=divisions[LIAN], name="栗安村")
            services.division_rename(actor=users["county_jianghua"], division=divisions[LIAN], name="栗安新村")
    finally:
        client_address_var.reset(token)
    assert last_entry().client_address == "10.1.2.3"


def test_middleware_sets_the_client_address(users, client):
    client.force_login(User.objects.get(username="admin"))
    response = client.post(
        "/admin/villages/division/431129203201/change/", {"name": "栗安村（改）"}, REMOTE_ADDR="192.0.2.7"
    )
    assert response.status_code == 302, response.content.decode()[:500]
    entry = last_entry()
    assert (entry.action, entry.client_address, entry.actor_username) == ("division.rename", "192.0.2.7", "admin")
    assert Division.objects.get(pk=LIAN).name == "栗安村（改）"

"""Users: role-level binding, permission, password rules."""

import pytest

from registry.errors import PERMISSION_DENIED, ApplicationError
from registry.roles import Role
from registry.services import USER_NEEDS_JURISDICTION, ensure_four_eyes, user_create, user_update


def test_role_must_match_the_division_level(users, divisions):
    with pytest.raises(ApplicationError) as info:
        user_create(
            actor=users["admin"],
            username="x1",
            password="Str0ng-pass-xyz",
            role=Role.COUNTY,
            jurisdictions=[divisions["431129203201"]],
        )
    assert "县/市/区" in str(info.value) and "jurisdictions" in info.value.fields


def test_non_admin_user_needs_a_jurisdiction(users):
    with pytest.raises(ApplicationError) as info:
        user_create(actor=users["admin"], username="x2", password="Str0ng-pass-xyz", role=Role.AUDITOR)
    assert str(info.value) == str(USER_NEEDS_JURISDICTION)


def test_weak_password_is_refused(users, divisions):
    with pytest.raises(ApplicationError) as info:
        user_create(
            actor=users["admin"],
            username="x3",
            password="123456",
            role=Role.AUDITOR,
            jurisdictions=[divisions["430000000000"]],
        )
    assert "password" in info.value.fields


@pytest.mark.parametrize("username", ["county_jianghua", "province_hunan", "auditor_hunan"])
def test_only_administrators_manage_users(users, username):
    with pytest.raises(ApplicationError) as info:
        user_update(actor=users[username], user=users["team_lian"], first_name="x")
    assert str(info.value) == str(PERMISSION_DENIED)


def test_role_change_updates_superuser_flag(users, divisions):
    user = user_update(
        actor=users["admin"], user=users["auditor_hunan"], role=Role.ADMIN, jurisdictions=[divisions["430000000000"]]
    )
    assert user.is_superuser


def test_four_eyes_refuses_an_earlier_actor(users):
    ensure_four_eyes(actor=users["county_jianghua"], earlier_actors=[users["team_lian"], None])
    with pytest.raises(ApplicationError) as info:
        ensure_four_eyes(actor=users["team_lian"], earlier_actors=[users["team_lian"].pk])
    assert info.value.code == "four_eyes" and info.value.status == 409

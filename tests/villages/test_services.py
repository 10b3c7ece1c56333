"""Rules of geography, work teams and helpers, each with the refusal it must give."""

from datetime import date, datetime

import pytest
from django.utils import timezone

from households.choices import HouseholdStatus
from registry.errors import OUT_OF_JURISDICTION, PERMISSION_DENIED, ApplicationError
from registry.models import AuditEntry
from tests.factories import make_household, make_id_number, make_village, team_members
from villages import errors, services
from villages.choices import DivisionLevel, TeamRole, VillageExitStatus, WorkTeamStatus
from villages.models import WorkTeam

LIAN = "431129203201"
DAXI = "431129203000"
SHETIAN = "430523104201"


def refused(func, message, **kwargs) -> ApplicationError:
    """Call ``func`` and return the ApplicationError it must raise with ``message``."""
    before = AuditEntry.objects.count()
    with pytest.raises(ApplicationError) as info:
        func(**kwargs)
    assert str(info.value) == str(message)
    assert AuditEntry.objects.count() == before
    return info.value


# Divisions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "level", "parent", "expected"),
    [
        ("431129203210", DivisionLevel.TOWNSHIP, "431129000000", "区划代码 431129203210 与层级“乡/镇/街道”不符"),
        ("43112920321", DivisionLevel.VILLAGE, DAXI, "区划代码 43112920321 与层级“村/社区”不符"),
        ("431129204201", DivisionLevel.VILLAGE, DAXI, "区划代码 431129204201 不属于上级区划 431129203000"),
        ("431129203000", DivisionLevel.VILLAGE, "431129000000", "“村/社区”的上级必须是“乡/镇/街道”"),
        ("431129205000", DivisionLevel.TOWNSHIP, DAXI, "“乡/镇/街道”的上级必须是“县/市/区”"),
    ],
)
def test_division_codes_must_fit_level_and_parent(users, divisions, code, level, parent, expected):
    with pytest.raises(ApplicationError) as info:
        services.division_create(
            actor=users["county_jianghua"], code=code, name="X", level=level, parent=divisions[parent]
        )
    assert str(info.value).startswith(expected)


def test_division_create_outside_jurisdiction_is_not_found(users, divisions):
    error = refused(
        services.division_create,
        OUT_OF_JURISDICTION,
        actor=users["county_jianghua"],
        code="430523104202",
        name="外县村",
        level=DivisionLevel.VILLAGE,
        parent=divisions["430523104000"],
    )
    assert error.status == 404


@pytest.mark.parametrize(
    "username", ["team_lian", "township_daxi", "prefecture_yongzhou", "auditor_hunan", "api_hunan"]
)
def test_only_county_and_admin_manage_divisions(users, divisions, username):
    refused(
        services.division_create,
        PERMISSION_DENIED,
        actor=users[username],
        code="431129203299",
        name="X",
        level=DivisionLevel.VILLAGE,
        parent=divisions[DAXI],
    )


def test_exit_status_changes_only_through_the_exit_workflows(users, divisions):
    refused(
        services.village_status_set,
        errors.EXIT_ONLY_BY_WORKFLOW,
        actor=users["county_shaoyang"],
        village=divisions[SHETIAN],
        exit_status=VillageExitStatus.EXITED,
        exit_year=2019,
    )
    refused(
        services.county_status_set,
        errors.EXIT_ONLY_BY_WORKFLOW,
        actor=users["province_hunan"],
        county=divisions["430523000000"],
        exit_year=2019,
    )
    status = services.village_exit_record(actor=None, village=divisions[SHETIAN], year=2019)
    assert (status.exit_status, status.exit_year) == ("exited", 2019)


def test_status_service_refuses_the_wrong_level_and_unknown_fields(users, divisions):
    refused(services.village_status_set, errors.NOT_A_VILLAGE, actor=users["county_jianghua"], village=divisions[DAXI])
    refused(services.county_status_set, errors.NOT_A_COUNTY, actor=users["county_jianghua"], county=divisions[LIAN])
    with pytest.raises(ApplicationError):
        services.village_status_set(actor=users["county_jianghua"], village=divisions[LIAN], name="x")


# Work teams --------------------------------------------------------------------------


@pytest.fixture
def new_village(divisions):
    return make_village(parent=divisions[DAXI], number=60)


def create_team(users, village, **overrides):
    kwargs = {
        "actor": users["county_jianghua"],
        "village": village,
        "dispatching_unit": "县农业农村局",
        "term_start": date(2018, 3, 1),
        "term_end": date(2020, 3, 1),
        "members": team_members(3),
    }
    kwargs.update(overrides)
    return services.work_team_create(**kwargs)


def test_team_needs_three_members(users, new_village):
    refused(
        create_team,
        errors.TEAM_TOO_FEW_MEMBERS % {"minimum": 3},
        users=users,
        village=new_village,
        members=team_members(2),
    )
    assert not WorkTeam.objects.filter(village=new_village).exists()


def test_team_needs_exactly_one_leader(users, new_village):
    no_leader = [{"name": f"队员{i}", "role": TeamRole.MEMBER} for i in range(3)]
    refused(create_team, errors.TEAM_NEEDS_ONE_LEADER, users=users, village=new_village, members=no_leader)
    two_leaders = [*team_members(3), {"name": "另一队长", "role": TeamRole.LEADER}]
    refused(create_team, errors.TEAM_NEEDS_ONE_LEADER, users=users, village=new_village, members=two_leaders)


def test_team_term_at_least_two_years(users, new_village):
    refused(
        create_team,
        errors.TEAM_TERM_TOO_SHORT % {"years": 2},
        users=users,
        village=new_village,
        term_end=date(2020, 2, 28),
    )
    team = create_team(users, new_village, term_end=date(2020, 3, 1))
    assert team.status == WorkTeamStatus.STATIONED and team.leader.name == "队长甲"


def test_one_stationed_team_per_village(users, divisions):
    refused(
        create_team,
        errors.TEAM_ALREADY_STATIONED % {"village": "栗安村"},
        users=users,
        village=divisions[LIAN],
    )


def test_team_only_in_a_village(users, divisions):
    refused(create_team, errors.NOT_A_VILLAGE, users=users, village=divisions[DAXI])


@pytest.mark.parametrize("username", ["team_lian", "township_daxi", "province_hunan", "auditor_hunan"])
def test_only_county_officials_dispatch_teams(users, new_village, username):
    refused(create_team, PERMISSION_DENIED, users=users, village=new_village, actor=users[username])


def test_team_cannot_be_withdrawn_from_a_village_that_has_not_exited(users, divisions):
    team = WorkTeam.objects.get(village_id=SHETIAN)
    refused(
        services.work_team_withdraw,
        errors.TEAM_WITHDRAW_VILLAGE_NOT_EXITED % {"village": "社田村"},
        actor=users["county_shaoyang"],
        team=team,
        on_date=date(2019, 6, 1),
        reason="轮换",
    )
    team.refresh_from_db()
    assert team.status == WorkTeamStatus.STATIONED and team.withdrawn_on is None
    assert "社田村尚未出列" in str(errors.TEAM_WITHDRAW_VILLAGE_NOT_EXITED % {"village": "社田村"})


def test_team_stays_while_poor_households_remain_in_an_exited_village(users, divisions):
    """栗安村 exited in 2018; its team still may not leave while a household is poor."""
    make_household(village=divisions[LIAN], status=HouseholdStatus.REGISTERED)
    make_household(village=divisions[LIAN], status=HouseholdStatus.RETURNED)
    make_household(village=divisions[LIAN], status=HouseholdStatus.EXITED)
    team = WorkTeam.objects.get(village_id=LIAN)
    refused(
        services.work_team_withdraw,
        errors.TEAM_WITHDRAW_HOUSEHOLDS_NOT_EXITED % {"village": "栗安村", "count": 2},
        actor=users["county_jianghua"],
        team=team,
        on_date=date(2019, 6, 1),
        reason="任务完成",
    )


def test_team_withdraws_once_village_and_households_exited(users, divisions):
    make_household(village=divisions[LIAN], status=HouseholdStatus.EXITED)
    team = WorkTeam.objects.get(village_id=LIAN)
    services.work_team_withdraw(actor=users["county_jianghua"], team=team, on_date=date(2021, 3, 1), reason="任务完成")
    team.refresh_from_db()
    assert (team.status, team.withdrawn_on) == (WorkTeamStatus.WITHDRAWN, date(2021, 3, 1))
    refused(
        services.work_team_withdraw,
        errors.TEAM_ALREADY_WITHDRAWN,
        actor=users["county_jianghua"],
        team=team,
        on_date=date(2021, 3, 2),
        reason="again",
    )
    # After withdrawal a new team may be stationed.
    assert create_team(users, divisions[LIAN]).status == WorkTeamStatus.STATIONED


def test_withdrawal_out_of_jurisdiction_is_not_found(users):
    team = WorkTeam.objects.get(village_id=SHETIAN)
    error = refused(
        services.work_team_withdraw,
        OUT_OF_JURISDICTION,
        actor=users["county_jianghua"],
        team=team,
        on_date=date(2019, 6, 1),
        reason="x",
    )
    assert error.status == 404


def test_set_members_keeps_leavers_as_inactive_rows(users, divisions):
    team = WorkTeam.objects.get(village_id=LIAN)
    before = list(team.members.all())
    keep = [{"id": m.pk, "name": m.name, "role": m.role} for m in before[:2]]
    keep.append({"name": "新来的", "role": TeamRole.MEMBER})
    if not any(m["role"] == TeamRole.LEADER for m in keep):
        keep[0]["role"] = TeamRole.LEADER
    services.work_team_set_members(actor=users["county_jianghua"], team=team, members=keep, on_date=date(2019, 1, 1))
    assert team.members.filter(active=True).count() == 3
    left = team.members.get(pk=before[2].pk)
    assert (left.active, left.left_on) == (False, date(2019, 1, 1))
    refused(
        services.work_team_set_members,
        errors.TEAM_TOO_FEW_MEMBERS % {"minimum": 3},
        actor=users["county_jianghua"],
        team=team,
        members=keep[:2],
    )


def test_a_changed_roster_marks_the_team_updated_and_an_unchanged_one_does_not(users):
    old = timezone.make_aware(datetime(2019, 1, 1))
    WorkTeam.objects.filter(village_id=LIAN).update(updated_at=old)
    team = WorkTeam.objects.get(village_id=LIAN)
    same = [{"id": m.pk, "name": m.name, "role": m.role, "title": m.title, "unit": m.unit} for m in team.members.all()]
    services.work_team_set_members(actor=users["county_jianghua"], team=team, members=same)
    assert WorkTeam.objects.get(pk=team.pk).updated_at == old
    services.work_team_set_members(
        actor=users["county_jianghua"], team=team, members=[*same, {"name": "新来的", "role": TeamRole.MEMBER}]
    )
    assert WorkTeam.objects.get(pk=team.pk).updated_at > old


# Helpers -----------------------------------------------------------------------------


def test_registered_poor_person_cannot_be_helper(users, divisions):
    household = make_household(village=divisions[LIAN], status=HouseholdStatus.REGISTERED)
    poor = household.members.first()
    refused(
        services.helper_create,
        errors.HELPER_IS_POOR % {"name": poor.name, "household": household.registry_number},
        actor=users["team_lian"],
        division=divisions[LIAN],
        name="李某",
        unit="村委会",
        phone="13800000001",
        id_number=poor.id_number,
    )


def test_exited_person_and_non_poor_can_be_helpers(users, divisions):
    household = make_household(village=divisions[LIAN], status=HouseholdStatus.EXITED)
    helper = services.helper_create(
        actor=users["team_lian"],
        division=divisions[LIAN],
        name="王某",
        unit="村委会",
        phone="13800000002",
        id_number=household.members.first().id_number,
    )
    assert helper.county_code == "431129"


def test_helper_id_number_is_validated_and_normalised(users, divisions):
    with pytest.raises(ApplicationError) as info:
        services.helper_create(
            actor=users["team_lian"],
            division=divisions[LIAN],
            name="赵某",
            unit="乡政府",
            phone="13800000003",
            id_number="431129198001010011",
        )
    assert "id_number" in info.value.fields
    helper = services.helper_create(
        actor=users["team_lian"],
        division=divisions[LIAN],
        name="赵某",
        unit="乡政府",
        phone="13800000003",
        id_number=make_id_number().lower(),
    )
    assert len(helper.id_number) == 18


def test_helper_update_to_a_poor_persons_id_is_refused(users, divisions):
    household = make_household(village=divisions[LIAN], status=HouseholdStatus.REGISTERED)
    helper = services.helper_create(
        actor=users["team_lian"], division=divisions[LIAN], name="钱某", unit="乡政府", phone="13800000004"
    )
    with pytest.raises(ApplicationError):
        services.helper_update(actor=users["team_lian"], helper=helper, id_number=household.members.first().id_number)
    helper.refresh_from_db()
    assert helper.id_number == ""


def test_helper_needs_name_unit_and_phone(users, divisions):
    refused(
        services.helper_create,
        errors.HELPER_NEEDS_CONTACT,
        actor=users["team_lian"],
        division=divisions[LIAN],
        name="孙某",
        unit="",
        phone="138",
    )

"""Writes on geography, poverty status, work teams and helpers; each audited."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction

from registry.audit import audit_record, snapshot
from registry.errors import ApplicationError
from registry.idnumber import parse_id_number
from registry.roles import Capability
from registry.services import (
    audited_create,
    audited_update,
    full_clean_or_raise,
    require_capability,
    require_in_scope,
)
from villages import errors
from villages.choices import (
    CHILD_LEVEL,
    LEVEL_PREFIX_LENGTH,
    DivisionLevel,
    TeamRole,
    VillageExitStatus,
    WorkTeamStatus,
)
from villages.counting import household_counts
from villages.models import (
    CountyStatus,
    Division,
    Helper,
    VillagerGroup,
    VillageStatus,
    WorkTeam,
    WorkTeamMember,
)

#: Minimum persons in a work team, the leader included (工作队一般不少于 3 人).
TEAM_MIN_MEMBERS = 3
#: Minimum term of a work team, in years (任期不少于 2 年).
TEAM_MIN_TERM_YEARS = 2

COUNTY_STATUS_FIELDS = {
    "poverty_type",
    "deep_poverty",
    "region_class",
    "rural_population",
    "planned_exit_year",
    "exit_status",
    "exit_year",
}
VILLAGE_STATUS_FIELDS = {
    "is_poverty_village",
    "identified_year",
    "deep_poverty",
    "rural_population",
    "rural_households",
    "exit_status",
    "exit_year",
}
TEAM_FIELDS = {"dispatching_unit", "term_start", "term_end"}
HELPER_FIELDS = {"name", "id_number", "unit", "title", "phone", "active"}
MEMBER_FIELDS = ("name", "role", "title", "unit", "phone", "user")


def _invalid(message, field: str = "__all__") -> ApplicationError:
    return ApplicationError(message, code="invalid", fields={field: [str(message)]})


def _require_level(division: Division, level: str, message) -> None:
    if division.level != level:
        raise _invalid(message)


# Divisions --------------------------------------------------------------------------


def division_validate_code(*, code: str, level: str, parent: Division | None) -> None:
    """Raise unless ``code`` is well-formed for ``level`` and lies under ``parent``."""
    length = LEVEL_PREFIX_LENGTH[level]
    if len(code) != 12 or not code.isdigit() or set(code[length:]) - {"0"}:
        raise _invalid(
            errors.DIVISION_CODE_LEVEL_MISMATCH % {"code": code, "level": DivisionLevel(level).label}, "code"
        )
    if parent is None:
        return
    if CHILD_LEVEL.get(parent.level) != level:
        expected = next((p for p, child in CHILD_LEVEL.items() if child == level), None)
        raise _invalid(
            errors.DIVISION_PARENT_LEVEL
            % {
                "level": DivisionLevel(level).label,
                "parent_level": DivisionLevel(expected).label if expected else "—",
            },
            "parent",
        )
    if not code.startswith(parent.prefix):
        raise _invalid(errors.DIVISION_PARENT_MISMATCH % {"code": code, "parent": parent.code}, "code")


@transaction.atomic
def division_create(*, actor, code: str, name: str, level: str, parent: Division | None) -> Division:
    """Add a division (e.g. a township or village under a county) inside the actor's scope."""
    require_capability(actor, Capability.MANAGE_DIVISIONS)
    require_in_scope(actor, parent.code if parent else code)
    division_validate_code(code=code, level=level, parent=parent)
    if Division.objects.filter(pk=code).exists():
        raise _invalid(f"区划代码 {code} 已存在。", "code")
    division = Division(code=code, name=name, level=level, parent=parent)
    return audited_create(actor=actor, instance=division, action="division.create", scope_code=code)


@transaction.atomic
def division_rename(*, actor, division: Division, name: str) -> Division:
    """Change a division's name (its code never changes)."""
    require_capability(actor, Capability.MANAGE_DIVISIONS)
    require_in_scope(actor, division.code)
    return audited_update(
        actor=actor, instance=division, changes={"name": name}, action="division.rename", scope_code=division.code
    )


@transaction.atomic
def county_status_set(*, actor, county: Division, **fields) -> CountyStatus:
    """Create or change a county's poverty status (贫困县状态)."""
    require_capability(actor, Capability.MANAGE_POVERTY_STATUS)
    require_in_scope(actor, county.code)
    _require_level(county, DivisionLevel.COUNTY, errors.NOT_A_COUNTY)
    return _status_set(actor, CountyStatus, county, fields, COUNTY_STATUS_FIELDS, "county_status")


@transaction.atomic
def village_status_set(*, actor, village: Division, **fields) -> VillageStatus:
    """Create or change a village's poverty status (贫困村状态)."""
    require_capability(actor, Capability.MANAGE_POVERTY_STATUS)
    require_in_scope(actor, village.code)
    _require_level(village, DivisionLevel.VILLAGE, errors.NOT_A_VILLAGE)
    return _status_set(actor, VillageStatus, village, fields, VILLAGE_STATUS_FIELDS, "village_status")


def _status_set(actor, model, division, fields, allowed, action):
    if {"exit_status", "exit_year"} & set(fields):
        raise _invalid(errors.EXIT_ONLY_BY_WORKFLOW, "exit_status")
    unknown = set(fields) - allowed
    if unknown:
        raise _invalid(errors.STATUS_FIELD_UNKNOWN % {"fields": ", ".join(sorted(unknown))})
    status = model.objects.select_for_update().filter(pk=division.pk).first()
    if status is None:
        status = model(pk=division.pk, **fields)
        return audited_create(actor=actor, instance=status, action=f"{action}.create", scope_code=division.code)
    return audited_update(
        actor=actor, instance=status, changes=fields, action=f"{action}.update", scope_code=division.code
    )


@transaction.atomic
def village_exit_record(*, actor, village: Division, year: int) -> VillageStatus:
    """Mark a poverty village exited (出列) in ``year``.

    Called by the village-exit workflow when the county approves, and by the system for
    historical records (the demo's 栗安村); not by any door directly.
    """
    _require_level(village, DivisionLevel.VILLAGE, errors.NOT_A_VILLAGE)
    status = VillageStatus.objects.select_for_update().get(pk=village.pk)
    return audited_update(
        actor=actor,
        instance=status,
        changes={"exit_status": VillageExitStatus.EXITED, "exit_year": year},
        action="village_status.exit",
        scope_code=village.code,
    )


@transaction.atomic
def county_exit_record(*, actor, county: Division, year: int) -> CountyStatus:
    """Mark a poverty county exited (摘帽) in ``year``; called by the county-exit workflow."""
    from villages.choices import CountyExitStatus

    _require_level(county, DivisionLevel.COUNTY, errors.NOT_A_COUNTY)
    status = CountyStatus.objects.select_for_update().get(pk=county.pk)
    return audited_update(
        actor=actor,
        instance=status,
        changes={"exit_status": CountyExitStatus.EXITED, "exit_year": year},
        action="county_status.exit",
        scope_code=county.code,
    )


@transaction.atomic
def villager_group_create(*, actor, village: Division, number: int, name: str = "") -> VillagerGroup:
    """Add a villager group (村民小组) to a village."""
    require_capability(actor, Capability.MANAGE_DIVISIONS)
    require_in_scope(actor, village.code)
    _require_level(village, DivisionLevel.VILLAGE, errors.NOT_A_VILLAGE)
    group = VillagerGroup(village=village, number=number, name=name or f"{number}组")
    return audited_create(actor=actor, instance=group, action="villager_group.create", scope_code=village.code)


# Work teams -------------------------------------------------------------------------


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _check_term(term_start: date, term_end: date) -> None:
    if term_end < _add_years(term_start, TEAM_MIN_TERM_YEARS):
        raise _invalid(errors.TEAM_TERM_TOO_SHORT % {"years": TEAM_MIN_TERM_YEARS}, "term_end")


def _check_members(members: list[dict]) -> None:
    if len(members) < TEAM_MIN_MEMBERS:
        raise _invalid(errors.TEAM_TOO_FEW_MEMBERS % {"minimum": TEAM_MIN_MEMBERS}, "members")
    leaders = [m for m in members if m.get("role") == TeamRole.LEADER]
    if len(leaders) != 1:
        raise _invalid(errors.TEAM_NEEDS_ONE_LEADER, "members")


def _member_snapshot(team: WorkTeam) -> list[dict]:
    return [
        {"id": m.pk, "name": m.name, "role": m.role, "title": m.title, "unit": m.unit}
        for m in team.members.filter(active=True).order_by("id")
    ]


@transaction.atomic
def work_team_create(
    *,
    actor,
    village: Division,
    dispatching_unit: str,
    term_start: date,
    term_end: date,
    members: list[dict],
) -> WorkTeam:
    """Dispatch a work team (派驻工作队) of at least three, one of them the leader, to a village."""
    require_capability(actor, Capability.MANAGE_WORK_TEAMS)
    require_in_scope(actor, village.code)
    _require_level(village, DivisionLevel.VILLAGE, errors.NOT_A_VILLAGE)
    _check_term(term_start, term_end)
    _check_members(members)
    # Lock the village row so two officials cannot dispatch two teams at once.
    Division.objects.select_for_update().filter(pk=village.pk).first()
    if WorkTeam.objects.filter(village=village, status=WorkTeamStatus.STATIONED).exists():
        raise _invalid(errors.TEAM_ALREADY_STATIONED % {"village": village.name}, "village")
    team = WorkTeam(village=village, dispatching_unit=dispatching_unit, term_start=term_start, term_end=term_end)
    full_clean_or_raise(team)
    team.save(force_insert=True)
    for data in members:
        member = WorkTeamMember(team=team, **{k: data.get(k, "") for k in MEMBER_FIELDS if k in data})
        full_clean_or_raise(member)
        member.save(force_insert=True)
    after = snapshot(team)
    after["members"] = _member_snapshot(team)
    audit_record(actor=actor, action="work_team.create", instance=team, scope_code=village.code, after=after)
    return team


@transaction.atomic
def work_team_update(*, actor, team: WorkTeam, **changes) -> WorkTeam:
    """Change a team's dispatching unit or term."""
    require_capability(actor, Capability.MANAGE_WORK_TEAMS)
    require_in_scope(actor, team.village_id)
    unknown = set(changes) - TEAM_FIELDS
    if unknown:
        raise _invalid(errors.STATUS_FIELD_UNKNOWN % {"fields": ", ".join(sorted(unknown))})
    team = WorkTeam.objects.select_for_update().get(pk=team.pk)
    _check_term(changes.get("term_start", team.term_start), changes.get("term_end", team.term_end))
    return audited_update(
        actor=actor, instance=team, changes=changes, action="work_team.update", scope_code=team.village_id
    )


@transaction.atomic
def work_team_set_members(*, actor, team: WorkTeam, members: list[dict], on_date: date | None = None) -> WorkTeam:
    """Replace a team's roster: listed members (by ``id`` if kept) stay, others leave on ``on_date``.

    Members are never deleted; one who leaves keeps the row with ``active=False``.
    """
    require_capability(actor, Capability.MANAGE_WORK_TEAMS)
    require_in_scope(actor, team.village_id)
    team = WorkTeam.objects.select_for_update().get(pk=team.pk)
    if team.status == WorkTeamStatus.WITHDRAWN:
        raise _invalid(errors.TEAM_ALREADY_WITHDRAWN)
    _check_members(members)
    before = _member_snapshot(team)
    current = {m.pk: m for m in team.members.filter(active=True)}
    kept_ids = {m["id"] for m in members if m.get("id")}
    for member in current.values():
        if member.pk not in kept_ids:
            member.active = False
            member.left_on = on_date or date.today()
            member.save(update_fields=["active", "left_on"])
    for data in members:
        values = {k: data[k] for k in MEMBER_FIELDS if k in data}
        if data.get("id") in current:
            member = current[data["id"]]
            changed = [k for k, v in values.items() if getattr(member, k if k != "user" else "user") != v]
            for k in changed:
                setattr(member, k, values[k])
            if changed:
                full_clean_or_raise(member, validate_constraints=False)
                member.save(update_fields=[member._meta.get_field(k).attname for k in changed])
        else:
            member = WorkTeamMember(team=team, **values)
            full_clean_or_raise(member, validate_constraints=False)
            member.save(force_insert=True)
    after = _member_snapshot(team)
    if before != after:
        # The roster is part of the team: incremental sync (updated_since) must see the change.
        team.save(update_fields=["updated_at"])
        audit_record(
            actor=actor,
            action="work_team.set_members",
            instance=team,
            scope_code=team.village_id,
            before={"members": before},
            after={"members": after},
        )
    return team


def village_blocks_withdrawal(village: Division) -> ApplicationError | None:
    """Return why a team may not leave ``village`` (贫困村不摘帽、贫困户不脱贫，工作队不撤出), or None."""
    status = VillageStatus.objects.filter(pk=village.pk).first()
    if status and status.is_poverty_village and status.exit_status != VillageExitStatus.EXITED:
        return _invalid(errors.TEAM_WITHDRAW_VILLAGE_NOT_EXITED % {"village": village.name})
    counts = household_counts()
    poor = counts.households().filter(village=village, **counts.poor).count()
    if poor:
        return _invalid(errors.TEAM_WITHDRAW_HOUSEHOLDS_NOT_EXITED % {"village": village.name, "count": poor})
    return None


@transaction.atomic
def work_team_withdraw(*, actor, team: WorkTeam, on_date: date, reason: str) -> WorkTeam:
    """Withdraw a team from its village, only once the village has exited and its households too."""
    require_capability(actor, Capability.MANAGE_WORK_TEAMS)
    require_in_scope(actor, team.village_id)
    team = WorkTeam.objects.select_for_update().select_related("village").get(pk=team.pk)
    if team.status == WorkTeamStatus.WITHDRAWN:
        raise _invalid(errors.TEAM_ALREADY_WITHDRAWN)
    if on_date < team.term_start:
        raise _invalid(errors.TEAM_WITHDRAW_BEFORE_START, "on_date")
    refusal = village_blocks_withdrawal(team.village)
    if refusal is not None:
        raise refusal
    return audited_update(
        actor=actor,
        instance=team,
        changes={"status": WorkTeamStatus.WITHDRAWN, "withdrawn_on": on_date, "withdrawal_reason": reason},
        action="work_team.withdraw",
        scope_code=team.village_id,
    )


# Helpers ----------------------------------------------------------------------------


def helper_check_not_poor(id_number: str) -> None:
    if not id_number:
        return
    member = household_counts().poor_members().filter(id_number=id_number).select_related("household").first()
    if member is not None:
        raise _invalid(
            errors.HELPER_IS_POOR % {"name": member.name, "household": member.household.registry_number},
            "id_number",
        )


def _normalise_id_number(id_number: str) -> str:
    if not id_number:
        return ""
    try:
        return parse_id_number(id_number).number
    except ValidationError as error:
        raise _invalid(error.messages[0], "id_number") from error


@transaction.atomic
def helper_create(
    *,
    actor,
    division: Division,
    name: str,
    unit: str,
    phone: str,
    id_number: str = "",
    title: str = "",
) -> Helper:
    """Register a paired helper (帮扶责任人); a registered poor person cannot be one."""
    require_capability(actor, Capability.MANAGE_HELPERS)
    require_in_scope(actor, division.code)
    if LEVEL_PREFIX_LENGTH[division.level] < 6:
        raise _invalid(errors.HELPER_DIVISION_LEVEL, "division")
    if not (name.strip() and unit.strip() and phone.strip()):
        raise _invalid(errors.HELPER_NEEDS_CONTACT)
    id_number = _normalise_id_number(id_number)
    helper_check_not_poor(id_number)
    helper = Helper(
        division=division,
        county_code=division.code[:6],
        name=name.strip(),
        unit=unit.strip(),
        phone=phone.strip(),
        id_number=id_number,
        title=title,
    )
    return audited_create(actor=actor, instance=helper, action="helper.create", scope_code=division.code)


@transaction.atomic
def helper_update(*, actor, helper: Helper, **changes) -> Helper:
    """Change a helper's details; the same not-poor rule applies to a new ID number."""
    require_capability(actor, Capability.MANAGE_HELPERS)
    require_in_scope(actor, helper.division_id)
    unknown = set(changes) - HELPER_FIELDS
    if unknown:
        raise _invalid(errors.STATUS_FIELD_UNKNOWN % {"fields": ", ".join(sorted(unknown))})
    if "id_number" in changes:
        changes["id_number"] = _normalise_id_number(changes["id_number"])
        helper_check_not_poor(changes["id_number"])
    helper = Helper.objects.select_for_update().get(pk=helper.pk)
    return audited_update(
        actor=actor, instance=helper, changes=changes, action="helper.update", scope_code=helper.division_id
    )

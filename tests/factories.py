"""Test data built through the real services (or, for models whose services are not yet
written, the smallest direct construction)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from registry.idnumber import check_char
from villages import services
from villages.choices import DivisionLevel, TeamRole

_sequence = itertools.count(1)


def make_id_number(birth: str = "19800101", area: str = "431129", sex: str = "1") -> str:
    """Return a valid 18-digit ID number (odd sequence digit for men, even for women)."""
    seq = next(_sequence) % 100
    last = "1" if sex == "1" else "2"
    first17 = f"{area}{birth}{seq:02d}{last}"
    return first17 + check_char(first17)


def make_village(*, parent, number: int, name: str = "测试村"):
    """Create a village under a township (system actor)."""
    code = parent.code[:9] + f"{200 + number:03d}"
    return services.division_create(actor=None, code=code, name=name, level=DivisionLevel.VILLAGE, parent=parent)


def make_township(*, county, number: int, name: str = "测试镇"):
    code = county.code[:6] + f"{100 + number:03d}000"
    return services.division_create(actor=None, code=code, name=name, level=DivisionLevel.TOWNSHIP, parent=county)


def team_members(count: int = 3) -> list[dict]:
    members = [{"name": "队长甲", "role": TeamRole.LEADER, "title": "第一书记", "unit": "县直单位"}]
    members += [{"name": f"队员{i}", "role": TeamRole.MEMBER, "unit": "县直单位"} for i in range(1, count)]
    return members


def make_team(*, village, actor=None, unit: str = "测试派出单位", members: int = 3):
    return services.work_team_create(
        actor=actor,
        village=village,
        dispatching_unit=unit,
        term_start=date(2018, 3, 1),
        term_end=date(2020, 3, 1),
        members=team_members(members),
    )


def member_data(*, relationship: str = "head", birth: str = "19800101", sex: str = "1", area: str = "431129", **extra):
    """Return the data of one member with a valid ID number."""
    data = {
        "name": extra.pop("name", "成员"),
        "id_number": make_id_number(birth=birth, area=area, sex=sex),
        "relationship": relationship,
        "ethnicity": "13",
        "education": "primary",
        "labour_ability": "ordinary",
    }
    data.update(extra)
    return data


def household_data(**extra) -> dict:
    data = {"attribute": "general", "main_cause": "illness"}
    data.update(extra)
    return data


def make_applied(*, village, actor=None, persons: int = 3, on_date: date | None = None, **household):
    """Register an application through the real service."""
    from households.services import household_apply

    members = [member_data(name="户主", area=village.code[:6])]
    members += [
        member_data(name=f"成员{i}", relationship="son", birth=f"20{i % 20:02d}0601", area=village.code[:6])
        for i in range(1, persons)
    ]
    return household_apply(
        actor=actor, village=village, household=household_data(**household), members=members, on_date=on_date
    )


#: The identification path to 已识别, with the offset (days before today) of each step.
IDENTIFICATION_PATH = [
    ("appraise", 30),
    ("open_village_notice", 30),
    ("close_village_notice", 22),
    ("township_approve", 22),
    ("close_township_notice", 14),
    ("county_approve", 14),
]


def advance(household, *, until: str, actors: dict | None = None):
    """Move an applied household along the identification path up to and including ``until``."""
    from households.workflow import household_transition

    actors = actors or {}
    for action, days in IDENTIFICATION_PATH:
        household = household_transition(
            actor=actors.get(action), household=household, action=action, on_date=date.today() - timedelta(days=days)
        )
        if action == until:
            break
    return household


def make_household(*, village, status: str, persons: int = 3):
    """Create a household with ``persons`` active members in ``status``.

    Registration runs through the real services (system actor, so four-eyes does not
    apply); statuses that only later workflows reach (exited, returned) are set directly.
    """
    from households.models import Household

    applied_on = date.today() - timedelta(days=31)
    household = make_applied(village=village, persons=persons, on_date=applied_on)
    if status == "applied":
        return household
    household = advance(household, until="county_approve")
    if status in ("exited", "returned"):
        Household.objects.filter(pk=household.pk).update(status=status)
        household.refresh_from_db()
    elif status != "registered":
        raise ValueError(status)
    return household


def make_assessed(*, village, year: int = 2018, wage: int = 20000, persons: int = 3, housing_grade: str = "B", **data):
    """Register a household with safe housing and record its ``year`` assessment (system actor)."""
    from assessments.services import assessment_record
    from households.services import household_update

    household = make_household(village=village, status="registered", persons=persons)
    household = household_update(actor=None, household=household, changes={"housing_grade": housing_grade})
    fields = {"wage_income": wage, "assessed_on": date(year, 11, 1)}
    fields.update(data)
    assessment = assessment_record(actor=None, household=household, year=year, data=fields)
    return household, assessment


#: The exit procedure up to certification, with the role that takes each step.
EXIT_PATH = [
    ("appraise", "team_lian"),
    ("verify", "team_lian"),
    ("acknowledge", "team_lian"),
    ("open_notice", "team_lian"),
    ("close_notice", "team_lian"),
    ("township_approve", "township_daxi"),
    ("county_certify", "county_jianghua"),
]


def exit_through(case, users: dict, *, until: str = "county_certify", start: date | None = None):
    """Take an exit case along the procedure up to ``until``, dating steps so notices have ended."""
    from assessments.exit_cases import exit_case_transition

    day = start or date.today() - timedelta(days=20)
    for action, username in EXIT_PATH:
        if action == "close_notice":
            day = day + timedelta(days=8)
        reason = "户主签字" if action == "acknowledge" else ""
        case = exit_case_transition(actor=users[username], case=case, action=action, reason=reason, on_date=day)
        if action == until:
            break
    return case

"""Test data built through the real services (or, for models whose services are not yet
written, the smallest direct construction)."""

from __future__ import annotations

import itertools
from datetime import date

from households.idnumber import check_char
from households.models import Household, Member
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


def make_household(*, village, status: str, persons: int = 3, number: str | None = None) -> Household:
    """Create a household with ``persons`` active members (households get services later)."""
    household = Household.objects.create(
        registry_number=number or f"H{village.code}{next(_sequence):05d}",
        county_code=village.code[:6],
        village=village,
        status=status,
    )
    for i in range(persons):
        Member.objects.create(
            household=household,
            county_code=village.code[:6],
            name=f"成员{i}",
            id_number=make_id_number(area=village.code[:6]),
            is_head=i == 0,
        )
    return household

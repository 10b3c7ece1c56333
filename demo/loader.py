"""Demo data from the seed documents (演示数据), loaded by ``manage.py load_demo``.

Facts from the seeds: 栗安村 (江华瑶族自治县大锡乡) has 6 villager groups, 170 households and
689 persons, became a national poverty village in 2014 and exited in 2018; 社田村
(邵阳县金称市镇) is a deep-poverty village helped by the 邵阳县委宣传部 team led by 刘梅;
桂东县 was to exit in 2017 (郴州's 2017 plan); 菏泽's six counties carry Shandong's
provincial poverty work. Township and village codes are invented but well-formed, and so
are the names of team members other than 刘梅, 社田村's population, and 桂东县's 桥头乡 and
its 龙溪村 (whose status and households come with the demo registry).

The households, their history, help measures, assessments and the counties' reduction
plans are :mod:`demo.demo_registry`; ``load_demo(households=False)`` leaves them out.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import transaction

from registry.models import User
from registry.roles import Role
from registry.services import user_create, user_set_password, user_update
from villages import services as village_services
from villages.choices import DivisionLevel, PovertyCountyType, RegionClass, TeamRole, VillageExitStatus
from villages.models import Division, VillagerGroup, VillageStatus, WorkTeam
from villages.reference import load_reference_divisions

JIANGHUA = "431129000000"
SHAOYANG_COUNTY = "430523000000"
GUIDONG = "431027000000"
DAXI = "431129203000"
LIAN = "431129203201"
JINCHENGSHI = "430523104000"
SHETIAN = "430523104201"
QIAOTOU = "431027204000"
LONGXI = "431027204201"
HEZE_COUNTIES = ["371702000000", "371721000000", "371722000000", "371724000000", "371726000000", "371728000000"]
XIANGXI = "433100000000"

LOCAL_DIVISIONS = [
    (DAXI, "大锡乡", DivisionLevel.TOWNSHIP, JIANGHUA),
    (LIAN, "栗安村", DivisionLevel.VILLAGE, DAXI),
    (JINCHENGSHI, "金称市镇", DivisionLevel.TOWNSHIP, SHAOYANG_COUNTY),
    (SHETIAN, "社田村", DivisionLevel.VILLAGE, JINCHENGSHI),
    (QIAOTOU, "桥头乡", DivisionLevel.TOWNSHIP, GUIDONG),
    (LONGXI, "龙溪村", DivisionLevel.VILLAGE, QIAOTOU),
]

COUNTY_STATUSES = {
    JIANGHUA: {"poverty_type": PovertyCountyType.NATIONAL_KEY, "planned_exit_year": 2019, "rural_population": 421000},
    SHAOYANG_COUNTY: {"poverty_type": PovertyCountyType.NATIONAL_KEY, "planned_exit_year": 2019},
    GUIDONG: {"poverty_type": PovertyCountyType.CONTIGUOUS, "planned_exit_year": 2017},
    **{code: {"poverty_type": PovertyCountyType.PROVINCIAL, "planned_exit_year": 2018} for code in HEZE_COUNTIES},
}

VILLAGE_STATUSES = {
    LIAN: {
        "is_poverty_village": True,
        "identified_year": 2014,
        "rural_population": 689,
        "rural_households": 170,
    },
    SHETIAN: {
        "is_poverty_village": True,
        "identified_year": 2014,
        "deep_poverty": True,
        "rural_population": 3260,
        "rural_households": 862,
    },
}

TEAMS = {
    LIAN: {
        "dispatching_unit": "江华瑶族自治县农业农村局",
        "term_start": date(2018, 3, 1),
        "term_end": date(2021, 3, 1),
        "members": [
            {"name": "盘建华", "role": TeamRole.LEADER, "title": "第一书记", "unit": "江华瑶族自治县农业农村局"},
            {"name": "李晓东", "role": TeamRole.MEMBER, "unit": "江华瑶族自治县农业农村局"},
            {"name": "赵玉梅", "role": TeamRole.MEMBER, "unit": "大锡乡人民政府"},
        ],
    },
    SHETIAN: {
        "dispatching_unit": "中共邵阳县委宣传部",
        "term_start": date(2018, 3, 1),
        "term_end": date(2021, 3, 1),
        "members": [
            {"name": "刘梅", "role": TeamRole.LEADER, "title": "第一书记", "unit": "中共邵阳县委宣传部"},
            {"name": "周志强", "role": TeamRole.MEMBER, "unit": "中共邵阳县委宣传部"},
            {"name": "曾丽华", "role": TeamRole.MEMBER, "unit": "邵阳县融媒体中心"},
        ],
    },
}

#: (username, role, jurisdiction code or None, display name)
DEMO_USERS = [
    ("admin", Role.ADMIN, None, "系统管理员"),
    ("team_lian", Role.WORK_TEAM, LIAN, "栗安村工作队"),
    ("township_daxi", Role.TOWNSHIP, DAXI, "大锡乡审核员"),
    ("county_jianghua", Role.COUNTY, JIANGHUA, "江华县扶贫办"),
    ("county_shaoyang", Role.COUNTY, SHAOYANG_COUNTY, "邵阳县扶贫办"),
    ("prefecture_yongzhou", Role.PREFECTURE, "431100000000", "永州市扶贫办"),
    ("province_hunan", Role.PROVINCE, "430000000000", "湖南省扶贫办"),
    ("auditor_hunan", Role.AUDITOR, "430000000000", "湖南省审计"),
    ("api_hunan", Role.API_CLIENT, "430000000000", "湖南省扶贫信息系统"),
]


@transaction.atomic
def load_demo(*, password: str | None = None, households: bool = True) -> dict[str, int]:
    """Load the demo divisions, statuses, teams and users, and (``households``) the demo registry.

    Running it twice changes nothing.
    """
    password = password or settings.REGISTRY_DEMO_PASSWORD
    load_reference_divisions()
    divisions = {d.code: d for d in Division.objects.all()}
    for code, name, level, parent in LOCAL_DIVISIONS:
        if code not in divisions:
            divisions[code] = village_services.division_create(
                actor=None, code=code, name=name, level=level, parent=divisions[parent]
            )
    for number in range(1, 7):
        if not VillagerGroup.objects.filter(village_id=LIAN, number=number).exists():
            village_services.villager_group_create(actor=None, village=divisions[LIAN], number=number)
    xiangxi_counties = [d for d in divisions.values() if d.parent_id == XIANGXI]
    for county in xiangxi_counties:
        village_services.county_status_set(
            actor=None, county=county, poverty_type=PovertyCountyType.CONTIGUOUS, region_class=RegionClass.WEST
        )
    for code, fields in COUNTY_STATUSES.items():
        village_services.county_status_set(actor=None, county=divisions[code], **fields)
    for code, fields in VILLAGE_STATUSES.items():
        village_services.village_status_set(actor=None, village=divisions[code], **fields)
    # 栗安村 exited in 2018 (seed 003): a historical record, entered by the system.
    if VillageStatus.objects.get(pk=LIAN).exit_status != VillageExitStatus.EXITED:
        village_services.village_exit_record(actor=None, village=divisions[LIAN], year=2018)
    for code, team in TEAMS.items():
        if not WorkTeam.objects.filter(village_id=code).exists():
            village_services.work_team_create(actor=None, village=divisions[code], **team)
    from assessments.choices import ParameterKey
    from assessments.parameters import NATIONAL_POVERTY_LINES, parameter_set

    for year, amount in NATIONAL_POVERTY_LINES.items():
        parameter_set(
            actor=None, key=ParameterKey.POVERTY_LINE, year=year, value=str(amount), note="国家扶贫标准（现价）"
        )
    users = 0
    for username, role, code, name in DEMO_USERS:
        jurisdictions = [divisions[code]] if code else []
        user = User.objects.filter(username=username).first()
        if user is None:
            user_create(
                actor=None,
                username=username,
                password=password,
                role=role,
                jurisdictions=jurisdictions,
                first_name=name,
            )
            users += 1
            continue
        user_update(actor=None, user=user, role=role, first_name=name, jurisdictions=jurisdictions)
        if not user.check_password(password):
            user_set_password(actor=None, user=user, password=password)
    result = {"divisions": Division.objects.count(), "users_created": users}
    if households:
        from demo.demo_registry import load_demo_registry

        result.update(load_demo_registry())
    return result

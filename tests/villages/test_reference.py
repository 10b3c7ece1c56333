"""The reference division tree and the demo data."""

from demo.loader import DEMO_USERS, load_demo
from registry.models import AuditEntry, User
from tests.conftest import DEMO_PASSWORD
from villages.choices import DivisionLevel, PovertyCountyType, VillageExitStatus
from villages.models import CountyStatus, Division, VillagerGroup, VillageStatus, WorkTeam
from villages.reference import read_reference_divisions

REQUIRED = {
    "430000": "湖南省",
    "431000": "郴州市",
    "431027": "桂东县",
    "431100": "永州市",
    "431129": "江华瑶族自治县",
    "430500": "邵阳市",
    "430523": "邵阳县",
    "433100": "湘西土家族苗族自治州",
    "370000": "山东省",
    "371700": "菏泽市",
    "371702": "牡丹区",
    "371721": "曹县",
    "371722": "单县",
    "371724": "巨野县",
    "371726": "鄄城县",
    "371728": "东明县",
}


def test_reference_csv_is_a_well_formed_tree():
    rows = read_reference_divisions()
    codes = {row["code"] for row in rows}
    assert all(len(c) == 12 and c.isdigit() and c.endswith("000000") for c in codes)
    assert all(row["parent_code"] in codes for row in rows if row["level"] != "province")
    by_province = {p: [r for r in rows if r["code"][:2] == p and r["level"] == "county"] for p in ("43", "37")}
    assert len(by_province["43"]) == 122
    assert len(by_province["37"]) >= 136


def test_required_codes_are_loaded(db):
    for code, name in REQUIRED.items():
        assert Division.objects.get(pk=code + "000000").name == name


def test_demo_matches_the_seeds(db):
    lian = Division.objects.get(name="栗安村")
    assert [d.name for d in [lian.parent, lian.parent.parent, lian.parent.parent.parent]] == [
        "大锡乡",
        "江华瑶族自治县",
        "永州市",
    ]
    status = VillageStatus.objects.get(pk=lian.pk)
    assert (status.rural_households, status.rural_population) == (170, 689)
    assert (status.is_poverty_village, status.identified_year) == (True, 2014)
    assert (status.exit_status, status.exit_year) == (VillageExitStatus.EXITED, 2018)
    assert VillagerGroup.objects.filter(village=lian).count() == 6
    assert WorkTeam.objects.get(village=lian).members.filter(active=True).count() >= 3

    shetian = Division.objects.get(name="社田村")
    assert shetian.parent.name == "金称市镇" and shetian.parent.parent.name == "邵阳县"
    assert VillageStatus.objects.get(pk=shetian.pk).deep_poverty is True
    team = WorkTeam.objects.get(village=shetian)
    assert team.dispatching_unit == "中共邵阳县委宣传部" and team.leader.name == "刘梅"

    assert CountyStatus.objects.get(pk="431027000000").planned_exit_year == 2017
    heze = CountyStatus.objects.filter(county__parent_id="371700000000")
    assert heze.count() == 6 and all(s.poverty_type == PovertyCountyType.PROVINCIAL for s in heze)


def test_demo_users_one_per_role(db):
    usernames = [u[0] for u in DEMO_USERS]
    assert set(User.objects.filter(username__in=usernames).values_list("username", flat=True)) == set(usernames)
    assert User.objects.get(username="admin").is_superuser
    assert User.objects.get(username="county_jianghua").check_password(DEMO_PASSWORD)
    assert not User.objects.get(username="api_hunan").is_staff
    assert list(User.objects.get(username="team_lian").jurisdictions.values_list("level", flat=True)) == [
        DivisionLevel.VILLAGE
    ]


def test_demo_load_is_idempotent(db):
    counts = (Division.objects.count(), WorkTeam.objects.count(), User.objects.count(), AuditEntry.objects.count())
    load_demo(password=DEMO_PASSWORD, households=False)  # as loaded for the suite (the registry's own test loads it)
    assert (
        Division.objects.count(),
        WorkTeam.objects.count(),
        User.objects.count(),
        AuditEntry.objects.count(),
    ) == counts

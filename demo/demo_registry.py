"""The demo registry (演示建档立卡数据): households, exits, help measures and plans from the seeds.

Facts from the seeds: 栗安村 (江华瑶族自治县大锡乡) has 6 villager groups, 170 households and
689 persons, of whom 建档立卡贫困户 122户488人; it became a national poverty village in 2014
and exited in 2018 (seed 003). 社田村 (邵阳县金称市镇) is a deep-poverty village; 桂东县 was to
exit in 2017 (seed 001, 郴州's 2017 plan). Everything else — names, ID numbers, incomes,
dates, measures and the 桂东县 village — is invented, drawn from ``random.Random(seed)``.

Everything is written through the real services with the system actor (``None``), in the
order it would have happened: identification in 2014 (两公示一公告), pairing with helpers,
help measures, annual assessments, exit cases (脱贫退出) through county certification, one
removal (清退) and, in 2019, returns to poverty (返贫) through monitoring. The statuses,
steps, history and audit log are therefore the ones the registry itself keeps.

In 栗安村, 122 households are 建档立卡 (registered, exited or returned) with 488 persons; one
more household identified in 2014 was removed in 2016 and is not counted, as the registry
does not count it. By the end of 2018 at most 13 persons there were still poor (the
village's incidence below 2 %, consistent with its exit that year).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction

from demo.loader import GUIDONG, JIANGHUA, LIAN, LONGXI, SHAOYANG_COUNTY, SHETIAN
from households.choices import (
    Attribute,
    Cause,
    Education,
    HousingGrade,
    HousingStructure,
    LabourAbility,
    MigrantWork,
    Relationship,
    Sex,
    StudentStatus,
)
from registry.idnumber import check_char

GUIDONG_VILLAGE = LONGXI

#: 桂东县's demo village: its status (the township and village are divisions of ``demo.loader``).
GUIDONG_VILLAGE_STATUS = {
    "is_poverty_village": True,
    "identified_year": 2014,
    "rural_population": 1136,
    "rural_households": 297,
}
#: The last complete year of the demo's history (the year of the latest reassessment).
LATEST_YEAR = 2019


# Names ------------------------------------------------------------------------------------

SURNAMES = {
    # 江华瑶族自治县: Yao clans first (盘、赵、邓、李、黄、冯、唐、奉).
    LIAN: "盘" * 9 + "赵" * 7 + "邓" * 6 + "李" * 5 + "黄" * 4 + "冯" * 3 + "唐" * 3 + "奉" * 3 + "任沈周陈蒋郑胡",
    SHETIAN: "刘" * 5
    + "李" * 4
    + "王" * 3
    + "周" * 3
    + "罗" * 3
    + "陈" * 3
    + "谢" * 2
    + "曾" * 2
    + "唐" * 2
    + "肖申邓蒋杨张",
    GUIDONG_VILLAGE: "黄" * 4 + "郭" * 4 + "李" * 3 + "陈" * 3 + "扶" * 3 + "罗" * 2 + "钟" * 2 + "何方胡刘邓",
}
GIVEN = {
    # (sex, generation): characters to draw one or two from.
    ("1", "old"): "德福贵生金顺清发春忠财荣祥良光元进寿松山林保有明文华",
    ("2", "old"): "秀英兰芳玉梅花珍凤桂香翠莲菊娥妹姣爱冬春",
    ("1", "mid"): "建国华明军平永志学文成海林伟强勇春辉新东红立光斌云峰",
    ("2", "mid"): "秀英兰芳玉梅珍凤娟丽红桂香翠莲琴云霞艳萍春燕群",
    ("1", "young"): "子宇浩俊杰鹏凯博睿轩涛磊鑫晨阳辉帆翔宏明诚",
    ("2", "young"): "欣怡思雨婷琪佳诗涵梓萱雪敏静瑶慧颖璐丹",
}


def _given(rng: random.Random, sex: str, born: int) -> str:
    generation = "old" if born < 1960 else "mid" if born < 1995 else "young"
    chars = GIVEN[(sex, generation)]
    return rng.choice(chars) + (rng.choice(chars) if rng.random() < 0.6 else "")


# Plans of what to create (pure, drawn from the seed) -----------------------------------------


@dataclass
class PersonPlan:
    """A member to register (as of the application in 2014)."""

    name: str
    relationship: str
    sex: str
    birth: date
    ethnicity: str
    id_number: str = ""
    education: str = ""
    student_status: str = StudentStatus.NOT_STUDENT
    labour_ability: str = LabourAbility.ORDINARY
    chronic_disease: bool = False
    serious_illness: bool = False
    disabled: bool = False
    disability_certificate: str = ""
    migrant_work: str = MigrantWork.NONE
    migrant_months: int = 0
    serious_illness_insurance: bool = True
    pension_insurance: bool = False
    dibao_recipient: bool = False
    tekun_recipient: bool = False

    def data(self) -> dict:
        """Return the member data ``household_apply`` takes."""
        return {
            "name": self.name,
            "id_number": self.id_number,
            "sex": self.sex,
            "birth_date": self.birth,
            "ethnicity": self.ethnicity,
            "relationship": self.relationship,
            "education": self.education,
            "student_status": self.student_status,
            "chronic_disease": self.chronic_disease,
            "serious_illness": self.serious_illness,
            "disabled": self.disabled,
            "disability_certificate": self.disability_certificate,
            "labour_ability": self.labour_ability,
            "migrant_work": self.migrant_work,
            "migrant_months": self.migrant_months,
            "basic_medical_insurance": True,
            "serious_illness_insurance": self.serious_illness_insurance,
            "pension_insurance": self.pension_insurance,
            "dibao_recipient": self.dibao_recipient,
            "tekun_recipient": self.tekun_recipient,
        }


@dataclass
class HouseholdPlan:
    """A household to register, and what happens to it later (measures, exit, return, removal)."""

    village: str
    group: int | None
    attribute: str
    main_cause: str
    other_causes: list[str]
    members: list[PersonPlan]
    applied_on: date
    housing: dict
    phone: str = ""
    helper: int = 0
    exit_year: int | None = None
    removed_on: date | None = None
    returned_on: date | None = None
    return_cause: str = ""
    measures: list[dict] = field(default_factory=list)
    assess_latest: bool = False
    renovate_on: date | None = None
    relocate_on: date | None = None

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def head(self) -> PersonPlan:
        return self.members[0]

    def poor_at(self, day: date) -> bool:
        """Return whether the household counts as poor on ``day`` (registered, not exited or returned)."""
        if self.removed_on and self.removed_on <= day:
            return False
        if self.returned_on and self.returned_on <= day:
            return True
        return self.exit_year is None or date(self.exit_year, 12, 31) > day


@dataclass(frozen=True)
class VillageSpec:
    """How one village's households are drawn."""

    code: str
    households: int
    persons: int
    groups: int
    yao_share: float
    #: Households exiting per year; the rest stay poor.
    exits: dict[int, int]
    identification: dict[str, date]
    unit_prefix: str
    helper_units: tuple[str, ...]
    removed: int = 0


IDENTIFICATION_ACTIONS = (
    "appraise",
    "open_village_notice",
    "close_village_notice",
    "township_approve",
    "close_township_notice",
    "county_approve",
)


def _path(*days: str) -> dict[str, date]:
    return {action: date.fromisoformat(day) for action, day in zip(IDENTIFICATION_ACTIONS, days, strict=True)}


VILLAGES = (
    VillageSpec(
        code=LIAN,
        households=122,
        persons=488,
        groups=6,
        yao_share=0.85,
        exits={2015: 15, 2016: 29, 2017: 33, 2018: 42, 2019: 1},
        identification=_path("2014-05-08", "2014-05-09", "2014-05-17", "2014-05-23", "2014-06-03", "2014-06-16"),
        unit_prefix="江华瑶族自治县",
        helper_units=(
            "江华瑶族自治县农业局",
            "江华瑶族自治县扶贫开发办公室",
            "江华瑶族自治县教育局",
            "江华瑶族自治县林业局",
            "江华瑶族自治县水利局",
            "江华瑶族自治县财政局",
            "大锡乡人民政府",
        ),
        removed=1,
    ),
    VillageSpec(
        code=SHETIAN,
        households=40,
        persons=150,
        groups=0,
        yao_share=0.0,
        exits={2017: 4, 2018: 5, 2019: 4},
        identification=_path("2014-06-05", "2014-06-06", "2014-06-14", "2014-06-20", "2014-06-30", "2014-07-10"),
        unit_prefix="邵阳县",
        helper_units=("中共邵阳县委宣传部", "邵阳县融媒体中心", "邵阳县文化旅游广电体育局", "金称市镇人民政府"),
    ),
    VillageSpec(
        code=GUIDONG_VILLAGE,
        households=15,
        persons=56,
        groups=0,
        yao_share=0.0,
        exits={2016: 6, 2017: 7, 2018: 1},
        identification=_path("2014-05-12", "2014-05-13", "2014-05-21", "2014-05-27", "2014-06-06", "2014-06-18"),
        unit_prefix="桂东县",
        helper_units=("桂东县扶贫开发办公室", "桂东县农业局", "桂东县人民医院", "桥头乡人民政府"),
    ),
)

#: Causes of poverty and how often each is the main one (栗安村's mountain villages).
CAUSE_WEIGHTS = {
    Cause.ILLNESS: 24,
    Cause.LACK_SKILLS: 18,
    Cause.LACK_CAPITAL: 15,
    Cause.DISABILITY: 11,
    Cause.EDUCATION: 10,
    Cause.LACK_LABOUR: 9,
    Cause.POOR_TRANSPORT: 5,
    Cause.DISASTER: 3,
    Cause.LACK_LAND: 3,
    Cause.LACK_MOTIVATION: 2,
}
#: How late a cause typically lets a household exit (higher: later).
CAUSE_DIFFICULTY = {
    Cause.LACK_CAPITAL: 0,
    Cause.LACK_SKILLS: 0,
    Cause.POOR_TRANSPORT: 1,
    Cause.LACK_LAND: 1,
    Cause.DISASTER: 1,
    Cause.LACK_MOTIVATION: 2,
    Cause.EDUCATION: 2,
    Cause.ILLNESS: 3,
    Cause.DISABILITY: 3,
    Cause.LACK_LABOUR: 4,
}
SIZE_WEIGHTS = {1: 5, 2: 11, 3: 22, 4: 28, 5: 20, 6: 8, 7: 4, 8: 1.5, 9: 0.5}


def _weighted(rng: random.Random, weights: dict):
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _sizes(rng: random.Random, count: int, total: int) -> list[int]:
    """Return ``count`` household sizes (1–9, mostly 3–5) adding up to ``total``."""
    sizes = [_weighted(rng, SIZE_WEIGHTS) for _ in range(count)]
    while sum(sizes) != total:
        i = rng.randrange(count)
        if sum(sizes) < total and sizes[i] < 9 and (sizes[i] < 5 or rng.random() < 0.2):
            sizes[i] += 1
        elif sum(sizes) > total and sizes[i] > 1 and (sizes[i] > 3 or rng.random() < 0.2):
            sizes[i] -= 1
    return sizes


class IdNumbers:
    """Unique, valid ID numbers (GB 11643) for one load.

    The sequence's last digit is 3, 5, 7 or 9 for men and 0, 4, 6 or 8 for women: never the
    1 or 2 of ``tests.factories.make_id_number``, so the demo and the tests never collide.
    """

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def make(self, area: str, birth: date, sex: str) -> str:
        while True:
            last = self.rng.choice("3579" if sex == Sex.MALE else "0468")
            first17 = f"{area}{birth:%Y%m%d}{self.rng.randrange(100):02d}{last}"
            number = first17 + check_char(first17)
            if number not in self.used:
                self.used.add(number)
                return number


def _birth(rng: random.Random, year: int) -> date:
    return date(year, 1, 1) + timedelta(days=rng.randrange(365))


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _person(rng, *, surname, sex, born, relationship, ethnicity) -> PersonPlan:
    return PersonPlan(
        name=surname + _given(rng, sex, born),
        relationship=relationship,
        sex=sex,
        birth=_birth(rng, born),
        ethnicity=ethnicity,
    )


def _compose(rng: random.Random, spec: VillageSpec, size: int, attribute: str) -> list[PersonPlan]:
    """Return the members of a household of ``size``: head first, then family in a plausible shape."""
    surnames = SURNAMES[spec.code]
    ethnicity = "13" if rng.random() < spec.yao_share else "01"

    def other_ethnicity() -> str:
        return "13" if rng.random() < spec.yao_share else "01"

    surname = rng.choice(surnames)
    if attribute == Attribute.TEKUN or size == 1:
        head_born = rng.randint(1930, 1958) if attribute == Attribute.TEKUN else rng.randint(1950, 1975)
    else:
        head_born = rng.randint(1945, 1986)
    head_sex = Sex.MALE if rng.random() < 0.86 else Sex.FEMALE
    members = [
        _person(rng, surname=surname, sex=head_sex, born=head_born, relationship=Relationship.HEAD, ethnicity=ethnicity)
    ]
    other_sex = Sex.FEMALE if head_sex == Sex.MALE else Sex.MALE

    def add(relationship, sex, born, *, same_surname=True, eth=None):
        members.append(
            _person(
                rng,
                surname=surname if same_surname else rng.choice(surnames),
                sex=sex,
                born=born,
                relationship=relationship,
                ethnicity=eth or ethnicity,
            )
        )

    if size == 1:
        return members
    widowed = head_sex == Sex.FEMALE or rng.random() < 0.1
    if size == 2:
        shape = rng.random()
        if attribute == Attribute.TEKUN:
            # An old couple, or two old siblings, with no one to support them.
            relationship = Relationship.SIBLING if widowed else Relationship.SPOUSE
            sex = rng.choice(Sex.values) if widowed else other_sex
            add(relationship, sex, head_born + rng.randint(-3, 4), same_surname=widowed, eth=other_ethnicity())
        elif shape < 0.55 and not widowed:
            add(
                Relationship.SPOUSE,
                other_sex,
                head_born + rng.randint(-3, 4),
                same_surname=False,
                eth=other_ethnicity(),
            )
        elif shape < 0.8 and head_born > 1955:
            add(
                Relationship.PARENT,
                rng.choice(Sex.values),
                head_born - rng.randint(21, 32),
                same_surname=rng.random() < 0.5,
            )
        else:
            sex = rng.choice(Sex.values)
            child = Relationship.SON if sex == Sex.MALE else Relationship.DAUGHTER
            add(child, sex, min(head_born + rng.randint(20, 34), 2013))
        return members
    if not widowed:
        add(Relationship.SPOUSE, other_sex, head_born + rng.randint(-3, 4), same_surname=False, eth=other_ethnicity())
    slots = size - len(members)
    # An older head lives with a married son and grandchildren; a younger one with parents.
    if head_born < 1962 and slots >= 3:
        son_born = min(head_born + rng.randint(21, 28), 1994)
        add(Relationship.SON, Sex.MALE, son_born)
        add(Relationship.OTHER, Sex.FEMALE, son_born + rng.randint(-2, 3), same_surname=False, eth=other_ethnicity())
        slots -= 2
        born = son_born + rng.randint(20, 26)
        for _ in range(slots):
            add(Relationship.GRANDCHILD, rng.choice(Sex.values), min(born, 2013))
            born += rng.randint(1, 4)
        return members
    parents = 0
    if head_born > 1962 and slots >= 3 and rng.random() < 0.45:
        parents = 2 if slots >= 5 and rng.random() < 0.4 else 1
    for i in range(parents):
        sex = (Sex.MALE, Sex.FEMALE)[i] if parents == 2 else rng.choice(Sex.values)
        add(Relationship.PARENT, sex, head_born - rng.randint(22, 32), same_surname=sex == Sex.MALE)
    slots = size - len(members)
    born = max(head_born + rng.randint(20, 28), 1985 if head_born > 1960 else 1970)
    for _ in range(slots):
        sex = rng.choice(Sex.values)
        add(Relationship.SON if sex == Sex.MALE else Relationship.DAUGHTER, sex, min(born, 2013))
        born += rng.randint(1, 4)
    return members


def _education_for(rng: random.Random, person: PersonPlan, on: date) -> str:
    age = _age(person.birth, on)
    if age < 6:
        return ""
    if age <= 12:
        return Education.PRIMARY
    if age <= 15:
        return Education.JUNIOR
    born = person.birth.year
    if born < 1950:
        return rng.choice((Education.ILLITERATE, Education.ILLITERATE, Education.PRIMARY))
    if born < 1966:
        return rng.choice((Education.PRIMARY, Education.PRIMARY, Education.JUNIOR))
    if born < 1981:
        return rng.choice((Education.PRIMARY, Education.JUNIOR, Education.JUNIOR, Education.JUNIOR))
    return rng.choice((Education.JUNIOR, Education.JUNIOR, Education.SENIOR))


def student_status_on(age: int) -> str:
    """Return the schooling of a child of ``age`` who goes to school as children do."""
    if age < 3:
        return StudentStatus.NOT_STUDENT
    if age < 6:
        return StudentStatus.PRESCHOOL
    if age < 12:
        return StudentStatus.PRIMARY
    if age < 15:
        return StudentStatus.JUNIOR
    if age < 18:
        return StudentStatus.SENIOR
    return StudentStatus.NOT_STUDENT


def _fill_person(rng, person: PersonPlan, *, attribute: str, registered: date, spec: VillageSpec, ids: IdNumbers):
    age = _age(person.birth, registered)
    person.id_number = ids.make(spec.code[:6], person.birth, person.sex)
    person.education = _education_for(rng, person, registered)
    person.student_status = student_status_on(age)
    if person.student_status == StudentStatus.SENIOR and rng.random() < 0.3:
        person.student_status = StudentStatus.SECONDARY_VOCATIONAL
    if person.student_status != StudentStatus.NOT_STUDENT or age < 16:
        person.labour_ability = LabourAbility.NONE
    elif age >= 70:
        person.labour_ability = rng.choice((LabourAbility.LOST, LabourAbility.NONE))
    elif age >= 60:
        person.labour_ability = LabourAbility.WEAK
    elif rng.random() < 0.15:
        person.labour_ability = LabourAbility.SKILLED
    else:
        person.labour_ability = LabourAbility.ORDINARY
    if person.labour_ability in (LabourAbility.ORDINARY, LabourAbility.SKILLED) and 18 <= age <= 55:
        where = rng.random()
        if where < 0.4:
            person.migrant_work, person.migrant_months = MigrantWork.OUT_OF_PROVINCE, rng.randint(6, 11)
        elif where < 0.55:
            person.migrant_work, person.migrant_months = MigrantWork.IN_PROVINCE, rng.randint(4, 10)
        elif where < 0.65:
            person.migrant_work, person.migrant_months = MigrantWork.IN_COUNTY, rng.randint(3, 9)
    person.pension_insurance = age >= 60 or (
        age >= 16 and person.student_status == StudentStatus.NOT_STUDENT and rng.random() < 0.85
    )
    person.serious_illness_insurance = rng.random() < 0.92
    person.dibao_recipient = attribute == Attribute.DIBAO
    person.tekun_recipient = attribute == Attribute.TEKUN


def _make_ill(rng, person: PersonPlan, *, serious: bool) -> None:
    person.serious_illness = serious
    person.chronic_disease = not serious or rng.random() < 0.5
    person.labour_ability = LabourAbility.LOST if serious else LabourAbility.WEAK
    person.migrant_work, person.migrant_months = MigrantWork.NONE, 0


def _make_disabled(rng, person: PersonPlan) -> None:
    person.disabled = True
    # 残疾人证号: the ID number, then the category (1–7) and the grade (1–4).
    person.disability_certificate = f"{person.id_number}{rng.randint(1, 7)}{rng.randint(1, 4)}"
    person.labour_ability = rng.choice((LabourAbility.LOST, LabourAbility.WEAK))
    person.migrant_work, person.migrant_months = MigrantWork.NONE, 0


def _apply_cause(rng, members: list[PersonPlan], cause: str, registered: date) -> None:
    """Make the members bear out the main cause (an ill member for 因病, a student for 因学 …)."""
    adults = [m for m in members if _age(m.birth, registered) >= 18] or members
    if cause == Cause.ILLNESS:
        _make_ill(rng, rng.choice(adults), serious=rng.random() < 0.6)
    elif cause == Cause.DISABILITY:
        _make_disabled(rng, rng.choice(members))
    elif cause == Cause.EDUCATION:
        young = [m for m in members if 12 <= _age(m.birth, registered) <= 22]
        student = rng.choice(young) if young else None
        if student is not None:
            age = _age(student.birth, registered)
            if age >= 18:
                student.student_status = rng.choice((StudentStatus.HIGHER_VOCATIONAL, StudentStatus.UNDERGRADUATE))
                student.education = Education.SENIOR
            elif age >= 15:
                student.student_status = rng.choice((StudentStatus.SENIOR, StudentStatus.SECONDARY_VOCATIONAL))
                student.education = Education.JUNIOR
            student.labour_ability = LabourAbility.NONE
            student.migrant_work, student.migrant_months = MigrantWork.NONE, 0
    elif cause == Cause.LACK_LABOUR:
        for m in adults:
            if m.labour_ability == LabourAbility.ORDINARY and rng.random() < 0.7:
                m.labour_ability = LabourAbility.WEAK
                m.migrant_work, m.migrant_months = MigrantWork.NONE, 0
    elif cause == Cause.LACK_SKILLS:
        for m in adults:
            if m.labour_ability == LabourAbility.SKILLED:
                m.labour_ability = LabourAbility.ORDINARY


def _housing(rng: random.Random) -> dict:
    grade = _weighted(rng, {HousingGrade.A: 8, HousingGrade.B: 52, HousingGrade.C: 26, HousingGrade.D: 14})
    structure = (
        _weighted(rng, {HousingStructure.EARTH_WOOD: 6, HousingStructure.BRICK_WOOD: 4})
        if grade in (HousingGrade.C, HousingGrade.D)
        else _weighted(
            rng, {HousingStructure.BRICK_WOOD: 5, HousingStructure.BRICK_CONCRETE: 4, HousingStructure.EARTH_WOOD: 1}
        )
    )
    return {
        "housing_area": Decimal(rng.randrange(45, 161)),
        "housing_structure": structure,
        "housing_grade": grade,
        "drinking_water_safe": True,
        "electricity": True,
        "road_distance_km": Decimal(rng.randrange(1, 60)) / 10,
        "cultivated_land_mu": Decimal(rng.randrange(3, 45)) / 10,
        "forest_land_mu": Decimal(rng.randrange(0, 400)) / 10,
    }


def _phone(rng: random.Random) -> str:
    return rng.choice(("139", "138", "137", "158", "187", "152")) + f"{rng.randrange(10**8):08d}"


def _plan_village(rng: random.Random, spec: VillageSpec, ids: IdNumbers) -> list[HouseholdPlan]:
    """Return the households of one village: members, causes, housing, exit year, what happens later."""
    sizes = _sizes(rng, spec.households, spec.persons)
    # The removed households (清退) are drawn on top of the counted ones: they are not counted.
    sizes += [rng.randint(3, 5) for _ in range(spec.removed)]
    households = []
    applied_from = spec.identification["appraise"] - timedelta(days=30)
    for size in sizes:
        # 特困供养 is for those living alone (or nearly) with no one to support them.
        if size <= 2 and rng.random() < (0.45 if size == 1 else 0.08):
            attribute = Attribute.TEKUN
        else:
            attribute = _weighted(rng, {Attribute.GENERAL: 72, Attribute.DIBAO: 28})
        cause = _weighted(rng, CAUSE_WEIGHTS)
        if attribute == Attribute.TEKUN:
            cause = rng.choice((Cause.LACK_LABOUR, Cause.ILLNESS, Cause.DISABILITY))
        applied_on = applied_from + timedelta(days=rng.randrange(22))
        members = _compose(rng, spec, size, attribute)
        for person in members:
            _fill_person(rng, person, attribute=attribute, registered=applied_on, spec=spec, ids=ids)
        if cause == Cause.EDUCATION and not any(12 <= _age(m.birth, applied_on) <= 22 for m in members):
            cause = Cause.LACK_SKILLS
        _apply_cause(rng, members, cause, applied_on)
        others = [c for c in CAUSE_WEIGHTS if c != cause]
        other_causes = rng.sample(others, k=_weighted(rng, {0: 4, 1: 4, 2: 2}))
        households.append(
            HouseholdPlan(
                village=spec.code,
                group=_weighted(rng, {1: 18, 2: 20, 3: 16, 4: 17, 5: 15, 6: 14}) if spec.groups else None,
                attribute=attribute,
                main_cause=cause,
                other_causes=[str(c) for c in other_causes],
                members=members,
                applied_on=applied_on,
                housing=_housing(rng),
                phone=_phone(rng) if rng.random() < 0.7 else "",
            )
        )
    counted = households[: spec.households]
    for removed in households[spec.households :]:
        removed.removed_on = date(2016, 4, 18)
    _plan_exits(rng, spec, counted)
    households.sort(key=lambda h: h.applied_on)
    return households


def _plan_exits(rng: random.Random, spec: VillageSpec, households: list[HouseholdPlan]) -> None:
    """Give households their exit year: easier causes earlier, 兜底 households last."""

    def difficulty(h: HouseholdPlan) -> float:
        score = CAUSE_DIFFICULTY.get(h.main_cause, 2) + len(h.other_causes) * 0.5
        score += {Attribute.GENERAL: 0, Attribute.DIBAO: 1.5, Attribute.TEKUN: 3}[h.attribute]
        return score + rng.uniform(0, 3.5)

    ordered = sorted(households, key=difficulty)
    exiting = sum(spec.exits.values())
    if spec.code == LIAN:
        # The few still poor at the end of 2018 are small 兜底 households (at most 13 persons).
        stayers = [h for h in reversed(ordered) if h.size <= 3][: len(households) - exiting + spec.exits.get(2019, 0)]
        ordered = [h for h in ordered if h not in stayers] + sorted(stayers, key=lambda h: -h.size)
    position = 0
    for year in sorted(spec.exits):
        for h in ordered[position : position + spec.exits[year]]:
            h.exit_year = year
        position += spec.exits[year]


def _plan_helpers(rng: random.Random, spec: VillageSpec, households: list[HouseholdPlan], ids: IdNumbers) -> list[dict]:
    """Return the village's helpers (帮扶责任人, one per three to five households) and pair them."""
    count = max(2, round(len(households) / 4))
    surnames = SURNAMES[spec.code]
    helpers = []
    for i in range(count):
        sex = Sex.MALE if rng.random() < 0.65 else Sex.FEMALE
        born = rng.randint(1965, 1992)
        birth = _birth(rng, born)
        unit = spec.helper_units[i % len(spec.helper_units)]
        helpers.append(
            {
                "name": rng.choice(surnames) + _given(rng, sex, born),
                "unit": unit,
                "title": rng.choice(("干部", "科员", "副股长", "股长", "副局长", "办事员")),
                "phone": _phone(rng),
                "id_number": ids.make(spec.code[:6], birth, sex),
            }
        )
    for i, h in enumerate(households):
        h.helper = (i * 7 + rng.randrange(2)) % count
    return helpers


# Help measures -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MeasureKind:
    """A kind of help measure: category, 五个一批, what it is, amount range (元), fund source, unit."""

    category: str
    five_batches: str
    description: str
    amounts: tuple[int, int]
    fund_source: str
    unit: str


MEASURES = {
    "industry": MeasureKind(
        "industry", "production", "产业奖补：发展种养殖业", (1000, 3000), "财政专项扶贫资金", "农业局"
    ),
    "cooperative": MeasureKind(
        "industry",
        "production",
        "入股江华瑶族自治县栗民水果种植专业合作社种植沃柑，按股分红",
        (3000, 5000),
        "整合涉农资金",
        "扶贫开发办公室",
    ),
    "tea": MeasureKind(
        "industry", "production", "产业奖补：种植茶叶、黄桃", (1500, 3000), "财政专项扶贫资金", "农业局"
    ),
    "pigs": MeasureKind(
        "industry", "production", "产业奖补：发展油茶、生猪养殖", (1000, 2500), "财政专项扶贫资金", "畜牧水产局"
    ),
    "training": MeasureKind(
        "employment",
        "production",
        "职业技能培训（电工、家政、育婴）",
        (600, 1500),
        "就业专项资金",
        "人力资源和社会保障局",
    ),
    "transport": MeasureKind(
        "employment", "production", "转移就业一次性交通补贴", (300, 800), "财政专项扶贫资金", "人力资源和社会保障局"
    ),
    "public_post": MeasureKind(
        "employment",
        "production",
        "安排村级公益性岗位（保洁员）",
        (3600, 6000),
        "财政专项扶贫资金",
        "人力资源和社会保障局",
    ),
    "loan": MeasureKind(
        "finance",
        "production",
        "扶贫小额信贷：5万元以下、3年期、免抵押免担保、财政贴息",
        (30000, 50000),
        "扶贫小额信贷（银行贷款）",
        "扶贫开发办公室",
    ),
    "yulu": MeasureKind(
        "education", "education", "雨露计划职业教育补助", (3000, 3000), "雨露计划资金", "扶贫开发办公室"
    ),
    "school_aid": MeasureKind(
        "education", "education", "建档立卡学生生活补助与学费减免", (1000, 2500), "教育专项资金", "教育局"
    ),
    "student_loan": MeasureKind("education", "education", "生源地信用助学贷款", (6000, 8000), "国家助学贷款", "教育局"),
    "medical_aid": MeasureKind(
        "health", "social_security", "住院费用“一站式”结算，医疗救助", (2000, 12000), "医疗救助资金", "卫生和计划生育局"
    ),
    "chronic": MeasureKind(
        "health", "social_security", "家庭医生签约服务，慢性病门诊补助", (300, 1200), "医疗救助资金", "卫生和计划生育局"
    ),
    "dibao": MeasureKind("social_security", "social_security", "纳入农村低保", (2400, 4800), "城乡低保资金", "民政局"),
    "tekun": MeasureKind(
        "social_security", "social_security", "特困人员分散供养", (4000, 5200), "特困供养资金", "民政局"
    ),
    "disability": MeasureKind(
        "social_security", "social_security", "残疾人两项补贴", (600, 1200), "残疾人事业专项资金", "残疾人联合会"
    ),
    "housing": MeasureKind(
        "housing", "social_security", "农村危房改造", (15000, 35000), "农村危房改造补助资金", "住房和城乡建设局"
    ),
    "ranger": MeasureKind("ecological", "ecological", "聘为生态护林员", (8000, 10000), "生态护林员补助资金", "林业局"),
    "relocation": MeasureKind(
        "relocation", "relocation", "易地扶贫搬迁集中安置", (60000, 90000), "易地扶贫搬迁资金", "发展和改革局"
    ),
    "relief": MeasureKind("other", "social_security", "临时救助", (1000, 3000), "临时救助资金", "民政局"),
    "solar": MeasureKind(
        "solar", "production", "村级光伏电站收益分配", (500, 1000), "财政专项扶贫资金", "扶贫开发办公室"
    ),
}
CAUSE_MEASURES = {
    Cause.ILLNESS: ("medical_aid", "chronic", "dibao"),
    Cause.DISABILITY: ("disability", "dibao", "public_post"),
    Cause.EDUCATION: ("school_aid", "yulu", "student_loan"),
    Cause.LACK_SKILLS: ("training", "transport", "industry"),
    Cause.LACK_LABOUR: ("dibao", "ranger", "chronic"),
    Cause.LACK_CAPITAL: ("loan", "industry", "industry"),
    Cause.POOR_TRANSPORT: ("industry", "transport", "training"),
    Cause.DISASTER: ("relief", "industry", "transport"),
    Cause.LACK_LAND: ("industry", "training", "transport"),
    Cause.LACK_MOTIVATION: ("training", "public_post", "industry"),
}
#: The village's own industry measure, where it has one.
VILLAGE_INDUSTRY = {LIAN: "cooperative", SHETIAN: "pigs", GUIDONG_VILLAGE: "tea"}
#: Units renamed in the 2019 reform of county governments.
UNITS_2019 = {"卫生和计划生育局": "卫生健康局", "农业局": "农业农村局", "畜牧水产局": "农业农村局"}


def _unit(spec: VillageSpec, unit: str, year: int) -> str:
    if year >= 2019:
        unit = UNITS_2019.get(unit, unit)
    return spec.unit_prefix + unit


def _measure(rng, spec: VillageSpec, key: str, day: date, h: HouseholdPlan) -> dict:
    kind = MEASURES[key]
    low, high = kind.amounts
    amount = rng.randint(low // 100, high // 100) * 100
    if key == "loan":
        amount = rng.choice((30000, 50000))
    if key == "relocation":
        amount = 12000 * h.size  # 人均补助
    return {
        "category": kind.category,
        "five_batches": kind.five_batches,
        "measure_date": day,
        "amount": Decimal(amount),
        "fund_source": kind.fund_source,
        "responsible_unit": _unit(spec, kind.unit, day.year),
        "description": kind.description,
    }


def _plan_measures(rng: random.Random, spec: VillageSpec, h: HouseholdPlan) -> None:
    """Give the household one to three measures across the years, fitting its cause (most households)."""
    if h.removed_on is not None:
        return
    last = min(h.exit_year or LATEST_YEAR, LATEST_YEAR)
    grade = h.housing["housing_grade"]
    if grade in (HousingGrade.C, HousingGrade.D):
        # Unsafe housing is made safe before the exit: rebuilt, or (some D) the family is relocated.
        year = rng.randint(2015, max(2015, last))
        day = date(year, rng.randint(3, 8), rng.randint(1, 28))
        if grade == HousingGrade.D and spec.code == LIAN and rng.random() < 0.3:
            h.relocate_on = day
            h.measures.append(_measure(rng, spec, "relocation", day, h))
        elif h.exit_year is not None or rng.random() < 0.5:
            h.renovate_on = day
            h.measures.append(_measure(rng, spec, "housing", day, h))
    if rng.random() < 0.08 and not h.measures:
        return  # some households have no measure recorded yet
    # The measure fitting the main cause first, then 兜底 for 低保/特困 households, then the village's industry.
    pool = list(CAUSE_MEASURES.get(h.main_cause, ("industry",)))
    if h.attribute == Attribute.TEKUN:
        pool.insert(1, "tekun")
    elif h.attribute == Attribute.DIBAO and "dibao" not in pool:
        pool.insert(1, "dibao")
    if rng.random() < 0.45:
        pool.insert(1, VILLAGE_INDUSTRY[spec.code])
    if spec.code == SHETIAN and rng.random() < 0.3:
        pool.append("solar")
    most = 2 if h.returned_on is not None else 3  # a returned household gets one more after its return
    wanted = min(most, max(_weighted(rng, {1: 3, 2: 4, 3: 2}), len(h.measures) + 1)) - len(h.measures)
    chosen = list(dict.fromkeys(pool))[:wanted]
    for key in chosen:
        year = rng.randint(2015, max(2015, last))
        h.measures.append(_measure(rng, spec, key, date(year, rng.randint(2, 9), rng.randint(1, 28)), h))
    if h.returned_on is not None:
        key = "medical_aid" if h.return_cause == Cause.ILLNESS else "relief"
        h.measures.append(_measure(rng, spec, key, h.returned_on + timedelta(days=35), h))
    h.measures.sort(key=lambda m: m["measure_date"])


def _plan_returns(rng: random.Random, households: list[HouseholdPlan]) -> None:
    """Two 栗安村 households exited in 2016 and 2017 return to poverty in 2019 (a serious illness, a flood)."""
    events = (
        (2016, 2, Cause.ILLNESS, date(2019, 4, 8)),
        (2017, 4, Cause.DISASTER, date(2019, 7, 15)),
    )
    for year, size, cause, day in events:
        candidates = [
            h for h in households
            if h.exit_year == year and h.size == size and h.returned_on is None and cause not in h.other_causes
            and h.removed_on is None
        ]  # fmt: skip
        chosen = candidates[rng.randrange(len(candidates))]
        chosen.returned_on, chosen.return_cause = day, cause


@dataclass
class RegistryPlan:
    """Everything the demo registry will create, drawn from one seed."""

    households: list[HouseholdPlan]
    helpers: dict[str, list[dict]]


def plan_registry(seed: int = 2014) -> RegistryPlan:
    """Return the plan of the demo registry for ``seed`` (no database access)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not a secret
    ids = IdNumbers(rng)
    households, helpers = [], {}
    for spec in VILLAGES:
        village = _plan_village(rng, spec, ids)
        helpers[spec.code] = _plan_helpers(rng, spec, village, ids)
        if spec.code == LIAN:
            _plan_returns(rng, village)
        for h in village:
            _plan_measures(rng, spec, h)
        latest_due = [h for h in village if h.removed_on is None]
        for h in latest_due:
            # Most households due are reassessed for the latest year; some are not yet (overdue).
            h.assess_latest = h.exit_year == LATEST_YEAR or h.returned_on is not None or rng.random() < 0.78
        households += village
    return RegistryPlan(households=households, helpers=helpers)


def spec_of(code: str) -> VillageSpec:
    return next(spec for spec in VILLAGES if spec.code == code)


# Incomes -----------------------------------------------------------------------------------

#: Basic pension of rural residents (元/月), Hunan, by year.
PENSION = {2015: 75, 2016: 80, 2017: 85, 2018: 88, 2019: 103}


def assessment_data(rng: random.Random, h: HouseholdPlan, year: int, per_capita: int, assessed_on: date) -> dict:
    """Return an assessment of ``year`` whose per-capita net income is about ``per_capita`` yuan."""
    members = [m for m in h.members if m.birth <= assessed_on]
    net = per_capita * len(members)
    transfers: dict[str, int] = {}
    elderly = sum(1 for m in members if _age(m.birth, assessed_on) >= 60)
    if elderly:
        transfers["pension"] = elderly * PENSION.get(year, 103) * 12
    if h.attribute == Attribute.DIBAO:
        transfers["dibao"] = len(members) * rng.randint(12, 22) * 100
    if h.attribute == Attribute.TEKUN:
        transfers["tekun"] = len(members) * rng.randint(40, 50) * 100
    forest = h.housing["forest_land_mu"]
    if forest >= 5:
        transfers["ecological"] = int(forest * 15)
    if rng.random() < 0.1:
        transfers["family_planning"] = 960
    total_transfers = sum(transfers.values())
    if total_transfers > net * 0.85:
        factor = net * 0.85 / total_transfers
        transfers = {k: int(v * factor) for k, v in transfers.items()}
        total_transfers = sum(transfers.values())
    rest = net - total_transfers
    property_income = rng.randint(3, 8) * 100 if h.village == LIAN and year >= 2016 and rng.random() < 0.5 else 0
    property_income = min(property_income, rest // 3)
    rest -= property_income
    operating_net = int(rest * rng.uniform(0.2, 0.55))
    operating_income = int(operating_net / rng.uniform(0.55, 0.75))
    operating_cost = operating_income - operating_net
    wage = rest - operating_net
    data = {
        "wage_income": Decimal(wage),
        "operating_income": Decimal(operating_income),
        "operating_cost": Decimal(operating_cost),
        "property_income": Decimal(property_income),
        "transfers": {k: v for k, v in transfers.items() if v},
        "food_secure": True,
        "clothing_secure": True,
        "water_litres_per_person_day": rng.randint(45, 90),
        "water_fetch_minutes": rng.randint(0, 15),
        "water_quality_safe": True,
        "assessed_on": assessed_on,
    }
    return data


# Loading -----------------------------------------------------------------------------------


def _already_loaded(plan: RegistryPlan, code: str) -> bool:
    from households.models import Member

    first = next(h for h in plan.households if h.village == code)
    return Member.objects.filter(id_number=first.head.id_number).exists()


@transaction.atomic
def load_demo_registry(*, seed: int = 2014) -> dict[str, int]:
    """Load the demo households, their history, measures and assessments, and the counties' plans.

    Idempotent: a village whose demo households are there already is left alone, and a
    plan already entered is kept. Return what was created.
    """
    from villages.models import Division

    plan = plan_registry(seed)
    divisions = {d.code: d for d in Division.objects.filter(code__in=[s.code for s in VILLAGES])}
    counts = {"households": 0, "persons": 0, "exit_cases": 0, "assessments": 0, "measures": 0, "plans": 0}
    for spec in VILLAGES:
        if _already_loaded(plan, spec.code):
            continue
        # Incomes and dates of a village come from its own stream: the same whatever else is loaded.
        loader = _Loader(rng=random.Random(f"{seed}:{spec.code}"), counts=counts)  # noqa: S311 - demo data
        households = [h for h in plan.households if h.village == spec.code]
        loader.load_village(spec, divisions[spec.code], households, plan.helpers[spec.code])
    counts["plans"] = _load_plans(plan)
    return counts


class _Loader:
    """Writes one village's plan through the services, year by year."""

    def __init__(self, *, rng: random.Random, counts: dict):
        self.rng = rng
        self.counts = counts
        self.lines: dict[int, int] = {}

    def load_village(self, spec: VillageSpec, village, plans: list[HouseholdPlan], helper_data: list[dict]) -> None:
        from households.services import household_pair_helper
        from villages import services as village_services
        from villages.models import VillagerGroup, VillageStatus

        if spec.code == GUIDONG_VILLAGE and not VillageStatus.objects.filter(pk=spec.code).exists():
            village_services.village_status_set(actor=None, village=village, **GUIDONG_VILLAGE_STATUS)
        groups = {g.number: g for g in VillagerGroup.objects.filter(village=village)}
        helpers = [village_services.helper_create(actor=None, division=village, **data) for data in helper_data]
        records = self.identify(spec, village, plans, groups)
        records = [
            household_pair_helper(actor=None, household=record, helper=helpers[h.helper])
            for h, record in zip(plans, records, strict=True)
        ]
        self.history(spec, plans, records)
        if spec.code == GUIDONG_VILLAGE:
            status = VillageStatus.objects.get(pk=spec.code)
            if status.exit_status != "exited":
                village_services.village_exit_record(actor=None, village=village, year=2017)

    def identify(self, spec: VillageSpec, village, plans: list[HouseholdPlan], groups: dict) -> list:
        """Register every household through application, two notices and the county's announcement (2014)."""
        from households.services import household_apply
        from households.workflow import household_transition

        records = []
        for h in plans:
            household = {
                "group": groups.get(h.group) if h.group else None,
                "attribute": h.attribute,
                "main_cause": h.main_cause,
                "other_causes": h.other_causes,
                "phone": h.phone,
                **h.housing,
            }
            record = household_apply(
                actor=None,
                village=village,
                household=household,
                members=[m.data() for m in h.members],
                on_date=h.applied_on,
            )
            self.counts["households"] += 1
            self.counts["persons"] += h.size
            records.append(record)
        for action, day in spec.identification.items():
            records = [household_transition(actor=None, household=r, action=action, on_date=day) for r in records]
        return records

    def history(self, spec: VillageSpec, plans: list[HouseholdPlan], records: list) -> None:
        """Apply what happened after identification, year by year, in date order."""
        events = []
        for h, record in zip(plans, records, strict=True):
            key = record.pk
            for measure in h.measures:
                events.append((measure["measure_date"], 1, key, "measure", measure))
            # The works are done some weeks after the grant, and before the year's exit is proposed.
            if h.renovate_on:
                done = min(h.renovate_on + timedelta(days=45), date(h.renovate_on.year, 10, 1))
                events.append((done, 2, key, "renovate", None))
            if h.relocate_on:
                done = min(h.relocate_on + timedelta(days=60), date(h.relocate_on.year, 10, 1))
                events.append((done, 2, key, "relocate", None))
            if h.removed_on:
                events.append((h.removed_on, 3, key, "remove", None))
            if h.exit_year:
                events.append((date(h.exit_year, 10, 10), 4, key, "exit", h.exit_year))
            if h.returned_on:
                events.append((h.returned_on, 5, key, "return", None))
            if h.removed_on is None and h.poor_at(date(2018, 12, 31)) and not h.returned_on:
                events.append((date(2018, 10, 20), 4, key, "assess_poor", 2018))
            if h.assess_latest and h.exit_year != LATEST_YEAR:
                events.append((date(LATEST_YEAR, 10, 25), 6, key, "assess_latest", LATEST_YEAR))
        by_key = {r.pk: (h, r) for h, r in zip(plans, records, strict=True)}
        for day, _order, key, kind, extra in sorted(events, key=lambda e: (e[0], e[1], e[2])):
            h, record = by_key[key]
            record = getattr(self, f"do_{kind}")(spec, h, record, day, extra) or record
            by_key[key] = (h, record)

    # One event each ----------------------------------------------------------------------

    def do_measure(self, spec, h, record, day, measure):
        from assessments.services import help_measure_add

        help_measure_add(actor=None, household=record, data=measure)
        self.counts["measures"] += 1

    def do_renovate(self, spec, h, record, day, _extra):
        from households.services import household_update

        return household_update(actor=None, household=record, changes={"housing_renovated": True})

    def do_relocate(self, spec, h, record, day, _extra):
        from households.services import household_update

        changes = {
            "relocated": True,
            "housing_grade": HousingGrade.A,
            "housing_structure": HousingStructure.BRICK_CONCRETE,
            "housing_area": Decimal(min(25 * h.size, 125)),
            "road_distance_km": Decimal("0.2"),
        }
        return household_update(actor=None, household=record, changes=changes)

    def do_remove(self, spec, h, record, day, _extra):
        from households.workflow import household_transition

        reason = "经部门比对，家庭成员在县城购有商品房并登记个体工商户，不符合识别标准，属错评，予以清退。"
        return household_transition(actor=None, household=record, action="remove", reason=reason, on_date=day)

    def assess(self, h, record, year: int, per_capita: int, assessed_on: date):
        from assessments.services import assessment_record

        self.school_children(h, record, assessed_on)
        data = assessment_data(self.rng, h, year, per_capita, assessed_on)
        self.counts["assessments"] += 1
        return assessment_record(actor=None, household=record, year=year, data=data)

    def school_children(self, h, record, on: date) -> None:
        """Children who have reached school age since registration go to school (member records updated)."""
        from households.models import Member
        from households.services import member_update

        for person in h.members:
            age = _age(person.birth, on)
            if 6 <= age <= 15 and person.student_status in (StudentStatus.NOT_STUDENT, StudentStatus.PRESCHOOL):
                person.student_status = student_status_on(age)
                member = Member.objects.get(household=record, id_number=person.id_number)
                member_update(actor=None, member=member, changes={"student_status": person.student_status})

    def line(self, year: int, code: str) -> int:
        """Return the poverty line of ``year`` (read once per year)."""
        from assessments.parameters import poverty_line

        if year not in self.lines:
            self.lines[year] = int(poverty_line(year, code))
        return self.lines[year]

    def do_exit(self, spec, h, record, day, year):
        """Assess the household above the line, then take its exit case through county certification."""
        from assessments.exit_cases import exit_case_propose, exit_case_transition

        line = self.line(year, spec.code)
        assessed_on = day + timedelta(days=self.rng.randrange(8))
        self.assess(h, record, year, int(line * self.rng.uniform(1.15, 2.3)), assessed_on)
        start = date(year, 10, 22)
        case = exit_case_propose(actor=None, household=record, year=year, on_date=start)
        steps = (
            ("appraise", 4), ("verify", 4), ("acknowledge", 4), ("open_notice", 2), ("close_notice", 8),
            ("township_approve", 6), ("county_certify", 20),
        )  # fmt: skip
        for action, days in steps:
            start += timedelta(days=days)
            reason = h.head.name if action == "acknowledge" else ""
            case = exit_case_transition(actor=None, case=case, action=action, reason=reason, on_date=start)
        self.counts["exit_cases"] += 1

    def do_return(self, spec, h, record, day, _extra):
        """A sudden hardship: flagged for monitoring, approved, then registered as returned to poverty."""
        from assessments.choices import FlagKind
        from assessments.monitoring import monitoring_flag_raise, monitoring_flag_transition, return_to_poverty

        if h.return_cause == Cause.ILLNESS:
            event = "户主突发脑出血住院，自付医疗费用约4.6万元"
            reason = "户主突发重病，丧失劳动能力，医疗支出大，家庭人均纯收入降至扶贫标准以下。"
        else:
            event = "7月暴雨引发山体滑坡，房屋倒塌，果园被毁"
            reason = "遭受洪涝地质灾害，房屋和沃柑果园损毁，家庭人均纯收入降至扶贫标准以下。"
        flag = monitoring_flag_raise(
            actor=None, household=record, kind=FlagKind.SUDDEN, reason=event, event=event, on_date=day
        )
        flag = monitoring_flag_transition(actor=None, flag=flag, action="appraise", on_date=day + timedelta(days=4))
        flag = monitoring_flag_transition(actor=None, flag=flag, action="open_notice", on_date=day + timedelta(days=5))
        monitoring_flag_transition(actor=None, flag=flag, action="approve", on_date=day + timedelta(days=12))
        return return_to_poverty(
            actor=None, household=record, cause=h.return_cause, reason=reason, on_date=day + timedelta(days=20)
        )

    def do_assess_poor(self, spec, h, record, day, year):
        """Reassess a household still poor: income below the line."""
        line = self.line(year, spec.code)
        self.assess(
            h, record, year, int(line * self.rng.uniform(0.6, 0.93)), day + timedelta(days=self.rng.randrange(20))
        )

    def do_assess_latest(self, spec, h, record, day, year):
        """The latest year's reassessment: exited households mostly well above the line, the poor below it."""
        line = self.line(year, spec.code)
        if h.poor_at(date(year, 12, 31)):
            factor = self.rng.uniform(0.55, 0.92)
        else:
            factor = self.rng.uniform(1.6, 3.2)
        self.assess(h, record, year, int(line * factor), day + timedelta(days=self.rng.randrange(40)))


# Plans -------------------------------------------------------------------------------------

#: Per county and year: (villages to exit, county exits, how the target compares with what happened).
PLAN_SHAPES = {
    JIANGHUA: {2016: (0, False, 0.9), 2017: (0, False, 1.12), 2018: (1, False, 1.0), 2019: (0, True, 1.6)},
    SHAOYANG_COUNTY: {2017: (0, False, 1.0), 2018: (0, False, 1.3), 2019: (0, True, 1.05)},
    GUIDONG: {2016: (0, False, 0.85), 2017: (1, True, 1.0)},
}


def _load_plans(plan: RegistryPlan) -> int:
    """Enter each county's annual reduction plans, at the demo's own scale (persons of its households)."""
    from assessments.models import ReductionPlan
    from assessments.plans import reduction_plan_create
    from villages.models import Division

    exited: dict[tuple[str, int], int] = {}
    for h in plan.households:
        if h.exit_year:
            key = (h.village[:6], h.exit_year)
            exited[key] = exited.get(key, 0) + h.size
    created = 0
    for county_code, years in PLAN_SHAPES.items():
        county = Division.objects.get(pk=county_code)
        for year, (villages, county_exits, ratio) in years.items():
            if ReductionPlan.objects.filter(county=county, year=year).exists():
                continue
            actual = exited.get((county_code[:6], year), 0)
            target = max(1, round(actual * ratio))
            reduction_plan_create(
                actor=None,
                county=county,
                year=year,
                persons_to_exit=target,
                villages_to_exit=villages,
                county_exits=county_exits,
                note="时间倒逼、任务倒排、对账销号",
            )
            created += 1
    return created
